package sorter

import (
	"cmp"
	"encoding/binary"
	"iter"
	"math/bits"
	"slices"
	"sync"
	"unsafe"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/internal/hugepage"
)

// sortedRows is one run of encoded rows (a morsel's), sorted by their
// order section.
// Sorting compares the first 16 bytes of the order sections as two
// integers kept next to the row's reference, and reads the rows only on a
// tie: most comparisons then touch no row at all.
//
// A run fills and sorts its keys, then compact copies its rows in order
// into flat and drops the keys: a run that waits for the merge holds its
// rows and nothing else, and the merge reads each run as one stream.
type sortedRows struct {
	arena paged.Arena
	keys  []rowKey // the rows in arena, until compact
	// flat holds the rows once compact has copied them in order, each
	// after its length as a uvarint; n is their number. A row's ref is
	// then its offset in flat << flatLenBits | its length.
	flat    []byte
	n       int
	touched byte // what compact's loads read, kept so they are not optimised away
}

type rowKey struct {
	hi, lo uint64 // the order section's first 16 bytes, big endian, zero padded
	ref    uint64 // the row in arena
}

// add copies row into the run (not compacted).
func (s *sortedRows) add(row []byte) {
	if len(s.keys) == cap(s.keys) {
		// Doubled as append would, but in fresh memory that may have
		// huge pages: a run's keys grow to megabytes.
		keys := hugepage.Make[rowKey](len(s.keys), max(2*cap(s.keys), 256))
		copy(keys, s.keys)
		s.keys = keys
	}
	k := keyOf(row)
	s.keys = append(s.keys, rowKey{k.Hi, k.Lo, s.arena.Add(row)})
}

// len is the number of rows.
func (s *sortedRows) len() int {
	if s.flat != nil {
		return s.n
	}
	return len(s.keys)
}

// row returns row i of a run not compacted.
func (s *sortedRows) row(i int) []byte { return s.get(s.keys[i].ref) }

// get returns the row of a ref: a key's, or a cursor's.
func (s *sortedRows) get(ref uint64) []byte {
	if s.flat != nil {
		off, n := ref>>flatLenBits, ref&(1<<flatLenBits-1)
		return s.flat[off : off+n : off+n]
	}
	return s.arena.Get(ref)
}

// flatLenBits is how many bits of a flat ref hold the row's length.
const flatLenBits = 24

// rows yields the run's rows in order.
func (s *sortedRows) rows() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		var c runCursor
		for c.start(s); !c.key.Done; c.next() {
			if !yield(c.row()) {
				return
			}
		}
	}
}

// memBytes is what the run holds.
func (s *sortedRows) memBytes() int64 {
	return s.arena.MemBytes() + int64(cap(s.flat)) + int64(cap(s.keys))*int64(unsafe.Sizeof(rowKey{}))
}

// runCursor reads a sorted run's rows in order: its keys', or, once
// compacted, flat's one after another.
type runCursor struct {
	s    *sortedRows
	i    int       // the next key, or offset in flat
	key  spill.Key // the current row's; Done past the last
	ref  uint64    // the current row's ref
	flat []byte    // the current row, when the run is compacted
}

// start puts c on s's first row.
func (c *runCursor) start(s *sortedRows) {
	*c = runCursor{s: s}
	c.next()
}

// next moves c to the next row.
func (c *runCursor) next() {
	s := c.s
	if s.flat == nil {
		if c.i == len(s.keys) {
			c.key = spill.Key{Done: true}
			return
		}
		k := &s.keys[c.i]
		c.key, c.ref = spill.Key{Hi: k.hi, Lo: k.lo}, k.ref
		c.i++
		return
	}
	if c.i == len(s.flat) {
		c.key = spill.Key{Done: true}
		return
	}
	n, k := uint64(s.flat[c.i]), 1 // most rows are shorter than 128 bytes
	if n >= 0x80 {
		n, k = binary.Uvarint(s.flat[c.i:])
	}
	off := c.i + k
	c.flat = s.flat[off : off+int(n) : off+int(n)]
	c.ref = uint64(off)<<flatLenBits | n
	c.i = off + int(n)
	c.key = keyOf(c.flat)
}

// row returns the current row. A key's row is read only when asked for:
// the merge compares the keys' 16 bytes first.
func (c *runCursor) row() []byte {
	if c.s.flat != nil {
		return c.flat
	}
	return c.s.arena.Get(c.ref)
}

// keepFirst sorts the run and keeps its first n rows, in a fresh arena.
func (s *sortedRows) keepFirst(n int64) {
	s.sort(nil)
	if int64(len(s.keys)) <= n {
		return
	}
	var kept sortedRows
	for i := range int(n) {
		kept.add(s.row(i))
	}
	*s = kept // a run that goes on taking rows: in an arena
}

