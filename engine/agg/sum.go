package agg

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// Sum state flags beyond acc's (state only): the integer part is 128-bit;
// a row count follows (a count read from this sum, see View); levels of
// the float part above 0 follow its components.
const (
	sumBigInt = 1 << 3
	sumRows   = 1 << 4
	sumHigh   = 1 << 5
)

// sumCell is one group's sum (and count, for the mean): the exact sum of
// its integer values plus the exact sum of the others (flags in f.aux).
type sumCell struct {
	i    i128
	f    acc
	n    int64
	rows int64 // rows of any value, null included, when countRows
}

// sumAgg is Sum and Mean. Both are exact until the final rounding, which
// is done once, correctly, so results never depend on order.
//
// Over an Int or Bool column, integer values (also integral values that
// arrive in Float batches) sum in 128 bits and the rest in f, flagged
// flagNonInt; a group's sum is Int unless it is flagged or leaves int64
// (Widened). Over a Float or Null column (Float result) Float batches go to
// f and Int batches to i; the result is the correctly rounded total.
type sumAgg struct {
	kind      Kind
	countRows bool // a count is read from this sum's cells (View)
	in        plan.Type
	cells     paged.Column[sumCell]
	store     expStore
	scratch   []float64
}

func (a *sumAgg) Kind() Kind { return a.kind }
func (a *sumAgg) Len() int   { return a.cells.Len() }
func (a *sumAgg) Grow(n int) { a.cells.Grow(n) }

func (a *sumAgg) Reset() {
	a.cells.Reset()
	a.store.reset()
}

func (a *sumAgg) MemBytes() int64 {
	return a.cells.MemBytes() + a.store.memBytes() + 8*int64(cap(a.scratch))
}

// intCol reports whether the column is an integer one, whose results stay
// exact integers unless a group proves otherwise.
func (a *sumAgg) intCol() bool { return a.in == plan.Int || a.in == plan.Bool }

func infFlag(x float64) uint8 {
	if x > 0 {
		return flagPosInf
	}
	return flagNegInf
}

func (a *sumAgg) Update(groups []uint32, v *plan.Vector, _ []uint64) {
	cells := &a.cells
	if a.countRows {
		// Every row counts, null or not. The loop below then finds the
		// cells in cache.
		for _, g := range groups {
			cells.At(g).rows++
		}
	}
	nulls := v.Nulls
	switch v.Type {
	case plan.Null:
	case plan.Int:
		vals := v.Ints[:len(groups)]
		if len(nulls) == 0 {
			for i, g := range groups {
				c := cells.At(g)
				c.n++
				c.i = c.i.addInt(vals[i])
			}
			return
		}
		nulls = nulls[:len(groups)]
		for i, g := range groups {
			if nulls[i] {
				continue
			}
			c := cells.At(g)
			c.n++
			c.i = c.i.addInt(vals[i])
		}
	case plan.Float:
		vals := v.Floats[:len(groups)]
		if a.intCol() {
			a.updateFloatIntCol(groups, vals, nulls)
			return
		}
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			c := cells.At(g)
			c.n++
			x := vals[i]
			if c.f.ext == 0 { // c.f.addFast(x), inlined by hand
				s, e := twoSum(c.f.hi, x)
				l, le := twoSum(c.f.lo, e)
				if le == 0 {
					c.f.hi, c.f.lo = s, l
					continue
				}
			}
			a.store.add(&c.f, x) // escalated, inexact, or ±Inf
		}
	case plan.Bool:
		vals := v.Bools[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			c := cells.At(g)
			c.n++
			if vals[i] {
				c.i = c.i.addInt(1)
			}
		}
	default:
		panic(badVector(a.kind, v.Type))
	}
}

// updateFloatIntCol folds a Float batch of an integer column: integral
// values stay exact integers, the rest flag the group.
func (a *sumAgg) updateFloatIntCol(groups []uint32, vals []float64, nulls []bool) {
	cells := &a.cells
	for i, g := range groups {
		if len(nulls) > 0 && nulls[i] {
			continue
		}
		x := vals[i]
		c := cells.At(g)
		c.n++
		if isInteger(x) {
			c.i = c.i.addInt(int64(x))
			continue
		}
		c.f.aux |= flagNonInt
		a.store.add(&c.f, x)
	}
}

func (a *sumAgg) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*sumAgg)
	if !ok || o.kind != a.kind {
		panic(mismatch(a, other))
	}
	c, oc := a.cells.At(dst), o.cells.At(src)
	c.i = c.i.add(oc.i)
	c.n += oc.n
	c.rows += oc.rows
	a.store.merge(&c.f, &o.store, &oc.f)
}

