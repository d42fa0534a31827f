package agg

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gdask/gdask/plan"
)

func TestNewPanicsOnBadType(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("New(Mean, String) did not panic")
		}
	}()
	New(Mean, plan.String)
}

func identity(n int) []uint32 {
	p := make([]uint32, n)
	for i := range p {
		p[i] = uint32(i)
	}
	return p
}

func randPerm(r *rand.Rand, n int) []uint32 {
	p := identity(n)
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

func same(k Kind, got, want exp) bool {
	if got.null != want.null || got.t != want.t {
		return false
	}
	if got.null {
		return true
	}
	switch got.t {
	case plan.Int:
		return got.i == want.i
	case plan.Bool:
		return got.b == want.b
	case plan.String:
		return got.s == want.s
	}
	return math.Float64bits(got.f) == math.Float64bits(want.f)
}

func TestAgainstReference(t *testing.T) {
	for _, p := range profiles {
		for _, k := range p.kindList() {
			t.Run(p.name+"/"+k.String(), func(t *testing.T) {
				for seed := range uint64(4) {
					r := rand.New(rand.NewPCG(seed, 1))
					const ngroups = 30
					rows := genRows(r, p, 1+r.IntN(4000), ngroups-3) // 3 groups without rows
					a := New(k, p.in)
					a.Grow(ngroups)
					feed(r, a, p.in, rows, identity(ngroups))
					got, gotW := collect(a, p.in, ngroups, identity(ngroups))
					want, wantW := reference(k, p.in, rows, ngroups)
					if gotW != wantW {
						t.Errorf("seed %d: Widened %v, want %v", seed, gotW, wantW)
					}
					for g := range want {
						if !same(k, got[g], want[g]) {
							t.Errorf("seed %d group %d: got %v, want %v", seed, g, got[g], want[g])
						}
					}
				}
			})
		}
	}
}

// mergeVia folds every group of b into a, through MergeGroup or through
// the state encoding; perms map global groups to each Agg's local ones.
func mergeVia(t *testing.T, a Agg, pa []uint32, b Agg, pb []uint32, viaState bool) {
	t.Helper()
	if !viaState {
		for g := range pa {
			a.MergeGroup(pa[g], b, pb[g])
		}
		return
	}
	// All groups' states back to back: the encoding is self-delimiting.
	var buf []byte
	for g := range pb {
		buf = b.AppendState(buf, pb[g])
	}
	for g := range pa {
		rest, err := a.MergeState(pa[g], buf)
		if err != nil {
			t.Fatalf("MergeState: %v", err)
		}
		buf = rest
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left after the last state", len(buf))
	}
}

// TestMergeOrderIndependence: random partitions, each aggregated alone,
// merged in random trees through MergeGroup and the state encoding, give
// results bit for bit identical to one pass, in any row order.
func TestMergeOrderIndependence(t *testing.T) {
	for _, p := range profiles {
		for _, k := range p.kindList() {
			t.Run(p.name+"/"+k.String(), func(t *testing.T) {
				for seed := range uint64(3) {
					r := rand.New(rand.NewPCG(seed, 2))
					const ngroups = 20
					rows := genRows(r, p, 1+r.IntN(3000), ngroups-2)
					one := New(k, p.in)
					one.Grow(ngroups)
					feed(r, one, p.in, rows, identity(ngroups))
					want, wantW := collect(one, p.in, ngroups, identity(ngroups))

					for trial := range 4 {
						// One pass over the rows in another order.
						r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
						got, gotW := splitMerge(t, r, k, p.in, rows, ngroups)
						if gotW != wantW {
							t.Errorf("seed %d trial %d: Widened %v, one pass %v", seed, trial, gotW, wantW)
						}
						for g := range want {
							if got[g].t != want[g].t || got[g].String() != want[g].String() {
								t.Errorf("seed %d trial %d group %d: merged %v, one pass %v", seed, trial, g, got[g], want[g])
							}
						}
					}
				}
			})
		}
	}
}

// splitMerge aggregates rows in random partitions, each with its own
// group numbering, and merges them in a random tree, each merge through
// MergeGroup or through the state encoding.
func splitMerge(t *testing.T, r *rand.Rand, k Kind, in plan.Type, rows []row, ngroups int) ([]exp, bool) {
	t.Helper()
	parts := splitRows(r, rows, 1+r.IntN(8))
	aggs := make([]Agg, len(parts))
	perms := make([][]uint32, len(parts))
	for i := range parts {
		aggs[i] = New(k, in)
		aggs[i].Grow(ngroups)
		perms[i] = randPerm(r, ngroups)
		feed(r, aggs[i], in, parts[i], perms[i])
	}
	for len(aggs) > 1 {
		i, j := r.IntN(len(aggs)), r.IntN(len(aggs)-1)
		if j >= i {
			j++
		}
		mergeVia(t, aggs[i], perms[i], aggs[j], perms[j], r.IntN(2) == 0)
		aggs = append(aggs[:j], aggs[j+1:]...)
		perms = append(perms[:j], perms[j+1:]...)
	}
	return collect(aggs[0], in, ngroups, perms[0])
}

// splitRows deals rows at random over n parts.
func splitRows(r *rand.Rand, rows []row, n int) [][]row {
	parts := make([][]row, n)
	for _, x := range rows {
		i := r.IntN(n)
		parts[i] = append(parts[i], x)
	}
	return parts
}

// TestStateRoundTrip: decoding a state into an empty group is MergeGroup
// into an empty group, and encodes back to the same bytes.
func TestStateRoundTrip(t *testing.T) {
	for _, p := range profiles {
		for _, k := range p.kindList() {
			t.Run(p.name+"/"+k.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(9, 9))
				const ngroups = 12
				rows := genRows(r, p, 2000, ngroups-1)
				a := New(k, p.in)
				a.Grow(ngroups)
				feed(r, a, p.in, rows, identity(ngroups))
				viaState, viaMerge := New(k, p.in), New(k, p.in)
				viaState.Grow(ngroups)
				viaMerge.Grow(ngroups)
				for g := range uint32(ngroups) {
					st := a.AppendState(nil, g)
					rest, err := viaState.MergeState(g, append(st, 0xAB))
					if err != nil || !bytes.Equal(rest, []byte{0xAB}) {
						t.Fatalf("group %d: MergeState = %x, %v", g, rest, err)
					}
					viaMerge.MergeGroup(g, a, g)
					// Exact sums re-encode as other components of the same
					// value; nunique lists values in no particular order.
					if k == Count || k == Min || k == Max || k == First || k == Last {
						if st2 := viaState.AppendState(nil, g); !bytes.Equal(st, st2) {
							t.Errorf("group %d: state %x, re-encoded %x", g, st, st2)
						}
					}
				}
				want, ww := collect(a, p.in, ngroups, identity(ngroups))
				for _, b := range []Agg{viaState, viaMerge} {
					got, gw := collect(b, p.in, ngroups, identity(ngroups))
					if gw != ww {
						t.Errorf("Widened %v, want %v", gw, ww)
					}
					for g := range want {
						if got[g].String() != want[g].String() || got[g].t != want[g].t {
							t.Errorf("group %d: %v, want %v", g, got[g], want[g])
						}
					}
				}
			})
		}
	}
}

