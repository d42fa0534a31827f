package hashagg

import (
	"context"
	"fmt"

	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// A shard of a sharded run (see engine's RunShard) stops at its
// aggregates: it writes each one's groups as keys and states (States),
// the encoding spill runs hold. The merge, in another process, gives every
// shard's groups to an Aggregate of the same plan node (LoadState); its
// hashes are its own (a process's maphash seed is its own), so each worker
// hashes the keys it loads again and merges them, a batch at a time, into
// the 16 part tables shared by the workers, as it adds rows once its own
// table outgrew the cache (flushShared), spilling the parts when the
// broker will not lend: the groups of every shard meet, and come out as
// one run over all the input would give them.

// States writes every group of a finished Aggregate (after Finish,
// instead of running it as a source): its key and its aggregates' states,
// appended by enc in the caller's framing, in chunks given to write in
// partition order. The partitions (the merged table, the parts, or the
// spilled radix partitions merged) are encoded on the workers at once; a
// worker holds at most stateChunk bytes before it waits for its turn to
// write, so the encoding takes no memory beyond that per worker. A key
// comes once, unless the Aggregate spilled and a partition had to be cut
// again; the merge merges equal keys anyway. key and state are valid
// during enc. The Aggregate is empty after it.
func (a *Aggregate) States(ctx context.Context, enc func(dst, key, state []byte) []byte, write func(chunk []byte) error) error {
	n := a.Morsels()
	turn := make([]chan struct{}, n+1) // turn[m] closes once the partitions before m are written
	for m := range turn {
		turn[m] = make(chan struct{})
	}
	close(turn[0])
	return exec.Parallel(ctx, a.env.Workers, n, func(ctx context.Context, w, m int) error {
		var chunk []byte
		mine := false // the partitions before m are written: chunks go out as they fill
		flush := func() error {
			if !mine {
				select {
				case <-turn[m]:
					mine = true
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			err := write(chunk)
			chunk = chunk[:0]
			return err
		}
		dump := func(t *aggTable) error {
			return eachState(t, func(_ uint64, key, state []byte) error {
				if chunk = enc(chunk, key, state); len(chunk) >= stateChunk {
					return flush()
				}
				return nil
			})
		}
		var err error
		switch a.mode {
		case modeSmall, modeShared:
			err = dump(&a.tables[m])
			a.tables[m] = aggTable{}
		default:
			loan := a.loans[w]
			loan.Cover(loan.Cap())
			err = a.sp.mergePartition(ctx, a.runs, m, firstShift, loan.Cap(), &a.tables[w], dump)
			loan.Release()
		}
		if err == nil {
			err = flush()
		}
		if err == nil {
			close(turn[m+1])
		}
		return err
	})
}

// stateChunk is how many bytes of encoded groups a worker holds before it
// writes them (States).
const stateChunk = 4 << 20

// loadBatch is how many groups a worker loads before it merges them into
// the shared parts.
const loadBatch = plan.BatchSize

// loaded is a worker's groups given by LoadState, not yet merged: their
// keys and states one after another in data, each ending at ends[i].
type loaded struct {
	data         []byte
	keyEnd, ends []int
	hashes       []uint64
}

// start is where loaded group e's key starts in data.
func (l *loaded) start(e int) int {
	if e == 0 {
		return 0
	}
	return l.ends[e-1]
}

// LoadState adds, on worker w, a group that States gave in another
// process; key and state are copied. Workers load at once.
func (a *Aggregate) LoadState(w int, key, state []byte) error {
	wk := a.workers[w]
	l := &wk.loaded
	l.hashes = append(l.hashes, wk.hasher.hash(key))
	l.data = append(l.data, key...)
	l.keyEnd = append(l.keyEnd, len(l.data))
	l.data = append(l.data, state...)
	l.ends = append(l.ends, len(l.data))
	if len(l.ends) == loadBatch {
		return wk.flushLoaded()
	}
	return nil
}

// LoadRows adds rows a shard grouped to RowsIn (a share's total needs
// them all).
func (a *Aggregate) LoadRows(n int64) { a.rowsIn.Add(n) }

// flushLoaded merges the worker's loaded groups into the shared parts,
// ordered by part, one part's lock at a time, and spills the parts when
// the broker will not lend for them.
func (w *aggWorker) flushLoaded() error {
	l := &w.loaded
	if len(l.ends) == 0 {
		return nil
	}
	if !w.inShared {
		w.join()
	}
	sh := w.shared
	var starts [1<<partBits + 1]int32
	w.perm, starts = byPart(w.perm, l.hashes)
	w.permHashes = permute(w.permHashes, l.hashes, w.perm)
	for p := range sh.tables {
		lo, hi := starts[p], starts[p+1]
		if lo == hi {
			continue
		}
		sh.locks[p].Lock()
		t := &sh.tables[p]
		t.table.touch(w.permHashes[lo:hi]) // the part's starting slots first: their misses overlap
		w.groups = plan.Grow(w.groups, int(hi-lo))
		for k := lo; k < hi; k++ {
			e := int(w.perm[k])
			w.groups[k-lo] = w.groupIn(t, l.data[l.start(e):l.keyEnd[e]], w.permHashes[k])
		}
		for _, ag := range t.aggs {
			if tc, ok := ag.(agg.Toucher); ok {
				tc.Touch(w.groups[:hi-lo]) // so are the groups' states
			}
		}
		var err error
		for k := lo; k < hi && err == nil; k++ {
			e := int(w.perm[k])
			state := l.data[l.keyEnd[e]:l.ends[e]]
			for _, ag := range t.aggs {
				if state, err = ag.MergeState(w.groups[k-lo], state); err != nil {
					break
				}
			}
		}
		sh.mem[p].Store(t.memBytes())
		sh.locks[p].Unlock()
		if err != nil {
			return fmt.Errorf("a shard's state does not match this plan: %w", err)
		}
	}
	l.data, l.keyEnd, l.ends, l.hashes = l.data[:0], l.keyEnd[:0], l.ends[:0], l.hashes[:0]
	if !sh.loan.Cover(sh.memBytes()) {
		return w.spillShared()
	}
	return nil
}

// endLoading merges what the workers loaded last.
func (a *Aggregate) endLoading() error {
	for _, w := range a.workers {
		if err := w.flushLoaded(); err != nil {
			return err
		}
	}
	return nil
}
