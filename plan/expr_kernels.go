package plan

import (
	"bytes"
	"math"
	"math/bits"
	"unsafe"
)

// The kernels below run one typed loop per batch: the operator is switched
// on outside the loop, never per row. Null handling is separate (see
// applyNulls): kernels compute every row, and null rows are fixed after.

type number interface{ int64 | float64 }

// cmpVC compares each a[i] with c.
func cmpVC[T number](op opcode, a []T, c T, o []bool) {
	o = o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = x == c
		}
	case opNe:
		for i, x := range a {
			o[i] = x != c
		}
	case opLt:
		for i, x := range a {
			o[i] = x < c
		}
	case opLe:
		for i, x := range a {
			o[i] = x <= c
		}
	case opGt:
		for i, x := range a {
			o[i] = x > c
		}
	case opGe:
		for i, x := range a {
			o[i] = x >= c
		}
	}
}

// cmpVCf compares each a[i], as a float, with c.
func cmpVCf[A number](op opcode, a []A, c float64, o []bool) {
	o = o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = float64(x) == c
		}
	case opNe:
		for i, x := range a {
			o[i] = float64(x) != c
		}
	case opLt:
		for i, x := range a {
			o[i] = float64(x) < c
		}
	case opLe:
		for i, x := range a {
			o[i] = float64(x) <= c
		}
	case opGt:
		for i, x := range a {
			o[i] = float64(x) > c
		}
	case opGe:
		for i, x := range a {
			o[i] = float64(x) >= c
		}
	}
}

// cmpVV compares a[i] with b[i] of the same type.
func cmpVV[T number](op opcode, a, b []T, o []bool) {
	b, o = b[:len(a)], o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = x == b[i]
		}
	case opNe:
		for i, x := range a {
			o[i] = x != b[i]
		}
	case opLt:
		for i, x := range a {
			o[i] = x < b[i]
		}
	case opLe:
		for i, x := range a {
			o[i] = x <= b[i]
		}
	case opGt:
		for i, x := range a {
			o[i] = x > b[i]
		}
	case opGe:
		for i, x := range a {
			o[i] = x >= b[i]
		}
	}
}

// cmpVVf compares a[i] with b[i] as floats.
func cmpVVf[A, B number](op opcode, a []A, b []B, o []bool) {
	b, o = b[:len(a)], o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = float64(x) == float64(b[i])
		}
	case opNe:
		for i, x := range a {
			o[i] = float64(x) != float64(b[i])
		}
	case opLt:
		for i, x := range a {
			o[i] = float64(x) < float64(b[i])
		}
	case opLe:
		for i, x := range a {
			o[i] = float64(x) <= float64(b[i])
		}
	case opGt:
		for i, x := range a {
			o[i] = float64(x) > float64(b[i])
		}
	case opGe:
		for i, x := range a {
			o[i] = float64(x) >= float64(b[i])
		}
	}
}

// cmpSC compares each string a[i] with c, bytewise. string(x) in a
// comparison does not copy.
func cmpSC(op opcode, a [][]byte, c string, o []bool) {
	o = o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = string(x) == c
		}
	case opNe:
		for i, x := range a {
			o[i] = string(x) != c
		}
	case opLt:
		for i, x := range a {
			o[i] = string(x) < c
		}
	case opLe:
		for i, x := range a {
			o[i] = string(x) <= c
		}
	case opGt:
		for i, x := range a {
			o[i] = string(x) > c
		}
	case opGe:
		for i, x := range a {
			o[i] = string(x) >= c
		}
	}
}

// cmpSS compares strings a[i] and b[i].
func cmpSS(op opcode, a, b [][]byte, o []bool) {
	b, o = b[:len(a)], o[:len(a)]
	switch op {
	case opEq:
		for i, x := range a {
			o[i] = bytes.Equal(x, b[i])
		}
	case opNe:
		for i, x := range a {
			o[i] = !bytes.Equal(x, b[i])
		}
	case opLt:
		for i, x := range a {
			o[i] = bytes.Compare(x, b[i]) < 0
		}
	case opLe:
		for i, x := range a {
			o[i] = bytes.Compare(x, b[i]) <= 0
		}
	case opGt:
		for i, x := range a {
			o[i] = bytes.Compare(x, b[i]) > 0
		}
	case opGe:
		for i, x := range a {
			o[i] = bytes.Compare(x, b[i]) >= 0
		}
	}
}