// TestCorruptState: truncated, mutated, foreign and garbage states are
// errors wrapping ErrCorrupt, never panics, and leave the group unchanged.
func TestCorruptState(t *testing.T) {
	for _, p := range profiles {
		for _, k := range p.kindList() {
			t.Run(p.name+"/"+k.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(5, 5))
				rows := genRows(r, p, 300, 2)
				a := New(k, p.in)
				a.Grow(2)
				feed(r, a, p.in, rows, identity(2))
				st := a.AppendState(nil, 0)
				b := New(k, p.in)
				b.Grow(1)
				b.MergeState(0, a.AppendState(nil, 1))
				before := b.AppendState(nil, 0)
				check := func(what string, src []byte, mustFail bool) {
					t.Helper()
					rest, err := b.MergeState(0, src)
					if err == nil {
						if mustFail {
							t.Errorf("%s: no error, rest %x", what, rest)
						}
						b = New(k, p.in) // it merged: start again
						b.Grow(1)
						b.MergeState(0, a.AppendState(nil, 1))
						return
					}
					if !errors.Is(err, ErrCorrupt) {
						t.Errorf("%s: error %v does not wrap ErrCorrupt", what, err)
					}
					if !bytes.Equal(rest, src) {
						t.Errorf("%s: rest is not the input", what)
					}
					if k != NUnique && !bytes.Equal(b.AppendState(nil, 0), before) {
						t.Errorf("%s: a failed MergeState changed the group", what)
					}
				}
				for n := range len(st) {
					check(fmt.Sprintf("truncated to %d of %d", n, len(st)), st[:n], true)
				}
				check("version 2", append([]byte{2}, st[1:]...), true)
				check("other kind", append([]byte{st[0], byte((k + 1) % plan.NumAggKinds)}, st[2:]...), true)
				check("bad kind", append([]byte{st[0], 200}, st[2:]...), true)
				for range 300 {
					m := bytes.Clone(st)
					for range 1 + r.IntN(3) {
						i := r.IntN(len(m))
						m[i] ^= byte(1 + r.IntN(255))
					}
					check("mutated", m, false)
				}
				for range 300 {
					g := make([]byte, r.IntN(40))
					for i := range g {
						g[i] = byte(r.Uint32())
					}
					if r.IntN(2) == 0 {
						g = append([]byte{stateVersion, byte(k)}, g...)
					}
					check("garbage", g, false)
				}
			})
		}
	}
}

