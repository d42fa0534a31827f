package agg

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"math"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// Min, Max, First and Last keep one value per group, chosen by a total
// order so the choice does not depend on the order of rows or merges:
//
//   - min, max: by value; numbers compare exactly (an int64 and a float
//     compare by their mathematical values), -0 before +0, strings bytewise;
//   - first, last: by input position; equal positions (never, for rows of
//     one input) keep the smaller value.

// pickNum is Min, Max, First or Last over a numeric, Bool or Null column.
//
// Values are normalised on the way in, by value only: in a Float column
// every value is a float; in the others an integral float within int64's
// range is the integer (batches of an Int column turn Float when any value
// is a non-integer), so 3 and 3.0 are one value and the answer is the same
// for every partitioning.
type pickNum struct {
	kind Kind
	in   plan.Type
	tags paged.Column[uint8]  // tagNone, tagInt, tagFloat
	vals paged.Column[uint64] // int64 or float64 bits
	pos  paged.Column[uint64] // First and Last only
}

func (a *pickNum) Kind() Kind { return a.kind }
func (a *pickNum) Len() int   { return a.tags.Len() }

func (a *pickNum) byPos() bool { return a.kind == First || a.kind == Last }

func (a *pickNum) Grow(n int) {
	a.tags.Grow(n)
	a.vals.Grow(n)
	if a.byPos() {
		a.pos.Grow(n)
	}
}

func (a *pickNum) Reset() {
	a.tags.Reset()
	a.vals.Reset()
	a.pos.Reset()
}

func (a *pickNum) MemBytes() int64 {
	return a.tags.MemBytes() + a.vals.MemBytes() + a.pos.MemBytes()
}

func (a *pickNum) normInt(x int64) (uint8, uint64) {
	if a.in == plan.Float {
		return tagFloat, math.Float64bits(float64(x))
	}
	return tagInt, uint64(x)
}

func (a *pickNum) normFloat(x float64) (uint8, uint64) {
	if a.in != plan.Float && isInteger(x) {
		return tagInt, uint64(int64(x))
	}
	return tagFloat, math.Float64bits(x)
}

func (a *pickNum) norm(tag uint8, bits uint64) (uint8, uint64) {
	switch tag {
	case tagInt:
		return a.normInt(int64(bits))
	case tagFloat:
		return a.normFloat(math.Float64frombits(bits))
	}
	return tag, bits
}

// offer makes (tag, bits) at position p group g's value if it wins.
func (a *pickNum) offer(g uint32, tag uint8, bits uint64, p uint64) {
	t, v := a.tags.At(g), a.vals.At(g)
	if ct := *t; ct != tagNone {
		c := cmpNum(tag, bits, ct, *v)
		switch a.kind {
		case Min:
			if c >= 0 {
				return
			}
		case Max:
			if c <= 0 {
				return
			}
		case First:
			if cp := *a.pos.At(g); p > cp || p == cp && c >= 0 {
				return
			}
		case Last:
			if cp := *a.pos.At(g); p < cp || p == cp && c >= 0 {
				return
			}
		}
	}
	*t, *v = tag, bits
	if a.byPos() {
		*a.pos.At(g) = p
	}
}

func (a *pickNum) Update(groups []uint32, v *plan.Vector, pos []uint64) {
	if a.byPos() {
		pos = needPos(a.kind, groups, pos)
	}
	nulls := v.Nulls
	var p uint64
	switch v.Type {
	case plan.Null:
	case plan.Int:
		vals := v.Ints[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			if pos != nil {
				p = pos[i]
			}
			tag, bits := a.normInt(vals[i])
			a.offer(g, tag, bits, p)
		}
	case plan.Float:
		vals := v.Floats[:len(groups)]
		if a.in == plan.Float && (a.kind == Min || a.kind == Max) {
			a.minMaxFloats(groups, vals, nulls)
			return
		}
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			if pos != nil {
				p = pos[i]
			}
			tag, bits := a.normFloat(vals[i])
			a.offer(g, tag, bits, p)
		}
	case plan.Bool:
		vals := v.Bools[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			if pos != nil {
				p = pos[i]
			}
			var b int64
			if vals[i] {
				b = 1
			}
			tag, bits := a.normInt(b)
			a.offer(g, tag, bits, p)
		}
	default:
		panic(badVector(a.kind, v.Type))
	}
}

// minMaxFloats is Update for min and max over a Float column: every value
// there is a float (tagFloat), so the general offer's tag dispatch and
// position logic drop out of the loop. Same order as cmpFloat.
func (a *pickNum) minMaxFloats(groups []uint32, vals []float64, nulls []bool) {
	sign := 1 // max: take x when cmpFloat(x, cur) > 0
	if a.kind == Min {
		sign = -1
	}
	tags, cur := &a.tags, &a.vals
	for i, g := range groups {
		if len(nulls) > 0 && nulls[i] {
			continue
		}
		x := vals[i]
		t, v := tags.At(g), cur.At(g)
		if *t == tagNone || cmpFloat(x, math.Float64frombits(*v))*sign > 0 {
			*t, *v = tagFloat, math.Float64bits(x)
		}
	}
}

