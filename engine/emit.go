package engine

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"strconv"

	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// aggTable is a hash table of groups with the aggregates' states.
//
// aggs are the states, one per distinct (state, column): a sum and a mean
// of one column share one. outs are the output aggregates in query order,
// each a state or a view of one (agg.View); results are read from outs,
// everything else (updates, merges, spills) goes to aggs.
type aggTable struct {
	table *groupTable
	aggs  []agg.Agg
	cols  []int // per state: its input column, -1 for count
	outs  []agg.Agg
}

// find returns the group of key (with hash h), adding it, with empty
// states, when new.
func (t *aggTable) find(key []byte, h uint64) (g uint32, added bool) {
	g, added = t.table.find(key, h)
	if added {
		for _, a := range t.aggs {
			a.Grow(t.table.len())
		}
	}
	return g, added
}

func (t *aggTable) memBytes() int64 {
	n := t.table.memBytes()
	for _, a := range t.aggs {
		n += a.MemBytes()
	}
	return n
}

func (t *aggTable) reset() {
	t.table.reset()
	for _, a := range t.aggs {
		a.Reset()
	}
}

// emitter turns merged groups into output rows encoded for ordering: a
// byte string whose bytewise order is the output order (the --sort keys,
// then the group keys), followed by the typed cells. The in-memory and the
// spilled paths both sort these rows, so they order rows identically.
type emitter struct {
	q         *query
	nkeys     int
	keyTypes  []plan.Type // final types of the key columns
	folder    *keyFolder  // nil unless groups with equal numeric keys must be folded
	sortKeys  []plan.SortKey
	having    *plan.Program
	widened   []bool // per aggregate: some group needed Float
	text      bool   // widened is final: encode every cell as its output text
	tableWide []bool // per aggregate: the column is Float in this table's rows
	cols      []*plan.Vector
	batch     plan.Batch
	sel       []int32
	fields    [][]byte
	order     []byte
	row       []byte
	num       []byte
}

func newEmitter(q *query, keyTypes []plan.Type) *emitter {
	e := &emitter{q: q, nkeys: len(q.agg.Keys), keyTypes: keyTypes, widened: make([]bool, len(q.agg.Aggs))}
	e.sortKeys = append(e.sortKeys, q.sort...)
	for k := range e.nkeys {
		e.sortKeys = append(e.sortKeys, plan.SortKey{Col: k}) // ties: the group keys
	}
	if q.having != nil {
		e.having = q.having.Compile()
	}
	e.cols = make([]*plan.Vector, e.nkeys+len(q.agg.Aggs))
	for i := range e.cols {
		e.cols[i] = &plan.Vector{}
	}
	e.batch.Cols = e.cols
	return e
}

// clone returns an emitter of the same rows for another goroutine.
func (e *emitter) clone(seed maphash.Seed) *emitter {
	c := newEmitter(e.q, e.keyTypes)
	copy(c.widened, e.widened)
	c.text = e.text
	if e.folder != nil {
		c.folder = newKeyFolder(e.q, seed, e.keyTypes)
	}
	return c
}

