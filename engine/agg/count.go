package agg

import (
	"encoding/binary"
	"unsafe"

	"github.com/gdask/gdask/plan"
)

// countAgg counts rows per group, nulls included.
type countAgg struct {
	n []int64
}

func (a *countAgg) Kind() Kind { return Count }
func (a *countAgg) Len() int   { return len(a.n) }
func (a *countAgg) Grow(n int) { a.n = growZero(a.n, n) }
func (a *countAgg) Reset()     { a.n = a.n[:0] }

func (a *countAgg) MemBytes() int64 {
	return int64(cap(a.n)) * int64(unsafe.Sizeof(a.n[0]))
}

func (a *countAgg) Update(groups []uint32, _ *plan.Vector, _ []uint64) {
	n := a.n
	for _, g := range groups {
		n[g]++
	}
}

func (a *countAgg) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*countAgg)
	if !ok {
		panic(mismatch(a, other))
	}
	a.n[dst] += o.n[src]
}

func (a *countAgg) AppendState(dst []byte, g uint32) []byte {
	return binary.AppendUvarint(appendHeader(dst, Count), uint64(a.n[g]))
}

func (a *countAgg) MergeState(g uint32, src []byte) ([]byte, error) {
	d := newDecoder(Count, src)
	n := d.count()
	if d.err != nil {
		return src, d.err
	}
	a.n[g] += n
	return d.b, nil
}

func (a *countAgg) Result(g uint32, out *plan.Vector, row int) {
	switch out.Type {
	case plan.Float:
		out.Floats[row] = float64(a.n[g])
	default:
		out.Ints[row] = a.n[g]
	}
}