func (a *pickNum) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*pickNum)
	if !ok || o.kind != a.kind {
		panic(mismatch(a, other))
	}
	ot := *o.tags.At(src)
	if ot == tagNone {
		return
	}
	var p uint64
	if a.byPos() {
		p = *o.pos.At(src)
	}
	tag, bits := a.norm(ot, *o.vals.At(src))
	a.offer(dst, tag, bits, p)
}

func (a *pickNum) AppendState(dst []byte, g uint32) []byte {
	tag := *a.tags.At(g)
	dst = appendValue(appendHeader(dst, a.kind), tag, *a.vals.At(g), nil)
	if a.byPos() && tag != tagNone {
		dst = binary.AppendUvarint(dst, *a.pos.At(g))
	}
	return dst
}

func (a *pickNum) MergeState(g uint32, src []byte) ([]byte, error) {
	d := newDecoder(a.kind, src)
	v := d.value()
	var p uint64
	if a.byPos() && v.tag != tagNone {
		p = d.uvarint()
	}
	if d.err == nil && v.tag == tagStr {
		d.fail("string value for a numeric column")
	}
	if d.err != nil {
		return src, d.err
	}
	if v.tag != tagNone {
		tag, bits := a.norm(v.tag, v.bits)
		a.offer(g, tag, bits, p)
	}
	return d.b, nil
}

// Widened reports whether some group's value needs a Float column: a
// non-integer in an Int or Bool column, any value in a Null column.
func (a *pickNum) Widened() bool {
	if a.in == plan.Float {
		return false
	}
	for g := range uint32(a.tags.Len()) {
		if t := *a.tags.At(g); t == tagFloat || t != tagNone && a.in == plan.Null {
			return true
		}
	}
	return false
}

func (a *pickNum) Result(g uint32, out *plan.Vector, row int) {
	tag, bits := *a.tags.At(g), *a.vals.At(g)
	if tag == tagNone || out.Type == plan.Null {
		out.Nulls[row] = true
		return
	}
	switch out.Type {
	case plan.Float:
		if tag == tagInt {
			out.Floats[row] = float64(int64(bits))
		} else {
			out.Floats[row] = math.Float64frombits(bits)
		}
		return
	case plan.Int:
		if tag == tagInt {
			out.Ints[row] = int64(bits)
			return
		}
	case plan.Bool:
		if tag == tagInt {
			out.Bools[row] = bits != 0
			return
		}
	}
	panic("BUG: agg: " + a.kind.String() + " result into a " + out.Type.String() + " vector: the caller must ask Widened")
}

func needPos(k Kind, groups []uint32, pos []uint64) []uint64 {
	if len(pos) < len(groups) {
		panic("BUG: agg: " + k.String() + " needs a position for every row")
	}
	return pos[:len(groups)]
}

// cmpNum compares two tagged numbers exactly; equal values of different
// tags order the int first, and -0 comes before +0, so the order is total.
func cmpNum(at uint8, ab uint64, bt uint8, bb uint64) int {
	switch {
	case at == tagInt && bt == tagInt:
		return cmp.Compare(int64(ab), int64(bb))
	case at == tagFloat && bt == tagFloat:
		return cmpFloat(math.Float64frombits(ab), math.Float64frombits(bb))
	case at == tagInt:
		return cmpIntFloat(int64(ab), math.Float64frombits(bb))
	}
	return -cmpIntFloat(int64(bb), math.Float64frombits(ab))
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	sa, sb := math.Signbit(a), math.Signbit(b)
	switch {
	case sa && !sb:
		return -1
	case sb && !sa:
		return 1
	}
	return 0
}

// cmpIntFloat compares i and f by value, exactly; when equal, the int is
// first.
func cmpIntFloat(i int64, f float64) int {
	if f >= 0x1p63 {
		return -1
	}
	if f < -0x1p63 {
		return 1
	}
	t := math.Trunc(f)
	if ti := int64(t); i != ti {
		return cmp.Compare(i, ti)
	}
	if f < t {
		return 1
	}
	return -1 // f > t, or equal values: the int first
}

// strRef is a string in an arena: bytes [off, off+n), with room for cap.
type strRef struct {
	off    uint64
	n, cap uint32
}

// pickStr is Min, Max, First or Last over a String column. Chosen values
// are copied into an arena owned by the Agg (the input bytes live only
// during Update); a replaced value's room is reused when the new one fits,
// and the arena is compacted when more than half of it is garbage.
type pickStr struct {
	kind    Kind
	has     paged.Column[bool]
	refs    paged.Column[strRef]
	pos     paged.Column[uint64] // First and Last only
	arena   []byte
	garbage int // bytes of arena no value uses
}

func (a *pickStr) Kind() Kind  { return a.kind }
func (a *pickStr) Len() int    { return a.has.Len() }
func (a *pickStr) byPos() bool { return a.kind == First || a.kind == Last }

