package agg

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// varCell is one group's n, Σx and Σx², the sums exact (see acc); the
// flags (infinities) live in s.aux.
type varCell struct {
	s, q acc
	n    int64
}

// varAgg is Var and Std: the sample variance (ddof=1, as pandas) and its
// square root, null for fewer than two values and for any infinity.
//
// Σx and Σx² are exact (each x² is added as the exact pair twoProd gives,
// unless it underflows: |x| below about 1e-154 loses bits of its square,
// the same bits whatever the order). The result is the correctly rounded
// (n·Σx² - (Σx)²) / (n·(n-1)) (std: its square root): computed in
// double-double and kept when an error bound certifies its rounding, else
// computed exactly with math/big. So it is the same for every order, even
// under heavy cancellation (values like 1e9 + small noise). The square of
// an |x| of 2^511 (about 6.7e153) or more is added scaled, as the exact
// pair of (x·2^-512)² at the expansion's level 1, and such a group's
// result is computed with math/big: a variance beyond MaxFloat64 is +Inf,
// its square root finite.
type varAgg struct {
	kind    Kind
	in      plan.Type
	cells   paged.Column[varCell]
	store   expStore
	scratch [3][]float64
}

func (a *varAgg) Kind() Kind { return a.kind }
func (a *varAgg) Len() int   { return a.cells.Len() }
func (a *varAgg) Grow(n int) { a.cells.Grow(n) }

func (a *varAgg) Reset() {
	a.cells.Reset()
	a.store.reset()
}

func (a *varAgg) MemBytes() int64 {
	return a.cells.MemBytes() + a.store.memBytes() +
		8*int64(cap(a.scratch[0])+cap(a.scratch[1])+cap(a.scratch[2]))
}

// sqHigh is where x² may reach highMin: from there, squares are added
// at level 1.
const sqHigh = 0x1p511

func (a *varAgg) addFloat(c *varCell, x float64) {
	if x-x != 0 {
		c.s.aux |= infFlag(x)
		return
	}
	if math.Abs(x) >= sqHigh {
		// x² = (x·2^-512)²·2^1024, and y = x·2^-512 is at least 1/2: its
		// square is an exact pair.
		y := x * 0x1p-512
		ph, pl := twoProd(y, y)
		a.store.add(&c.s, x)
		a.store.addHigh(&c.q, 1, ph)
		a.store.addHigh(&c.q, 1, pl)
		return
	}
	ph, pl := twoProd(x, x)
	if c.s.ext != 0 || c.q.ext != 0 || !a.addFast3(c, x, ph, pl) {
		a.store.add(&c.s, x)
		a.store.add(&c.q, ph)
		a.store.add(&c.q, pl)
	}
}

// addFast3 adds x to Σx and ph+pl to Σx², exactly in double-double, or
// reports false having changed nothing.
func (a *varAgg) addFast3(c *varCell, x, ph, pl float64) bool {
	s, q := c.s, c.q
	if !s.addFast(x) || !q.addFast(ph) || !q.addFast(pl) {
		return false
	}
	c.s, c.q = s, q
	return true
}

func (a *varAgg) addInt(c *varCell, x int64) {
	xh, xl := ddFromInt(x)
	if xl == 0 {
		a.addFloat(c, xh)
		return
	}
	// x² = xh² + 2·xh·xl + xl², each product exact as a pair.
	a.store.add(&c.s, xh)
	a.store.add(&c.s, xl)
	for _, p := range [3][2]float64{{xh, xh}, {2 * xh, xl}, {xl, xl}} {
		ph, pl := twoProd(p[0], p[1])
		a.store.add(&c.q, ph)
		a.store.add(&c.q, pl)
	}
}

func (a *varAgg) Update(groups []uint32, v *plan.Vector, _ []uint64) {
	cells := &a.cells
	nulls := v.Nulls
	switch v.Type {
	case plan.Null:
	case plan.Int:
		vals := v.Ints[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			c := cells.At(g)
			c.n++
			a.addInt(c, vals[i])
		}
	case plan.Float:
		vals := v.Floats[:len(groups)]
		for i, g := range groups {
			if len(nulls) > 0 && nulls[i] {
				continue
			}
			c := cells.At(g)
			c.n++
			x := vals[i]
			// addFloat's fast path, inlined by hand for the common case
			// of an exact square (whole numbers below 2^26, values with
			// few significant bits): x² = ph, and Σx, Σx² stay exact
			// double-doubles. An infinity or NaN fails a check (NaN
			// errors) and takes addFloat.
			if ph, pl := twoProd(x, x); pl == 0 && c.s.ext == 0 && c.q.ext == 0 {
				s, e := twoSum(c.s.hi, x)
				l, le := twoSum(c.s.lo, e)
				qs, qe := twoSum(c.q.hi, ph)
				ql, qle := twoSum(c.q.lo, qe)
				if le == 0 && qle == 0 {
					c.s.hi, c.s.lo, c.q.hi, c.q.lo = s, l, qs, ql
					continue
				}
			}
			a.addFloat(c, x)
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
				a.addFloat(c, 1)
			}
		}
	default:
		panic(badVector(a.kind, v.Type))
	}
}

func (a *varAgg) MergeGroup(dst uint32, other Agg, src uint32) {
	o, ok := other.(*varAgg)
	if !ok || o.kind != a.kind {
		panic(mismatch(a, other))
	}
	c, oc := a.cells.At(dst), o.cells.At(src)
	c.n += oc.n
	a.store.merge(&c.s, &o.store, &oc.s)
	a.store.merge(&c.q, &o.store, &oc.q)
}