// sumOf runs kind k over one group given as batches of one type each.
func runBatches(t *testing.T, k Kind, in plan.Type, batches ...plan.Vector) (exp, bool) {
	t.Helper()
	a := New(k, in)
	a.Grow(1)
	for i := range batches {
		v := &batches[i]
		n := max(len(v.Ints), len(v.Floats), len(v.Strs), len(v.Bools), len(v.Nulls))
		groups := make([]uint32, n)
		pos := make([]uint64, n)
		for j := range pos {
			pos[j] = uint64(i*10000 + j)
		}
		a.Update(groups, v, pos)
	}
	res, w := collect(a, in, 1, identity(1))
	return res[0], w
}

func ints(x ...int64) plan.Vector {
	return plan.Vector{Type: plan.Int, Ints: x, Nulls: make([]bool, len(x))}
}
func floats(x ...float64) plan.Vector {
	return plan.Vector{Type: plan.Float, Floats: x, Nulls: make([]bool, len(x))}
}

func TestIntOverflow(t *testing.T) {
	const mx, mn = math.MaxInt64, math.MinInt64
	tests := []struct {
		name    string
		k       Kind
		batches []plan.Vector
		want    string
		widened bool
	}{
		{"partial overflow, total fits", Sum, []plan.Vector{ints(mx, 1), ints(-1)}, "9223372036854775807", false},
		{"partial overflow, total fits, other order", Sum, []plan.Vector{ints(-1), ints(1, mx)}, "9223372036854775807", false},
		{"underflow back", Sum, []plan.Vector{ints(mn, -1, 1)}, "-9223372036854775808", false},
		{"total overflows", Sum, []plan.Vector{ints(mx, mx)}, "1.8446744073709552e+19(0x43f0000000000000)", true},
		{"overflow keeps exactness", Sum, []plan.Vector{ints(mx, mx, mx, mn, mn, mn, 5)}, "2", false},
		{"overflowed int carried into a float", Sum, []plan.Vector{ints(mx, mx), floats(0.5)}, "1.8446744073709552e+19(0x43f0000000000000)", true},
		{"mean of huge ints is exact", Mean, []plan.Vector{ints(mx, mx, mx)}, "9.223372036854776e+18(0x43e0000000000000)", false},
		{"mean rounds once", Mean, []plan.Vector{ints(1, 2, 2)}, "1.6666666666666667(0x3ffaaaaaaaaaaaab)", false},
		{"mean beyond 2^53", Mean, []plan.Vector{ints(1<<60+1, 1<<60+2)}, "1.152921504606847e+18(0x43b0000000000000)", false},
		{"var of huge ints", Var, []plan.Vector{ints(mx, mx-2)}, "2(0x4000000000000000)", false},
		{"min of extremes", Min, []plan.Vector{ints(mx, mn)}, "-9223372036854775808", false},
	}
	for _, tt := range tests {
		got, w := runBatches(t, tt.k, plan.Int, tt.batches...)
		if got.String() != tt.want || w != tt.widened {
			t.Errorf("%s: %v %v, got %v (widened %v)", tt.name, tt.k, tt.want, got, w)
		}
	}
}

