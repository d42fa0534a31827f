package engine

import (
	"cmp"
	"context"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
)

// Shared part tables. While a worker's table fits in the cache, the worker
// keeps it to itself. Once it outgrows the cache, the groupby has many
// groups, and every worker would end up holding most of them: the worker
// moves its groups into part tables shared by all workers, 2^partBits of
// them cut by the top bits of the key hash, each behind its own lock, and
// from then on sends each batch's rows to their parts. The groupby then
// holds each group once, not once per worker, and nothing is left to merge
// at the end: the parts emit and sort their rows in parallel, and
// Result.Each merges the parts' sorted rows.
//
// 16 parts: a worker's batch of 1024 rows then gives each part about 64,
// and what a part costs per batch (its lock, a call per aggregate, its
// memory count) is paid for 64 rows, not 16 as with 64 parts, which made
// the 5M-key count+sum query 7% slower. 16 is still enough for two
// finishing workers, and for spilling one part at a time.
const partBits = 4

func partOf(h uint64) int { return int(h >> (64 - partBits)) }

// sharedParts are the part tables of one groupby run. A worker holds one
// part's lock at a time.
type sharedParts struct {
	once     sync.Once
	tables   []aggTable
	locks    []sync.Mutex
	mem      []atomic.Int64 // per part: what its table holds, stored under its lock
	joined   atomic.Int64   // workers adding to the parts; each brings its table budget
	spilling sync.Mutex     // held by the worker writing the parts to disk
	runs     []*spill.Run   // the parts spilled, appended under spilling
}

func (sh *sharedParts) init(q *query, seed maphash.Seed) {
	sh.once.Do(func() {
		sh.tables = make([]aggTable, 1<<partBits)
		for p := range sh.tables {
			sh.tables[p] = newAggTable(q, seed, false)
		}
		sh.locks = make([]sync.Mutex, len(sh.tables))
		sh.mem = make([]atomic.Int64, len(sh.tables))
	})
}

// memBytes is what the parts held when each was last changed.
func (sh *sharedParts) memBytes() int64 {
	var n int64
	for p := range sh.mem {
		n += sh.mem[p].Load()
	}
	return n
}

// join moves the worker's table into the shared parts; from then on its
// batches go there (flushShared).
func (w *aggWorker) join() {
	w.shared.init(w.q, w.seed)
	w.shared.joined.Add(1)
	w.moveToShared(&w.aggTable)
	w.aggTable = aggTable{}
	w.inShared = true
	w.gathered = make([]plan.Vector, len(w.vecs))
	w.views = make([]plan.Vector, len(w.vecs))
}

// moveToShared merges every group of t, a table of the worker's, into its
// shared part.
func (w *aggWorker) moveToShared(t *aggTable) {
	sh := w.shared
	hashes := make([]uint64, t.table.len())
	for g := range hashes {
		hashes[g] = t.table.hashOf(uint32(g))
	}
	groups, starts := byPart(nil, hashes)
	for p := range sh.tables {
		if starts[p] == starts[p+1] {
			continue
		}
		sh.locks[p].Lock()
		dst := &sh.tables[p]
		for _, g := range groups[starts[p]:starts[p+1]] {
			d, _ := dst.find(t.table.key(uint32(g)), hashes[g])
			for i, a := range dst.aggs {
				a.MergeGroup(d, t.aggs[i], uint32(g))
			}
		}
		sh.mem[p].Store(dst.memBytes())
		sh.locks[p].Unlock()
	}
}

// flushShared aggregates the batch's selected rows (rows, with their keys'
// hashes in w.hashes and, for first and last, their positions in pos)
// into the shared parts: the rows are ordered by part and their columns
// gathered in that order; then, holding one part's lock at a time, its
// rows find their groups and each aggregate updates them from a view of
// the gathered columns.
func (w *aggWorker) flushShared(rows []int32, pos []uint64) {
	sh := w.shared
	var starts [1<<partBits + 1]int32
	w.perm, starts = byPart(w.perm, w.hashes)
	w.permHashes = permute(w.permHashes, w.hashes, w.perm)
	for _, c := range w.aggCols {
		gather(&w.gathered[c], w.vecs[c], w.perm)
	}
	if w.needPos {
		w.posPerm = permute(w.posPerm, pos, w.perm)
	}
	w.groups = plan.Grow(w.groups, len(rows))[:len(rows)]
	for p := range sh.tables {
		lo, hi := starts[p], starts[p+1]
		if lo == hi {
			continue
		}
		sh.locks[p].Lock()
		t := &sh.tables[p]
		t.table.touch(w.permHashes[lo:hi]) // the part's starting slots first: their misses overlap
		for k := lo; k < hi; k++ {
			w.groups[k] = w.groupIn(t, w.rowKey(rows[w.perm[k]]), w.permHashes[k])
		}
		for i, a := range t.aggs {
			var v *plan.Vector
			if c := t.cols[i]; c >= 0 {
				v = &w.views[c]
				view(v, &w.gathered[c], int(lo), int(hi))
			}
			var ps []uint64
			if w.needPos {
				ps = w.posPerm[lo:hi]
			}
			a.Update(w.groups[lo:hi], v, ps)
		}
		sh.mem[p].Store(t.memBytes())
		sh.locks[p].Unlock()
	}
}

