package agg

import (
	"bytes"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/gdask/gdask/plan"
)

// exactSum is the exact sum of xs: 4096 bits hold every float64 sum of
// fewer than 2^1000 values (from 2^-1074 to past 2^1024) without rounding.
func exactSum(xs []float64) *big.Float {
	s := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		s.Add(s, new(big.Float).SetFloat64(x))
	}
	return s
}

// hugeCase makes values whose partial sums pass MaxFloat64 in most orders:
// huge values and their negations, small ones that matter once they
// cancel, and a remainder that puts the exact total in range, near its
// ends or past them.
func hugeCase(r *rand.Rand, trial int) []float64 {
	huge := func() float64 { return math.Abs(hugeFloat(r)) }
	var xs []float64
	for range 1 + r.IntN(300) {
		x := huge()
		xs = append(xs, x, -x)
	}
	for range r.IntN(50) {
		switch r.IntN(3) {
		case 0:
			xs = append(xs, r.NormFloat64())
		case 1:
			xs = append(xs, logUniform(r, 5e-324, 1e-300))
		default:
			xs = append(xs, logUniform(r, 1, 1e300))
		}
	}
	switch trial % 5 {
	case 0: // in range
		xs = append(xs, huge())
	case 1: // near MaxFloat64, either side of it
		xs = append(xs, math.MaxFloat64, math.Ldexp(float64(r.IntN(5)-2), 969))
	case 2: // past it: ±Inf
		xs = append(xs, 1.7e308, 1e308+7e307*r.Float64())
		if r.IntN(2) == 0 {
			xs[len(xs)-2], xs[len(xs)-1] = -xs[len(xs)-2], -xs[len(xs)-1]
		}
	case 3: // the shape: m of 1.7e308, then m-1 of -1.7e308
		m := 2 + r.IntN(2000)
		xs = xs[:0]
		for i := range 2*m - 1 {
			xs = append(xs, math.Copysign(1.7e308, float64(m-1-i)+0.5))
		}
		return xs // in this order
	case 4: // cancels to small values only
	}
	r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

// TestHugeSums: a float sum or mean whose partial sums pass MaxFloat64 is
// the correctly rounded exact value (a math/big.Float reference), ±Inf
// only when that is beyond float64's range, in one pass and through
// random splits merged by MergeGroup and by the state encoding.
func TestHugeSums(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	for trial := range 200 {
		xs := hugeCase(r, trial)
		exact := exactSum(xs)
		wantSum, _ := exact.Float64()
		wantMean, _ := new(big.Float).SetPrec(4096).Quo(exact, big.NewFloat(float64(len(xs)))).Float64()
		rows := make([]row, len(xs))
		for i, x := range xs {
			rows[i] = row{v: fv(x), pos: uint64(i)}
		}
		for _, k := range []Kind{Sum, Mean} {
			want := wantSum
			if k == Mean {
				want = wantMean
			}
			a := New(k, plan.Float)
			a.Grow(1)
			feed(r, a, plan.Float, rows, identity(1))
			one, _ := collect(a, plan.Float, 1, identity(1))
			merged, _ := splitMerge(t, r, k, plan.Float, rows, 1)
			for how, got := range map[string]exp{"one pass": one[0], "merged": merged[0]} {
				if got.null || math.Float64bits(got.f) != math.Float64bits(want) {
					t.Fatalf("trial %d, %d values, %s: %v = %v, want %v (exact %s)", trial, len(xs), how, k, got, want, exact.Text('g', 20))
				}
			}
		}
	}
}

// TestHugeSumState: the state of a sum that holds levels beyond 2^1022
// (the 1000 × 1.7e308 then 999 × -1.7e308, cut after the
// overflow) encodes them, decodes into an empty group and into one that
// holds values, and re-encodes to the same bytes; decoded states with
// too many levels are corrupt. So spilled and sharded groups finish with
// the exact total.
func TestHugeSumState(t *testing.T) {
	for _, k := range []Kind{Sum, Mean, Var, Std} {
		first, second := New(k, plan.Float), New(k, plan.Float)
		first.Grow(1)
		second.Grow(1)
		var xs, ys []float64
		for range 1000 {
			xs = append(xs, 1.7e308)
		}
		for range 999 {
			ys = append(ys, -1.7e308)
		}
		ys = append(ys, 0.5, 1e-320)
		first.Update(make([]uint32, len(xs)), &plan.Vector{Type: plan.Float, Floats: xs}, nil)
		second.Update(make([]uint32, len(ys)), &plan.Vector{Type: plan.Float, Floats: ys}, nil)
		st := first.AppendState(nil, 0)

		// Into an empty group: the same state again.
		dec := New(k, plan.Float)
		dec.Grow(1)
		if rest, err := dec.MergeState(0, st); err != nil || len(rest) != 0 {
			t.Fatalf("%v: MergeState: %x, %v", k, rest, err)
		}
		if st2 := dec.AppendState(nil, 0); !bytes.Equal(st, st2) {
			t.Errorf("%v: state %x, re-encoded %x", k, st, st2)
		}
		// Into a group with the other values: the exact total.
		if _, err := second.MergeState(0, st); err != nil {
			t.Fatalf("%v: MergeState: %v", k, err)
		}
		got, _ := collect(second, plan.Float, 1, identity(1))
		all := append(xs, ys...)
		var want exp
		switch k {
		case Sum:
			want = exp{t: plan.Float, f: 1.7e308 + 0.5}
		case Mean:
			want.f, _ = new(big.Float).SetPrec(4096).Quo(exactSum(all), big.NewFloat(float64(len(all)))).Float64()
		default:
			want, _ = func() (exp, bool) {
				rows := make([]row, len(all))
				for i, x := range all {
					rows[i] = row{v: fv(x)}
				}
				res, w := reference(k, plan.Float, rows, 1)
				return res[0], w
			}()
		}
		if got[0].null || math.Float64bits(got[0].f) != math.Float64bits(want.f) {
			t.Errorf("%v: merged from a state: %v, want %v", k, got[0], want)
		}
	}

	// A sum state: header, flags (highs), n, int 0, no floats, then three
	// levels: one more than any sum or square needs.
	bad := append(appendHeader(nil, Sum), sumHigh, 1, 0, 0, 3, 0, 0, 0)
	a := New(Sum, plan.Float)
	a.Grow(1)
	if _, err := a.MergeState(0, bad); err == nil {
		t.Errorf("a state with three levels merged")
	}
	good := append(appendHeader(nil, Sum), sumHigh, 1, 0, 0, 1, 1)
	good = appendFloat(good, 0.25) // at level 1: 2^-2 · 2^1024
	if _, err := a.MergeState(0, good); err != nil {
		t.Fatalf("a state with two levels: %v", err)
	}
	if got, _ := collect(a, plan.Float, 1, identity(1)); got[0].String() != (exp{t: plan.Float, f: 0x1p1022}).String() {
		t.Errorf("a level-1 state of 2^1022 gives %v", got[0])
	}
}

// TestHighBytes: the bytes an expStore counts for its levels above 0, kept
// as they change, are what the levels hold; Reset drops them.
func TestHighBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 13))
	for _, k := range []Kind{Sum, Var} {
		a := New(k, plan.Float)
		a.Grow(50)
		rows := make([]row, 5000)
		for i := range rows {
			rows[i] = row{g: uint32(r.IntN(50)), v: fv(hugeFloat(r)), pos: uint64(i)}
		}
		feed(r, a, plan.Float, rows, identity(50))
		var s *expStore
		switch a := a.(type) {
		case *sumAgg:
			s = &a.store
		case *varAgg:
			s = &a.store
		}
		var want int64
		for _, levels := range s.high {
			want += 64 + int64(cap(levels))*24
			for _, e := range levels {
				want += 8 * int64(cap(e))
			}
		}
		if len(s.high) == 0 || s.highBytes != want {
			t.Errorf("%v: %d expansions with levels, highBytes %d, want %d", k, len(s.high), s.highBytes, want)
		}
		a.Reset()
		if s.highBytes != 0 || len(s.high) != 0 {
			t.Errorf("%v after Reset: highBytes %d, %d expansions with levels", k, s.highBytes, len(s.high))
		}
	}
}