// TestIntColumnFloatBatches: an Int column delivered as Float batches stays
// an integer column while the values are integers.
func TestIntColumnFloatBatches(t *testing.T) {
	tests := []struct {
		name    string
		k       Kind
		batches []plan.Vector
		want    string
		widened bool
	}{
		{"integral floats", Sum, []plan.Vector{floats(1, 2), ints(3)}, "6", false},
		{"a fraction widens", Sum, []plan.Vector{floats(1, 2.5), ints(3)}, "6.5(0x401a000000000000)", true},
		{"an infinity widens", Sum, []plan.Vector{floats(math.Inf(1)), ints(3)}, "+Inf(0x7ff0000000000000)", true},
		{"both infinities: null", Sum, []plan.Vector{floats(math.Inf(1), math.Inf(-1)), ints(3)}, "null", true},
		{"2^63 is not an int64", Sum, []plan.Vector{floats(0x1p63)}, "9.223372036854776e+18(0x43e0000000000000)", true},
		{"min of integral floats", Min, []plan.Vector{floats(-2, 7), ints(3)}, "-2", false},
		{"min is a fraction", Min, []plan.Vector{floats(-2.5, 7), ints(3)}, "-2.5(0xc004000000000000)", true},
		{"max is an int, a fraction elsewhere", Max, []plan.Vector{floats(-2.5, 7), ints(3)}, "7", false},
		{"first by position", First, []plan.Vector{floats(1.5), ints(3)}, "1.5(0x3ff8000000000000)", true},
		{"last by position", Last, []plan.Vector{floats(1.5), ints(3)}, "3", false},
		{"nunique by value", NUnique, []plan.Vector{floats(1, 2, 2.5, -0.0), ints(1, 2, 0)}, "4", false},
		{"mean mixes", Mean, []plan.Vector{floats(0.5), ints(1, 3)}, "1.5(0x3ff8000000000000)", false},
	}
	for _, tt := range tests {
		got, w := runBatches(t, tt.k, plan.Int, tt.batches...)
		if got.String() != tt.want || w != tt.widened {
			t.Errorf("%s: %v want %v (widened %v), got %v (widened %v)", tt.name, tt.k, tt.want, tt.widened, got, w)
		}
	}
}

func TestNullColumn(t *testing.T) {
	want := map[Kind]string{Count: "3", Sum: "0(0x0)", Mean: "null", Min: "null", Max: "null",
		Std: "null", Var: "null", First: "null", Last: "null", NUnique: "0"}
	for k := range plan.NumAggKinds {
		nulls := plan.Vector{Type: plan.Null, Nulls: []bool{true, true}}
		typed := plan.Vector{Type: plan.Int, Ints: []int64{0}, Nulls: []bool{true}}
		got, w := runBatches(t, k, plan.Null, nulls, typed)
		if got.String() != want[k] || w {
			t.Errorf("%v over nulls = %v (widened %v), want %v", k, got, w, want[k])
		}
	}
}

