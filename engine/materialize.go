package engine

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/internal/cacheline"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// scanSpec is what a scan materialises of each record: which columns as
// numbers, which as text, and what else its consumers read.
type scanSpec struct {
	input   plan.Schema
	numeric []int      // columns parsed as numbers (numeric type, read by an expression, an aggregate or a sort)
	text    []int      // columns kept as text (string and null types, keys, output)
	dynamic []int      // text columns of type null read by an expression, and sort keys: numbers in a batch whose values all are
	quoted  bool       // keep which text fields were quoted (csv output)
	raw     bool       // keep each record as the input has it
	pos     bool       // keep each record's input position
	pred    *plan.Expr // the predicate pushed into the scan, nil for none
	skipBad bool       // skip a record whose numeric field is not a number, and count it
}

// rowsOnly reports whether the scan's consumer only counts records.
func (s *scanSpec) rowsOnly() bool {
	return len(s.numeric) == 0 && len(s.text) == 0 && !s.raw && !s.pos && s.pred == nil
}

// materializer turns one worker's scanned records into batches. Not safe
// for concurrent use: one per worker.
//
// A column comes in one of three ways: numbers (a numeric vector; a value
// that is not a number is an error or a skipped row), text (exec.Text, and
// for a string column a String vector over the same storage), or, for a
// column of type null (no value in the type sample) that an expression
// reads and for a sort key, text and numbers both: the batch's vector is
// numeric when every value of the batch is a number, else the text
// (plan.Vector allows a null column any type, batch by batch; a sort
// orders a key that came both ways bytewise).
//
// Buffer lifetime: a batch's text and raw records are the scanner's bytes,
// not copies: the scanner keeps them until it refills its buffer, and the
// scan flushes the batch before that (readers.Scanner.OnRefill). A batch
// is valid until the next add.
type materializer struct {
	spec    *scanSpec
	d       *readers.Dialect
	batch   exec.Batch
	vecs    []*plan.Vector // per input ordinal: numeric columns' vectors
	strs    []*plan.Vector // per input ordinal: string columns' vectors, sharing their text's storage
	texts   []*exec.Text   // per input ordinal, for text columns
	kinds   []readers.Kind // per numeric (then dynamic) column and row
	text    []bool         // per dynamic column: a value of this batch was not a number
	raws    [][]byte       // the batch's Raw
	pos     []uint64       // per row: its input position
	where   *plan.Program
	sel     []int32
	rows    int
	skipped int64
	// Each worker has one, made one after another: the pad keeps this
	// one's fields and the next one's off a common cache line, which two
	// cores would take from each other on every row (false sharing).
	_ [64]byte
}

func newMaterializer(spec *scanSpec, d *readers.Dialect) *materializer {
	m := &materializer{spec: spec, d: d}
	n := len(spec.input)
	m.vecs = make([]*plan.Vector, n)
	m.strs = make([]*plan.Vector, n)
	m.texts = make([]*exec.Text, n)
	for _, c := range spec.numeric {
		m.vecs[c] = &plan.Vector{}
	}
	for _, c := range spec.dynamic {
		m.vecs[c] = &plan.Vector{}
	}
	for _, c := range spec.text {
		m.texts[c] = &exec.Text{}
		if t := spec.input[c].Type; t == plan.String || t == plan.Null || slices.Contains(spec.dynamic, c) {
			if slices.Contains(spec.numeric, c) {
				panic("BUG: a text column parsed as numbers")
			}
			m.strs[c] = &plan.Vector{}
		}
	}
	if spec.pred != nil {
		m.where = spec.pred.Compile()
	}
	m.kinds = make([]readers.Kind, plan.BatchSize*(len(spec.numeric)+len(spec.dynamic)))
	m.text = cacheline.Slice[bool](len(spec.dynamic), 0) // written every row
	return m
}

func (m *materializer) reset() {
	m.rows = 0
	m.raws = m.raws[:0]
	m.pos = m.pos[:0]
	for _, c := range m.spec.numeric {
		m.vecs[c].Reset(plan.Float, plan.BatchSize)
		m.vecs[c].Ints = plan.Grow(m.vecs[c].Ints, plan.BatchSize)
	}
	for j, c := range m.spec.dynamic {
		m.vecs[c].Reset(plan.Float, plan.BatchSize)
		m.vecs[c].Ints = plan.Grow(m.vecs[c].Ints, plan.BatchSize)
		m.text[j] = false
	}
	for _, c := range m.spec.text {
		t := m.texts[c]
		t.Strs = plan.Grow(t.Strs, plan.BatchSize)
		t.Nulls = plan.Grow(t.Nulls, plan.BatchSize)
		if m.spec.quoted {
			t.Quoted = plan.Grow(t.Quoted, plan.BatchSize)
		}
	}
}

