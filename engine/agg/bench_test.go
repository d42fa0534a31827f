package agg

import (
	"math/rand/v2"
	"testing"

	"github.com/gdask/gdask/plan"
)

// benchBatch is one full batch over 100 groups, as the seed's groupby has.
func benchBatch(t plan.Type) ([]uint32, *plan.Vector, []uint64) {
	r := rand.New(rand.NewPCG(1, 1))
	groups := make([]uint32, plan.BatchSize)
	pos := make([]uint64, plan.BatchSize)
	v := &plan.Vector{}
	v.Reset(t, plan.BatchSize)
	for i := range groups {
		groups[i] = uint32(r.IntN(100))
		pos[i] = uint64(i)
		switch t {
		case plan.Float:
			v.Floats[i] = r.Float64() * 1000
		case plan.Int:
			v.Ints[i] = r.Int64N(1000)
		case plan.String:
			v.Strs[i] = []byte{'c', 'a', 't', byte('0' + r.IntN(10)), byte('0' + r.IntN(10))}
		}
	}
	return groups, v, pos
}

func benchUpdate(b *testing.B, k Kind, t plan.Type) {
	groups, v, pos := benchBatch(t)
	runUpdate(b, k, t, groups, v, pos)
}

// benchUpdateWhole is benchUpdate over whole-number floats (gen-data's
// values: 0.0 to 999.0), whose sums stay double-double and whose squares
// are exact.
func benchUpdateWhole(b *testing.B, k Kind) {
	groups, v, pos := benchBatch(plan.Float)
	for i := range v.Floats {
		v.Floats[i] = float64(int(v.Floats[i]))
	}
	runUpdate(b, k, plan.Float, groups, v, pos)
}

// benchUpdateHuge is benchUpdate over values of ±1e300 to ±MaxFloat64,
// whose sums pass MaxFloat64 and whose squares pass 2^1022: the levels
// above an expansion's first.
func benchUpdateHuge(b *testing.B, k Kind) {
	groups, v, pos := benchBatch(plan.Float)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range v.Floats {
		v.Floats[i] = hugeFloat(r)
	}
	runUpdate(b, k, plan.Float, groups, v, pos)
}

func runUpdate(b *testing.B, k Kind, t plan.Type, groups []uint32, v *plan.Vector, pos []uint64) {
	a := New(k, t)
	a.Grow(100)
	a.Update(groups, v, pos) // warm: arenas and tables sized
	b.ReportAllocs()
	b.SetBytes(plan.BatchSize * 8)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pos[0] = uint64(i) // keep first/last honest
		a.Update(groups, v, pos)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*plan.BatchSize), "ns/row")
}

func BenchmarkMeanUpdate(b *testing.B)      { benchUpdate(b, Mean, plan.Float) }
func BenchmarkMeanUpdateInt(b *testing.B)   { benchUpdate(b, Mean, plan.Int) }
func BenchmarkSumUpdate(b *testing.B)       { benchUpdate(b, Sum, plan.Float) }
func BenchmarkSumUpdateInt(b *testing.B)    { benchUpdate(b, Sum, plan.Int) }
func BenchmarkCountUpdate(b *testing.B)     { benchUpdate(b, Count, plan.Float) }
func BenchmarkVarUpdate(b *testing.B)       { benchUpdate(b, Var, plan.Float) }
func BenchmarkVarUpdateWhole(b *testing.B)  { benchUpdateWhole(b, Var) }
func BenchmarkMeanUpdateWhole(b *testing.B) { benchUpdateWhole(b, Mean) }
func BenchmarkSumUpdateHuge(b *testing.B)   { benchUpdateHuge(b, Sum) }
func BenchmarkVarUpdateHuge(b *testing.B)   { benchUpdateHuge(b, Var) }
func BenchmarkMinUpdateWhole(b *testing.B)  { benchUpdateWhole(b, Min) }
func BenchmarkMinUpdate(b *testing.B)       { benchUpdate(b, Min, plan.Float) }
func BenchmarkFirstUpdate(b *testing.B)     { benchUpdate(b, First, plan.Float) }
func BenchmarkMaxUpdateString(b *testing.B) { benchUpdate(b, Max, plan.String) }
func BenchmarkNUniqueUpdate(b *testing.B)   { benchUpdate(b, NUnique, plan.Int) }

// BenchmarkMeanMergeResult: merging two tables of 100k groups and reading
// every result.
func BenchmarkMeanMergeResult(b *testing.B) {
	const ngroups = 100_000
	r := rand.New(rand.NewPCG(2, 2))
	mk := func() Agg {
		a := New(Mean, plan.Float)
		a.Grow(ngroups)
		v := &plan.Vector{}
		v.Reset(plan.Float, plan.BatchSize)
		groups := make([]uint32, plan.BatchSize)
		for range 500 {
			for i := range groups {
				groups[i] = uint32(r.IntN(ngroups))
				v.Floats[i] = r.Float64() * 1000
			}
			a.Update(groups, v, nil)
		}
		return a
	}
	x, y := mk(), mk()
	var out plan.Vector
	out.Reset(plan.Float, ngroups)
	b.ReportAllocs()
	for b.Loop() {
		dst := New(Mean, plan.Float)
		dst.Grow(ngroups)
		for g := range uint32(ngroups) {
			dst.MergeGroup(g, x, g)
			dst.MergeGroup(g, y, g)
			dst.Result(g, &out, int(g))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ngroups), "ns/group")
}