func TestStrings(t *testing.T) {
	str := func(s ...string) plan.Vector {
		v := plan.Vector{Type: plan.String, Nulls: make([]bool, len(s))}
		for i, x := range s {
			if x == "<null>" {
				v.Nulls[i] = true
				v.Strs = append(v.Strs, nil)
				continue
			}
			v.Strs = append(v.Strs, []byte(x))
		}
		return v
	}
	want := map[Kind]string{Count: "6", Min: `""`, Max: `"b\xff"`, First: `"b"`, Last: `"a"`, NUnique: "5"}
	for k, w := range want {
		got, _ := runBatches(t, k, plan.String, str("b", "<null>", "b\xff"), str("", "ab", "a"))
		if got.String() != w {
			t.Errorf("%v = %v, want %v", k, got, w)
		}
	}
}

// TestStringArena: min and max of many growing strings reuse and compact
// their arena, and keep the right values.
func TestStringArena(t *testing.T) {
	for _, k := range []Kind{Min, Max, First, Last} {
		a := New(k, plan.String).(*pickStr)
		const ngroups = 64
		a.Grow(ngroups)
		r := rand.New(rand.NewPCG(1, 2))
		wantS := make([]string, ngroups)
		has := make([]bool, ngroups)
		pos := uint64(0)
		for range 200 {
			var v plan.Vector
			v.Reset(plan.String, plan.BatchSize)
			groups := make([]uint32, plan.BatchSize)
			ps := make([]uint64, plan.BatchSize)
			for i := range groups {
				g := uint32(r.IntN(ngroups))
				s := bytes.Repeat([]byte{byte('a' + r.IntN(26))}, r.IntN(500))
				groups[i], v.Strs[i] = g, s
				pos++
				ps[i] = pos
				w := wantS[g]
				switch {
				case !has[g], k == Min && string(s) < w, k == Max && string(s) > w, k == Last:
					wantS[g], has[g] = string(s), true
				}
			}
			a.Update(groups, &v, ps)
		}
		if a.garbage > len(a.arena)/2 && len(a.arena) >= 64<<10 {
			t.Errorf("%v: arena %d bytes with %d garbage: not compacted", k, len(a.arena), a.garbage)
		}
		for g := range uint32(ngroups) {
			if got := string(a.str(g)); got != wantS[g] {
				t.Errorf("%v group %d: %.20q..., want %.20q...", k, g, got, wantS[g])
			}
		}
	}
}

func TestMemBytesAndReset(t *testing.T) {
	for _, p := range profiles {
		for _, k := range p.kindList() {
			r := rand.New(rand.NewPCG(3, 3))
			a := New(k, p.in)
			if a.Len() != 0 || a.Kind() != k {
				t.Fatalf("%v: new Agg Len %d Kind %v", k, a.Len(), a.Kind())
			}
			a.Grow(1000)
			if a.Len() != 1000 || a.MemBytes() < 1000 {
				t.Errorf("%s/%v: Len %d MemBytes %d after Grow(1000)", p.name, k, a.Len(), a.MemBytes())
			}
			before := a.MemBytes()
			rows := genRows(r, p, 5000, 1000)
			feed(r, a, p.in, rows, identity(1000))
			if k == NUnique && p.name == "float-uniform" && a.MemBytes() < before+5000*8 {
				t.Errorf("nunique of 5000 distinct values: MemBytes %d, was %d", a.MemBytes(), before)
			}
			if (k == Min || k == First) && p.in == plan.String && p.name == "string-long" && a.MemBytes() < before+1000*50 {
				t.Errorf("%v of long strings: MemBytes %d, was %d", k, a.MemBytes(), before)
			}
			a.Reset()
			if a.Len() != 0 {
				t.Errorf("%v: Len %d after Reset", k, a.Len())
			}
			// Reused storage starts empty.
			a.Grow(50)
			rows = genRows(r, p, 700, 50)
			feed(r, a, p.in, rows, identity(50))
			got, _ := collect(a, p.in, 50, identity(50))
			want, _ := reference(k, p.in, rows, 50)
			for g := range want {
				if !same(k, got[g], want[g]) {
					t.Errorf("%s/%v after Reset, group %d: %v, want %v", p.name, k, g, got[g], want[g])
				}
			}
		}
	}
}

