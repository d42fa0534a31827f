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
// No partial sum may overflow, or 1000 rows of 1.7e308 followed by 999 of
// -1.7e308 would be lost on the way to their total, 1.7e308. So an
// expansion holds only components below 2^1022 in magnitude (its partial
// sums then stay below 3·2^1022 < MaxFloat64), and a value or component at
// or above that moves, scaled by 2^-1024 (exact: a power of two, and the
// result is at least 2^-2), to a level above: an escalated accumulator is
// Σ_k 2^(1024k)·(expansion of level k). Levels above 0 are for totals past
// 2^1022 on the way (sums) or for squares past 2^1022 (variance) and are
// rare: they live in a map, and a result that needs them is computed with
// math/big. A total beyond ±MaxFloat64 rounds to an infinity of its sign;
// only infinities among the values themselves are flags.

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
	flagPosInf             // took +Inf
	flagNegInf             // took -Inf
)

// Levels of an expansion (see above): a component of level k weighs
// 2^(1024k); components of magnitude highMin or more move up a level.
const (
	highMin   = 0x1p1022
	highScale = 0x1p-1024
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
	exps [][]float64 // exps[:n] in use, level 0; the rest keep capacity for reuse
	n    int
	// high[i] holds expansion i's levels 1, 2, ...: rare, so a map.
	high      map[uint32][][]float64
	highBytes int64 // what high holds, kept as it changes: memBytes is frequent
}

func (s *expStore) reset() {
	s.n = 0
	clear(s.high)
	s.highBytes = 0
}

func (s *expStore) memBytes() int64 {
	b := int64(cap(s.exps)) * int64(unsafe.Sizeof([]float64{}))
	for _, e := range s.exps[:cap(s.exps)] {
		b += 8 * int64(cap(e))
	}
	return b + s.highBytes
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
	s.addAt(c.ext-1, 0, x)
}

// addAt adds the finite, non-zero x, weighing 2^(1024·level), to expansion
// i: to the level where it is below highMin, moving a component that
// reaches highMin up a level.
func (s *expStore) addAt(i uint32, level int, x float64) {
	if level == 0 && math.Abs(x) < highMin {
		// The common case, level 0 only: Grow-Expansion in place (writes
		// trail reads). x and every component are below 2^1022, the
		// components sum to less than twice the largest: no partial sum
		// reaches 3·2^1022, none overflows.
		var e []float64
		e, x = growInPlace(s.exps[i], x)
		if math.Abs(x) < highMin {
			if x != 0 {
				e = append(e, x)
			}
			s.exps[i] = e
			return
		}
		s.exps[i] = e // x, the largest component, moves up
	}
	s.addUp(i, level, x)
}

// addUp is addAt for levels above 0, or an x that moves up.
func (s *expStore) addUp(i uint32, level int, x float64) {
	for {
		for math.Abs(x) >= highMin {
			x *= highScale
			level++
		}
		var e []float64
		e, x = growInPlace(s.level(i, level), x)
		if math.Abs(x) < highMin {
			if x != 0 {
				e = append(e, x)
			}
			s.setLevel(i, level, e)
			return
		}
		s.setLevel(i, level, e) // x moves up
	}
}

// growInPlace adds x to the expansion e in place (Grow-Expansion, writes
// trail reads), where no partial sum can overflow: it returns e's new
// components below the largest, and the largest, which the caller appends
// (when not 0) or moves up a level.
func growInPlace(e []float64, x float64) ([]float64, float64) {
	k := 0
	for _, y := range e {
		hi, lo := twoSum(x, y)
		if lo != 0 {
			e[k] = lo
			k++
		}
		x = hi
	}
	return e[:k], x
}

// level returns expansion i's components of the level.
func (s *expStore) level(i uint32, level int) []float64 {
	if level == 0 {
		return s.exps[i]
	}
	if levels := s.high[i]; level <= len(levels) {
		return levels[level-1]
	}
	return nil
}

func (s *expStore) setLevel(i uint32, level int, e []float64) {
	if level == 0 {
		s.exps[i] = e
		return
	}
	if s.high == nil {
		s.high = make(map[uint32][][]float64)
	}
	levels, ok := s.high[i]
	if !ok {
		s.highBytes += 64 // the map's entry, about
	}
	c := cap(levels)
	for len(levels) < level {
		levels = append(levels, nil)
	}
	s.highBytes += int64(cap(levels)-c) * int64(unsafe.Sizeof([]float64{}))
	s.highBytes += 8 * int64(cap(e)-cap(levels[level-1]))
	levels[level-1] = e
	s.high[i] = levels
}

// highs returns c's levels above 0 (a view; do not keep it across adds),
// none when they are all empty.
func (s *expStore) highs(c *acc) [][]float64 {
	if c.ext == 0 || len(s.high) == 0 {
		return nil
	}
	levels := s.high[c.ext-1]
	for len(levels) > 0 && len(levels[len(levels)-1]) == 0 {
		levels = levels[:len(levels)-1]
	}
	return levels
}

// addHigh adds x, weighing 2^(1024·level) with level >= 1, to c.
func (s *expStore) addHigh(c *acc, level int, x float64) {
	if x == 0 {
		return
	}
	if c.ext == 0 {
		s.escalate(c)
	}
	s.addAt(c.ext-1, level, x)
}

// escalate moves c's double-double into a new expansion.
func (s *expStore) escalate(c *acc) {
	if s.n == len(s.exps) {
		if len(s.exps) >= math.MaxUint32-1 {
			panic("BUG: agg: too many expansions")
		}
		s.exps = append(s.exps, make([]float64, 0, 8))
	}
	i := uint32(s.n)
	s.exps[i] = s.exps[i][:0]
	s.n++
	c.ext = i + 1
	hi, lo := c.hi, c.lo
	c.hi, c.lo = 0, 0
	for _, x := range [2]float64{lo, hi} {
		if x != 0 {
			s.addAt(i, 0, x) // finite: hi+lo is
		}
	}
}

// parts returns c's exact components of level 0 (a view; do not keep it
// across adds).
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
	for k, e := range os.highs(o) {
		for _, x := range append(buf[:0], e...) {
			s.addHigh(c, k+1, x)
		}
	}
}

// rat returns c's exact value plus the integer i (slow paths only).
func (s *expStore) rat(c *acc, i i128) *big.Rat {
	var buf [2]float64
	r := ratOfParts(s.parts(c, &buf))
	for k, e := range s.highs(c) {
		h := ratOfParts(e)
		scale := new(big.Int).Lsh(big.NewInt(1), uint(1024*(k+1)))
		r.Add(r, h.Mul(h, new(big.Rat).SetInt(scale)))
	}
	if i != (i128{}) {
		r.Add(r, new(big.Rat).SetInt(i.big()))
	}
	return r
}

// grow adds x to the expansion e (non-overlapping, increasing magnitude,
// no zeros) exactly: Shewchuk's Grow-Expansion with zero elimination, the
// inner loop of Python's msum. On overflow it returns e unchanged and the
// infinite partial sum. (Accumulators use addAt, which never overflows.)
func grow(e []float64, x float64) ([]float64, float64) {
	if len(e) > 0 && math.Abs(x) < 0x1p1000 && math.Abs(e[len(e)-1]) < 0x1p1000 {
		// No partial sum can overflow: grow in place.
		e, x = growInPlace(e, x)
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

// exactParts returns the components of an exact total: c's parts of
// level 0 and the integer i, as a non-overlapping expansion, and any
// infinite partial (none: level 0 stays below 2^1022 and i below 2^127).
// The caller checks highs first.
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
