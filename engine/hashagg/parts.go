package hashagg

import (
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
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
	loan     *exec.Loan     // what the parts hold; each worker that joins brings its table's share
	spilling sync.Mutex     // held by the worker writing the parts to disk
	runs     []*spill.Run   // the parts spilled, appended under spilling
}

func (sh *sharedParts) init(a *plan.Aggregate) {
	sh.once.Do(func() {
		sh.tables = make([]aggTable, 1<<partBits)
		for p := range sh.tables {
			sh.tables[p] = newAggTable(a, false)
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
	w.shared.init(w.a.agg)
	w.shared.loan.Raise(w.loan.Cap())
	w.moveToShared(&w.aggTable)
	w.aggTable = aggTable{}
	w.loan.Release()
	w.inShared = true
	w.gathered = make([]plan.Vector, len(w.a.input))
	w.views = make([]plan.Vector, len(w.a.input))
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

// flushShared aggregates the n rows of batch b (their keys' hashes in
// w.hashes and, for first and last, their positions in pos) into the
// shared parts: the rows are ordered by part and their columns gathered in
// that order; then, holding one part's lock at a time, its rows find their
// groups and each aggregate updates them from a view of the gathered
// columns.
func (w *aggWorker) flushShared(b *exec.Batch, n int, pos []uint64) {
	sh := w.shared
	var starts [1<<partBits + 1]int32
	w.perm, starts = byPart(w.perm, w.hashes)
	w.permHashes = permute(w.permHashes, w.hashes, w.perm)
	for _, c := range w.aggCols {
		gather(&w.gathered[c], b.Cols[c], w.perm)
	}
	if w.needPos {
		w.posPerm = permute(w.posPerm, pos, w.perm)
	}
	w.groups = plan.Grow(w.groups, n)
	for p := range sh.tables {
		lo, hi := starts[p], starts[p+1]
		if lo == hi {
			continue
		}
		sh.locks[p].Lock()
		t := &sh.tables[p]
		t.table.touch(w.permHashes[lo:hi]) // the part's starting slots first: their misses overlap
		for k := lo; k < hi; k++ {
			w.groups[k] = w.groupIn(t, w.rowKey(w.perm[k]), w.permHashes[k])
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
	if sh.loan.Cover(sh.memBytes()) {
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