func (a *sumAgg) AppendState(dst []byte, g uint32) []byte {
	c := a.cells.At(g)
	flags := c.f.aux
	big := !c.i.isInt64()
	if big {
		flags |= sumBigInt
	}
	if a.countRows {
		flags |= sumRows
	}
	highs := a.store.highs(&c.f)
	if len(highs) > 0 {
		flags |= sumHigh
	}
	dst = append(appendHeader(dst, a.kind), flags)
	dst = binary.AppendUvarint(dst, uint64(c.n))
	if big {
		dst = binary.LittleEndian.AppendUint64(dst, c.i.lo)
		dst = binary.LittleEndian.AppendUint64(dst, uint64(c.i.hi))
	} else {
		dst = binary.AppendVarint(dst, int64(c.i.lo))
	}
	dst = a.store.appendAcc(dst, &c.f)
	if len(highs) > 0 {
		dst = appendHighs(dst, highs)
	}
	if a.countRows {
		dst = binary.AppendUvarint(dst, uint64(c.rows))
	}
	return dst
}

func (a *sumAgg) MergeState(g uint32, src []byte) ([]byte, error) {
	if rest, ok := a.mergeInt(g, src); ok {
		return rest, nil
	}
	d := newDecoder(a.kind, src)
	flags := d.byte()
	n := d.count()
	var i i128
	if flags&sumBigInt != 0 {
		i.lo = d.uint64()
		i.hi = int64(d.uint64())
	} else {
		x := d.varint()
		i = i128{uint64(x), x >> 63}
	}
	parts := d.accParts()
	var highs [][]byte
	if flags&sumHigh != 0 {
		highs = d.highParts()
	}
	var rows int64
	if flags&sumRows != 0 {
		rows = d.count()
	}
	if d.err == nil && flags >= sumHigh<<1 {
		d.fail("bad flags")
	}
	if d.err != nil {
		return src, d.err
	}
	c := a.cells.At(g)
	c.n += n
	c.rows += rows
	c.i = c.i.add(i)
	c.f.aux |= flags &^ (sumBigInt | sumRows | sumHigh)
	a.store.addParts(&c.f, parts)
	a.store.addHighParts(&c.f, highs)
	return d.b, nil
}