// cmpBB is a[i] == b[i], or != with ne.
func cmpBB(ne bool, a, b []bool, o []bool) {
	b, o = b[:len(a)], o[:len(a)]
	for i, x := range a {
		o[i] = (x == b[i]) != ne
	}
}

// intArith computes + - * of ints into o and reports whether any row
// overflowed int64 (o is then unusable: see intArithFloat).
func intArith(op opcode, a, b, o []int64) bool {
	b, o = b[:len(a)], o[:len(a)]
	var ov uint64 // the sign bit, or for * any bit, is set on overflow
	switch op {
	case opAdd:
		for i, x := range a {
			y := b[i]
			s := x + y
			o[i] = s
			ov |= uint64((x ^ s) & (y ^ s))
		}
		return ov>>63 != 0
	case opSub:
		for i, x := range a {
			y := b[i]
			d := x - y
			o[i] = d
			ov |= uint64((x ^ y) & (x ^ d))
		}
		return ov>>63 != 0
	case opMul:
		for i, x := range a {
			y := b[i]
			hi, lo := bits.Mul64(uint64(x), uint64(y))
			// the signed high word; it must be the sign extension of lo
			hi -= uint64(x>>63)&uint64(y) + uint64(y>>63)&uint64(x)
			o[i] = int64(lo)
			ov |= hi ^ uint64(int64(lo)>>63)
		}
		return ov != 0
	}
	panic("BUG: intArith " + opNames[op])
}

// intArithFloat is intArith for a batch where a row overflowed: each row
// that fits is its exact int result as a float, each row that overflows is
// computed in float.
func intArithFloat(op opcode, a, b []int64, o []float64) {
	b, o = b[:len(a)], o[:len(a)]
	for i, x := range a {
		y := b[i]
		switch op {
		case opAdd:
			s := x + y
			if (x^s)&(y^s) < 0 {
				o[i] = float64(x) + float64(y)
			} else {
				o[i] = float64(s)
			}
		case opSub:
			d := x - y
			if (x^y)&(x^d) < 0 {
				o[i] = float64(x) - float64(y)
			} else {
				o[i] = float64(d)
			}
		case opMul:
			hi, lo := bits.Mul64(uint64(x), uint64(y))
			hi -= uint64(x>>63)&uint64(y) + uint64(y>>63)&uint64(x)
			if hi != uint64(int64(lo)>>63) {
				o[i] = float64(x) * float64(y)
			} else {
				o[i] = float64(int64(lo))
			}
		}
	}
}

// floatArith computes + - * / % as floats. x/0, x%0 and results that are
// not a number are null: it marks them in nulls and reports whether it did.
func floatArith[A, B number](op opcode, a []A, b []B, o []float64, nulls []bool) bool {
	b, o, nulls = b[:len(a)], o[:len(a)], nulls[:len(a)]
	switch op {
	case opAdd:
		for i, x := range a {
			o[i] = float64(x) + float64(b[i])
		}
	case opSub:
		for i, x := range a {
			o[i] = float64(x) - float64(b[i])
		}
	case opMul:
		for i, x := range a {
			o[i] = float64(x) * float64(b[i])
		}
	case opDiv:
		for i, x := range a {
			o[i] = float64(x) / float64(b[i])
			nulls[i] = b[i] == 0
		}
	case opMod:
		for i, x := range a {
			o[i] = math.Mod(float64(x), float64(b[i]))
			nulls[i] = b[i] == 0
		}
	}
	for i, x := range o {
		if x != x { // NaN
			nulls[i] = true
		}
	}
	return anyTrue(nulls)
}

// modInt is a % b of ints, with the sign of a; x % 0 is null.
func modInt(a, b, o []int64, nulls []bool) bool {
	b, o, nulls = b[:len(a)], o[:len(a)], nulls[:len(a)]
	marked := false
	for i, x := range a {
		if y := b[i]; y != 0 {
			o[i] = x % y
		} else {
			o[i], nulls[i], marked = 0, true, true
		}
	}
	return marked
}

// negInt computes -a[i] and reports whether a row overflowed (-MinInt64).
func negInt(a, o []int64) bool {
	o = o[:len(a)]
	ov := false
	for i, x := range a {
		o[i] = -x
		ov = ov || x == math.MinInt64
	}
	return ov
}

