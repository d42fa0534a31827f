package sorter

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/internal/cacheline"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// Row encoding. A row is uvarint(len(order)), the order section, then one
// cell per column. The order section's bytewise order is the sort order
// (see appendOrdered), so sorting, merging and spilling compare bytes.
//
// A cell is a tag byte and its value: null; an int64 or a float64's bits,
// 8 bytes big endian; or text, a uvarint length and the bytes (cellQuoted:
// text the input quoted, kept so by an Encoder of Spec.Quoted); or text
// that the order section holds as it is (a string key's, ascending, with
// no zero byte), as a uvarint offset in the order section and a uvarint
// length (cellOrderText): a row sorted by a text column holds its text
// once.

// Cell tags.
const (
	cellNull  = 0
	cellInt   = 1
	cellFloat = 2
	cellText  = 3
	// cellQuoted is a cellText that the input quoted: rows that go on
	// to a csv output that quotes what the input quoted (a shard's rows).
	cellQuoted = 4
	// cellOrderText is a cellText whose bytes are in the order section.
	cellOrderText = 5
)

// Ties says what orders rows whose sort keys are equal, so the sort is
// stable: their input position (rows from a scan carry it), the order
// they arrive in (rows from one ordered source), or nothing the input
// defines (rows from a hash table: then their bytes, so the output is
// still one).
type Ties int

const (
	TiesByBytes    Ties = iota // no input order: the encoded rows' bytes
	TiesByPosition             // the batch's Pos
	TiesByArrival              // a count of the rows encoded so far
)

// Cells says how an Encoder writes a row's cells.
type Cells int

const (
	// CellsTyped: numbers as numbers, for rows that go on to operators.
	CellsTyped Cells = iota
	// CellsText: the column types are final and the rows go to the
	// output: every cell is the text it writes, and decoding is slicing.
	CellsText
	// CellsRaw: the rows are the input's records, unchanged, and go to an
	// output that writes records as they are (Batch.Raw): the record is
	// the row's one cell.
	CellsRaw
)

// Encoder encodes batch rows. Not safe for concurrent use.
type Encoder struct {
	keys     []plan.SortKey
	ties     Ties
	tiesDesc bool
	cells    Cells
	quoted   bool // text cells the input quoted are cellQuoted
	fields   func(record []byte) [][]byte
	order    []byte
	first    []byte // the first key's encoding, for After
	row      []byte
	num      []byte
	seq      uint64 // rows encoded, for TiesByArrival
	hadPos   bool   // the batches carried positions, for TiesByPosition
	// keyIndex[c] is the key that orders by column c, -1 for none; segs[k]
	// is where key k's encoding starts in order, as Order made it last.
	keyIndex []int
	segs     []int
	// Per key: a batch had it as numbers, as strings. A column whose type
	// widened to string part way (a value that is not a number after
	// numbers) had both: its order must be made again, bytewise.
	sawNum, sawStr []bool
	// Per key: a batch had it as floats, an integer past 2^53 (which
	// orders exactly, as in an integer column, but not in a float one).
	sawFloat, sawBig []bool
	// Each worker has one, made one after another: the pad keeps this
	// one's fields and the next one's off a common cache line, which two
	// cores would take from each other on every row (false sharing).
	_ [64]byte
}

// NewEncoder encodes rows as spec says: ordered by its keys, ties broken
// as its Ties say, its cells as its Cells.
func NewEncoder(spec Spec) *Encoder {
	keys := spec.Keys
	// The buffers written on every row start on cache lines of their own.
	e := &Encoder{keys: keys, ties: spec.Ties, tiesDesc: spec.TiesDesc, cells: spec.Cells, quoted: spec.Quoted, fields: spec.Fields,
		sawNum: make([]bool, len(keys)), sawStr: make([]bool, len(keys)), sawFloat: make([]bool, len(keys)), sawBig: make([]bool, len(keys)),
		order: cacheline.Slice[byte](0, 256), first: cacheline.Slice[byte](0, 64), row: cacheline.Slice[byte](0, 256),
		segs: make([]int, len(keys))}
	for i, k := range keys {
		for len(e.keyIndex) <= k.Col {
			e.keyIndex = append(e.keyIndex, -1)
		}
		if e.keyIndex[k.Col] < 0 {
			e.keyIndex[k.Col] = i
		}
	}
	return e
}