func TestUpdatePanicsOnStrings(t *testing.T) {
	for _, k := range []Kind{Sum, Mean, Var, Min, First} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%v over Int took a String vector", k)
				}
			}()
			a := New(k, plan.Int)
			a.Grow(1)
			a.Update([]uint32{0}, &plan.Vector{Type: plan.String, Strs: [][]byte{[]byte("x")}, Nulls: []bool{false}}, []uint64{0})
		}()
	}
}

// TestFloatExtremes: infinities, overflow and underflow give documented
// results, not panics.
func TestFloatExtremes(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name    string
		k       Kind
		batches []plan.Vector
		want    string
	}{
		{"sum overflows to +Inf", Sum, []plan.Vector{floats(1.7e308, 1.7e308)}, "+Inf(0x7ff0000000000000)"},
		{"sum back in range", Sum, []plan.Vector{floats(1.7e308, -1.7e308, 1e308)}, "1e+308(0x7fe1ccf385ebc8a0)"},
		{"sum overflows midway, then back in range", Sum, []plan.Vector{floats(1.7e308, 1.7e308, 1.7e308, -1.7e308, -1.7e308)}, "1.7e+308(0x7fee42d130773b76)"},
		{"sum overflows downwards to -Inf", Sum, []plan.Vector{floats(-1.7e308, -1.7e308, 1)}, "-Inf(0xfff0000000000000)"},
		{"sum just past MaxFloat64 rounds down", Sum, []plan.Vector{floats(math.MaxFloat64, 0x1p969, -1e-300)}, "1.7976931348623157e+308(0x7fefffffffffffff)"},
		{"sum half an ulp past MaxFloat64 is +Inf", Sum, []plan.Vector{floats(math.MaxFloat64, 0x1p970)}, "+Inf(0x7ff0000000000000)"},
		{"mean of huge values", Mean, []plan.Vector{floats(1.7e308, 1.7e308, 1.7e308, 1.7e308)}, "1.7e+308(0x7fee42d130773b76)"},
		{"mean overflowing midway", Mean, []plan.Vector{floats(1.7e308, 1.7e308, -1e308, 1.7e308, 1.7e308)}, "1.16e+308(0x7fe4a6103f303aa5)"},
		{"sum of huge and tiny", Sum, []plan.Vector{floats(1.7e308, 1.7e308, 5e-324, -1.7e308, -1.7e308)}, "5e-324(0x1)"},
		{"mean of infinities", Mean, []plan.Vector{floats(inf, 1, inf)}, "+Inf(0x7ff0000000000000)"},
		{"mean of +Inf and -Inf", Mean, []plan.Vector{floats(inf, -inf)}, "null"},
		{"var with an infinity", Var, []plan.Vector{floats(1, 2, inf)}, "null"},
		{"var beyond float64", Var, []plan.Vector{floats(1e200, 2e200)}, "+Inf(0x7ff0000000000000)"},
		{"std of a var beyond float64", Std, []plan.Vector{floats(1e200, 2e200)}, "7.071067811865475e+199(0x696d8f9811335b57)"},
		{"std of huge values", Std, []plan.Vector{floats(1e308, -1e308)}, "1.4142135623730951e+308(0x7fe92c80954c51f5)"},
		{"std of huge values beyond float64", Std, []plan.Vector{floats(1.7e308, -1.7e308)}, "+Inf(0x7ff0000000000000)"},
		{"var of equal huge values", Var, []plan.Vector{floats(1.7e308, 1.7e308, 1.7e308)}, "0(0x0)"},
		{"var of huge and small values", Var, []plan.Vector{floats(1e160, 1, -1e160, 3)}, "+Inf(0x7ff0000000000000)"},
		{"std of huge and small values", Std, []plan.Vector{floats(1e160, 1, -1e160, 3)}, "8.16496580927726e+159(0x61229595f0f7f983)"},
		{"var of tiny values", Var, []plan.Vector{floats(3e-300, 1e-300)}, "0(0x0)"},
		{"std of equal values", Std, []plan.Vector{floats(0.1, 0.1, 0.1)}, "0(0x0)"},
		{"var of equal huge ints", Var, []plan.Vector{ints(math.MaxInt64, math.MaxInt64)}, "0(0x0)"},
		{"sum of tiny and huge", Sum, []plan.Vector{floats(1e300, 5e-324, -1e300)}, "5e-324(0x1)"},
		{"sum rounds ties across partials", Sum, []plan.Vector{floats(1e-16, 1, 1e16)}, "1.0000000000000002e+16(0x4341c37937e08001)"},
		{"min of -0 and 0", Min, []plan.Vector{floats(0, math.Copysign(0, -1))}, "-0(0x8000000000000000)"},
		{"max of infinities", Max, []plan.Vector{floats(-inf, inf, 1)}, "+Inf(0x7ff0000000000000)"},
	}
	for _, tt := range tests {
		got, _ := runBatches(t, tt.k, plan.Float, tt.batches...)
		if got.String() != tt.want {
			t.Errorf("%s: %v = %v, want %v", tt.name, tt.k, got, tt.want)
		}
	}
}