// strVC is contains, startsWith or endsWith of a[i] and pat.
func strVC(op opcode, a [][]byte, pat []byte, o []bool) {
	o = o[:len(a)]
	switch op {
	case opContains:
		for i, x := range a {
			o[i] = bytes.Contains(x, pat)
		}
	case opStartsWith:
		for i, x := range a {
			o[i] = bytes.HasPrefix(x, pat)
		}
	case opEndsWith:
		for i, x := range a {
			o[i] = bytes.HasSuffix(x, pat)
		}
	}
}

// strVV is contains, startsWith or endsWith of a[i] and b[i].
func strVV(op opcode, a, b [][]byte, o []bool) {
	b, o = b[:len(a)], o[:len(a)]
	switch op {
	case opContains:
		for i, x := range a {
			o[i] = bytes.Contains(x, b[i])
		}
	case opStartsWith:
		for i, x := range a {
			o[i] = bytes.HasPrefix(x, b[i])
		}
	case opEndsWith:
		for i, x := range a {
			o[i] = bytes.HasSuffix(x, b[i])
		}
	}
}

// Null handling and bool vectors.

// nullsOf returns v's null marks for n rows, or nil when no row is marked
// (including a Nulls slice shorter than n, which marks none).
func nullsOf(v *Vector, n int) []bool {
	if len(v.Nulls) < n {
		return nil
	}
	ns := v.Nulls[:n]
	if !anyTrue(ns) {
		return nil
	}
	return ns
}

// applyNulls makes out null wherever an or bn (either may be nil) is, with
// the zero value in those rows.
func applyNulls(out *Vector, an, bn []bool) *Vector {
	if an == nil && bn == nil {
		return out
	}
	orInto(out.Nulls, an)
	orInto(out.Nulls, bn)
	zeroNulls(out)
	return out
}

// zeroNulls stores the zero value in out's null rows.
func zeroNulls(out *Vector) {
	ns := out.Nulls
	switch out.Type {
	case Bool:
		o := out.Bools[:len(ns)]
		for i, isNull := range ns {
			o[i] = o[i] && !isNull
		}
	case Int:
		o := out.Ints[:len(ns)]
		for i, isNull := range ns {
			if isNull {
				o[i] = 0
			}
		}
	case Float:
		o := out.Floats[:len(ns)]
		for i, isNull := range ns {
			if isNull {
				o[i] = 0
			}
		}
	case String:
		o := out.Strs[:len(ns)]
		for i, isNull := range ns {
			if isNull {
				o[i] = nil
			}
		}
	}
}

// allNull makes out n null rows of type t.
func allNull(out *Vector, t Type, n int) *Vector {
	out.Reset(t, n)
	switch t {
	case Bool:
		clear(out.Bools)
	case Int:
		clear(out.Ints)
	case Float:
		clear(out.Floats)
	case String:
		clear(out.Strs)
	}
	fill(out.Nulls, true)
	return out
}

// asBytes views a []bool as bytes, each 0 or 1; valid as long as bs is.
func asBytes(bs []bool) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(bs))), len(bs))
}

func anyTrue(bs []bool) bool { return bytes.IndexByte(asBytes(bs), 1) >= 0 }
func allTrue(bs []bool) bool { return bytes.IndexByte(asBytes(bs), 0) < 0 }

// orInto sets dst[i] where src[i]; src may be nil.
func orInto(dst, src []bool) {
	if src == nil {
		return
	}
	d, s := asBytes(dst), asBytes(src)
	s = s[:len(d)]
	for i := range d {
		d[i] |= s[i]
	}
}

func andBytes(dst, a, b []bool) {
	d, x, y := asBytes(dst), asBytes(a), asBytes(b)
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] & y[i]
	}
}

func orBytes(dst, a, b []bool) {
	d, x, y := asBytes(dst), asBytes(a), asBytes(b)
	x, y = x[:len(d)], y[:len(d)]
	for i := range d {
		d[i] = x[i] | y[i]
	}
}

// notBytes sets dst[i] = !a[i].
func notBytes(dst, a []bool) {
	d, x := asBytes(dst), asBytes(a)
	x = x[:len(d)]
	for i := range d {
		d[i] = x[i] ^ 1
	}
}

func fill[T any](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

// at reports ns[i], for ns nil meaning no nulls.
func at(ns []bool, i int) bool { return ns != nil && ns[i] }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