// See notes the types of b's key columns, before its rows are encoded:
// a key that came as numbers in some batches and as strings in others
// must be ordered again (Widened).
func (e *Encoder) See(b *exec.Batch) {
	for i, k := range e.keys {
		switch v := b.Cols[k.Col]; {
		case v == nil:
		case v.Type == plan.String:
			e.sawStr[i] = true
		case v.Type == plan.Float:
			e.sawNum[i], e.sawFloat[i] = true, true
		case v.Type.Numeric():
			e.sawNum[i] = true
			if !e.sawBig[i] {
				for r := range b.N {
					if x := v.Ints[r]; (x > 1<<53 || x < -1<<53) && !v.Nulls[r] {
						e.sawBig[i] = true
						break
					}
				}
			}
		}
	}
}

// Order returns the order section of row r of b, valid until the next
// call: what sorting compares, before the row is encoded whole.
func (e *Encoder) Order(b *exec.Batch, r int) []byte {
	order := e.order[:0]
	for i, k := range e.keys {
		e.segs[i] = len(order)
		order = appendOrdered(order, b.Cols[k.Col], r, k)
	}
	var tie uint64
	switch {
	case e.ties == TiesByPosition && b.Pos != nil:
		tie = b.Pos[r]
		e.hadPos = true
	case e.ties == TiesByArrival:
		tie = e.seq
	default:
		e.order = order
		return order
	}
	if e.tiesDesc {
		tie = ^tie
	}
	order = binary.BigEndian.AppendUint64(order, tie)
	e.order = order
	return order
}

// After reports whether row r of b orders after cut, an order section:
// from its first key alone when that decides, as it does for most rows
// once a top-N has its N.
func (e *Encoder) After(b *exec.Batch, r int, cut []byte) bool {
	first := appendOrdered(e.first[:0], b.Cols[e.keys[0].Col], r, e.keys[0])
	e.first = first
	if c := bytes.Compare(first, cut[:min(len(first), len(cut))]); c != 0 {
		return c > 0 // a key's encoding is never a prefix of another's
	}
	return bytes.Compare(e.Order(b, r), cut) > 0
}

// Skip counts row r as encoded without encoding it: a top-N that knows
// the row cannot be among the first N passes it by.
func (e *Encoder) Skip() { e.seq++ }

