package sorter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestSortedRowsSort sorts keys in the orders that break naive quicksorts
// (sorted, reversed, organ pipe, few distinct prefixes, all on one tie)
// and checks the result against slices.SortFunc with the same comparison.
func TestSortedRowsSort(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 2, 17, 100, 5000} {
		for _, pattern := range []string{"random", "sorted", "reversed", "organ", "prefixes", "ties"} {
			var s sortedRows
			for i := range n {
				var key string
				switch pattern {
				case "random":
					key = fmt.Sprintf("%08d", r.IntN(1_000_000))
				case "sorted":
					key = fmt.Sprintf("%08d", i)
				case "reversed":
					key = fmt.Sprintf("%08d", n-i)
				case "organ":
					key = fmt.Sprintf("%08d", min(i, n-i))
				case "prefixes":
					key = fmt.Sprintf("k%d-%024d", r.IntN(3), r.IntN(1_000_000)) // ties on the first 16 bytes
				case "ties":
					key = strings.Repeat("x", 20) + strconv.Itoa(r.IntN(50))
				}
				order := append(append([]byte{1}, key...), 0, 0)
				row := binary.AppendUvarint(nil, uint64(len(order)))
				row = append(row, order...)
				row = append(row, cellText, byte(len(key)))
				row = append(row, key...)
				s.add(row)
			}
			want := slices.Clone(s.keys)
			slices.SortFunc(want, func(a, b rowKey) int { return compareKeys(&s, &a, &s, &b) })
			s.sort()
			for i := range want {
				if compareKeys(&s, &s.keys[i], &s, &want[i]) != 0 {
					t.Fatalf("%s, %d keys: key %d out of order", pattern, n, i)
				}
			}
		}
	}
}
