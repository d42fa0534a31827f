package sorter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/engine/spill"
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
			s.sort(nil)
			for i := range want {
				if compareKeys(&s, &s.keys[i], &s, &want[i]) != 0 {
					t.Fatalf("%s, %d keys: key %d out of order", pattern, n, i)
				}
			}
		}
	}
}

// testRow encodes key as a row whose order section is the key and whose
// one cell is pad bytes of text.
func testRow(key string, pad int) []byte {
	order := append(append([]byte{1}, key...), 0, 0)
	row := binary.AppendUvarint(nil, uint64(len(order)))
	row = append(row, order...)
	row = append(row, cellText)
	row = binary.AppendUvarint(row, uint64(pad))
	return append(row, strings.Repeat("p", pad)...)
}

// Runs merged, compacted or not, give every row in order; a compacted
// run holds its rows alone, and the arena and keys compact gives back
// fill the next run as fresh ones would. Rows of 128 bytes and more have
// lengths of two bytes and more in a compacted run.
func TestMergeRunsCompacted(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var want []string // "key/run/i" in order
	runs := make([]sortedRows, 4)
	var spare paged.Arena
	var spareKeys []rowKey
	for p := range runs {
		s := &runs[p]
		s.arena, s.keys = spare, spareKeys
		n := 1000 + r.IntN(2000)
		for i := range n {
			key := fmt.Sprintf("%06d", r.IntN(5000))
			s.add(testRow(fmt.Sprintf("%s/%d/%05d", key, p, i), r.IntN(300)))
			want = append(want, fmt.Sprintf("%s/%d/%05d", key, p, i))
		}
		s.sort(nil)
		if p < 3 { // the last run stays as it is
			spare, spareKeys = s.compact(nil)
			if s.keys != nil || s.arena.MemBytes() > 64 || s.len() != n {
				t.Fatalf("run %d compacted: %d keys, arena of %d bytes, %d rows, want %d", p, len(s.keys), s.arena.MemBytes(), s.len(), n)
			}
			if cap(spareKeys) < n || len(spareKeys) != 0 {
				t.Fatalf("run %d gave back keys of len %d cap %d", p, len(spareKeys), cap(spareKeys))
			}
		}
	}
	slices.Sort(want)
	var got []string
	mergeRuns(runs, func(p int, ref uint64) bool {
		row := runs[p].get(ref)
		order := orderOf(row)
		got = append(got, string(order[1:len(order)-2]))
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatalf("merged %d rows, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	var rows int
	for range runs[1].rows() {
		rows++
	}
	if rows != runs[1].len() {
		t.Errorf("rows() of a compacted run yields %d rows, want %d", rows, runs[1].len())
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// keyOf's two loads give what a copy of the order section's first 16
// bytes, zero padded, gives: for sections of 0 to 20 bytes, in rows that
// end with the section or go on.
func TestKeyOf(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 21 {
		for _, after := range []int{0, 1, 7, 16, 30} {
			order := make([]byte, n)
			for i := range order {
				order[i] = byte(1 + r.IntN(255))
			}
			row := append(binary.AppendUvarint(nil, uint64(n)), order...)
			for range after {
				row = append(row, 0xff)
			}
			var b [16]byte
			copy(b[:], order)
			want := spill.Key{Hi: binary.BigEndian.Uint64(b[:8]), Lo: binary.BigEndian.Uint64(b[8:])}
			if got := keyOf(row); got != want {
				t.Errorf("section of %d bytes, %d after: %+v, want %+v", n, after, got, want)
			}
		}
	}
}

// mergeRunsSplit gives mergeRuns' order, row for row, ties between its
// halves included (keys equal in their 16 bytes, and rows equal whole),
// and stops where emit says, its halves' goroutines with it.
func TestMergeRunsSplit(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 3, 4, 5, 9, 16} {
		runs := make([]sortedRows, n)
		for p := range runs {
			for range r.IntN(3000) {
				// Few distinct keys, most longer than 16 bytes: ties on
				// the keys' 16 bytes, and equal rows, across runs.
				key := fmt.Sprintf("%020d", r.IntN(400))
				runs[p].add(testRow(key, r.IntN(3)))
			}
			runs[p].sort(nil)
			if p%2 == 0 {
				runs[p].compact(nil)
			}
		}
		type at struct {
			run int
			ref uint64
		}
		var want, got []at
		mergeRuns(runs, func(p int, ref uint64) bool { want = append(want, at{p, ref}); return true })
		mergeRunsSplit(runs, func(p int, ref uint64) bool { got = append(got, at{p, ref}); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("%d runs: the split merge's order differs from mergeRuns' (%d rows, want %d)", n, len(got), len(want))
		}
		for _, stop := range []int{0, 1, 1500} {
			k := 0
			mergeRunsSplit(runs, func(int, uint64) bool { k++; return k <= stop })
			if want := min(stop+1, len(want)); k != want {
				t.Fatalf("%d runs, stopped after %d: emit called %d times, want %d", n, stop, k, want)
			}
		}
	}
}
