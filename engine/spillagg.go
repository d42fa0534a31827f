package engine

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/engine/spill"
)

// Spill layout: a spilled table is cut into 2^spillBits radix partitions by
// hash bits [shift, shift+spillBits), starting from the top bits (the hash
// table's slots use the low bits). A partition too big to merge in memory
// is cut again by the next bits down.
const (
	spillBits  = 4
	firstShift = 64 - spillBits
)

// memBudget splits --memory-limit between the phases of a groupby.
type memBudget struct {
	table int64 // per worker, while scanning
	merge int64 // the table that merges one radix partition
	sort  int64 // the external sort of the result rows
}

// fixedOverhead is memory a run needs whatever the data: the Go runtime
// and binary, each worker's 1 MiB read buffer and batch scratch, a spill
// writer's partition buffers, and the chunk buffers of streamed inputs.
func (ds *Dataset) fixedOverhead() int64 {
	w := int64(max(ds.cfg.Workers, 1))
	n := int64(24<<20) + w*(2<<20) + (1<<spillBits)*(32<<10)*w
	for _, s := range ds.inputs {
		if s.chunker != nil {
			n += (w + 2) * int64(ds.cfg.chunkSize()) * 2 // buffers and the chunker's carry
			break
		}
	}
	return n
}

// minTableShare is the least a worker's hash table may have: below it,
// spilling would write runs of a handful of groups.
const minTableShare = 2 << 20

func (ds *Dataset) budget() (memBudget, error) {
	w := int64(max(ds.cfg.Workers, 1))
	over := ds.fixedOverhead()
	need := over + 2*w*minTableShare
	if ds.cfg.MemoryLimit < need {
		return memBudget{}, fmt.Errorf("--memory-limit %d bytes is too small to run at all: with %d workers this run needs at least %d MiB (raise it, or lower --workers)",
			ds.cfg.MemoryLimit, w, (need+(1<<20)-1)>>20)
	}
	avail := ds.cfg.MemoryLimit - over
	return memBudget{table: avail / 2 / w, merge: avail / 2, sort: avail / 4}, nil
}

// spillState is a groupby's spill directory, made on first need and shared
// by the workers.
type spillState struct {
	ds     *Dataset
	budget memBudget
	mu     sync.Mutex
	dir    *spill.Dir

	repartitions atomic.Int64 // partitions the merge cut again
}

func (sp *spillState) get() (*spill.Dir, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.dir == nil {
		fs := sp.ds.cfg.SpillFS
		if fs == nil {
			fs = spill.OSFS()
		}
		spill.SweepStale(fs, sp.ds.cfg.TempDir) // leftovers of killed runs; best effort
		d, err := spill.NewDir(fs, sp.ds.cfg.TempDir)
		if err != nil {
			return nil, err
		}
		sp.dir = d
	}
	return sp.dir, nil
}

// close removes the spill directory and everything in it.
func (sp *spillState) close() error {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.dir == nil {
		return nil
	}
	return sp.dir.Close()
}

// spillTable writes the worker's table as a run and empties it.
func (w *aggWorker) spillTable() error {
	run, err := w.writeRun(&w.aggTable)
	if err != nil {
		return err
	}
	w.runs = append(w.runs, run)
	w.reset()
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
	dir, err := w.spill.get()
	if err != nil {
		return nil, err
	}
	return dir.NewRun(spillBits, firstShift)
}

// addTable writes every group of t to rw.
func addTable(rw *spill.RunWriter, t *aggTable) error {
	var state []byte
	for g := range uint32(t.table.len()) {
		state = state[:0]
		for _, a := range t.aggs {
			state = a.AppendState(state, g)
		}
		if err := rw.Add(t.table.hashOf(g), t.table.key(g), state); err != nil {
			return err
		}
	}
	return nil
}

// closeRun ends a run and reports the bytes spilled so far.
func (w *aggWorker) closeRun(rw *spill.RunWriter) (*spill.Run, error) {
	run, err := rw.Close()
	if err != nil {
		return nil, err
	}
	dir, _ := w.spill.get()
	w.ds.cfg.Progress.setSpilled(dir.Bytes())
	return run, nil
}

// mergeSpilled merges the radix partitions of runs on the workers, each
// partition into one worker's table, whose merge budget is its share of
// the whole, and adds every group's row to sorter. The sorter orders the
// rows, so the order in which partitions finish does not show.
func (ds *Dataset) mergeSpilled(ctx context.Context, q *query, seed maphash.Seed, sp *spillState, runs []*spill.Run, e *emitter, sorter *spill.Sorter) error {
	n := min(max(ds.cfg.Workers, 1), 1<<spillBits)
	budget := sp.budget.merge / int64(n)
	if e.folder != nil {
		budget /= 2 // the folded table of a partition is held next to it
	}
	tables := make([]aggTable, n)
	emitters := make([]*emitter, n)
	for w := range n {
		tables[w] = newAggTable(q, seed, false)
		emitters[w] = e.clone(seed)
	}
	// Rows reach the sorter in batches, one lock a batch: a row at a time
	// the workers would queue on the lock.
	var mu sync.Mutex
	batches := make([][][]byte, n)
	flush := func(w int) error {
		mu.Lock()
		defer mu.Unlock()
		for _, row := range batches[w] {
			if err := sorter.Add(row); err != nil {
				return err
			}
		}
		batches[w] = batches[w][:0]
		return nil
	}
	err := parallel(ctx, n, 1<<spillBits, func(ctx context.Context, w, p int) error {
		// Rows are copied: emit reuses its buffer.
		var arena []byte
		add := func(row []byte) error {
			if len(arena)+len(row) > cap(arena) {
				if err := flush(w); err != nil {
					return err
				}
				arena = make([]byte, 0, max(256<<10, len(row)))
			}
			arena = append(arena, row...)
			batches[w] = append(batches[w], arena[len(arena)-len(row):])
			return nil
		}
		if err := sp.mergePartition(ctx, runs, p, firstShift, budget, &tables[w], emitters[w], add); err != nil {
			return err
		}
		return flush(w)
	})
	for _, em := range emitters {
		for i, wd := range em.widened {
			e.widened[i] = e.widened[i] || wd
		}
	}
	return err
}

// mergePartition merges radix partition p of runs (cut at shift) into t,
// emits its groups and empties t. A partition too big for budget is cut
// again by the next hash bits, recursively.
//
// Whether it is too big is known only after merging: the runs' entries
// overcount its groups whenever runs share keys (a key spilled by every
// worker, or in every round, is an entry in each run). So a partition
// whose entries could outgrow budget is merged anyway, watching t; only
// when t does outgrow it is the work dropped and the partition cut.
func (sp *spillState) mergePartition(ctx context.Context, runs []*spill.Run, p int, shift uint, budget int64, t *aggTable, e *emitter, add func([]byte) error) error {
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
			if err := sp.mergePartition(ctx, []*spill.Run{sub}, q, shift-spillBits, budget, t, e, add); err != nil {
				return err
			}
		}
		return nil
	}
	if err := e.emit(t, add); err != nil {
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
					return false, fmt.Errorf("cannot read spill file in %s: %w", sp.dir.Path(), err)
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
	rw, err := sp.dir.NewRun(spillBits, shift)
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