// spillShared writes the shared parts as one run and empties them, one
// part at a time, so the other workers go on adding to the parts not
// being written. Only one worker spills at a time; a worker that finds a
// spill under way goes on, as the spill is about to free memory.
func (w *aggWorker) spillShared() error {
	sh := w.shared
	if !sh.spilling.TryLock() {
		return nil
	}
	defer sh.spilling.Unlock()
	if sh.memBytes() <= w.budget*sh.joined.Load() {
		return nil // spilled by another worker meanwhile
	}
	return sh.spill(w, true)
}

// spill writes every part with groups as one run and empties the parts,
// taking each part's lock in turn when lock is set (the caller is then
// the only one spilling; otherwise it is alone).
func (sh *sharedParts) spill(w *aggWorker, lock bool) error {
	rw, err := w.newRun()
	if err != nil {
		return err
	}
	for p := range sh.tables {
		if lock {
			sh.locks[p].Lock()
		}
		t := &sh.tables[p]
		err := addTable(rw, t)
		t.reset()
		sh.mem[p].Store(t.memBytes())
		if lock {
			sh.locks[p].Unlock()
		}
		if err != nil {
			rw.Abort()
			return err
		}
	}
	run, err := w.closeRun(rw)
	if err != nil {
		return err
	}
	sh.runs = append(sh.runs, run)
	return nil
}