// Encode returns row r of b encoded, valid until the next call. The
// order section is the one Order made for row r last.
func (e *Encoder) Encode(b *exec.Batch, r int) []byte {
	order := e.order
	e.seq++
	row := binary.AppendUvarint(e.row[:0], uint64(len(order)))
	row = append(row, order...)
	if e.cells == CellsRaw {
		row = appendText(row, b.Raw[r])
		e.row = row
		return row
	}
	for c, v := range b.Cols {
		var t *exec.Text
		if c < len(b.Text) {
			t = b.Text[c]
		}
		switch {
		case t != nil && t.Null(r):
			row = append(row, cellNull)
		case t != nil:
			// The input's text: what the output shows (a "nan" that
			// orders as null is still written "nan").
			if e.quoted && t.Quoted != nil && t.Quoted[r] {
				row = appendCell(row, cellQuoted, t.Strs[r])
			} else {
				row = e.textCell(row, order, c, t.Strs[r])
			}
		case v == nil || v.Nulls[r]:
			row = append(row, cellNull)
		case v.Type == plan.String:
			row = e.textCell(row, order, c, v.Strs[r])
		case e.cells != CellsTyped:
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

// textCell appends column c's text s: as where the order section holds
// it when c is a key whose encoding is s as it is (a string, ascending,
// with no zero byte), else as a text cell.
func (e *Encoder) textCell(row, order []byte, c int, s []byte) []byte {
	if c < len(e.keyIndex) && e.keyIndex[c] >= 0 && len(s) > 2 {
		off := e.segs[e.keyIndex[c]] + 1 // after the key's order marker
		if off+len(s) <= len(order) && bytes.Equal(order[off:off+len(s)], s) {
			row = append(row, cellOrderText)
			row = binary.AppendUvarint(row, uint64(off))
			return binary.AppendUvarint(row, uint64(len(s)))
		}
	}
	return appendCell(row, cellText, s)
}

// Reordering says how Finish must make a key's order again, when the
// types the key's batches came in do not agree with the order they made.
type Reordering uint8

const (
	AsMade Reordering = iota
	// Bytewise: numbers in some batches, strings in others (a column
	// that widened to string part way): every value orders as its text.
	Bytewise
	// AsFloats: integers from 2^53 on, ordered exactly, in a column with
	// floats in other batches: a float column's values order as floats,
	// as groupby groups them.
	AsFloats
)

// Reorderings are the keys' Reorderings over every encoder of a sort
// (nil: every key as made).
func Reorderings(encs []*Encoder) []Reordering {
	var out []Reordering
	for i := range encs[0].keys {
		var num, str, float, big bool
		for _, e := range encs {
			num, str, float, big = num || e.sawNum[i], str || e.sawStr[i], float || e.sawFloat[i], big || e.sawBig[i]
		}
		r := AsMade
		switch {
		case num && str:
			r = Bytewise
		case float && big:
			r = AsFloats
		}
		if r != AsMade && out == nil {
			out = make([]Reordering, len(encs[0].keys))
		}
		if out != nil {
			out[i] = r
		}
	}
	return out
}

// Reorder returns row with its order section made again from its cells,
// each key as how says; the last suffix bytes of the old order section
// (its ties) are kept. Valid until the next call.
func (e *Encoder) Reorder(row []byte, how []Reordering, suffix int) []byte {
	n, w := binary.Uvarint(row)
	old := row[w : w+int(n)]
	cells := row[w+int(n):]
	var fields [][]byte
	if e.cells == CellsRaw {
		_, record := cellAt(old, cells, 0)
		fields = e.fields(record)
	}
	order := e.order[:0]
	for i, k := range e.keys {
		var tag byte
		var val []byte
		switch {
		case fields == nil:
			tag, val = cellAt(old, cells, k.Col)
		case fields[k.Col] == nil:
			tag = cellNull
		default:
			tag, val = cellText, fields[k.Col]
		}
		floats := how[i] == AsFloats
		switch {
		case tag == cellNull:
			order = appendNullOrder(order, k)
		case tag == cellInt && floats:
			order = appendFloatOrder(order, float64(int64(binary.BigEndian.Uint64(val))), k)
		case tag == cellInt:
			order = appendIntOrder(order, int64(binary.BigEndian.Uint64(val)), k)
		case tag == cellFloat:
			order = appendFloatOrder(order, math.Float64frombits(binary.BigEndian.Uint64(val)), k)
		case how[i] == Bytewise:
			order = appendStringOrder(order, val, k)
		default:
			switch kind, in, f := readers.ParseNumber(val); {
			case kind == readers.KindNull:
				order = appendNullOrder(order, k)
			case kind == readers.KindInt && floats:
				order = appendFloatOrder(order, float64(in), k)
			case kind == readers.KindInt:
				order = appendIntOrder(order, in, k)
			case kind == readers.KindFloat:
				order = appendFloatOrder(order, f, k)
			default:
				order = appendStringOrder(order, val, k)
			}
		}
	}
	order = append(order, old[len(old)-suffix:]...)
	e.order = order
	out := binary.AppendUvarint(e.row[:0], uint64(len(order)))
	out = append(out, order...)
	// The cells as they are, but texts held in the old order section,
	// which this row no longer has: as texts of their own.
	for rest := cells; len(rest) > 0; {
		tag, val, next := nextCell(old, rest)
		if rest[0] == cellOrderText {
			out = appendCell(out, tag, val)
		} else {
			out = append(out, rest[:len(rest)-len(next)]...)
		}
		rest = next
	}
	e.row = out
	return out
}

// cellAt returns the tag and value of cell c of cells, a row's after
// its order section order: the 8 bytes of a number, the bytes of a text
// (cellText for a cellOrderText's).
func cellAt(order, cells []byte, c int) (byte, []byte) {
	for {
		tag, val, rest := nextCell(order, cells)
		if c == 0 {
			return tag, val
		}
		cells = rest
		c--
	}
}

// nextCell splits the first cell off cells, a row's after its order
// section order: its tag and value (as cellAt) and the cells after it.
func nextCell(order, cells []byte) (tag byte, val, rest []byte) {
	tag, cells = cells[0], cells[1:]
	switch tag {
	case cellInt, cellFloat:
		return tag, cells[:8], cells[8:]
	case cellText, cellQuoted:
		l, w := binary.Uvarint(cells)
		return tag, cells[w : w+int(l) : w+int(l)], cells[w+int(l):]
	case cellOrderText:
		val, cells = orderText(order, cells)
		return cellText, val, cells
	}
	return tag, nil, cells
}

// orderText reads a cellOrderText's value, after its tag in cells: the
// text in order it refers to, and the cells after it.
func orderText(order, cells []byte) (s, rest []byte) {
	off, w1 := binary.Uvarint(cells)
	l, w2 := binary.Uvarint(cells[w1:])
	return order[off : off+l : off+l], cells[w1+w2:]
}

// Suffix is how many bytes of ties end the order sections it made.
func (e *Encoder) Suffix() int {
	if e.ties == TiesByArrival || e.ties == TiesByPosition && e.hadPos {
		return 8
	}
	return 0
}

func appendText(row, s []byte) []byte { return appendCell(row, cellText, s) }

func appendCell(row []byte, tag byte, s []byte) []byte {
	row = append(row, tag)
	row = binary.AppendUvarint(row, uint64(len(s)))
	return append(row, s...)
}

// Order markers: a key's encoding starts with one, so nulls sort before
// or after every value whatever the direction.
const (
	orderNullFirst = 0
	orderValue     = 1
	orderNullLast  = 2
)

// appendOrdered appends row r of v as key k orders it, so that bytewise
// order is typed order: numbers by value (then exact integer, so huge
// integers that round to the same float still order), strings bytewise,
// nulls and NaN where k puts them.
func appendOrdered(dst []byte, v *plan.Vector, r int, k plan.SortKey) []byte {
	switch {
	case v == nil || v.Nulls[r] || v.Type == plan.Null:
		return appendNullOrder(dst, k)
	case v.Type == plan.Int:
		return appendIntOrder(dst, v.Ints[r], k)
	case v.Type == plan.Float:
		return appendFloatOrder(dst, v.Floats[r], k)
	}
	return appendStringOrder(dst, v.Strs[r], k)
}

func appendNullOrder(dst []byte, k plan.SortKey) []byte {
	if k.NullsFirst {
		return append(dst, orderNullFirst)
	}
	return append(dst, orderNullLast)
}

func appendIntOrder(dst []byte, i int64, k plan.SortKey) []byte {
	return appendNumberOrder(dst, float64(i), i, k.Desc)
}

func appendFloatOrder(dst []byte, f float64, k plan.SortKey) []byte {
	if math.IsNaN(f) {
		return appendNullOrder(dst, k) // NaN is null (DESIGN §5)
	}
	var i int64 // the integer of f, saturated: it matters only past 2^53
	switch {
	case f >= 1<<63:
		i = math.MaxInt64
	case f < -1<<63:
		i = math.MinInt64
	case f == math.Trunc(f):
		i = int64(f)
	}
	return appendNumberOrder(dst, f, i, k.Desc)
}

// appendNumberOrder appends a number's order: its value's (f, -0 as 0),
// then, where floats are too coarse to tell integers apart (from 2^53
// on), its exact integer's (i). Two numbers whose values order apart
// differ in the first eight bytes; two of equal value both have the
// second word or neither, so the encoding is prefix-free, and short
// for the numbers most keys hold.
func appendNumberOrder(dst []byte, f float64, i int64, desc bool) []byte {
	value := orderFloat(f)
	if desc {
		value = ^value
	}
	dst = append(dst, orderValue)
	dst = binary.BigEndian.AppendUint64(dst, value)
	if math.Abs(f) < 1<<53 {
		return dst
	}
	exact := uint64(i) ^ 1<<63
	if desc {
		exact = ^exact
	}
	return binary.BigEndian.AppendUint64(dst, exact)
}

func appendStringOrder(dst, s []byte, k plan.SortKey) []byte {
	dst = append(dst, orderValue)
	start := len(dst)
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
	return invert(dst, start, k.Desc)
}

// invert flips dst[start:] for a descending key.
func invert(dst []byte, start int, desc bool) []byte {
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
	schema plan.Schema
	cells  Cells
	batch  exec.Batch
	vecs   []plan.Vector
	texts  []exec.Text
	hasTxt []bool   // per column: some row of the batch has a text cell
	quoted [][]bool // per column: the storage of texts' Quoted
	raws   [][]byte
	num    []byte // numbers formatted for a column whose other rows are text
	// Positions: each row's tie (an input position or arrival) comes
	// back as Batch.Pos, from the end of its order section, flipped back
	// when ties were descending.
	positions, tiesDesc bool
	pos                 []uint64
}

// NewDecoder decodes rows of schema whose cells an Encoder wrote as cells
// says. Rows of CellsText come as Text only, rows of CellsRaw as Raw only:
// for a consumer that only writes them out.
func NewDecoder(schema plan.Schema, cells Cells) *Decoder {
	return &Decoder{schema: schema, cells: cells, vecs: make([]plan.Vector, len(schema)), texts: make([]exec.Text, len(schema)),
		hasTxt: make([]bool, len(schema)), quoted: make([][]bool, len(schema))}
}

// Decode returns a batch of rows (at most plan.BatchSize), valid until
// the next call. Its cells are views of the rows.
func (d *Decoder) Decode(rows [][]byte) *exec.Batch {
	n := len(rows)
	b := &d.batch
	b.Reset(len(d.schema))
	b.N = n
	if d.positions {
		d.pos = plan.Grow(d.pos, n)
		for r, row := range rows {
			order := orderOf(row)
			d.pos[r] = binary.BigEndian.Uint64(order[len(order)-8:])
			if d.tiesDesc {
				d.pos[r] = ^d.pos[r]
			}
		}
		b.Pos = d.pos
	}
	switch d.cells {
	case CellsText:
		return d.decodeText(rows)
	case CellsRaw:
		return d.decodeRaw(rows)
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
		order, cells := row[w:w+int(k)], row[w+int(k):]
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
			case cellText, cellQuoted, cellOrderText:
				var s []byte
				if tag == cellOrderText {
					s, cells = orderText(order, cells)
				} else {
					l, w := binary.Uvarint(cells)
					s = cells[w : w+int(l) : w+int(l)]
					cells = cells[w+int(l):]
				}
				d.texts[c].Strs[r] = s
				if tag == cellQuoted {
					d.quote(c, r, n)
				}
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
		order, cells := row[w:w+int(k)], row[w+int(k):]
		for c := range d.schema {
			tag := cells[0]
			cells = cells[1:]
			if tag == cellNull {
				d.texts[c].Strs[r] = nil
				continue
			}
			if tag == cellOrderText {
				d.texts[c].Strs[r], cells = orderText(order, cells)
				continue
			}
			if tag != cellText && tag != cellQuoted {
				panic("BUG: sorter: a number cell in a text-only row")
			}
			if tag == cellQuoted {
				d.quote(c, r, len(rows))
			}
			l, w := binary.Uvarint(cells)
			end := w + int(l)
			d.texts[c].Strs[r] = cells[w:end:end]
			cells = cells[end:]
		}
	}
	return b
}

// decodeRaw slices each row's record, its one cell.
func (d *Decoder) decodeRaw(rows [][]byte) *exec.Batch {
	b := &d.batch
	b.Raw = plan.Grow(d.raws, len(rows))
	d.raws = b.Raw
	for r, row := range rows {
		k, w := binary.Uvarint(row)
		_, b.Raw[r] = cellAt(row[w:w+int(k)], row[w+int(k):], 0)
	}
	return b
}

// quote marks row r of column c's text (of a batch of n rows) quoted.
func (d *Decoder) quote(c, r, n int) {
	t := &d.texts[c]
	if t.Quoted == nil {
		t.Quoted = plan.Grow(d.quoted[c], n)
		clear(t.Quoted)
		d.quoted[c] = t.Quoted
	}
	t.Quoted[r] = true
}

// toFloat turns rows [0, r) of an Int vector into floats.
func (d *Decoder) toFloat(v *plan.Vector, r int) {
	v.Floats = plan.Grow(v.Floats, len(v.Nulls))
	for i := range r {
		v.Floats[i] = float64(v.Ints[i])
	}
}

// Batches gathers encoded rows, each copied, into batches of at most
// plan.BatchSize and pushes each one decoded: for rows that come one at a
// time from a reader that overwrites a row with the next (the external
// sort's merge, a shard's state). A pushed batch is done with once push
// returns: the rows' arena is then reused. Not safe for concurrent use.
type Batches struct {
	dec   *Decoder
	push  func(*exec.Batch) error
	arena []byte
	rows  [][]byte
}

// NewBatches pushes the rows added, decoded by dec, to push.
func NewBatches(dec *Decoder, push func(*exec.Batch) error) *Batches {
	return &Batches{dec: dec, push: push, rows: make([][]byte, 0, plan.BatchSize)}
}

// Add copies row into the batch being gathered, and pushes the batch when
// it is full.
func (b *Batches) Add(row []byte) error {
	start := len(b.arena)
	b.arena = append(b.arena, row...)
	b.rows = append(b.rows, b.arena[start:len(b.arena):len(b.arena)])
	if len(b.rows) == plan.BatchSize {
		return b.Flush()
	}
	return nil
}

// Flush pushes the rows added since the last push, if any.
func (b *Batches) Flush() error {
	if len(b.rows) == 0 {
		return nil
	}
	err := b.push(b.dec.Decode(b.rows))
	b.rows, b.arena = b.rows[:0], b.arena[:0]
	return err
}
