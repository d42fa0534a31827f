package agg

import (
	"math"
	"math/big"
	"math/bits"
)

// Double-double arithmetic: a value is hi+lo with |lo| <= ulp(hi)/2, about
// 106 significant bits. Error-free transformations after Joldes, Muller and
// Popescu, "Tight and rigorous error bounds for basic building blocks of
// double-word arithmetic" (2017). Products are wrapped in float64() so that
// no compiler fuses them into an FMA (Go spec, "Arithmetic operators"):
// results must be the same on every architecture.

// twoSum returns s = RN(a+b) and the exact error e = a+b-s.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return s, e
}

// fastTwoSum is twoSum when |a| >= |b| (or a == 0).
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return s, e
}

// twoProd returns p = RN(a*b) and the exact error e = a*b-p.
func twoProd(a, b float64) (p, e float64) {
	p = float64(a * b)
	e = math.FMA(a, b, -p)
	return p, e
}

// ddAddF adds the double y to (xh, xl): DWPlusFP, relative error <= 2u².
func ddAddF(xh, xl, y float64) (float64, float64) {
	sh, sl := twoSum(xh, y)
	v := xl + sl
	return fastTwoSum(sh, v)
}

// ddAdd adds two double-doubles: AccurateDWPlusDW, relative error <= 3u².
// It is commutative bit for bit.
func ddAdd(xh, xl, yh, yl float64) (float64, float64) {
	sh, sl := twoSum(xh, yh)
	th, tl := twoSum(xl, yl)
	c := sl + th
	vh, vl := fastTwoSum(sh, c)
	w := tl + vl
	return fastTwoSum(vh, w)
}

// ddMul multiplies two double-doubles (DWTimesDW, relative error <= 5u²).
func ddMul(xh, xl, yh, yl float64) (float64, float64) {
	ch, cl1 := twoProd(xh, yh)
	tl0 := float64(xl * yl)
	tl1 := math.FMA(xh, yl, tl0)
	cl2 := math.FMA(xl, yh, tl1)
	cl3 := cl1 + cl2
	return fastTwoSum(ch, cl3)
}

// ddDivF divides a double-double by a double (DWDivFP, relative error
// <= 3u²).
func ddDivF(xh, xl, y float64) (float64, float64) {
	th := xh / y
	ph, pl := twoProd(th, y)
	dh := xh - ph
	dt := dh - pl
	d := dt + xl
	tl := d / y
	return fastTwoSum(th, tl)
}

// ddDiv divides two double-doubles (DWDivDW2, relative error <= 15u²).
func ddDiv(xh, xl, yh, yl float64) (float64, float64) {
	th := xh / yh
	rh, rl := ddMulF(yh, yl, th)
	ph := xh - rh
	dl := xl - rl
	d := ph + dl
	tl := d / yh
	return fastTwoSum(th, tl)
}

// ddMulF multiplies a double-double by a double (DWTimesFP3, relative
// error <= 2u²).
func ddMulF(xh, xl, y float64) (float64, float64) {
	ch, cl1 := twoProd(xh, y)
	cl3 := math.FMA(xl, y, cl1)
	return fastTwoSum(ch, cl3)
}

// ddSqrt is the square root of a non-negative double-double.
func ddSqrt(xh, xl float64) (float64, float64) {
	if xh <= 0 {
		return 0, 0
	}
	s := math.Sqrt(xh)
	ph, pl := twoProd(s, s)
	// s + (x - s²) / (2s)
	rh, rl := ddAdd(xh, xl, -ph, -pl)
	return fastTwoSum(s, rh/(2*s)+rl/(2*s))
}

// ddFromInt returns the int64 x exactly as a double-double.
func ddFromInt(x int64) (float64, float64) {
	h := float64(x)
	if h >= 0x1p63 || h < -0x1p63 {
		// x rounded up to 2^63: the remainder does not fit int64.
		return h, float64(x - math.MaxInt64 - 1) // x - 2^63, exact
	}
	return h, float64(x - int64(h))
}

// i128 is a two's-complement 128-bit integer: hi*2^64 + lo. Exact integer
// sums of int64 values live in it (2^63 values of any size fit).
type i128 struct {
	lo uint64
	hi int64
}

func (a i128) addInt(x int64) i128 {
	lo, c := bits.Add64(a.lo, uint64(x), 0)
	return i128{lo, a.hi + x>>63 + int64(c)}
}

func (a i128) add(b i128) i128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return i128{lo, a.hi + b.hi + int64(c)}
}

// isInt64 reports whether a fits int64.
func (a i128) isInt64() bool { return a.hi == int64(a.lo)>>63 }

func (a i128) isZero() bool { return a.lo == 0 && a.hi == 0 }

// big returns a as a big.Int (for rare, slow paths only).
func (a i128) big() *big.Int {
	x := new(big.Int).SetInt64(a.hi)
	x.Lsh(x, 64)
	return x.Or(x, new(big.Int).SetUint64(a.lo))
}

// dd returns a as a double-double: exact up to 106 bits, deterministic
// always.
func (a i128) dd() (float64, float64) {
	if a.isInt64() {
		return ddFromInt(int64(a.lo))
	}
	// Four exact pieces of at most 32 bits, largest first.
	h1 := float64(a.hi>>32) * 0x1p96
	h0 := float64(uint32(a.hi)) * 0x1p64
	l1 := float64(a.lo>>32) * 0x1p32
	l0 := float64(uint32(a.lo))
	xh, xl := ddAddF(h1, 0, h0)
	xh, xl = ddAddF(xh, xl, l1)
	return ddAddF(xh, xl, l0)
}

// float64 returns a correctly rounded.
func (a i128) float64() float64 {
	if a.isInt64() {
		return float64(int64(a.lo))
	}
	f, _ := new(big.Float).SetInt(a.big()).Float64()
	return f
}

// isInteger reports whether f is an integer in int64's range, so that it
// counts as an integer value (DESIGN: integer columns stay integers).
func isInteger(f float64) bool {
	return f >= -0x1p63 && f < 0x1p63 && f == math.Trunc(f)
}
