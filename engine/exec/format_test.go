package exec

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestAppendFloatWhole: whole numbers take a fast path; it must print what
// the shortest-repr path prints, "-0.0" for negative zero included.
func TestAppendFloatWhole(t *testing.T) {
	slow := func(f float64) string {
		if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
			return strconv.FormatFloat(f, 'e', -1, 64)
		}
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	r := rand.New(rand.NewPCG(4, 4))
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 1<<53 - 1, -(1<<53 - 1), 1 << 53, 1e15, 9999999999999998, 1e16, 0.5, 123456.0}
	for range 100_000 {
		fs = append(fs, math.Trunc((r.Float64()-0.5)*math.Pow(2, float64(r.IntN(60)))))
	}
	for _, f := range fs {
		if got, want := string(AppendFloat(nil, f)), slow(f); got != want {
			t.Fatalf("AppendFloat(%v) = %q, want %q", f, got, want)
		}
	}
}