// TestView: a Mean read from a Sum's states (and a Sum from a Mean's)
// answers exactly what an Agg of that kind fed the same rows answers,
// widening included; other kinds have no view.
func TestView(t *testing.T) {
	const mx = math.MaxInt64
	batches := []plan.Vector{ints(mx, mx, 3), floats(0.5, -2, 1e300), ints(-7, 1), floats(0.1, 0.2)}
	for _, in := range []plan.Type{plan.Int, plan.Float} {
		for _, state := range []Kind{Sum, Mean} {
			for _, k := range []Kind{Sum, Mean} {
				shared, direct := New(state, in), New(k, in)
				for _, a := range []Agg{shared, direct} {
					a.Grow(4)
					for i := range batches {
						v := &batches[i]
						groups := make([]uint32, max(len(v.Ints), len(v.Floats)))
						for j := range groups {
							groups[j] = uint32((i + j) % 3) // group 3 stays empty
						}
						a.Update(groups, v, nil)
					}
				}
				view, ok := View(shared, k)
				if !ok || view.Kind() != k {
					t.Fatalf("%v over %v: no %v view", state, in, k)
				}
				got, gw := collect(view, in, 4, identity(4))
				want, ww := collect(direct, in, 4, identity(4))
				if gw != ww || !slices.EqualFunc(got, want, func(a, b exp) bool { return a.String() == b.String() }) {
					t.Errorf("%v view of a %v over %v: %v (widened %v), want %v (widened %v)", k, state, in, got, gw, want, ww)
				}
			}
		}
	}
	for _, k := range []Kind{Count, Min, Max, Std, Var, First, Last, NUnique} {
		if _, ok := View(New(k, plan.Float), Mean); ok {
			t.Errorf("a %v has a Mean view", k)
		}
	}
}

