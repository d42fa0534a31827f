package sorter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
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
		runs[i].sort()
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
