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
	// flat holds the rows once compact has copied them in order; a key's
	// ref is then the row's offset in it << 24 | its length.
	flat    []byte
	keys    []rowKey
	touched byte // what compact's loads read, kept so they are not optimised away
}

type rowKey struct {
	hi, lo uint64 // the order section's first 16 bytes, big endian, zero padded
	ref    uint64 // the row in arena
}

// add copies row into the run (not compacted).
func (s *sortedRows) add(row []byte) {
	var b [16]byte
	copy(b[:], orderOf(row))
	s.keys = append(s.keys, rowKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), s.arena.Add(row)})
}

func (s *sortedRows) row(i int) []byte { return s.get(s.keys[i].ref) }

// get returns the row of a key's ref.
func (s *sortedRows) get(ref uint64) []byte {
	if s.flat != nil {
		off, n := ref>>flatLenBits, ref&(1<<flatLenBits-1)
		return s.flat[off : off+n : off+n]
	}
	return s.arena.Get(ref)
}

// flatLenBits is how many bits of a flat ref hold the row's length.
const flatLenBits = 24

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
	return s.arena.MemBytes() + int64(cap(s.flat)) + int64(cap(s.keys))*int64(unsafe.Sizeof(rowKey{}))
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
	*s = kept // a run that goes on taking rows: in an arena
}

// compact copies the rows, in the order of their keys, into one slice: a
// sorted run that stays in memory is then read in order by the merge, one
// stream per run, instead of a cache miss per row. A run with a row too
// long for a flat ref stays as it is. The run takes no rows after.
func (s *sortedRows) compact() {
	total := 0
	for i := range s.keys {
		n := len(s.row(i))
		if n >= 1<<flatLenBits {
			return
		}
		total += n
	}
	flat := make([]byte, 0, total)
	var touch byte
	for lo := 0; lo < len(s.keys); lo += 16 {
		keys := s.keys[lo:min(lo+16, len(s.keys))]
		// The rows are all over the old arena: touch the next sixteen
		// first, loads that do not wait on each other, so their cache
		// misses overlap; the copies then find them in the cache.
		for i := range keys {
			touch ^= s.get(keys[i].ref)[0]
		}
		for i := range keys {
			row := s.get(keys[i].ref)
			keys[i].ref = uint64(len(flat))<<flatLenBits | uint64(len(row))
			flat = append(flat, row...)
		}
	}
	s.arena, s.flat, s.touched = paged.Arena{}, flat, touch
}

// compareKeys orders a and b, rows of s and t, as CompareRows does.
func compareKeys(s *sortedRows, a *rowKey, t *sortedRows, b *rowKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return CompareRows(s.get(a.ref), t.get(b.ref))
}

// sort orders the run's keys: a radix sort on the 16 bytes the keys
// hold, most significant first, down to ranges small enough for a
// quicksort, which also orders keys whose 16 bytes are equal by their
// rows. Comparison sorts of random keys are bound by branches the CPU
// cannot predict; a radix pass has none.
func (s *sortedRows) sort() {
	if len(s.keys) <= radixMin {
		s.quicksort(s.keys, 2*bits.Len(uint(len(s.keys))))
		return
	}
	s.radix(s.keys, make([]rowKey, len(s.keys)), 0)
}

// byteAt is byte b of the key's 16 (0: hi's most significant).
func (r *rowKey) byteAt(b int) byte {
	if b < 8 {
		return byte(r.hi >> (56 - 8*b))
	}
	return byte(r.lo >> (120 - 8*b))
}

// radixMin is the shortest range a radix pass is worth.
const radixMin = 256

// radix sorts k by their bytes from byte b of the 16 on (0 is hi's most
// significant), with tmp as long as k to scatter into.
func (s *sortedRows) radix(k, tmp []rowKey, b int) {
	for ; b < 16; b++ {
		var count [256]int
		for i := range k {
			count[k[i].byteAt(b)]++
		}
		if count[k[0].byteAt(b)] == len(k) {
			continue // one value of this byte: the next decides
		}
		var start [256]int
		for d, sum := 0, 0; d < 256; d++ {
			start[d], sum = sum, sum+count[d]
		}
		next := start
		for i := range k {
			d := k[i].byteAt(b)
			tmp[next[d]] = k[i]
			next[d]++
		}
		copy(k, tmp)
		for d := range 256 {
			lo, hi := start[d], start[d]+count[d]
			switch {
			case hi-lo <= 1:
			case hi-lo <= radixMin:
				s.quicksort(k[lo:hi], 2*bits.Len(uint(hi-lo)))
			default:
				s.radix(k[lo:hi], tmp[lo:hi], b+1)
			}
		}
		return
	}
	// The 16 bytes are equal throughout: the rows decide.
	s.quicksort(k, 2*bits.Len(uint(len(k))))
}

// less reports whether a sorts before b.
func (s *sortedRows) less(a, b *rowKey) bool {
	if a.hi != b.hi {
		return a.hi < b.hi
	}
	if a.lo != b.lo {
		return a.lo < b.lo
	}
	return CompareRows(s.get(a.ref), s.get(b.ref)) < 0
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