// finishShared emits and sorts each shared part on the worker pool. It
// returns the parts' sorted rows and, per aggregate, whether some group
// needed Float. The column types are settled first, so the rows carry the
// output text of every cell and writing them needs no formatting.
func (ds *Dataset) finishShared(ctx context.Context, q *query, seed maphash.Seed, sh *sharedParts, e *emitter) ([]sortedRows, []bool, error) {
	n := max(ds.cfg.Workers, 1)
	wide := make([][]bool, len(sh.tables))
	err := parallel(ctx, n, len(sh.tables), func(_ context.Context, _, p int) error {
		wide[p] = make([]bool, len(q.agg.Aggs))
		for i, a := range sh.tables[p].outs {
			wd, ok := a.(agg.Widener)
			wide[p][i] = ok && wd.Widened()
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	widened := make([]bool, len(q.agg.Aggs))
	for _, w := range wide {
		for i, wd := range w {
			widened[i] = widened[i] || wd
		}
	}
	copy(e.widened, widened)
	e.text = true
	emitters := make([]*emitter, n)
	for i := range emitters {
		emitters[i] = e.clone(seed)
	}
	out := make([]sortedRows, len(sh.tables))
	err = parallel(ctx, n, len(out), func(_ context.Context, w, p int) error {
		out[p].keys = make([]rowKey, 0, sh.tables[p].table.len()) // at most a row per group
		if err := emitters[w].emit(&sh.tables[p], out[p].add); err != nil {
			return err
		}
		sh.tables[p] = aggTable{} // its memory is free for the rows
		out[p].sort()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return out, widened, nil
}

// byPart puts the indexes of hashes into perm in the order of their parts,
// and returns perm and where each part's indexes start: part p's are
// perm[starts[p]:starts[p+1]].
func byPart(perm []int32, hashes []uint64) ([]int32, [1<<partBits + 1]int32) {
	var starts [1<<partBits + 1]int32
	for _, h := range hashes {
		starts[partOf(h)+1]++
	}
	for p := 1; p < len(starts); p++ {
		starts[p] += starts[p-1]
	}
	next := starts
	perm = plan.Grow(perm, len(hashes))
	for i, h := range hashes {
		p := partOf(h)
		perm[next[p]] = int32(i)
		next[p]++
	}
	return perm, starts
}

// permute sets dst to the elements of src in the order perm gives.
func permute[T any](dst, src []T, perm []int32) []T {
	dst = plan.Grow(dst, len(perm))
	for k, i := range perm {
		dst[k] = src[i]
	}
	return dst
}

// gather sets dst to the rows of src in the order perm gives.
func gather(dst, src *plan.Vector, perm []int32) {
	dst.Type = src.Type
	dst.Nulls = permute(dst.Nulls, src.Nulls, perm)
	switch src.Type {
	case plan.Int:
		dst.Ints = permute(dst.Ints, src.Ints, perm)
	case plan.Float:
		dst.Floats = permute(dst.Floats, src.Floats, perm)
	case plan.String:
		dst.Strs = permute(dst.Strs, src.Strs, perm)
	case plan.Bool:
		dst.Bools = permute(dst.Bools, src.Bools, perm)
	}
}

// view sets v to rows [lo,hi) of src, sharing its storage.
func view(v, src *plan.Vector, lo, hi int) {
	v.Type = src.Type
	v.Nulls = src.Nulls[lo:hi]
	v.Ints, v.Floats, v.Strs, v.Bools = nil, nil, nil, nil
	switch src.Type {
	case plan.Int:
		v.Ints = src.Ints[lo:hi]
	case plan.Float:
		v.Floats = src.Floats[lo:hi]
	case plan.String:
		v.Strs = src.Strs[lo:hi]
	case plan.Bool:
		v.Bools = src.Bools[lo:hi]
	}
}

// sortedRows is one part's encoded rows, sorted by their order section.
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

func (s *sortedRows) add(row []byte) error {
	var b [16]byte
	copy(b[:], orderOf(row))
	s.keys = append(s.keys, rowKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), s.arena.Add(row)})
	return nil
}

func (s *sortedRows) row(i int) []byte { return s.arena.Get(s.keys[i].ref) }

// compareKeys orders a and b, rows of s and t, as compareRows does.
func compareKeys(s *sortedRows, a *rowKey, t *sortedRows, b *rowKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return compareRows(s.arena.Get(a.ref), t.arena.Get(b.ref))
}

// sort orders the part's keys: a quicksort whose comparisons of the two
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
	return compareRows(s.arena.Get(a.ref), s.arena.Get(b.ref)) < 0
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

// mergeParts calls emit with the rows of every part in order (the part
// and the row's reference in its arena), until emit returns false. Equal
// rows come in part order. A loser tree picks the next row: one comparison per level, on the
// sort keys held in the tree's leaves.
func mergeParts(parts []sortedRows, emit func(part int, ref uint64) bool) {
	type leaf struct {
		key  rowKey
		part int
		next int  // index of the row after key in its part
		done bool // the part is exhausted
	}
	var leaves []leaf
	for p := range parts {
		if len(parts[p].keys) > 0 {
			leaves = append(leaves, leaf{key: parts[p].keys[0], part: p, next: 1})
		}
	}
	k := len(leaves)
	if k == 0 {
		return
	}
	less := func(a, b int) bool { // leaf a's row comes before leaf b's
		la, lb := &leaves[a], &leaves[b]
		if la.done || lb.done {
			return !la.done
		}
		c := compareKeys(&parts[la.part], &la.key, &parts[lb.part], &lb.key)
		return c < 0 || c == 0 && la.part < lb.part
	}
	// tree[1:k] hold the losers of the matches on the way up, tree[0] the
	// winner. Leaf i sits below node (i+k)/2.
	tree := make([]int, k)
	for i := range tree {
		tree[i] = -1
	}
	for i := range k {
		w := i
		for n := (i + k) / 2; n > 0; n /= 2 {
			if tree[n] < 0 {
				tree[n] = w
				w = -1
				break
			}
			if less(tree[n], w) {
				tree[n], w = w, tree[n]
			}
		}
		if w >= 0 {
			tree[0] = w
		}
	}
	for {
		w := tree[0]
		l := &leaves[w]
		if l.done || !emit(l.part, l.key.ref) {
			return
		}
		if pr := &parts[l.part]; l.next < len(pr.keys) {
			l.key = pr.keys[l.next]
			l.next++
		} else {
			l.done = true
		}
		for n := (w + k) / 2; n > 0; n /= 2 {
			if less(tree[n], w) {
				tree[n], w = w, tree[n]
			}
		}
		tree[0] = w
	}
}