func (a *varAgg) AppendState(dst []byte, g uint32) []byte {
	c := a.cells.At(g)
	dst = binary.AppendUvarint(appendHeader(dst, a.kind), uint64(c.n))
	if c.n == 0 {
		return dst
	}
	hs, hq := a.store.highs(&c.s), a.store.highs(&c.q)
	flags := c.s.aux | c.q.aux
	if len(hs) > 0 {
		flags |= varHighS
	}
	if len(hq) > 0 {
		flags |= varHighQ
	}
	dst = append(dst, flags)
	dst = a.store.appendAcc(dst, &c.s)
	if len(hs) > 0 {
		dst = appendHighs(dst, hs)
	}
	dst = a.store.appendAcc(dst, &c.q)
	if len(hq) > 0 {
		dst = appendHighs(dst, hq)
	}
	return dst
}

// Var state flags beyond acc's: levels above 0 follow Σx's, Σx²'s
// components.
const (
	varHighS = 1 << 3
	varHighQ = 1 << 4
)

func (a *varAgg) MergeState(g uint32, src []byte) ([]byte, error) {
	d := newDecoder(a.kind, src)
	n := d.count()
	var flags uint8
	var s, q []byte
	var hs, hq [][]byte
	if n > 0 {
		flags = d.byte()
		s = d.accParts()
		if flags&varHighS != 0 {
			hs = d.highParts()
		}
		q = d.accParts()
		if flags&varHighQ != 0 {
			hq = d.highParts()
		}
		if d.err == nil && flags&^(flagPosInf|flagNegInf|varHighS|varHighQ) != 0 {
			d.fail("bad flags")
		}
	}
	if d.err != nil {
		return src, d.err
	}
	c := a.cells.At(g)
	c.n += n
	c.s.aux |= flags & (flagPosInf | flagNegInf)
	a.store.addParts(&c.s, s)
	a.store.addHighParts(&c.s, hs)
	a.store.addParts(&c.q, q)
	a.store.addHighParts(&c.q, hq)
	return d.b, nil
}

func (a *varAgg) Result(g uint32, out *plan.Vector, row int) {
	c := a.cells.At(g)
	if c.n < 2 || c.s.aux|c.q.aux != 0 {
		out.Nulls[row] = true
		return
	}
	if len(a.store.highs(&c.s)) > 0 || len(a.store.highs(&c.q)) > 0 {
		out.Floats[row] = a.exact(a.store.rat(&c.s, i128{}), a.store.rat(&c.q, i128{}), c.n)
		return
	}
	s, over1 := exactParts(&a.store, &c.s, i128{}, a.scratch[0])
	q, over2 := exactParts(&a.store, &c.q, i128{}, a.scratch[1])
	a.scratch[0], a.scratch[1] = s[:0], q[:0]
	if over1 == 0 && over2 == 0 {
		if f, ok := a.fast(s, q, c.n); ok {
			out.Floats[row] = f
			return
		}
	}
	out.Floats[row] = a.exact(a.store.rat(&c.s, i128{}), a.store.rat(&c.q, i128{}), c.n)
}

// fast computes the correctly rounded result from the exact numerator
// n·Σx² - (Σx)², built as an expansion with error-free products, when no
// product can underflow or overflow; false sends the caller to math/big.
func (a *varAgg) fast(s, q []float64, n int64) (float64, bool) {
	if n > 1<<26 {
		return 0, false
	}
	nf := float64(n)
	for _, x := range s {
		if x != 0 && (math.Abs(x) < 0x1p-400 || math.Abs(x) > 0x1p500) {
			return 0, false
		}
	}
	for _, x := range q {
		if x != 0 && (math.Abs(x) < 0x1p-400 || math.Abs(x) > 0x1p900) {
			return 0, false
		}
	}
	num := a.scratch[2][:0]
	defer func() { a.scratch[2] = num[:0] }()
	var over float64
	add := func(x float64) {
		if x != 0 && over == 0 {
			num, over = grow(num, x)
		}
	}
	for _, x := range q {
		h, l := twoProd(x, nf)
		add(h)
		add(l)
	}
	for _, x := range s {
		for _, y := range s {
			h, l := twoProd(x, y)
			add(-h)
			add(-l)
		}
	}
	if over != 0 {
		return 0, false
	}
	if len(num) == 0 || num[len(num)-1] < 0 { // 0, or squares that underflowed
		return 0, true
	}
	m := n * (n - 1)
	if a.kind == Var {
		return quoRound(num, m), true
	}
	vh, vl, ok := quoDD(num, m)
	if !ok {
		return 0, false
	}
	rh, rl := ddSqrt(vh, vl)
	return rh, certified(rh, rl, 0x1p-98*rh)
}

// exact computes the correctly rounded result from the exact Σx and Σx²
// with math/big (a Var beyond MaxFloat64 is +Inf).
func (a *varAgg) exact(S, Q *big.Rat, n int64) float64 {
	bn := new(big.Rat).SetInt64(n)
	num := new(big.Rat).Mul(bn, Q)
	num.Sub(num, S.Mul(S, S))
	if num.Sign() <= 0 { // squares that underflowed
		return 0
	}
	v := num.Quo(num, bn.Mul(bn, new(big.Rat).SetInt64(n-1)))
	if a.kind == Var {
		f, _ := v.Float64()
		return f
	}
	x := new(big.Float).SetPrec(256).SetRat(v)
	f, _ := x.Sqrt(x).Float64()
	return f
}
