package sorter

import (
	"cmp"
	"encoding/binary"
	"iter"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/engine/spill"
)

// sortedRows is one run of encoded rows (a morsel's), sorted by their
// order section.
// Sorting compares the first 16 bytes of the order sections as two
// integers kept next to the row's reference, and reads the rows only on a
// tie: most comparisons then touch no row at all.
type sortedRows struct {
	arena paged.Arena
	keys  []rowKey
}

type rowKey struct {
	hi, lo uint64 // the order section's first 16 bytes, big endian, zero padded
	ref    uint64 // the row in arena
}

// add copies row into the run.
func (s *sortedRows) add(row []byte) {
	var b [16]byte
	copy(b[:], orderOf(row))
	s.keys = append(s.keys, rowKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), s.arena.Add(row)})
}

func (s *sortedRows) row(i int) []byte { return s.arena.Get(s.keys[i].ref) }

// rows yields the run's rows in the order of its keys.
func (s *sortedRows) rows() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		for i := range s.keys {
			if !yield(s.row(i)) {
				return
			}
		}
	}
}

// memBytes is what the run holds.
func (s *sortedRows) memBytes() int64 {
	return s.arena.MemBytes() + int64(cap(s.keys))*int64(unsafe.Sizeof(rowKey{}))
}

// keepFirst sorts the run and keeps its first n rows, in a fresh arena.
func (s *sortedRows) keepFirst(n int64) {
	s.sort()
	if int64(len(s.keys)) <= n {
		return
	}
	var kept sortedRows
	for i := range int(n) {
		kept.add(s.row(i))
	}
	*s = kept
}

// compareKeys orders a and b, rows of s and t, as CompareRows does.
func compareKeys(s *sortedRows, a *rowKey, t *sortedRows, b *rowKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return CompareRows(s.arena.Get(a.ref), t.arena.Get(b.ref))
}

// sort orders the run's keys: a quicksort whose comparisons of the two
// integers are inline, which slices.SortFunc's comparison function cannot
// be; that call was most of the sort. A range that partitions badly too
// often falls back to slices.SortFunc.
func (s *sortedRows) sort() {
	s.quicksort(s.keys, 2*bits.Len(uint(len(s.keys))))
}

// less reports whether a sorts before b.
func (s *sortedRows) less(a, b *rowKey) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return CompareRows(s.arena.Get(a.ref), s.arena.Get(b.ref)) < 0
}

func (s *sortedRows) quicksort(k []rowKey, depth int) {
	for len(k) > 16 {
		if depth == 0 {
			slices.SortFunc(k, func(a, b rowKey) int { return compareKeys(s, &a, s, &b) })
			return
		}
		depth--
		// Median of three as the pivot, moved to k[0].
		m, l := len(k)/2, len(k)-1
		if s.less(&k[m], &k[0]) {
			k[m], k[0] = k[0], k[m]
		}
		if s.less(&k[l], &k[m]) {
			k[l], k[m] = k[m], k[l]
			if s.less(&k[m], &k[0]) {
				k[m], k[0] = k[0], k[m]
			}
		}
		k[0], k[m] = k[m], k[0]
		pivot := k[0]
		// Hoare partition: k[1:i] <= pivot <= k[j+1:].
		i, j := 1, l
		for {
			for i <= j && s.less(&k[i], &pivot) {
				i++
			}
			for i <= j && s.less(&pivot, &k[j]) {
				j--
			}
			if i >= j {
				break
			}
			k[i], k[j] = k[j], k[i]
			i++
			j--
		}
		k[0], k[j] = k[j], k[0]
		// Recurse into the smaller side, loop on the larger.
		if j < len(k)-1-j {
			s.quicksort(k[:j], depth)
			k = k[j+1:]
		} else {
			s.quicksort(k[j+1:], depth)
			k = k[:j]
		}
	}
	for i := 1; i < len(k); i++ {
		for j := i; j > 0 && s.less(&k[j], &k[j-1]); j-- {
			k[j], k[j-1] = k[j-1], k[j]
		}
	}
}

// mergeRuns calls emit with the rows of every run in order (the run and
// the row's reference in its arena), until emit returns false. Equal rows
// come in run order. The merge (spill.Merge) compares the sort keys held
// next to each run's current row.
func mergeRuns(parts []sortedRows, emit func(part int, ref uint64) bool) {
	next := make([]int, len(parts)) // each run's current row
	key := func(p int) spill.Key {
		if next[p] == len(parts[p].keys) {
			return spill.Key{Done: true}
		}
		k := &parts[p].keys[next[p]]
		return spill.Key{Hi: k.hi, Lo: k.lo}
	}
	m := spill.NewMerge(len(parts), key, func(a, b int) int {
		return CompareRows(parts[a].row(next[a]), parts[b].row(next[b]))
	})
	for {
		p, ok := m.Winner()
		if !ok || !emit(p, parts[p].keys[next[p]].ref) {
			return
		}
		next[p]++
		m.Advance(key(p))
	}
}
