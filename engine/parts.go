package engine

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"slices"

	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/plan"
)

// Radix-partitioned tables. A worker whose table outgrows the cache splits
// it into 2^partBits part tables by the top bits of the key hash, and from
// then on sends each batch's rows to their parts. Every worker cuts by the
// same bits, so at the end part p of every worker merges into part p of
// the first, and the parts are merged, emitted and sorted in parallel:
// each part's tables are a 64th of the whole, dense and small enough for
// the cache. With one table per worker, merging millions of groups into
// one table, emitting and sorting them all ran on one core and took longer
// than the scan. Result.Each merges the parts' sorted rows.
const partBits = 6

func partOf(h uint64) int { return int(h >> (64 - partBits)) }

// partition splits the worker's table into part tables.
func (w *aggWorker) partition() {
	w.parts = make([]aggTable, 1<<partBits)
	for p := range w.parts {
		w.parts[p] = newAggTable(w.q, w.seed)
	}
	src := &w.aggTable
	for g := range uint32(src.table.len()) {
		h := src.table.hashOf(g)
		t := &w.parts[partOf(h)]
		dst := t.find(src.table.key(g), h)
		for i, a := range t.aggs {
			a.MergeGroup(dst, src.aggs[i], g)
		}
	}
	w.aggTable = aggTable{}
	w.gathered = make([]plan.Vector, len(w.vecs))
	w.views = make([]plan.Vector, len(w.vecs))
}

// flushParts aggregates the batch's selected rows (rows, with their keys'
// hashes in w.hashes and, for first and last, their positions in pos)
// into the part tables: the rows are ordered by part,
// every part's rows find their groups, and each aggregate updates a part's
// groups from a view of the reordered columns.
func (w *aggWorker) flushParts(rows []int32, pos []uint64) {
	var starts [1<<partBits + 1]int32
	for _, h := range w.hashes {
		starts[partOf(h)+1]++
	}
	for p := 1; p < len(starts); p++ {
		starts[p] += starts[p-1]
	}
	next := starts
	w.perm = plan.Grow(w.perm, len(rows))[:len(rows)]
	for i, h := range w.hashes {
		p := partOf(h)
		w.perm[next[p]] = int32(i)
		next[p]++
	}
	var x uint64
	for _, h := range w.hashes {
		t := w.parts[partOf(h)].table
		x += t.slots[h&t.mask]
	}
	w.sink = x
	w.groups = w.groups[:0]
	for p := range w.parts {
		t := &w.parts[p]
		for _, i := range w.perm[starts[p]:starts[p+1]] {
			w.groups = append(w.groups, w.groupIn(t, w.rowKey(rows[i]), w.hashes[i]))
		}
	}
	for _, c := range w.aggCols {
		gather(&w.gathered[c], w.vecs[c], w.perm)
	}
	if w.needPos {
		w.posPerm = w.posPerm[:0]
		for _, i := range w.perm {
			w.posPerm = append(w.posPerm, pos[i])
		}
	}
	for p := range w.parts {
		lo, hi := starts[p], starts[p+1]
		if lo == hi {
			continue
		}
		t := &w.parts[p]
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
	}
}

// gather sets dst to the rows of src in the order perm gives.
func gather(dst, src *plan.Vector, perm []int32) {
	n := len(perm)
	dst.Reset(src.Type, n)
	for k, i := range perm {
		dst.Nulls[k] = src.Nulls[i]
	}
	switch src.Type {
	case plan.Int:
		for k, i := range perm {
			dst.Ints[k] = src.Ints[i]
		}
	case plan.Float:
		for k, i := range perm {
			dst.Floats[k] = src.Floats[i]
		}
	case plan.String:
		for k, i := range perm {
			dst.Strs[k] = src.Strs[i]
		}
	case plan.Bool:
		for k, i := range perm {
			dst.Bools[k] = src.Bools[i]
		}
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

// finishParts merges part p of every worker into part p of the first,
// then emits and sorts each part, on the worker pool. It returns the parts'
// sorted rows and, per aggregate, whether some group needed Float. Each
// part is touched by one goroutine only.
func (ds *Dataset) finishParts(ctx context.Context, q *query, workers []*aggWorker, keyTypes []plan.Type) ([]sortedRows, []bool, error) {
	n := max(ds.cfg.Workers, 1)
	emitters := make([]*emitter, n)
	for i := range emitters {
		emitters[i] = newEmitter(q, keyTypes)
	}
	out := make([]sortedRows, 1<<partBits)
	err := parallel(ctx, n, len(out), func(_ context.Context, w, p int) error {
		dst := &workers[0].parts[p]
		for _, o := range workers[1:] {
			src := &o.parts[p]
			for g := range uint32(src.table.len()) {
				d := dst.find(src.table.key(g), src.table.hashOf(g))
				for i, a := range dst.aggs {
					a.MergeGroup(d, src.aggs[i], g)
				}
			}
			*src = aggTable{} // its memory is free for the rows
		}
		if err := emitters[w].emit(dst, out[p].add); err != nil {
			return err
		}
		*dst = aggTable{}
		out[p].sort()
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	widened := make([]bool, len(q.agg.Aggs))
	for _, e := range emitters {
		for i, wd := range e.widened {
			widened[i] = widened[i] || wd
		}
	}
	return out, widened, nil
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

// compareKeys orders a and b, rows of s and t, by their order sections.
func compareKeys(s *sortedRows, a *rowKey, t *sortedRows, b *rowKey) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lo, b.lo); c != 0 {
		return c
	}
	return bytes.Compare(orderOf(s.arena.Get(a.ref)), orderOf(t.arena.Get(b.ref)))
}

func (s *sortedRows) sort() {
	slices.SortFunc(s.keys, func(a, b rowKey) int { return compareKeys(s, &a, s, &b) })
}

// mergeParts calls emit with the rows of every part in order, until emit
// returns false or an error. Rows with equal order sections come in part
// order. A loser tree picks the next row: one comparison per level, on the
// sort keys held in the tree's leaves.
func mergeParts(parts []sortedRows, emit func(row []byte) (bool, error)) error {
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
		return nil
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
		if l.done {
			return nil
		}
		if more, err := emit(parts[l.part].arena.Get(l.key.ref)); err != nil || !more {
			return err
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
