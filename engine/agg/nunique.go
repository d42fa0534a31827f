package agg

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"unsafe"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// nuEntry is one distinct value of one group.
type nuEntry struct {
	bits uint64 // int64, float64 bits, or the string's offset in the arena
	g    uint32
	next uint32 // index+1 of the group's next entry, 0 at the end
	n    uint32 // string length
	tag  uint8
}

// nunique counts distinct non-null values per group exactly. Rather than a
// set per group, one open-addressing hash table over (group, value) holds
// every group's values, and each group's entries form a linked list for
// merging and encoding: no allocation per group or value beyond amortised
// growth of pages and slices.
//
// Numbers compare by value: an integral float within int64's range is the
// integer (1 and 1.0 are one value, and so are 0 and -0); strings compare
// bytewise and are copied into an arena; a string and a number are never
// equal.
type nunique struct {
	seed    maphash.Seed
	heads   paged.Column[uint32] // per group: index+1 of its newest entry, 0 when none
	counts  paged.Column[uint32] // per group: distinct values
	entries []nuEntry
	slots   []uint64 // hash<<32 | entry index+1; 0 empty; linear probing
	arena   []byte
}

func newNUnique(plan.Type) *nunique {
	return &nunique{seed: maphash.MakeSeed()}
}

func (a *nunique) Kind() Kind { return NUnique }
func (a *nunique) Len() int   { return a.heads.Len() }

func (a *nunique) Grow(n int) {
	a.heads.Grow(n)
	a.counts.Grow(n)
}

func (a *nunique) Reset() {
	a.heads.Reset()
	a.counts.Reset()
	a.entries, a.arena = a.entries[:0], a.arena[:0]
	clear(a.slots)
}

func (a *nunique) MemBytes() int64 {
	return a.heads.MemBytes() + a.counts.MemBytes() +
		int64(unsafe.Sizeof(nuEntry{}))*int64(cap(a.entries)) +
		8*int64(cap(a.slots)) + int64(cap(a.arena))
}

func mix64(x uint64) uint64 { // splitmix64's finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// canonFloat is a number's canonical (tag, bits).
func canonFloat(x float64) (uint8, uint64) {
	if isInteger(x) {
		return tagInt, uint64(int64(x))
	}
	return tagFloat, math.Float64bits(x)
}

func (a *nunique) hash(g uint32, tag uint8, bits uint64, s []byte) uint32 {
	if tag == tagStr {
		bits = maphash.Bytes(a.seed, s)
	}
	return uint32(mix64(bits^mix64(uint64(g)<<8|uint64(tag))) >> 32)
}

func (a *nunique) str(e *nuEntry) []byte {
	return a.arena[e.bits : e.bits+uint64(e.n)]
}

// insert adds the value to group g's set unless it is there.
func (a *nunique) insert(g uint32, tag uint8, bits uint64, s []byte) {
	if 2*(len(a.entries)+1) > len(a.slots) {
		a.rehash()
	}
	h := a.hash(g, tag, bits, s)
	mask := uint64(len(a.slots) - 1)
	i := uint64(h) & mask
	for {
		slot := a.slots[i]
		if slot == 0 {
			break
		}
		if uint32(slot>>32) == h {
			e := &a.entries[uint32(slot)-1]
			if e.g == g && e.tag == tag {
				if tag != tagStr && e.bits == bits || tag == tagStr && int(e.n) == len(s) && bytes.Equal(a.str(e), s) {
					return
				}
			}
		}
		i = (i + 1) & mask
	}
	if len(a.entries) >= math.MaxUint32-1 || len(s) > math.MaxUint32 {
		panic("BUG: agg: nunique table full")
	}
	head := a.heads.At(g)
	e := nuEntry{bits: bits, g: g, next: *head, tag: tag}
	if tag == tagStr {
		e.bits, e.n = uint64(len(a.arena)), uint32(len(s))
		a.arena = append(a.arena, s...)
	}
	a.entries = append(a.entries, e)
	idx := uint32(len(a.entries))
	*head = idx
	*a.counts.At(g)++
	a.slots[i] = uint64(h)<<32 | uint64(idx)
}

// rehash doubles the table.
func (a *nunique) rehash() {
	n := max(64, 2*len(a.slots))
	for n < 2*(len(a.entries)+1) {
		n *= 2
	}
	slots := make([]uint64, n)
	mask := uint64(n - 1)
	for _, s := range a.slots {
		if s == 0 {
			continue
		}
		i := (s >> 32) & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = s
	}
	a.slots = slots
}

func (a *nunique) Update(groups []uint32, v *plan.Vector, _ []uint64) {
	nulls := v.Nulls
	switch v.Type {
	case plan.Null:
	case plan.Int:
		vals := v.Ints[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			a.insert(g, tagInt, uint64(vals[i]), nil)
		}
	case plan.Float:
		vals := v.Floats[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			tag, bits := canonFloat(vals[i])
			a.insert(g, tag, bits, nil)
		}
	case plan.Bool:
		vals := v.Bools[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			var b uint64
			if vals[i] {
				b = 1
			}
			a.insert(g, tagInt, b, nil)
		}
	case plan.String:
		vals := v.Strs[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			a.insert(g, tagStr, 0, vals[i])
		}
	default:
		panic(badVector(NUnique, v.Type))
	}
}

func (a *nunique) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*nunique)
	if !ok {
		panic(mismatch(a, other))
	}
	for idx := *o.heads.At(src); idx != 0; {
		e := o.entries[idx-1] // a copy: insert may grow a.entries, and o may be a
		var s []byte
		if e.tag == tagStr {
			s = o.str(&e)
		}
		a.insert(dst, e.tag, e.bits, s)
		idx = e.next
	}
}

func (a *nunique) AppendState(dst []byte, g uint32) []byte {
	dst = binary.AppendUvarint(appendHeader(dst, NUnique), uint64(*a.counts.At(g)))
	for idx := *a.heads.At(g); idx != 0; {
		e := &a.entries[idx-1]
		var s []byte
		if e.tag == tagStr {
			s = a.str(e)
		}
		dst = appendValue(dst, e.tag, e.bits, s)
		idx = e.next
	}
	return dst
}

func (a *nunique) MergeState(g uint32, src []byte) ([]byte, error) {
	// Check every value first, so a corrupt state changes nothing.
	d := newDecoder(NUnique, src)
	n := d.uvarint()
	if d.err == nil && n > uint64(len(d.b)/2) { // a value takes 2 bytes or more
		d.fail("value count exceeds the bytes")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		if v := d.value(); d.err == nil && v.tag == tagNone {
			d.fail("empty value")
		}
	}
	if d.err != nil {
		return src, d.err
	}
	rest := d.b
	d = newDecoder(NUnique, src)
	d.uvarint()
	for range n {
		v := d.value()
		if v.tag == tagFloat {
			v.tag, v.bits = canonFloat(math.Float64frombits(v.bits))
		}
		a.insert(g, v.tag, v.bits, v.str)
	}
	return rest, nil
}

func (a *nunique) Result(g uint32, out *plan.Vector, row int) {
	switch out.Type {
	case plan.Float:
		out.Floats[row] = float64(*a.counts.At(g))
	default:
		out.Ints[row] = int64(*a.counts.At(g))
	}
}
