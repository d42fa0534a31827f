package agg

import (
	"math"
	"math/big"
	"unsafe"
)

// Exact float accumulation. A sum of float64 values is kept exactly, so
// every result is a function of the exact value alone (correctly rounded,
// or certified to round like it) and cannot depend on the order in which
// rows and partial states were combined.
//
// The fast path is a double-double (hi+lo): an addition is checked to be
// exact (the one rounding step of DWPlusFP is verified with twoSum), which
// holds while the exact sum's bits span up to about 105 bits: realistic
// data. When a bit would be lost, the group's accumulator escalates to an
// expansion: a list of non-overlapping float64s in increasing magnitude
// whose exact sum is the value (Shewchuk, "Adaptive Precision
// Floating-Point Arithmetic", 1997; the partials of Python's math.fsum).
// Expansions live out of line, in the Agg's expStore.
//
// A partial sum beyond ±MaxFloat64 is recorded as an infinity of its sign
// (the only order-dependent case: finite data summing past 1.8e308).

// acc is an exact sum: hi+lo, or, when ext != 0, expansion ext-1 of the
// owner's expStore. hi is the running float sum and lo the exact sum of
// its rounding errors (not normalised: the pair is exact, which is all that
// matters; normalise before using it as a double-double). aux is a spare
// byte for the owner's flags (it packs into acc's padding).
type acc struct {
	hi, lo float64
	ext    uint32
	aux    uint8
}

// Flags kept in acc.aux.
const (
	flagNonInt = 1 << iota // took a value that is not an integer within int64's range
	flagPosInf             // took +Inf, or a partial sum overflowed upwards
	flagNegInf
)

// addFast adds x exactly to a non-escalated c, or reports false (c
// unchanged) when the error sum would round, or on overflow (NaN errors).
// Sum loops inline it by hand: keep them in step.
func (c *acc) addFast(x float64) bool {
	s, e := twoSum(c.hi, x)
	l, le := twoSum(c.lo, e)
	if le != 0 { // also NaN: an overflow or an infinity
		return false
	}
	c.hi, c.lo = s, l
	return true
}

// expStore holds the expansions of an Agg's escalated accumulators.
type expStore struct {
	exps [][]float64 // exps[:n] in use; the rest keep capacity for reuse
	n    int
}

func (s *expStore) reset() { s.n = 0 }

func (s *expStore) memBytes() int64 {
	b := int64(cap(s.exps)) * int64(unsafe.Sizeof([]float64{}))
	for _, e := range s.exps[:cap(s.exps)] {
		b += 8 * int64(cap(e))
	}
	return b
}

// add adds the finite or infinite x to c exactly.
func (s *expStore) add(c *acc, x float64) {
	if c.ext == 0 && c.addFast(x) {
		return
	}
	if x-x != 0 {
		c.aux |= infFlag(x)
		return
	}
	if x == 0 {
		return
	}
	if c.ext == 0 {
		s.escalate(c)
	}
	e := s.exps[c.ext-1]
	e, over := grow(e, x)
	if over != 0 {
		c.aux |= infFlag(over)
		return // e is unchanged
	}
	s.exps[c.ext-1] = e
}

// escalate moves c's double-double into a new expansion.
func (s *expStore) escalate(c *acc) {
	if s.n == len(s.exps) {
		if len(s.exps) >= math.MaxUint32-1 {
			panic("BUG: agg: too many expansions")
		}
		s.exps = append(s.exps, make([]float64, 0, 8))
	}
	e := s.exps[s.n][:0]
	for _, x := range [2]float64{c.lo, c.hi} {
		if x != 0 {
			e, _ = grow(e, x) // hi+lo is finite: no overflow
		}
	}
	s.exps[s.n] = e
	s.n++
	c.ext = uint32(s.n)
	c.hi, c.lo = 0, 0
}

// parts returns c's exact components (a view; do not keep it across adds).
func (s *expStore) parts(c *acc, buf *[2]float64) []float64 {
	if c.ext != 0 {
		return s.exps[c.ext-1]
	}
	buf[0], buf[1] = c.lo, c.hi
	return buf[:]
}

// merge adds o (of store os, which may be s) into c exactly.
func (s *expStore) merge(c *acc, os *expStore, o *acc) {
	oc := *o // o may be c
	o = &oc
	c.aux |= o.aux
	if o.ext == 0 {
		if o.hi != 0 {
			s.add(c, o.hi)
		}
		if o.lo != 0 {
			s.add(c, o.lo)
		}
		return
	}
	// Copy: adding to c may grow s.exps, and os may be s.
	var buf [16]float64
	for _, x := range append(buf[:0], os.exps[o.ext-1]...) {
		s.add(c, x)
	}
}

