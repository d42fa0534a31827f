package engine

import (
	"math"
	"strconv"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// Output is where a run writes the rows of its plan's root.
type Output struct {
	Format string // writers' format name
	// Open is called once, when the rows are about to go out (also when
	// there are none), with their columns and how they come. It returns
	// the writer; the run calls Begin, the rows, and End on success.
	Open func(cols []writers.Column, how Delivery) (writers.Writer, error)
}

// Delivery is how a run's rows come to its output.
type Delivery int

const (
	// Streamed: the rows go out as they are computed (filter, select): an
	// error may follow rows already written.
	Streamed Delivery = iota
	// Settled: every row is computed and in memory: only the destination
	// can fail.
	Settled
	// Spilled: the rows are read back from spill files as they go out,
	// which can still fail.
	Spilled
)

// writerColumns are schema's columns for a writer.
func writerColumns(schema plan.Schema) []writers.Column {
	cols := make([]writers.Column, len(schema))
	for i, c := range schema {
		t := writers.String
		switch c.Type {
		case plan.Int:
			t = writers.Int
		case plan.Float:
			t = writers.Float
		case plan.Bool:
			t = writers.Bool
		}
		cols[i] = writers.Column{Name: c.Name, Type: t}
	}
	return cols
}

// typedFormat reports whether format writes nulls as null and numbers by
// type (json, ndjson, table), rather than fields as the input has them.
func typedFormat(format string) bool { return format != "csv" && format != "tsv" }

// rowFields sets fields (and quoted, when not nil) to row r of b as an
// output writes it: a column's text as the input has it where there is
// one (for a typed format, null when it is null), else its value
// formatted. num holds the formatted numbers; the fields are valid until
// it or b change.
//
// A value prints by the column's type (schema), not by its batch's: a
// batch of an int column can be Float (an expression that overflowed in
// one row, a value that widened), and its whole numbers still print as
// ints, so the output does not depend on how rows fell into batches.
func rowFields(b *exec.Batch, schema plan.Schema, r int, typed bool, fields [][]byte, quoted []bool, num []byte) ([][]byte, []byte) {
	for c := range fields {
		var t *exec.Text
		if c < len(b.Text) {
			t = b.Text[c]
		}
		if quoted != nil {
			quoted[c] = t != nil && t.Quoted != nil && t.Quoted[r]
		}
		if t != nil {
			if typed && t.Null(r) {
				fields[c] = nil
			} else {
				fields[c] = t.Strs[r]
			}
			continue
		}
		v := b.Cols[c]
		if v == nil || v.Nulls[r] {
			fields[c] = nil
			continue
		}
		start := len(num)
		switch v.Type {
		case plan.Int:
			num = strconv.AppendInt(num, v.Ints[r], 10)
		case plan.Float:
			if f := v.Floats[r]; schema[c].Type == plan.Int && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
				num = strconv.AppendInt(num, int64(f), 10)
			} else {
				num = exec.AppendFloat(num, f)
			}
		case plan.Bool:
			num = strconv.AppendBool(num, v.Bools[r])
		case plan.String:
			fields[c] = v.Strs[r]
			continue
		default:
			fields[c] = nil
			continue
		}
		fields[c] = num[start:len(num):len(num)]
	}
	return fields, num
}

// rowEncoder encodes a worker's batches in a streaming format. Not safe
// for concurrent use: one per worker.
type rowEncoder struct {
	schema plan.Schema
	enc    writers.Encoder
	raw    writers.RawEncoder // set when records go out as the input has them
	typed  bool
	fields [][]byte
	quoted []bool
	num    []byte
	data   []byte
	ends   []int
}

func newRowEncoder(format string, schema plan.Schema, raw bool) *rowEncoder {
	enc, ok := writers.NewEncoder(format, writerColumns(schema))
	if !ok {
		panic("BUG: no encoder for " + format)
	}
	e := &rowEncoder{schema: schema, enc: enc, typed: typedFormat(format), fields: make([][]byte, len(schema))}
	if format == "csv" {
		e.quoted = make([]bool, len(schema))
	}
	if raw {
		e.raw, _ = enc.(writers.RawEncoder)
	}
	return e
}

// encode returns b's rows encoded and, with ends, where each row ends;
// both are valid until the next call.
func (e *rowEncoder) encode(b *exec.Batch, ends bool) ([]byte, []int) {
	e.data, e.ends = e.data[:0], e.ends[:0]
	for r := range b.N {
		if e.raw != nil && b.Raw != nil {
			e.data = e.raw.AppendRaw(e.data, b.Raw[r])
		} else {
			e.num = e.num[:0]
			e.fields, e.num = rowFields(b, e.schema, r, e.typed, e.fields, e.quoted, e.num)
			e.data = e.enc.AppendRow(e.data, e.fields, e.quoted)
		}
		if ends {
			e.ends = append(e.ends, len(e.data))
		}
	}
	return e.data, e.ends
}

// rowWriter writes batches through a Writer's Row, a row at a time (the
// table format). Not safe for concurrent use.
type rowWriter struct {
	schema plan.Schema
	w      writers.Writer
	typed  bool
	fields [][]byte
	num    []byte
}

func (rw *rowWriter) write(b *exec.Batch) error {
	for r := range b.N {
		rw.num = rw.num[:0]
		rw.fields, rw.num = rowFields(b, rw.schema, r, rw.typed, rw.fields, nil, rw.num)
		if err := rw.w.Row(rw.fields); err != nil {
			return err
		}
	}
	return nil
}
