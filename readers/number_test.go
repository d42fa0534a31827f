package readers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestParseNumber follows the number rules of DESIGN §5.
func TestParseNumber(t *testing.T) {
	f := func(in string, kind Kind, i int64, fl float64) {
		t.Helper()
		k, gi, gf := ParseNumber([]byte(in))
		if k != kind {
			t.Fatalf("ParseNumber(%q) kind %d, want %d", in, k, kind)
		}
		switch kind {
		case KindInt:
			if gi != i || gf != float64(i) {
				t.Fatalf("ParseNumber(%q) = %d, %v; want %d", in, gi, gf, i)
			}
		case KindFloat:
			if gf != fl || math.Signbit(gf) != math.Signbit(fl) {
				t.Fatalf("ParseNumber(%q) = %v, want %v", in, gf, fl)
			}
		}
	}
	ints := func(in string, want int64) { t.Helper(); f(in, KindInt, want, 0) }
	floats := func(in string, want float64) { t.Helper(); f(in, KindFloat, 0, want) }
	null := func(in string) { t.Helper(); f(in, KindNull, 0, 0) }
	str := func(in string) { t.Helper(); f(in, KindString, 0, 0) }

	ints("7", 7)
	ints(" 7 ", 7)
	ints("\t7\t", 7)
	ints("-0", 0)
	ints("+5", 5)
	ints("007", 7)
	ints("9223372036854775807", math.MaxInt64)
	ints("-9223372036854775808", math.MinInt64)
	floats("9223372036854775808", 9223372036854775808)
	floats("-9223372036854775809", -9223372036854775809)
	floats("123456789012345678901234567890", 123456789012345678901234567890)
	floats("1.5", 1.5)
	floats("-1.5", -1.5)
	floats("1.", 1)
	floats(".5", 0.5)
	floats("-.5", -0.5)
	floats("+.5", 0.5)
	floats("1e5", 1e5)
	floats("1E-3", 1e-3)
	floats("1e+3", 1e3)
	floats("1.5e3", 1500)
	floats("-0.0", math.Copysign(0, -1))
	floats(" 2.5 ", 2.5)
	floats("1e400", math.Inf(1)) // out of range: infinity, as pandas
	floats("-1e400", math.Inf(-1))
	floats("1e-400", 0)
	null("nan")
	null("NaN")
	null("-nan")
	null("+NAN")
	null(" nan ")
	null("")
	null("  ")
	null("\t")
	floats("inf", math.Inf(1))
	floats("-Inf", math.Inf(-1))
	floats("+inf", math.Inf(1))
	floats("infinity", math.Inf(1))
	floats("-INFINITY", math.Inf(-1))
	str("1_000")
	str("0x10")
	str("0X10")
	str("0b1")
	str("1,000")
	str("abc")
	str("1e")
	str("1e+")
	str("e5")
	str(".")
	str("-")
	str("+")
	str("--1")
	str("+-1")
	str("1-")
	str("1.2.3")
	str("1 2")
	str(".e5")
	str("infinit")
	str("nana")
	str("in")
	str("0x1p-2")
	str("1e5.5")
	str("١٢") // Arabic-Indic digits are not digits here
	str("7\n")
}