// grow adds x to the expansion e (non-overlapping, increasing magnitude,
// no zeros) exactly: Shewchuk's Grow-Expansion with zero elimination, the
// inner loop of Python's msum. On overflow it returns e unchanged and the
// infinite partial sum.
func grow(e []float64, x float64) ([]float64, float64) {
	if len(e) > 0 && math.Abs(x) < 0x1p1000 && math.Abs(e[len(e)-1]) < 0x1p1000 {
		// No partial sum can overflow: grow in place (writes trail reads).
		i := 0
		for _, y := range e {
			hi, lo := twoSum(x, y)
			if lo != 0 {
				e[i] = lo
				i++
			}
			x = hi
		}
		e = e[:i]
		if x != 0 {
			e = append(e, x)
		}
		return e, 0
	}
	var buf [16]float64
	out := buf[:0]
	for _, y := range e {
		hi, lo := twoSum(x, y)
		if hi-hi != 0 {
			return e, hi
		}
		if lo != 0 {
			out = append(out, lo)
		}
		x = hi
	}
	if x != 0 {
		out = append(out, x)
	}
	return append(e[:0], out...), 0
}

// roundParts returns the correctly rounded sum of an expansion (non-
// overlapping, increasing magnitude): the final loop of Python's fsum,
// with its correction for ties across partials.
func roundParts(p []float64) float64 {
	n := len(p)
	if n == 0 {
		return 0
	}
	n--
	hi := p[n]
	lo := 0.0
	for n > 0 {
		x := hi
		n--
		y := p[n]
		hi = x + y
		yr := hi - x
		lo = y - yr
		if lo != 0 {
			break
		}
	}
	if n > 0 && (lo < 0 && p[n-1] < 0 || lo > 0 && p[n-1] > 0) {
		y := lo * 2
		x := hi + y
		if yr := x - hi; y == yr {
			hi = x
		}
	}
	return hi
}

// exactParts returns the components of an exact total: c's parts and the
// integer i, as a non-overlapping expansion, and any infinite partial.
func exactParts(s *expStore, c *acc, i i128, dst []float64) ([]float64, float64) {
	var buf [2]float64
	dst = dst[:0]
	var over float64
	for _, x := range s.parts(c, &buf) {
		if x != 0 && over == 0 {
			dst, over = grow(dst, x)
		}
	}
	for _, x := range i.parts() {
		if x != 0 && over == 0 {
			dst, over = grow(dst, x)
		}
	}
	return dst, over
}

// parts returns i as exact float64 pieces.
func (a i128) parts() [4]float64 {
	if a.isInt64() {
		h, l := ddFromInt(int64(a.lo))
		return [4]float64{h, l}
	}
	return [4]float64{
		float64(a.hi>>32) * 0x1p96,
		float64(uint32(a.hi)) * 0x1p64,
		float64(a.lo>>32) * 0x1p32,
		float64(uint32(a.lo)),
	}
}

// toDD returns an expansion's exact value as a normalised double-double
// (hi = RN(hi+lo)), or false when it does not fit one exactly.
func toDD(p []float64) (hi, lo float64, ok bool) {
	var c acc
	for _, x := range p {
		if !c.addFast(x) {
			return 0, 0, false
		}
	}
	hi, lo = twoSum(c.hi, c.lo)
	return hi, lo, true
}

// ratOfParts returns the exact sum of p.
func ratOfParts(p []float64) *big.Rat {
	r := new(big.Rat)
	var t big.Rat
	for _, x := range p {
		r.Add(r, t.SetFloat64(x))
	}
	return r
}

// certified reports whether every value within err of hi+lo (hi = RN(hi+lo))
// rounds to hi, so hi is the correctly rounded value of the exact result.
func certified(hi, lo, err float64) bool {
	if hi-hi != 0 || err-err != 0 {
		return false
	}
	down := hi - math.Nextafter(hi, math.Inf(-1))
	up := math.Nextafter(hi, math.Inf(1)) - hi
	return lo-err > -down/2 && lo+err < up/2
}

// quoRound returns the correctly rounded p/m, p an expansion, m > 0 an
// integer.
func quoRound(p []float64, m int64) float64 {
	if qh, ql, ok := quoDD(p, m); ok {
		if certified(qh, ql, 0x1p-100*math.Abs(qh)) {
			return qh
		}
		if exactQuo(p, float64(m), qh, ql) {
			return qh + ql // the exact quotient: one rounding, ties to even
		}
	}
	r := ratOfParts(p)
	f, _ := r.Quo(r, new(big.Rat).SetInt64(m)).Float64()
	return f
}

// quoDD returns p/m in double-double (relative error below 2^-103) when p
// fits a double-double and m a float64, away from underflow.
func quoDD(p []float64, m int64) (float64, float64, bool) {
	hi, lo, ok := toDD(p)
	if !ok || m > 1<<53 || hi != 0 && math.Abs(hi) < 0x1p-900 {
		return 0, 0, false
	}
	qh, ql := ddDivF(hi, lo, float64(m))
	return qh, ql, true
}

// exactQuo reports whether qh+ql is exactly p/m.
func exactQuo(p []float64, m, qh, ql float64) bool {
	a1, a2 := twoProd(qh, m)
	b1, b2 := twoProd(ql, m)
	var buf [16]float64
	e := append(buf[:0], p...)
	for _, x := range [4]float64{-a1, -a2, -b1, -b2} {
		if x != 0 {
			var over float64
			if e, over = grow(e, x); over != 0 {
				return false
			}
		}
	}
	return len(e) == 0
}
