package readers

import (
	"math"
	"strconv"
	"unsafe"
)

// Kind is what a field's text holds under the number rules of DESIGN §5.
type Kind uint8

const (
	KindNull   Kind = iota // empty, a --null token, or nan
	KindInt                // fits int64
	KindFloat              // a decimal number that is not an int64 (also ±inf)
	KindString             // anything else
)

// ParseNumber classifies b and returns its value. Surrounding spaces and
// tabs are allowed; a sign, digits, an optional fraction and exponent make a
// number; `1_000`, `0x10` and `1,000` do not. nan is null, inf and infinity
// (any case, optionally signed) are infinities. An integer too big for
// int64 is a float. It does not allocate.
func ParseNumber(b []byte) (Kind, int64, float64) {
	if k, i, f, ok := parseShort(b); ok {
		return k, i, f
	}
	return parseNumber(b)
}

// parseNumber is ParseNumber for any text.
func parseNumber(b []byte) (Kind, int64, float64) {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return KindNull, 0, 0
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i++
	}
	// Integer fast path.
	var u uint64
	digits := 0
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		if u > (math.MaxUint64-9)/10 {
			u = math.MaxUint64 // saturate: too big for int64 anyway
		} else {
			u = u*10 + uint64(c)
		}
		digits++
	}
	if i == len(b) && digits > 0 {
		switch {
		case !neg && u <= math.MaxInt64:
			return KindInt, int64(u), float64(u)
		case neg && u <= 1<<63:
			v := -int64(u-1) - 1
			return KindInt, v, float64(v)
		}
		return parseFloat(b)
	}
	// Fraction and exponent. The mantissa keeps accumulating fraction
	// digits for the exact fast path below.
	mant, mantDigits := u, digits
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			if mantDigits < 19 {
				mant = mant*10 + uint64(b[i]-'0')
			}
			mantDigits++
			frac++
		}
	}
	if digits+frac == 0 {
		return special(b)
	}
	exp10 := 0
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		expNeg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			expNeg = b[i] == '-'
			i++
		}
		expDigits := 0
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			if exp10 < 10000 {
				exp10 = exp10*10 + int(b[i]-'0')
			}
			expDigits++
		}
		if expDigits == 0 {
			return KindString, 0, 0
		}
		if expNeg {
			exp10 = -exp10
		}
	}
	if i != len(b) {
		return KindString, 0, 0
	}
	// Clinger's fast path: a mantissa below 2^53 and a power of ten up to
	// 10^22 are both exact doubles, so one IEEE multiplication or division
	// rounds correctly: the same bits strconv.ParseFloat gives, at a
	// fraction of its cost. digits counts the integer digits, which may
	// include leading zeros: they do not make the mantissa inexact.
	if e := exp10 - frac; mantDigits <= 19 && mant < 1<<53 && e >= -22 && e <= 22 {
		f := float64(mant)
		if e >= 0 {
			f *= pow10[e]
		} else {
			f /= pow10[-e]
		}
		if neg {
			f = -f
		}
		return KindFloat, 0, f
	}
	return parseFloat(b)
}

// parseShort is ParseNumber for the common shapes -?d+ and -?d+.d+ in at
// most 18 bytes after the sign, so every digit fits the mantissa below
// 10^18 with no overflow check. It reports false for anything else
// (spaces, exponents, "1.", specials, longer numbers), which the general
// path then reads; where it answers, it answers exactly as that path would.
func parseShort(b []byte) (Kind, int64, float64, bool) {
	i := 0
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		i = 1
	}
	if len(b) == i || len(b)-i > 18 {
		return 0, 0, 0, false
	}
	start := i
	var u uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			break
		}
		u = u*10 + uint64(c)
	}
	if i == start {
		return 0, 0, 0, false
	}
	if i == len(b) {
		v := int64(u)
		if neg {
			v = -v
		}
		return KindInt, v, float64(v), true
	}
	if b[i] != '.' || i+1 == len(b) {
		return 0, 0, 0, false
	}
	i++
	frac := len(b) - i
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, 0, 0, false
		}
		u = u*10 + uint64(c)
	}
	if u >= 1<<53 {
		return 0, 0, 0, false
	}
	// Clinger's fast path, as below: both operands exact, one rounding.
	f := float64(u) / pow10[frac]
	if neg {
		f = -f
	}
	return KindFloat, 0, f, true
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

func parseFloat(b []byte) (Kind, int64, float64) {
	f, err := strconv.ParseFloat(unsafeString(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return KindFloat, 0, f // ±Inf or 0 on over/underflow, as pandas does
		}
		return KindString, 0, 0
	}
	return KindFloat, 0, f
}

// special recognises nan and inf spellings.
func special(b []byte) (Kind, int64, float64) {
	sign := 1.0
	body := b
	if body[0] == '+' || body[0] == '-' {
		if body[0] == '-' {
			sign = -1
		}
		body = body[1:]
	}
	switch {
	case equalFold(body, "nan"):
		return KindNull, 0, 0
	case equalFold(body, "inf"), equalFold(body, "infinity"):
		return KindFloat, 0, math.Inf(int(sign))
	}
	return KindString, 0, 0
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// unsafeString views b as a string without copying. The string is valid only
// while b is reachable and unmodified; callers use it only for the duration
// of a call that does not keep it (strconv.ParseFloat, map lookups).
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
