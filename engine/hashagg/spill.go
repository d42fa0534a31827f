package hashagg

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/internal/fsname"
)

// Spill layout: a spilled table is cut into 2^spillBits radix partitions by
// hash bits [shift, shift+spillBits), starting from the top bits (the hash
// table's slots use the low bits). A partition too big to merge in memory
// is cut again by the next bits down.
const (
	spillBits  = 4
	firstShift = 64 - spillBits
)

// memBudget splits what the broker can lend between the phases of an
// aggregate.
type memBudget struct {
	table int64 // per worker, while scanning
	merge int64 // the tables that merge radix partitions, all workers
}

// minTableShare is the least a worker's hash table may have: below it,
// spilling would write runs of a handful of groups.
const minTableShare = 2 << 20

// newBudget shares what the broker can lend: half for the workers' tables,
// half for the merge of spilled partitions (the phases follow each other;
// what is left for the sort of the result is what the tables give back).
func newBudget(b *exec.Broker, workers int) (memBudget, error) {
	w := int64(max(workers, 1))
	avail := b.Available()
	if avail < 2*w*minTableShare {
		need := b.Lent() + 2*w*minTableShare
		return memBudget{}, fmt.Errorf("--memory-limit %d bytes is too small to run at all: with %d workers this run needs at least %d MiB (raise it, or lower --workers)",
			b.Limit(), w, (need+(1<<20)-1)>>20)
	}
	return memBudget{table: avail / 2 / w, merge: avail / 2}, nil
}

// spillState is an aggregate's spilled runs' directory (the run's, made on
// first need) and what spilling did.
type spillState struct {
	env          *exec.Env
	op           int
	repartitions atomic.Int64 // partitions the merge cut again
}

func (sp *spillState) dir() (*spill.Dir, error) { return sp.env.Temp.Get() }

// spillTable writes the worker's table as a run, empties it and gives its
// memory back.
func (w *aggWorker) spillTable() error {
	run, err := w.writeRun(&w.aggTable)
	if err != nil {
		return err
	}
	w.runs = append(w.runs, run)
	w.reset()
	w.loan.Release()
	return nil
}

// writeRun writes the groups of t as one spill run.
func (w *aggWorker) writeRun(t *aggTable) (*spill.Run, error) {
	rw, err := w.newRun()
	if err != nil {
		return nil, err
	}
	if err := addTable(rw, t); err != nil {
		rw.Abort()
		return nil, err
	}
	return w.closeRun(rw)
}

// newRun starts a spill run, making the spill directory on first need.
func (w *aggWorker) newRun() (*spill.RunWriter, error) {
	w.runStart = time.Now()
	dir, err := w.a.sp.dir()
	if err != nil {
		return nil, err
	}
	return dir.NewRun(spillBits, firstShift)
}

// addTable writes every group of t to rw.
func addTable(rw *spill.RunWriter, t *aggTable) error { return eachState(t, rw.Add) }

// eachState calls fn with every group of t: its hash, its key and its
// aggregates' states, one after another (each agg's AppendState), which
// MergeState reads back in the same order. key and state are valid during
// the call.
func eachState(t *aggTable, fn func(hash uint64, key, state []byte) error) error {
	var state []byte
	for g := range uint32(t.table.len()) {
		state = state[:0]
		for _, a := range t.aggs {
			state = a.AppendState(state, g)
		}
		if err := fn(t.table.hashOf(g), t.table.key(g), state); err != nil {
			return err
		}
	}
	return nil
}

// closeRun ends a run and reports what it wrote.
func (w *aggWorker) closeRun(rw *spill.RunWriter) (*spill.Run, error) {
	run, err := rw.Close()
	if err != nil {
		return nil, err
	}
	var n, groups int64
	for p := range 1 << spillBits {
		n += run.Size(p)
		groups += run.Len(p)
	}
	w.a.env.Events.Event(exec.Event{Kind: exec.EvSpill, Op: w.a.op, RowsIn: groups, Runs: 1, Bytes: n, Dur: time.Since(w.runStart), At: time.Now()})
	return run, nil
}

// mergePartition merges radix partition p of runs (cut at shift) into t,
// gives t to out (which emits its groups) and empties t. A partition too big for budget is cut
// again by the next hash bits, recursively.
//
// Whether it is too big is known only after merging: the runs' entries
// overcount its groups whenever runs share keys (a key spilled by every
// worker, or in every round, is an entry in each run). So a partition
// whose entries could outgrow budget is merged anyway, watching t; only
// when t does outgrow it is the work dropped and the partition cut.
func (sp *spillState) mergePartition(ctx context.Context, runs []*spill.Run, p int, shift uint, budget int64, t *aggTable, out func(t *aggTable) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var size int64
	for _, r := range runs {
		size += r.Size(p) + 64*r.Len(p) // states plus table overhead per entry
	}
	limit := int64(-1) // fits whatever the overlap
	if size > budget && shift >= spillBits {
		limit = budget
	}
	fit, err := sp.mergeRuns(runs, p, limit, t)
	if err != nil {
		return err
	}
	if !fit {
		t.reset()
		sub, err := sp.repartition(runs, p, shift-spillBits)
		if err != nil {
			return err
		}
		sp.repartitions.Add(1)
		defer sub.Remove()
		for q := range 1 << spillBits {
			if err := sp.mergePartition(ctx, []*spill.Run{sub}, q, shift-spillBits, budget, t, out); err != nil {
				return err
			}
		}
		return nil
	}
	if err := out(t); err != nil {
		return err
	}
	t.reset()
	return nil
}

// mergeRuns merges partition p of runs into t. With a limit of 0 or more
// it stops, reporting false, once t holds more than limit bytes.
func (sp *spillState) mergeRuns(runs []*spill.Run, p int, limit int64, t *aggTable) (bool, error) {
	const checkEvery = 1 << 12
	n := 0
	for _, r := range runs {
		rd, err := r.Open(p)
		if err != nil {
			return false, err
		}
		for rd.Next() {
			h, key, state := rd.Entry()
			g, _ := t.find(key, h)
			for _, a := range t.aggs {
				if state, err = a.MergeState(g, state); err != nil {
					rd.Close()
					d, _ := sp.dir()
					return false, fmt.Errorf("cannot read spill file in %s: %w", fsname.Quote(d.Path()), err)
				}
			}
			if n++; n == checkEvery {
				n = 0
				if limit >= 0 && t.memBytes() > limit {
					rd.Close()
					return false, nil
				}
			}
		}
		err = rd.Err()
		rd.Close()
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// repartition copies partition p of runs into a new run cut at shift.
func (sp *spillState) repartition(runs []*spill.Run, p int, shift uint) (*spill.Run, error) {
	d, err := sp.dir()
	if err != nil {
		return nil, err
	}
	rw, err := d.NewRun(spillBits, shift)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		rd, err := r.Open(p)
		if err != nil {
			rw.Abort()
			return nil, err
		}
		for rd.Next() {
			h, key, state := rd.Entry()
			if err := rw.Add(h, key, state); err != nil {
				rd.Close()
				rw.Abort()
				return nil, err
			}
		}
		err = rd.Err()
		rd.Close()
		if err != nil {
			rw.Abort()
			return nil, err
		}
	}
	return rw.Close()
}