// add puts the scanner's current record into the batch; it reports
// whether the batch is full. input is the record's input ordinal.
func (m *materializer) add(sc *readers.Scanner, input int) (bool, error) {
	if m.rows == 0 {
		m.reset() // the last batch has gone on
	}
	fields := sc.Fields()
	r := m.rows
	// Numbers first: a bad value drops the whole row before anything of it
	// is kept.
	for j, c := range m.spec.numeric {
		f := fields[c]
		v := m.vecs[c]
		if m.d.IsNull(f) {
			v.Nulls[r] = true
			m.kinds[j*plan.BatchSize+r] = readers.KindNull
			continue
		}
		k, i, fl := readers.ParseNumber(f)
		if k == readers.KindString {
			if m.spec.skipBad {
				m.skipped++
				return false, nil // row r is written again by the next record
			}
			return false, &ValueError{File: sc.File(), Line: sc.Line(), Column: c + 1, Name: m.spec.input[c].Name, Value: string(f)}
		}
		v.Nulls[r] = k == readers.KindNull
		m.kinds[j*plan.BatchSize+r] = k
		v.Ints[r], v.Floats[r] = i, fl
	}
	for j, c := range m.spec.dynamic {
		f := fields[c]
		v := m.vecs[c]
		k := readers.KindNull
		if !m.d.IsNull(f) {
			var i int64
			var fl float64
			k, i, fl = readers.ParseNumber(f)
			v.Ints[r], v.Floats[r] = i, fl
		}
		v.Nulls[r] = k == readers.KindNull
		m.kinds[(len(m.spec.numeric)+j)*plan.BatchSize+r] = k
		m.text[j] = m.text[j] || k == readers.KindString
	}
	for _, c := range m.spec.text {
		f := fields[c]
		t := m.texts[c]
		t.Strs[r] = f[:len(f):len(f)]
		t.Nulls[r] = m.d.IsNull(f)
		if m.spec.quoted {
			t.Quoted[r] = sc.Quoted(c)
		}
	}
	if m.spec.raw {
		raw := sc.Raw()
		m.raws = append(m.raws, raw[:len(raw):len(raw)])
	}
	if m.spec.pos {
		m.pos = append(m.pos, exec.PosOf(input, sc.RecordOffset()))
	}
	m.rows++
	return m.rows == plan.BatchSize, nil
}

// flush finishes the batch of the rows added since the last flush and
// returns it (nil when none was), after the scan's predicate. It is valid
// until the next add.
func (m *materializer) flush() *exec.Batch {
	n := m.rows
	if n == 0 {
		return nil
	}
	b := &m.batch
	b.Reset(len(m.spec.input))
	b.N = n
	if m.spec.pos {
		b.Pos = m.pos[:n]
	}
	for _, c := range m.spec.text {
		t := m.texts[c]
		t.Strs, t.Nulls = t.Strs[:n], t.Nulls[:n]
		if m.spec.quoted {
			t.Quoted = t.Quoted[:n]
		}
		b.Text[c] = t
		if v := m.strs[c]; v != nil {
			v.Type, v.Strs, v.Nulls = plan.String, t.Strs, t.Nulls
			b.Cols[c] = v
		}
	}
	// Typed vectors: a numeric column is Int for the batch when every
	// value is an integer, else Float; a dynamic one is numeric when every
	// value is a number.
	nnum := len(m.spec.numeric)
	for j, c := range append(m.spec.numeric[:nnum:nnum], m.spec.dynamic...) {
		if j >= nnum && m.text[j-nnum] {
			continue // the text's String vector stands
		}
		v := m.vecs[c]
		v.Type = plan.Int
		for _, k := range m.kinds[j*plan.BatchSize : j*plan.BatchSize+n] {
			if k == readers.KindFloat {
				v.Type = plan.Float
				break
			}
		}
		v.Nulls, v.Ints, v.Floats = v.Nulls[:n], v.Ints[:n], v.Floats[:n]
		b.Cols[c] = v
	}
	if m.spec.raw {
		b.Raw = m.raws
	}
	if m.where != nil {
		m.sel = m.where.Filter(&b.Batch, m.sel)
		b.Compact(m.sel)
	}
	m.rows = 0
	return b
}

// ValueError is a value that is not a number in a column read as numbers.
type ValueError struct {
	File   string
	Line   int64
	Column int
	Name   string
	Value  string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s:%d:%d: value %s in column %q is not a number (--skip-bad-rows skips such rows and reports how many)",
		fsname.Quote(e.File), e.Line, e.Column, strconv.Quote(e.Value), e.Name)
}
