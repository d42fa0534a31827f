package exec

import "github.com/gdask/gdask/plan"

// Batch is up to plan.BatchSize rows on their way between operators: the
// typed columns expressions and aggregates read (plan.Batch, indexed by
// the ordinal of the column in the schema of the node that made it), and
// what an output needs to write rows as the input has them.
type Batch struct {
	plan.Batch
	// Text, per column ordinal, is the column's text as the input has it,
	// for input columns read as text (nil for computed columns, and for
	// columns nothing reads as text). A String column's Text shares its
	// vector's Strs.
	Text []*Text
	// Raw, when not nil, is each row's record as the input has it, without
	// its line end (readers.Scanner.Raw): kept by a scan whose rows go out
	// unchanged.
	Raw [][]byte
	// Pos, when not nil, is each row's input position: the input's ordinal
	// in the top 20 bits, the record's byte offset below (first and last
	// order rows by it).
	Pos []uint64
}

// PosOf packs an input ordinal and a record offset into a position.
func PosOf(input int, offset int64) uint64 { return uint64(input)<<44 | uint64(offset) }

// Text is a column's fields as the input has them: unescaped, with
// Nulls[r] set when field r is null (empty, or a --null token) and
// Quoted[r] when it was quoted in the input. Nulls is nil when no field is
// null, Quoted when none was quoted, or when nothing reads them.
type Text struct {
	Strs   [][]byte
	Nulls  []bool
	Quoted []bool
}

// Null reports whether row r of the text is null.
func (t *Text) Null(r int) bool { return t.Nulls != nil && t.Nulls[r] || t.Strs[r] == nil }

// Reset empties b for a schema of ncols columns, keeping its storage.
func (b *Batch) Reset(ncols int) {
	b.N = 0
	b.Cols = plan.Grow(b.Cols, ncols)
	clear(b.Cols)
	b.Text = plan.Grow(b.Text, ncols)
	clear(b.Text)
	b.Raw = nil
	b.Pos = nil
}

// Compact keeps the rows sel (increasing indexes) of b, in place. A
// vector that two columns share is moved once.
func (b *Batch) Compact(sel []int32) {
	if len(sel) == b.N {
		return
	}
	var done []*plan.Vector
	for _, v := range b.Cols {
		if v == nil || containsVec(done, v) {
			continue
		}
		done = append(done, v)
		compactVector(v, sel)
	}
	var doneText []*Text
	for c, t := range b.Text {
		if t == nil || containsText(doneText, t) {
			continue
		}
		doneText = append(doneText, t)
		if v := b.Cols[c]; v != nil && v.Type == plan.String && sameStrs(v.Strs, t.Strs, b.N) {
			// One column seen two ways: moved with the vector.
			t.Strs, t.Nulls = v.Strs, v.Nulls
		} else {
			t.Strs = compactSlice(t.Strs, sel)
			if t.Nulls != nil {
				t.Nulls = compactSlice(t.Nulls, sel)
			}
		}
		if t.Quoted != nil {
			t.Quoted = compactSlice(t.Quoted, sel)
		}
	}
	if b.Raw != nil {
		b.Raw = compactSlice(b.Raw, sel)
	}
	if b.Pos != nil {
		b.Pos = compactSlice(b.Pos, sel)
	}
	b.N = len(sel)
}

func containsVec(vs []*plan.Vector, v *plan.Vector) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func containsText(ts []*Text, t *Text) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// sameStrs reports whether a and b are one slice of at least n strings
// (same first element): a String column's Text shares its vector's Strs.
func sameStrs(a, b [][]byte, n int) bool {
	return n > 0 && len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

func compactSlice[T any](s []T, sel []int32) []T {
	for i, r := range sel {
		s[i] = s[r]
	}
	return s[:len(sel)]
}

func compactVector(v *plan.Vector, sel []int32) {
	v.Nulls = compactSlice(v.Nulls, sel)
	switch v.Type {
	case plan.Bool:
		v.Bools = compactSlice(v.Bools, sel)
	case plan.Int:
		v.Ints = compactSlice(v.Ints, sel)
	case plan.Float:
		v.Floats = compactSlice(v.Floats, sel)
	case plan.String:
		v.Strs = compactSlice(v.Strs, sel)
	}
}

// Clone returns a copy of b that owns all its storage: for a sink that
// keeps whole batches (rows waiting for their turn to go out).
func (b *Batch) Clone() *Batch {
	c := &Batch{}
	c.N = b.N
	n := b.N
	var arena []byte
	text := func(s []byte) []byte {
		if s == nil {
			return nil
		}
		start := len(arena)
		arena = append(arena, s...)
		return arena[start:len(arena):len(arena)]
	}
	// Room for every byte first, so the arena never moves.
	size := 0
	for _, v := range b.Cols {
		if v != nil && v.Type == plan.String {
			for _, s := range v.Strs[:n] {
				size += len(s)
			}
		}
	}
	for _, t := range b.Text {
		if t != nil {
			for _, s := range t.Strs[:n] {
				size += len(s)
			}
		}
	}
	for _, r := range b.Raw {
		size += len(r)
	}
	arena = make([]byte, 0, size)
	c.Cols = make([]*plan.Vector, len(b.Cols))
	for i, v := range b.Cols {
		if v == nil {
			continue
		}
		cv := &plan.Vector{Type: v.Type, Nulls: clone(v.Nulls, n)}
		switch v.Type {
		case plan.Bool:
			cv.Bools = clone(v.Bools, n)
		case plan.Int:
			cv.Ints = clone(v.Ints, n)
		case plan.Float:
			cv.Floats = clone(v.Floats, n)
		case plan.String:
			cv.Strs = make([][]byte, n)
			for r, s := range v.Strs[:n] {
				cv.Strs[r] = text(s)
			}
		}
		c.Cols[i] = cv
	}
	c.Text = make([]*Text, len(b.Text))
	for i, t := range b.Text {
		if t == nil {
			continue
		}
		ct := &Text{Strs: make([][]byte, n), Nulls: clone(t.Nulls, n), Quoted: clone(t.Quoted, n)}
		for r, s := range t.Strs[:n] {
			ct.Strs[r] = text(s)
		}
		c.Text[i] = ct
	}
	if b.Raw != nil {
		c.Raw = make([][]byte, n)
		for r, s := range b.Raw[:n] {
			c.Raw[r] = text(s)
		}
	}
	c.Pos = clone(b.Pos, n)
	return c
}

func clone[T any](s []T, n int) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s[:n]...)
}
