package sorter

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// Row encoding. A row is uvarint(len(order)), the order section, then one
// cell per column. The order section's bytewise order is the sort order
// (see appendOrdered), so sorting, merging and spilling compare bytes.
//
// A cell is a tag byte and its value: null; an int64 or a float64's bits,
// 8 bytes big endian; or text, a uvarint length and the bytes.

// Cell tags.
const (
	cellNull  = 0
	cellInt   = 1
	cellFloat = 2
	cellText  = 3
)

// Encoder encodes batch rows. Not safe for concurrent use.
type Encoder struct {
	keys []plan.SortKey
	// text: the column types are final, so every cell is written as the
	// text the output shows and decoding is slicing.
	text  bool
	order []byte
	row   []byte
	num   []byte
}

// NewEncoder encodes rows ordered by keys; with text, cells are the output
// text of their values (the types must be final).
func NewEncoder(keys []plan.SortKey, text bool) *Encoder {
	return &Encoder{keys: keys, text: text}
}

// Encode returns row r of b encoded, valid until the next call.
func (e *Encoder) Encode(b *exec.Batch, r int) []byte {
	order := e.order[:0]
	for _, k := range e.keys {
		order = appendOrdered(order, b.Cols[k.Col], r, k.Desc)
	}
	e.order = order
	row := binary.AppendUvarint(e.row[:0], uint64(len(order)))
	row = append(row, order...)
	for c, v := range b.Cols {
		var t *exec.Text
		if c < len(b.Text) {
			t = b.Text[c]
		}
		switch {
		case v != nil && v.Nulls[r] || v == nil && t == nil:
			row = append(row, cellNull)
		case t != nil:
			// The input's text: what the output shows.
			row = appendText(row, t.Strs[r])
		case v.Type == plan.String:
			row = appendText(row, v.Strs[r])
		case e.text:
			e.num = e.num[:0]
			if v.Type == plan.Int {
				e.num = strconv.AppendInt(e.num, v.Ints[r], 10)
			} else {
				e.num = exec.AppendFloat(e.num, v.Floats[r])
			}
			row = appendText(row, e.num)
		case v.Type == plan.Int:
			row = append(row, cellInt)
			row = binary.BigEndian.AppendUint64(row, uint64(v.Ints[r]))
		case v.Type == plan.Float:
			row = append(row, cellFloat)
			row = binary.BigEndian.AppendUint64(row, math.Float64bits(v.Floats[r]))
		default:
			row = append(row, cellNull) // a column null throughout the batch
		}
	}
	e.row = row
	return row
}

func appendText(row, s []byte) []byte {
	row = append(row, cellText)
	row = binary.AppendUvarint(row, uint64(len(s)))
	return append(row, s...)
}