// emit encodes every group of t that passes --having and hands the rows to
// add, which must copy what it keeps. Groups whose numeric keys are equal
// values are folded first.
func (e *emitter) emit(t *aggTable, add func(row []byte) error) error {
	if e.folder != nil {
		t = e.folder.fold(t)
	}
	n := t.table.len()
	// Widened reads every group: ask once per table, not once per batch.
	e.tableWide = e.tableWide[:0]
	for i, a := range t.outs {
		wd, ok := a.(agg.Widener)
		wide := ok && wd.Widened()
		e.widened[i] = e.widened[i] || wide
		e.tableWide = append(e.tableWide, wide || e.text && e.widened[i])
	}
	for lo := 0; lo < n; lo += plan.BatchSize {
		hi := min(lo+plan.BatchSize, n)
		m := hi - lo
		for k := range e.nkeys {
			v := e.cols[k]
			v.Reset(e.keyTypes[k], m)
		}
		for i, f := range e.q.agg.Aggs {
			typ := f.Type
			if e.tableWide[i] {
				typ = plan.Float
			}
			e.cols[e.nkeys+i].Reset(typ, m)
		}
		for r := range m {
			g := uint32(lo + r)
			e.fields = splitKey(e.fields[:0], t.table.key(g), e.nkeys)
			for k, f := range e.fields {
				setKey(e.cols[k], r, f)
			}
			for i, a := range t.outs {
				a.Result(g, e.cols[e.nkeys+i], r)
			}
		}
		e.batch.N = m
		e.sel = e.sel[:0]
		if e.having != nil {
			e.sel = e.having.Filter(&e.batch, e.sel)
		} else {
			for r := range m {
				e.sel = append(e.sel, int32(r))
			}
		}
		for _, r := range e.sel {
			if err := add(e.encode(int(r))); err != nil {
				return err
			}
		}
	}
	return nil
}

// setKey stores a key's value: a number of a numeric column, which then
// prints as its type prints numbers, or the text of a string column.
func setKey(v *plan.Vector, r int, f []byte) {
	if f == nil {
		v.Nulls[r] = true
		return
	}
	switch v.Type {
	case plan.Int:
		_, i, _ := readers.ParseNumber(f)
		v.Ints[r] = i
	case plan.Float:
		kind, i, fl := readers.ParseNumber(f)
		if kind == readers.KindInt {
			fl = float64(i)
		}
		if fl == 0 {
			fl = 0 // -0.0 is 0.0
		}
		v.Floats[r] = fl
	default:
		v.Strs[r] = f
	}
}

// Cell tags of the encoded row.
const (
	cellNull  = 0
	cellInt   = 1
	cellFloat = 2
	cellText  = 3
)

// encode builds row r: uvarint(len(order)) order cells. The row is valid
// until the next call.
func (e *emitter) encode(r int) []byte {
	order := e.order[:0]
	for _, k := range e.sortKeys {
		order = appendOrdered(order, e.cols[k.Col], r, k.Desc)
	}
	e.order = order
	row := binary.AppendUvarint(e.row[:0], uint64(len(order)))
	row = append(row, order...)
	for _, v := range e.cols {
		switch {
		case v.Nulls[r]:
			row = append(row, cellNull)
		case v.Type == plan.String:
			row = append(row, cellText)
			row = binary.AppendUvarint(row, uint64(len(v.Strs[r])))
			row = append(row, v.Strs[r]...)
		case e.text:
			// The column's type is final: write the text the output
			// shows, so reading the row back is slicing it.
			e.num = e.num[:0]
			if v.Type == plan.Int {
				e.num = strconv.AppendInt(e.num, v.Ints[r], 10)
			} else {
				e.num = AppendFloat(e.num, v.Floats[r])
			}
			row = append(row, cellText, byte(len(e.num))) // a number's text is short: one uvarint byte
			row = append(row, e.num...)
		case v.Type == plan.Int:
			row = append(row, cellInt)
			row = binary.BigEndian.AppendUint64(row, uint64(v.Ints[r]))
		default:
			row = append(row, cellFloat)
			row = binary.BigEndian.AppendUint64(row, math.Float64bits(v.Floats[r]))
		}
	}
	e.row = row
	return row
}

