package agg

import (
	"encoding/binary"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// countAgg counts rows per group, nulls included; with values, the
// non-null values of its column (SQL's count(c)).
type countAgg struct {
	n      paged.Column[int64]
	values bool
}

// NewCountValues returns a Count of the non-null values of a column
// (NaN is null), where New(Count, ...) counts rows. Their states are the
// same and merge alike.
func NewCountValues() Agg { return &countAgg{values: true} }

func (a *countAgg) Kind() Kind      { return Count }
func (a *countAgg) Len() int        { return a.n.Len() }
func (a *countAgg) Grow(n int)      { a.n.Grow(n) }
func (a *countAgg) Reset()          { a.n.Reset() }
func (a *countAgg) MemBytes() int64 { return a.n.MemBytes() }

func (a *countAgg) Update(groups []uint32, v *plan.Vector, _ []uint64) {
	switch {
	case v == nil || !a.values:
		for _, g := range groups {
			*a.n.At(g)++
		}
	case v.Type == plan.Null:
	case v.Type == plan.Float:
		for r, g := range groups {
			if f := v.Floats[r]; !v.Nulls[r] && f == f { // NaN is null
				*a.n.At(g)++
			}
		}
	default:
		for r, g := range groups {
			if !v.Nulls[r] {
				*a.n.At(g)++
			}
		}
	}
}

func (a *countAgg) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*countAgg)
	if !ok {
		panic(mismatch(a, other))
	}
	*a.n.At(dst) += *o.n.At(src)
}

func (a *countAgg) AppendState(dst []byte, g uint32) []byte {
	return binary.AppendUvarint(appendHeader(dst, Count), uint64(*a.n.At(g)))
}

func (a *countAgg) MergeState(g uint32, src []byte) ([]byte, error) {
	d := newDecoder(Count, src)
	n := d.count()
	if d.err != nil {
		return src, d.err
	}
	*a.n.At(g) += n
	return d.b, nil
}

func (a *countAgg) Result(g uint32, out *plan.Vector, row int) {
	switch out.Type {
	case plan.Float:
		out.Floats[row] = float64(*a.n.At(g))
	default:
		out.Ints[row] = *a.n.At(g)
	}
}