// TestParseNumberNoAlloc: ParseNumber runs once per field.
func TestParseNumberNoAlloc(t *testing.T) {
	in := [][]byte{[]byte("12345"), []byte(" -1.5e3 "), []byte("nan"), []byte("abc"), []byte("99999999999999999999")}
	if n := testing.AllocsPerRun(100, func() {
		for _, b := range in {
			ParseNumber(b)
		}
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestTypeWiden(t *testing.T) {
	f := func(from Type, k Kind, want Type) {
		t.Helper()
		if got := from.Widen(k); got != want {
			t.Fatalf("%v.Widen(%d) = %v, want %v", from, k, got, want)
		}
	}
	f(TypeNull, KindNull, TypeNull)
	f(TypeNull, KindInt, TypeInt)
	f(TypeNull, KindFloat, TypeFloat)
	f(TypeNull, KindString, TypeString)
	f(TypeInt, KindNull, TypeInt)
	f(TypeInt, KindInt, TypeInt)
	f(TypeInt, KindFloat, TypeFloat)
	f(TypeInt, KindString, TypeString)
	f(TypeFloat, KindInt, TypeFloat)
	f(TypeFloat, KindNull, TypeFloat)
	f(TypeFloat, KindString, TypeString)
	f(TypeString, KindInt, TypeString)
	f(TypeString, KindNull, TypeString)
	for ty, s := range map[Type]string{TypeNull: "null", TypeInt: "int", TypeFloat: "float", TypeString: "string"} {
		if ty.String() != s {
			t.Fatalf("%d.String() = %q", ty, ty.String())
		}
	}
}

// TestInferrer: types widen int -> float -> string as later values
// disagree and never narrow; nulls (empty, nan, blanks, --null tokens) do
// not widen.
func TestInferrer(t *testing.T) {
	d := DefaultDialect()
	d.Nulls = []string{"NA", "-"}
	f := func(want []Type, rows ...[]string) {
		t.Helper()
		in := NewInferrer(len(want), &d)
		for _, r := range rows {
			fields := make([][]byte, len(r))
			for i, s := range r {
				fields[i] = []byte(s)
			}
			in.Add(fields)
		}
		for i := range want {
			if in.Types[i] != want[i] {
				t.Fatalf("rows %q: column %d is %v, want %v (all %v)", rows, i, in.Types[i], want[i], in.Types)
			}
		}
		if in.Rows != int64(len(rows)) {
			t.Fatalf("Rows %d, want %d", in.Rows, len(rows))
		}
	}
	f([]Type{TypeNull})
	f([]Type{TypeInt}, []string{"1"}, []string{"2"})
	f([]Type{TypeFloat}, []string{"1"}, []string{"2.5"})
	f([]Type{TypeFloat}, []string{"2.5"}, []string{"1"})
	f([]Type{TypeString}, []string{"1"}, []string{"2.5"}, []string{"x"}, []string{"3"})
	f([]Type{TypeString}, []string{"x"}, []string{"1"})
	f([]Type{TypeFloat}, []string{"1"}, []string{"inf"})
	f([]Type{TypeFloat}, []string{"1"}, []string{"9223372036854775808"})
	f([]Type{TypeNull, TypeNull}, []string{"", "NA"}, []string{"nan", " "}, []string{"-", "\t"})
	f([]Type{TypeInt, TypeFloat}, []string{"", "NA"}, []string{"7", "nan"}, []string{"NA", "1.5"}, []string{"", ""})
	f([]Type{TypeInt, TypeInt, TypeString}, []string{"1", "2", "a"}, []string{"3"}, []string{"4", "5", "6", "extra"})

	// Merge widens across workers.
	a, b := NewInferrer(3, &d), NewInferrer(3, &d)
	a.Add([][]byte{[]byte("1"), []byte("1"), []byte("")})
	b.Add([][]byte{[]byte("1.5"), []byte("x"), []byte("")})
	b.Add([][]byte{[]byte("2"), []byte("2"), []byte("NA")})
	a.Merge(b)
	if a.Types[0] != TypeFloat || a.Types[1] != TypeString || a.Types[2] != TypeNull || a.Rows != 3 {
		t.Fatalf("merged %v rows %d", a.Types, a.Rows)
	}

	// A declared type (--types) is the column's type whatever the data:
	// a value that disagrees is an error where it is read.
	a, b = NewInferrer(2, &d), NewInferrer(2, &d)
	a.Declare(0, TypeInt)
	b.Declare(0, TypeInt)
	a.Add([][]byte{[]byte("x"), []byte("1")})
	b.Add([][]byte{[]byte("1.5"), []byte("y")})
	a.Merge(b)
	if a.Types[0] != TypeInt || a.Types[1] != TypeString {
		t.Fatalf("declared int widened: %v", a.Types)
	}
}

// The exact fast path (mantissa < 2^53, |power of ten| <= 22) gives the
// same bits as strconv.ParseFloat, sign of zero included.
func TestParseNumberFastPathBits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		digits := 1 + r.IntN(17)
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		point := r.IntN(digits + 1)
		for d := range digits {
			if d == point {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		if r.IntN(3) == 0 {
			fmt.Fprintf(&b, "e%d", r.IntN(50)-25)
		}
		s := b.String()
		want, err := strconv.ParseFloat(s, 64)
		kind, _, got := ParseNumber([]byte(s))
		if err != nil || kind == KindString {
			t.Fatalf("%q: strconv error %v, kind %v", s, err, kind)
		}
		if kind == KindFloat && math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: %v (bits %x), strconv %v (bits %x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	for _, s := range []string{"-0.0", "-0", "0.0", "-0e5"} {
		_, _, got := ParseNumber([]byte(s))
		want, _ := strconv.ParseFloat(s, 64)
		if s != "-0" && math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%q: bits %x, want %x", s, math.Float64bits(got), math.Float64bits(want))
		}
	}
}