// mergeInt merges the state most sums of an integer column have, an
// int64 total with no float parts (and maybe its rows), read without the
// general decoder: a merge of many shards' groups reads one per group.
// It reports false, having merged nothing, for any other state.
func (a *sumAgg) mergeInt(g uint32, src []byte) ([]byte, bool) {
	if len(src) < 6 || src[0] != stateVersion || Kind(src[1]) != a.kind || src[2]&^sumRows != 0 {
		return nil, false
	}
	b := src[3:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > math.MaxInt64 {
		return nil, false
	}
	b = b[k:]
	x, k := binary.Varint(b)
	if k <= 0 || len(b) == k || b[k] != 0 { // then no float parts
		return nil, false
	}
	b = b[k+1:]
	var rows uint64
	if src[2]&sumRows != 0 {
		if rows, k = binary.Uvarint(b); k <= 0 || rows > math.MaxInt64 {
			return nil, false
		}
		b = b[k:]
	}
	c := a.cells.At(g)
	c.n += int64(n)
	c.rows += int64(rows)
	c.i = c.i.add(i128{uint64(x), x >> 63})
	return b, true
}

// Widened reports whether some group's sum needs Float although the column
// is an integer one (see Widener). Mean never widens: it is Float.
func (a *sumAgg) Widened() bool { return a.widened(a.kind) }

func (a *sumAgg) widened(kind Kind) bool {
	if kind != Sum || !a.intCol() {
		return false
	}
	for g := range uint32(a.cells.Len()) {
		c := a.cells.At(g)
		if c.f.aux&flagNonInt != 0 || !c.i.isInt64() {
			return true
		}
	}
	return false
}

// exact reports whether the group's result is its integer part alone.
func (a *sumAgg) exact(c *sumCell) bool {
	return a.intCol() && c.f.aux&flagNonInt == 0
}

// special returns the result decided by infinities: ±Inf, or NaN for both.
func special(aux uint8) (float64, bool) {
	switch aux & (flagPosInf | flagNegInf) {
	case flagPosInf:
		return math.Inf(1), true
	case flagNegInf:
		return math.Inf(-1), true
	case flagPosInf | flagNegInf:
		return math.NaN(), true
	}
	return 0, false
}

// total returns the exact total as an expansion in a.scratch, or, with
// ok false, nothing: the total is an infinity (special) or needs math/big
// (big).
func (a *sumAgg) total(c *sumCell) (p []float64, ok bool) {
	if _, isSpecial := special(c.f.aux); isSpecial || len(a.store.highs(&c.f)) > 0 {
		return nil, false
	}
	p, over := exactParts(&a.store, &c.f, c.i, a.scratch)
	a.scratch = p[:0]
	return p, over == 0
}

// slowTotal returns the exact total as a big.Rat, or the result decided
// by infinities.
func (a *sumAgg) slowTotal(c *sumCell) (*big.Rat, float64, bool) {
	if f, isSpecial := special(c.f.aux); isSpecial {
		return nil, f, true
	}
	return a.store.rat(&c.f, c.i), 0, false
}

func (a *sumAgg) Result(g uint32, out *plan.Vector, row int) { a.result(a.kind, g, out, row) }

// result writes group g's result as kind, Sum or Mean: both read the same
// state, whatever kind the Agg was made as.
func (a *sumAgg) result(kind Kind, g uint32, out *plan.Vector, row int) {
	c := a.cells.At(g)
	var f float64
	switch {
	case kind == Sum && out.Type == plan.Int:
		if !a.exact(c) || !c.i.isInt64() {
			panic("BUG: agg: an Int sum result that needs Float: the caller must ask Widened")
		}
		out.Ints[row] = int64(c.i.lo)
		return
	case kind == Sum && a.exact(c):
		f = c.i.float64()
	case kind == Sum:
		if t := c.f; t.ext == 0 && t.aux&(flagPosInf|flagNegInf) == 0 && c.i.isInt64() {
			// Fast path: the integer part is exact as a float64 and the
			// total fits a double-double, whose hi is then correctly rounded.
			if s := int64(c.i.lo); s >= -1<<53 && s <= 1<<53 && t.addFast(float64(s)) {
				f = t.hi + t.lo
				break
			}
		}
		if p, ok := a.total(c); ok {
			f = roundParts(p)
		} else if r, sp, isSpecial := a.slowTotal(c); isSpecial {
			f = sp
		} else {
			f, _ = r.Float64() // ±Inf beyond float64's range
		}
	case c.n == 0:
		out.Nulls[row] = true
		return
	default:
		f = a.mean(c)
	}
	if math.IsNaN(f) {
		out.Nulls[row] = true
		return
	}
	if out.Type != plan.Float {
		panic("BUG: agg: " + kind.String() + " result into a " + out.Type.String() + " vector")
	}
	out.Floats[row] = f
}

// mean returns the group's mean, correctly rounded from the exact value.
func (a *sumAgg) mean(c *sumCell) float64 {
	if a.exact(c) && c.i.isInt64() {
		if s := int64(c.i.lo); s >= -1<<53 && s <= 1<<53 && c.n <= 1<<53 {
			return float64(s) / float64(c.n) // both exact: one rounding
		}
	}
	if p, ok := a.total(c); ok {
		return quoRound(p, c.n)
	}
	r, sp, isSpecial := a.slowTotal(c)
	if isSpecial {
		return sp
	}
	f, _ := r.Quo(r, new(big.Rat).SetInt64(c.n)).Float64()
	return f
}

// View returns an Agg whose results are those of kind k computed from the
// states of a, when a keeps all that k needs: a Sum and a Mean of one column
// keep the same state, so the engine updates one and reads both. ok is
// false for other pairs. A view shares a's states: the caller updates,
// merges, spills and resets a, and asks the view only for Kind, Result
// and Widened.
//
// A Count is read from a sum or mean of any column, which then counts
// every row it is given, null or not, beside its sum: one cell per group
// and row instead of two. Ask for it before a holds any group; a Count
// view of a sum that holds groups is not given.
func View(a Agg, k Kind) (view Agg, ok bool) {
	s, isSum := a.(*sumAgg)
	switch {
	case isSum && (k == Sum || k == Mean):
		return sumView{s, k}, true
	case isSum && k == Count && s.Len() == 0:
		s.countRows = true
		return countView{s}, true
	}
	return nil, false
}

// countView is a Count read from a sum's row counts.
type countView struct{ *sumAgg }

func (v countView) Kind() Kind { return Count }

func (v countView) Result(g uint32, out *plan.Vector, row int) {
	n := v.cells.At(g).rows
	if out.Type == plan.Float {
		out.Floats[row] = float64(n)
	} else {
		out.Ints[row] = n
	}
}

// Widened is false: a count is an integer.
func (v countView) Widened() bool { return false }

type sumView struct {
	*sumAgg
	kind Kind
}

func (v sumView) Kind() Kind { return v.kind }

func (v sumView) Result(g uint32, out *plan.Vector, row int) { v.result(v.kind, g, out, row) }

func (v sumView) Widened() bool { return v.widened(v.kind) }
