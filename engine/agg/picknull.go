package agg

import "github.com/gdask/gdask/plan"

// Typer is implemented by min, max, first and last over a Null column (no
// value in the sample that typed it): values can still arrive later, as
// numbers or as strings, and ResultType (Null) cannot know which.
// ResultType reports what the results need after the updates and merges:
// Null (no value arrived), Float (numbers; Widened says so too) or String
// (strings; a group whose values were numbers then reads as null). The
// engine Resets the output column to that type.
type Typer interface {
	ResultType() plan.Type
}

// pickNull is Min, Max, First or Last over a Null column: a pickNum for
// numeric vectors and a pickStr for string vectors. An engine sends one
// kind per column; a group that got both keeps both and reads as the
// column's ResultType.
type pickNull struct {
	kind Kind
	num  *pickNum
	str  *pickStr
}

var (
	_ Typer   = (*pickNull)(nil)
	_ Widener = (*pickNull)(nil)
)

func newPickNull(k Kind) *pickNull {
	return &pickNull{kind: k, num: &pickNum{kind: k, in: plan.Null}, str: &pickStr{kind: k}}
}

func (a *pickNull) Kind() Kind { return a.kind }
func (a *pickNull) Len() int   { return a.num.Len() }

func (a *pickNull) Grow(n int) {
	a.num.Grow(n)
	a.str.Grow(n)
}

func (a *pickNull) Reset() {
	a.num.Reset()
	a.str.Reset()
}

func (a *pickNull) MemBytes() int64 { return a.num.MemBytes() + a.str.MemBytes() }

func (a *pickNull) Update(groups []uint32, v *plan.Vector, pos []uint64) {
	switch v.Type {
	case plan.Null:
	case plan.String:
		a.str.Update(groups, v, pos)
	default:
		a.num.Update(groups, v, pos)
	}
}

func (a *pickNull) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*pickNull)
	if !ok || o.kind != a.kind {
		panic(mismatch(a, other))
	}
	a.num.MergeGroup(dst, o.num, src)
	a.str.MergeGroup(dst, o.str, src)
}

// AppendState writes the string value when the group has one, else the
// number (or the empty value): the encoding of pickStr or pickNum.
func (a *pickNull) AppendState(dst []byte, g uint32) []byte {
	if *a.str.has.At(g) {
		return a.str.AppendState(dst, g)
	}
	return a.num.AppendState(dst, g)
}

func (a *pickNull) MergeState(g uint32, src []byte) ([]byte, error) {
	if len(src) > 2 && src[2] == tagStr {
		return a.str.MergeState(g, src)
	}
	return a.num.MergeState(g, src)
}

// Widened reports whether numbers arrived: the column needs Float.
func (a *pickNull) Widened() bool { return a.ResultType() == plan.Float }

func (a *pickNull) ResultType() plan.Type {
	for g := range uint32(a.str.has.Len()) {
		if *a.str.has.At(g) {
			return plan.String
		}
	}
	for g := range uint32(a.num.tags.Len()) {
		if *a.num.tags.At(g) != tagNone {
			return plan.Float
		}
	}
	return plan.Null
}

func (a *pickNull) Result(g uint32, out *plan.Vector, row int) {
	switch out.Type {
	case plan.String:
		a.str.Result(g, out, row)
	case plan.Float:
		a.num.Result(g, out, row)
	default:
		out.Nulls[row] = true
	}
}