// appendOrdered appends row r of v so that bytewise order is typed order:
// numbers by value (then exact integer, so huge integers that round to the
// same float still order), strings bytewise, nulls last in both directions.
func appendOrdered(dst []byte, v *plan.Vector, r int, desc bool) []byte {
	if v.Nulls[r] {
		return append(dst, 2)
	}
	dst = append(dst, 1)
	start := len(dst)
	switch v.Type {
	case plan.Int:
		i := v.Ints[r]
		dst = binary.BigEndian.AppendUint64(dst, orderFloat(float64(i)))
		dst = binary.BigEndian.AppendUint64(dst, uint64(i)^1<<63)
	case plan.Float:
		f := v.Floats[r]
		var i int64
		if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			i = int64(f)
		}
		dst = binary.BigEndian.AppendUint64(dst, orderFloat(f))
		dst = binary.BigEndian.AppendUint64(dst, uint64(i)^1<<63)
	default:
		s := v.Strs[r]
		for {
			// A zero byte is escaped as 0 0xff; the rest go as they are.
			z := bytes.IndexByte(s, 0)
			if z < 0 {
				dst = append(dst, s...)
				break
			}
			dst = append(append(dst, s[:z]...), 0, 0xff)
			s = s[z+1:]
		}
		dst = append(dst, 0, 0)
	}
	if desc {
		for i := start; i < len(dst); i++ {
			dst[i] = ^dst[i]
		}
	}
	return dst
}

func orderFloat(f float64) uint64 {
	if f == 0 {
		f = 0 // -0 sorts as 0
	}
	b := math.Float64bits(f)
	if b>>63 == 0 {
		return b | 1<<63
	}
	return ^b
}

// compareRows orders encoded rows by their order section, and rows whose
// order sections are equal (the keys "1" and "1.0" of a numeric column) by
// their bytes, so the output is the same however the rows were found.
func compareRows(a, b []byte) int {
	if c := bytes.Compare(orderOf(a), orderOf(b)); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

func orderOf(row []byte) []byte {
	n, k := binary.Uvarint(row)
	return row[k : k+int(n)]
}

// rowDecoder formats encoded rows by the final column types: an Int cell
// of a column that became Float prints as a float. Not safe for
// concurrent use.
type rowDecoder struct {
	schema plan.Schema
	ends   []int
	fields [][]byte
	buf    []byte
}

// decode returns row's cells as text (nil for null), valid until the next
// call.
func (d *rowDecoder) decode(row []byte) [][]byte {
	n, k := binary.Uvarint(row)
	cells := row[k+int(n):]
	d.buf, d.ends, d.fields = d.buf[:0], d.ends[:0], d.fields[:0]
	for c := range d.schema {
		tag := cells[0]
		cells = cells[1:]
		switch tag {
		case cellInt:
			i := int64(binary.BigEndian.Uint64(cells))
			cells = cells[8:]
			if d.schema[c].Type == plan.Float {
				d.buf = AppendFloat(d.buf, float64(i))
			} else {
				d.buf = strconv.AppendInt(d.buf, i, 10)
			}
		case cellFloat:
			d.buf = AppendFloat(d.buf, math.Float64frombits(binary.BigEndian.Uint64(cells)))
			cells = cells[8:]
		case cellText:
			l, k := binary.Uvarint(cells)
			d.buf = append(d.buf, cells[k:k+int(l)]...)
			cells = cells[k+int(l):]
		}
		end := len(d.buf)
		if tag == cellNull {
			end = -1
		}
		d.ends = append(d.ends, end)
	}
	start := 0
	for _, end := range d.ends {
		if end < 0 {
			d.fields = append(d.fields, nil)
			continue
		}
		d.fields = append(d.fields, d.buf[start:end:end])
		start = end
	}
	return d.fields
}

// textFields appends to dst the cells of a row whose cells are all text or
// null (an emitter in text mode wrote it): views of the row, nothing is
// copied.
func textFields(dst [][]byte, row []byte, ncols int) [][]byte {
	n, k := binary.Uvarint(row)
	cells := row[k+int(n):]
	for range ncols {
		tag := cells[0]
		cells = cells[1:]
		if tag == cellNull {
			dst = append(dst, nil)
			continue
		}
		l, k := binary.Uvarint(cells)
		end := k + int(l)
		dst = append(dst, cells[k:end:end])
		cells = cells[end:]
	}
	return dst
}
