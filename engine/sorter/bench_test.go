package sorter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// BenchmarkMergeRuns merges 16 sorted runs of 64k rows with 8-byte keys:
// the merge of a sort whose runs stayed in memory.
func BenchmarkMergeRuns(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	runs := make([]sortedRows, 16)
	for i := range runs {
		for range 1 << 16 {
			key := fmt.Sprintf("%08d", r.IntN(100_000_000))
			order := append(append([]byte{1}, key...), 0, 0)
			row := binary.AppendUvarint(nil, uint64(len(order)))
			row = append(row, order...)
			runs[i].add(row)
		}
		runs[i].sort(nil)
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		mergeRuns(runs, func(int, uint64) bool { n++; return true })
		if n != 16<<16 {
			b.Fatal(n)
		}
	}
}

// BenchmarkSortRun sorts and compacts one run of highcard-like rows (an
// integer value and a string key): the work of a worker when its run
// ends, per row, by run size.
func BenchmarkSortRun(b *testing.B) {
	for _, n := range []int{1 << 14, 1 << 17, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			keys := []plan.SortKey{{Col: 1}, {Col: 0}}
			enc := NewEncoder(Spec{Keys: keys, Ties: TiesByPosition, Cells: CellsRaw})
			batch := highcardBatch(r, n)
			var sorting, compacting time.Duration
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				var run sortedRows
				for i := range n {
					enc.Order(batch, i)
					run.add(enc.Encode(batch, i))
				}
				runtime.GC()
				b.StartTimer()
				start := time.Now()
				run.sort(nil)
				mid := time.Now()
				run.compact(nil)
				sorting, compacting = sorting+mid.Sub(start), compacting+time.Since(mid)
			}
			b.ReportMetric(float64(sorting.Nanoseconds())/float64(b.N*n), "sort-ns/row")
			b.ReportMetric(float64(compacting.Nanoseconds())/float64(b.N*n), "compact-ns/row")
		})
	}
}

// highcardBatch is n rows of key (k and 7 digits) and value (0..999),
// with positions and records, as one batch (longer than plan.BatchSize:
// the encoder does not mind).
func highcardBatch(r *rand.Rand, n int) *exec.Batch {
	k, v := &plan.Vector{}, &plan.Vector{}
	k.Reset(plan.String, n)
	v.Reset(plan.Int, n)
	b := &exec.Batch{}
	b.N = n
	b.Cols = []*plan.Vector{k, v}
	b.Pos = make([]uint64, n)
	b.Raw = make([][]byte, n)
	for i := range n {
		k.Strs[i] = fmt.Appendf(nil, "k%d", 1_000_000+r.IntN(5_000_000))
		v.Ints[i] = r.Int64N(1000)
		b.Pos[i] = uint64(i * 12)
		b.Raw[i] = fmt.Appendf(nil, "%s,%d", k.Strs[i], v.Ints[i])
	}
	return b
}
