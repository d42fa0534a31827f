package agg

import (
	"math"
	"math/big"
	"math/bits"
)

// Error-free transformations and the few double-double operations the
// results need (after Joldes, Muller and Popescu, "Tight and rigorous
// error bounds for basic building blocks of double-word arithmetic",
// 2017). Products are wrapped in float64() so that no compiler fuses them
// into an FMA (Go spec, "Arithmetic operators"): results must be the same
// on every architecture.

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

// twoProd returns p = RN(a*b) and the exact error e = a*b-p (exact unless
// the error underflows).
func twoProd(a, b float64) (p, e float64) {
	p = float64(a * b)
	e = math.FMA(a, b, -p)
	return p, e
}

// ddDivF divides the normalised double-double (xh, xl) by y: DWDivFP3,
// relative error below 3u² (u = 2^-53).
func ddDivF(xh, xl, y float64) (float64, float64) {
	th := xh / y
	ph, pl := twoProd(th, y)
	dh := xh - ph
	dt := dh - pl
	d := dt + xl
	tl := d / y
	return fastTwoSum(th, tl)
}

// ddSqrt is the square root of a positive normalised double-double: one
// Newton step from math.Sqrt(xh), relative error a few u².
func ddSqrt(xh, xl float64) (float64, float64) {
	s := math.Sqrt(xh)
	ph, pl := twoProd(s, s)
	r := ((xh - ph) - pl) + xl // xh-ph is exact (Sterbenz)
	return fastTwoSum(s, r/(2*s))
}

// ddFromInt returns the int64 x exactly as hi+lo.
func ddFromInt(x int64) (float64, float64) {
	h := float64(x)
	if h >= 0x1p63 {
		// x rounded up to 2^63, beyond int64: x-2^63 is exact.
		return h, float64(x - math.MaxInt64 - 1)
	}
	return h, float64(x - int64(h))
}

// i128 is a two's-complement 128-bit integer: hi*2^64 + lo. Exact sums of
// int64 values live in it (2^63 values of any size fit).
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

// big returns a as a big.Int (slow paths only).
func (a i128) big() *big.Int {
	x := new(big.Int).SetInt64(a.hi)
	x.Lsh(x, 64)
	return x.Or(x, new(big.Int).SetUint64(a.lo))
}

// float64 returns a correctly rounded.
func (a i128) float64() float64 {
	if a.isInt64() {
		return float64(int64(a.lo))
	}
	f, _ := new(big.Float).SetInt(a.big()).Float64()
	return f
}

// isInteger reports whether f is an integer within int64's range, so that
// it counts as an integer value.
func isInteger(f float64) bool {
	return f >= -0x1p63 && f < 0x1p63 && f == math.Trunc(f)
}