// compact copies the rows, in the order of their keys, each after its
// length, into one slice, which room(n) gives with room for n bytes (nil:
// a slice of its own): a sorted run that stays in memory is then read
// in order by the merge, one stream per run, instead of a cache miss per
// row. It returns the arena the rows were in, emptied, and the keys, for
// another run to fill: their memory is then written again rather than
// faulted in fresh. A run with a row too long for a flat ref stays as it
// is, and returns nothing. The run takes no rows after.
func (s *sortedRows) compact(room func(n int) []byte) (spare paged.Arena, keys []rowKey) {
	total := 0
	for i := range s.keys {
		n := len(s.row(i))
		if n >= 1<<flatLenBits {
			return paged.Arena{}, nil
		}
		total += uvarintLen(uint64(n)) + n
	}
	total = max(total, 1)
	var flat []byte
	if room != nil {
		flat = room(total)
	} else {
		flat = hugepage.Make[byte](0, total) // fresh memory, filled whole
	}
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
			flat = append(binary.AppendUvarint(flat, uint64(len(row))), row...)
		}
	}
	spare, keys = s.arena, s.keys[:0]
	spare.Reset()
	s.arena, s.keys, s.flat, s.n, s.touched = paged.Arena{}, nil, flat, len(s.keys), touch
	return spare, keys
}

// uvarintLen is the length of v as a uvarint.
func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

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
// cannot predict; a radix pass has none. The radix passes scatter into
// *scratch, grown to the run's length when shorter; nil: a slice of
// their own.
func (s *sortedRows) sort(scratch *[]rowKey) {
	if len(s.keys) <= radixMin {
		s.quicksort(s.keys, 2*bits.Len(uint(len(s.keys))))
		return
	}
	var tmp []rowKey
	if scratch != nil {
		tmp = *scratch
	}
	if cap(tmp) < len(s.keys) {
		tmp = hugepage.Make[rowKey](len(s.keys), len(s.keys))
		if scratch != nil {
			*scratch = tmp
		}
	}
	s.radix(s.keys, tmp[:len(s.keys)], 0)
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
// the row's ref, for its get), until emit returns false. Equal rows come
// in run order. The merge (spill.Merge) compares the sort keys of each
// run's current row.
func mergeRuns(parts []sortedRows, emit func(part int, ref uint64) bool) {
	mergeRunsKeyed(parts, func(p int, ref uint64, _ spill.Key) bool { return emit(p, ref) })
}

// mergeRunsKeyed is mergeRuns, which also gives emit each row's key.
func mergeRunsKeyed(parts []sortedRows, emit func(part int, ref uint64, key spill.Key) bool) {
	cur := make([]runCursor, len(parts))
	for p := range parts {
		cur[p].start(&parts[p])
	}
	m := spill.NewMerge(len(parts), func(p int) spill.Key { return cur[p].key }, func(a, b int) int {
		return CompareRows(cur[a].row(), cur[b].row())
	})
	for {
		p, ok := m.Winner()
		if !ok || !emit(p, cur[p].ref, cur[p].key) {
			return
		}
		cur[p].next()
		m.Advance(cur[p].key)
	}
}

// keyedRef is a row of a run as mergeRunsSplit's halves pass it on: its
// run, its ref and its merge key.
type keyedRef struct {
	run int
	ref uint64
	key spill.Key
}

// mergeRunsSplit is mergeRuns on three goroutines when there are four
// runs or more: each half of the runs merged on a goroutine of its own,
// and the two streams merged on the caller's by a loser tree of two
// (spill.Merge, one match a row). The merge is the one serial stage of a
// big sort's output (a groupby's millions of groups); this way each
// half's merge takes half the rows, with one level of the tree less,
// beside the other. The order is mergeRuns': ties go to the first half,
// whose runs come first.
func mergeRunsSplit(parts []sortedRows, emit func(part int, ref uint64) bool) {
	if len(parts) < 4 {
		mergeRuns(parts, emit)
		return
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(quit) // before the Wait: a half blocked on its pipe gives up
	var halves [2]*pipe[[]keyedRef]
	for h, lo := range [2]int{0, len(parts) / 2} {
		hi := len(parts)
		if h == 0 {
			hi = len(parts) / 2
		}
		p := newPipe(4, func() []keyedRef { return make([]keyedRef, 0, 1024) }, quit)
		halves[h] = p
		wg.Go(func() {
			defer close(p.full)
			out := newFiller(p)
			mergeRunsKeyed(parts[lo:hi], func(part int, ref uint64, key spill.Key) bool {
				return out.add(keyedRef{lo + part, ref, key})
			})
			out.flush()
		})
	}
	var cur [2][]keyedRef
	var at [2]int
	// key moves half h on to its next row, taking its next batch when
	// need be, and returns the row's key: Done at the half's end.
	key := func(h int) spill.Key {
		if at[h] < len(cur[h]) {
			return cur[h][at[h]].key
		}
		if cur[h] != nil {
			halves[h].free <- cur[h][:0]
		}
		b, ok := <-halves[h].full
		cur[h], at[h] = b, 0
		if !ok || len(b) == 0 {
			return spill.Key{Done: true}
		}
		return b[0].key
	}
	m := spill.NewMerge(2, key, func(a, b int) int {
		ra, rb := &cur[a][at[a]], &cur[b][at[b]]
		return CompareRows(parts[ra.run].get(ra.ref), parts[rb.run].get(rb.ref))
	})
	for {
		h, ok := m.Winner()
		if !ok {
			return
		}
		r := &cur[h][at[h]]
		if !emit(r.run, r.ref) {
			return
		}
		at[h]++
		m.Advance(key(h))
	}
}