func (a *pickStr) Grow(n int) {
	a.has.Grow(n)
	a.refs.Grow(n)
	if a.byPos() {
		a.pos.Grow(n)
	}
}

func (a *pickStr) Reset() {
	a.has.Reset()
	a.refs.Reset()
	a.pos.Reset()
	a.arena, a.garbage = a.arena[:0], 0
}

func (a *pickStr) MemBytes() int64 {
	return a.has.MemBytes() + a.refs.MemBytes() + a.pos.MemBytes() + int64(cap(a.arena))
}

func (a *pickStr) str(g uint32) []byte {
	r := a.refs.At(g)
	end := r.off + uint64(r.n)
	return a.arena[r.off:end:end]
}

// offer makes b at position p group g's value if it wins; b is copied.
func (a *pickStr) offer(g uint32, b []byte, p uint64) {
	has := a.has.At(g)
	if *has {
		c := bytes.Compare(b, a.str(g))
		switch a.kind {
		case Min:
			if c >= 0 {
				return
			}
		case Max:
			if c <= 0 {
				return
			}
		case First:
			if cp := *a.pos.At(g); p > cp || p == cp && c >= 0 {
				return
			}
		case Last:
			if cp := *a.pos.At(g); p < cp || p == cp && c >= 0 {
				return
			}
		}
	}
	if a.byPos() {
		*a.pos.At(g) = p
	}
	if len(b) > math.MaxUint32 {
		panic("BUG: agg: a string of 4 GiB or more")
	}
	r := a.refs.At(g)
	if *has && len(b) <= int(r.cap) {
		copy(a.arena[r.off:], b)
		a.garbage += int(r.n) - len(b)
		r.n = uint32(len(b))
		return
	}
	if *has {
		a.garbage += int(r.n)
	}
	*has = true
	*r = strRef{off: uint64(len(a.arena)), n: uint32(len(b)), cap: uint32(len(b))}
	a.arena = append(a.arena, b...)
	if a.garbage > len(a.arena)/2 && len(a.arena) >= 64<<10 {
		a.compact()
	}
}

// compact rewrites the live values into a new arena.
func (a *pickStr) compact() {
	arena := make([]byte, 0, len(a.arena)-a.garbage)
	for g := range uint32(a.has.Len()) {
		if !*a.has.At(g) {
			continue
		}
		r := a.refs.At(g)
		b := a.str(g)
		*r = strRef{off: uint64(len(arena)), n: uint32(len(b)), cap: uint32(len(b))}
		arena = append(arena, b...)
	}
	a.arena, a.garbage = arena, 0
}

func (a *pickStr) Update(groups []uint32, v *plan.Vector, pos []uint64) {
	switch v.Type {
	case plan.Null:
		return
	case plan.String:
	default:
		panic("BUG: agg: " + a.kind.String() + " of a string column got a " + v.Type.String() + " vector")
	}
	if a.byPos() {
		pos = needPos(a.kind, groups, pos)
	}
	nulls := v.Nulls
	vals := v.Strs[:len(groups)]
	var p uint64
	for i, g := range groups {
		if len(nulls) > 0 && nulls[i] {
			continue
		}
		if pos != nil {
			p = pos[i]
		}
		a.offer(g, vals[i], p)
	}
}

func (a *pickStr) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*pickStr)
	if !ok || o.kind != a.kind {
		panic(mismatch(a, other))
	}
	if !*o.has.At(src) {
		return
	}
	var p uint64
	if a.byPos() {
		p = *o.pos.At(src)
	}
	a.offer(dst, o.str(src), p)
}

func (a *pickStr) AppendState(dst []byte, g uint32) []byte {
	dst = appendHeader(dst, a.kind)
	if !*a.has.At(g) {
		return append(dst, tagNone)
	}
	dst = appendValue(dst, tagStr, 0, a.str(g))
	if a.byPos() {
		dst = binary.AppendUvarint(dst, *a.pos.At(g))
	}
	return dst
}

func (a *pickStr) MergeState(g uint32, src []byte) ([]byte, error) {
	d := newDecoder(a.kind, src)
	v := d.value()
	var p uint64
	if a.byPos() && v.tag != tagNone {
		p = d.uvarint()
	}
	if d.err == nil && v.tag != tagNone && v.tag != tagStr {
		d.fail("number for a string column")
	}
	if d.err != nil {
		return src, d.err
	}
	if v.tag == tagStr {
		a.offer(g, v.str, p)
	}
	return d.b, nil
}

// Result writes a view of the Agg's arena: valid until the Agg is next
// changed (Update, a merge, Reset).
func (a *pickStr) Result(g uint32, out *plan.Vector, row int) {
	if !*a.has.At(g) {
		out.Nulls[row] = true
		return
	}
	if out.Type != plan.String {
		panic("BUG: agg: " + a.kind.String() + " of strings into a " + out.Type.String() + " vector")
	}
	out.Strs[row] = a.str(g)
}