// TestCountView: a Count read from a Sum's or Mean's rows counts every
// row, nulls included, as a Count fed the same rows does, through merges
// by MergeGroup and by the state encoding; the sum itself is unchanged.
// A sum that already holds groups gives no Count view.
func TestCountView(t *testing.T) {
	for _, p := range profiles {
		if p.in != plan.Int && p.in != plan.Float {
			continue
		}
		for _, state := range []Kind{Sum, Mean} {
			t.Run(p.name+"/"+state.String(), func(t *testing.T) {
				r := rand.New(rand.NewPCG(4, 4))
				const ngroups = 16
				rows := genRows(r, p, 1+r.IntN(3000), ngroups-2)
				count, plain := New(Count, p.in), New(state, p.in)
				for _, a := range []Agg{count, plain} {
					a.Grow(ngroups)
					feed(r, a, p.in, rows, identity(ngroups))
				}
				wantCount, _ := collect(count, p.in, ngroups, identity(ngroups))
				wantSum, wantW := collect(plain, p.in, ngroups, identity(ngroups))

				// Split the rows over parts, each a sum with a count view,
				// and merge them into the first.
				parts := splitRows(r, rows, 2+r.IntN(4))
				sums := make([]Agg, len(parts))
				perms := make([][]uint32, len(parts))
				var view Agg
				for i := range parts {
					sums[i] = New(state, p.in)
					v, ok := View(sums[i], Count)
					if !ok || v.Kind() != Count {
						t.Fatalf("no Count view of an empty %v", state)
					}
					if i == 0 {
						view = v
					}
					sums[i].Grow(ngroups)
					perms[i] = randPerm(r, ngroups)
					feed(r, sums[i], p.in, parts[i], perms[i])
				}
				for i := 1; i < len(parts); i++ {
					mergeVia(t, sums[0], perms[0], sums[i], perms[i], i%2 == 0)
				}
				gotCount, cw := collect(view, p.in, ngroups, perms[0])
				gotSum, sw := collect(sums[0], p.in, ngroups, perms[0])
				if cw || sw != wantW {
					t.Errorf("Widened: count %v, sum %v; want false, %v", cw, sw, wantW)
				}
				for g := range ngroups {
					if gotCount[g] != wantCount[g] {
						t.Errorf("group %d: count %v, want %v", g, gotCount[g], wantCount[g])
					}
					if gotSum[g].String() != wantSum[g].String() {
						t.Errorf("group %d: %v %v, want %v", g, state, gotSum[g], wantSum[g])
					}
				}
				if _, ok := View(sums[0], Count); ok {
					t.Errorf("a Count view of a %v that holds groups", state)
				}
			})
		}
	}
}

// TestVarExactSquares: Σx and Σx² stay exact when the squares are exact
// but a sum outgrows a double-double (Update's inlined fast path must hand
// such a value to the general one): first Σx² alone, then Σx.
func TestVarExactSquares(t *testing.T) {
	exact := func(x float64) *big.Float { return new(big.Float).SetPrec(400).SetFloat64(x) }
	for _, xs := range [][]float64{{0x1p30, 0x1p-30, 1, 3}, {0x1p60, 1, 0x1p-60, 3}} {
		a := New(Var, plan.Float).(*varAgg)
		a.Grow(1)
		a.Update(make([]uint32, len(xs)), &plan.Vector{Type: plan.Float, Floats: xs}, nil)
		wantS, wantQ := exact(0), exact(0)
		for _, x := range xs {
			wantS.Add(wantS, exact(x))
			wantQ.Add(wantQ, new(big.Float).Mul(exact(x), exact(x)))
		}
		c := a.cells.At(0)
		for _, sum := range []struct {
			name string
			acc  *acc
			want *big.Float
		}{{"Σx", &c.s, wantS}, {"Σx²", &c.q, wantQ}} {
			parts, over := exactParts(&a.store, sum.acc, i128{}, nil)
			got := exact(0)
			for _, p := range parts {
				got.Add(got, exact(p))
			}
			if over != 0 || got.Cmp(sum.want) != 0 {
				t.Errorf("%v: %s = %v (overflow %v), want %v", xs, sum.name, got.Text('g', 40), over, sum.want.Text('g', 40))
			}
		}
	}
}
