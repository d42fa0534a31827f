package exec

import (
	"bytes"
	"math"
	"strconv"
)

// AppendFloat formats f as Python's repr does, which is what pandas and
// Dask print: the shortest text that reads back as f, with ".0" on whole
// numbers, and exponent form outside [1e-4, 1e16).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 && (f != 0 || !math.Signbit(f)) {
		// A whole number below 2^53 (a sum of whole values, a count as a
		// float) prints as its digits: every one of them is needed, as
		// the floats around it are at most 1 apart.
		return append(strconv.AppendInt(dst, int64(f), 10), ".0"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if bytes.IndexByte(dst[start:], '.') < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}
