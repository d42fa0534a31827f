package hashagg

import (
	"context"

	"github.com/gdask/gdask/engine/spill"
)

// A shard of a sharded run (see engine's RunShard) stops at its
// aggregates: it writes each one's groups as keys and states (States),
// the encoding spill runs hold. The merge, in another process, gives every
// shard's groups to an Aggregate of the same plan node (LoadState); its
// hashes are its own (a process's maphash seed is its own), so each worker
// writes what it loads to a spill run cut by this Aggregate's hashes, and
// Finish merges those runs' partitions as it merges any spilled tables:
// the groups of every shard meet, and come out as one run over all the
// input would give them.

// States calls fn with every group of a finished Aggregate (after Finish,
// instead of running it as a source): its key and its aggregates' states.
// A key comes once, unless the Aggregate spilled and a partition had to
// be cut again; the merge merges equal keys anyway. key and state are
// valid during the call. It runs on the caller's goroutine, partition
// after partition, and leaves the Aggregate empty.
func (a *Aggregate) States(ctx context.Context, fn func(key, state []byte) error) error {
	dump := func(t *aggTable) error {
		return eachState(t, func(_ uint64, key, state []byte) error { return fn(key, state) })
	}
	for m := range a.Morsels() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch a.mode {
		case modeSmall, modeShared:
			err = dump(&a.tables[m])
			a.tables[m] = aggTable{}
		default:
			loan := a.loans[0]
			loan.Cover(loan.Cap())
			err = a.sp.mergePartition(ctx, a.runs, m, firstShift, loan.Cap(), &a.tables[0], dump)
			loan.Release()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// LoadState adds, on worker w, a group that States gave in another
// process. Workers load at once, each into a spill run of its own; key
// and state are copied.
func (a *Aggregate) LoadState(w int, key, state []byte) error {
	wk := a.workers[w]
	if wk.loading == nil {
		rw, err := wk.newRun()
		if err != nil {
			return err
		}
		wk.loading = rw
	}
	wk.spellings.add(key)
	return wk.loading.Add(wk.hasher.hash(key), key, state)
}

// LoadRows adds rows a shard grouped to RowsIn (a share's total needs
// them all).
func (a *Aggregate) LoadRows(n int64) { a.rowsIn.Add(n) }

// endLoading closes the runs LoadState wrote: they are then spilled runs
// like any other.
func (a *Aggregate) endLoading() error {
	var err error
	for _, w := range a.workers {
		if w.loading == nil {
			continue
		}
		var run *spill.Run
		if run, err = w.closeRun(w.loading); err != nil {
			break
		}
		w.loading = nil
		w.runs = append(w.runs, run)
	}
	for _, w := range a.workers {
		if w.loading != nil {
			w.loading.Abort()
			w.loading = nil
		}
	}
	return err
}