// appendOrdered appends row r of v so that bytewise order is typed order:
// numbers by value (then exact integer, so huge integers that round to the
// same float still order), strings bytewise, nulls last in both directions.
func appendOrdered(dst []byte, v *plan.Vector, r int, desc bool) []byte {
	if v == nil || v.Nulls[r] || v.Type == plan.Null {
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

// CompareRows orders encoded rows by their order section, and rows whose
// order sections are equal by their bytes, so the output is the same
// however the rows were found.
func CompareRows(a, b []byte) int {
	if c := bytes.Compare(orderOf(a), orderOf(b)); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

func orderOf(row []byte) []byte {
	n, k := binary.Uvarint(row)
	return row[k : k+int(n)]
}

// Decoder turns encoded rows back into batches of the final column types:
// an Int cell of a column that became Float is a float; a text cell of a
// numeric column keeps its text and is read as a number. Not safe for
// concurrent use.
type Decoder struct {
	schema   plan.Schema
	textOnly bool
	batch    exec.Batch
	vecs     []plan.Vector
	texts    []exec.Text
	hasTxt   []bool // per column: some row of the batch has a text cell
	num      []byte // numbers formatted for a column whose other rows are text
}

// NewDecoder decodes rows of schema. With textOnly, every cell is text or
// null (an Encoder in text mode wrote them) and batches carry only Text,
// for a consumer that only writes them out.
func NewDecoder(schema plan.Schema, textOnly bool) *Decoder {
	return &Decoder{schema: schema, textOnly: textOnly, vecs: make([]plan.Vector, len(schema)), texts: make([]exec.Text, len(schema)),
		hasTxt: make([]bool, len(schema))}
}

// Decode returns a batch of rows (at most plan.BatchSize), valid until
// the next call. Its cells are views of the rows.
func (d *Decoder) Decode(rows [][]byte) *exec.Batch {
	n := len(rows)
	b := &d.batch
	b.Reset(len(d.schema))
	b.N = n
	if d.textOnly {
		return d.decodeText(rows)
	}
	for c, col := range d.schema {
		t := col.Type
		if t == plan.Null {
			t = plan.String
		}
		d.vecs[c].Reset(t, n)
		d.vecs[c].Strs = plan.Grow(d.vecs[c].Strs, n)
		d.texts[c].Strs = plan.Grow(d.texts[c].Strs, n)
		d.texts[c].Quoted = nil
		d.hasTxt[c] = false
	}
	for r, row := range rows {
		k, w := binary.Uvarint(row)
		cells := row[w+int(k):]
		for c := range d.schema {
			v := &d.vecs[c]
			tag := cells[0]
			cells = cells[1:]
			switch tag {
			case cellNull:
				v.Nulls[r] = true
				d.texts[c].Strs[r] = nil
			case cellInt:
				i := int64(binary.BigEndian.Uint64(cells))
				cells = cells[8:]
				if v.Type == plan.Float {
					v.Floats[r] = float64(i)
				} else {
					v.Ints[r] = i
				}
			case cellFloat:
				f := math.Float64frombits(binary.BigEndian.Uint64(cells))
				cells = cells[8:]
				if v.Type == plan.Int {
					v.Type = plan.Float // only a batch of its own: see setFloats
					d.toFloat(v, r)
				}
				v.Floats[r] = f
			case cellText:
				l, w := binary.Uvarint(cells)
				s := cells[w : w+int(l) : w+int(l)]
				cells = cells[w+int(l):]
				d.texts[c].Strs[r] = s
				d.hasTxt[c] = true
				switch v.Type {
				case plan.String:
					v.Strs[r] = s
				case plan.Int, plan.Float:
					kind, i, f := readers.ParseNumber(s)
					switch {
					case kind == readers.KindNull || kind == readers.KindString:
						v.Nulls[r] = true
					case kind == readers.KindFloat && v.Type == plan.Int:
						v.Type = plan.Float
						d.toFloat(v, r)
						v.Floats[r] = f
					case v.Type == plan.Float && kind == readers.KindInt:
						v.Floats[r] = float64(i)
					case v.Type == plan.Float:
						v.Floats[r] = f
					default:
						v.Ints[r] = i
					}
				}
			}
		}
	}
	d.num = d.num[:0]
	for c := range d.schema {
		v := &d.vecs[c]
		b.Cols[c] = v
		if !d.hasTxt[c] {
			continue
		}
		b.Text[c] = &d.texts[c]
		if v.Type != plan.Int && v.Type != plan.Float {
			continue
		}
		// Rows of the column that came as numbers get their text too.
		for r := range n {
			if d.texts[c].Strs[r] != nil || v.Nulls[r] {
				continue
			}
			start := len(d.num)
			if v.Type == plan.Int {
				d.num = strconv.AppendInt(d.num, v.Ints[r], 10)
			} else {
				d.num = exec.AppendFloat(d.num, v.Floats[r])
			}
			d.texts[c].Strs[r] = d.num[start:len(d.num):len(d.num)]
		}
	}
	return b
}

// decodeText slices rows of text and null cells into Text.
func (d *Decoder) decodeText(rows [][]byte) *exec.Batch {
	b := &d.batch
	for c := range d.schema {
		d.texts[c].Strs = plan.Grow(d.texts[c].Strs, len(rows))
		d.texts[c].Quoted = nil
		b.Text[c] = &d.texts[c]
	}
	for r, row := range rows {
		k, w := binary.Uvarint(row)
		cells := row[w+int(k):]
		for c := range d.schema {
			tag := cells[0]
			cells = cells[1:]
			if tag == cellNull {
				d.texts[c].Strs[r] = nil
				continue
			}
			if tag != cellText {
				panic("BUG: sorter: a number cell in a text-only row")
			}
			l, w := binary.Uvarint(cells)
			end := w + int(l)
			d.texts[c].Strs[r] = cells[w:end:end]
			cells = cells[end:]
		}
	}
	return b
}

// toFloat turns rows [0, r) of an Int vector into floats.
func (d *Decoder) toFloat(v *plan.Vector, r int) {
	v.Floats = plan.Grow(v.Floats, len(v.Nulls))
	for i := range r {
		v.Floats[i] = float64(v.Ints[i])
	}
}
