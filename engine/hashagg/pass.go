package hashagg

import (
	"math"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// Pass-through. A shard's aggregate groups its rows only to make the
// merge's work smaller. When a shard meets nearly as many keys as rows (a
// shard of 5M rows of a file of 5M keys meets 3.2M of them), its tables
// cost more than they save: they grow to millions of groups, which the
// merge then merges again. So once a shard's aggregate has taken
// PassThroughAfter rows into the shared parts, it projects how many
// groups its whole share will make: from the groups so far, as if keys
// came uniformly at random, and from how much of the shard's input was
// read. If its rows would be fewer than twice its groups, the workers stop
// grouping: each later batch's rows become groups of one row each (every
// aggregate updated with group r for row r, no lookup), each added to
// its partition's buffer, which goes to the shard's body as a segment when
// it is full (shard.go); the buffers are reused, so passing holds a few
// MiB whatever the shard's size. The merge merges equal keys whoever
// wrote them. A worker that the broker will not lend for its buffers
// groups its rows.
//
// Local runs never pass through: their tables are the answer.

// PassThroughAfter is how many rows a shard's aggregate takes before it
// decides whether to pass the rest through. A variable, so tests can send
// small inputs down the path.
var PassThroughAfter int64 = 1 << 18

// passState is an Aggregate's pass-through.
type passState struct {
	progress func() float64 // how much of the shard's input was read, 0 to 1; nil: not a shard's
	decided  atomic.Bool
	passing  atomic.Bool
	loan     *exec.Loan   // what the workers' partition buffers hold
	held     atomic.Int64 // their bytes
	rows     int64        // how many rows were passed, set by Finish
}

// decide makes the Aggregate pass rows through if that is worth it (see
// above), once some of the input is known to have been read. Safe for
// concurrent use; the first worker past the mark decides.
func (a *Aggregate) decide() {
	if a.pass.decided.Load() {
		return
	}
	f := a.pass.progress()
	if f <= 0 || f > 1 {
		return // nothing read yet that says how much is left: later
	}
	if !a.pass.decided.CompareAndSwap(false, true) {
		return
	}
	sh := a.sh
	var groups int64
	for p := range sh.tables {
		sh.locks[p].Lock()
		groups += int64(sh.tables[p].table.len())
		sh.locks[p].Unlock()
	}
	rows := a.rowsIn.Load()
	if worthPassing(float64(rows), float64(groups), float64(rows)/f) {
		a.pass.passing.Store(true)
	}
}

// worthPassing reports whether total rows would make fewer than half as
// many groups, if r rows made d groups of keys drawn uniformly from some
// number k of keys: d = k(1-e^(-r/k)) gives k, and the groups of total
// rows are k(1-e^(-total/k)).
func worthPassing(r, d, total float64) bool {
	q := d / r
	if q >= 1 {
		return true // no key came twice
	}
	// x = r/k solves (1-e^-x)/x = q, which falls as x grows.
	lo, hi := 0.0, 64.0
	for range 64 {
		x := (lo + hi) / 2
		if (1-math.Exp(-x))/x > q {
			lo = x
		} else {
			hi = x
		}
	}
	k := r / ((lo + hi) / 2)
	return total < 2*k*(1-math.Exp(-total/k))
}

// passBatch writes the n rows of batch b (their keys' hashes in
// w.hashes) as groups of one row each, by partition. Once the broker will
// not lend for the worker's buffers, it groups its next rows.
func (w *aggWorker) passBatch(b *exec.Batch, n int, pos []uint64) error {
	if w.ones == nil {
		w.rows = newAggTable(w.a.agg, false)
		w.ones = make([]uint32, plan.BatchSize)
		for g := range w.ones {
			w.ones[g] = uint32(g)
		}
	}
	t := &w.rows
	for i, ag := range t.aggs {
		ag.Reset()
		ag.Grow(n)
		var v *plan.Vector
		if c := t.cols[i]; c >= 0 {
			v = b.Cols[c]
		}
		ag.Update(w.ones[:n], v, pos)
	}
	grew := 0
	for r := range n {
		w.state = w.state[:0]
		for _, ag := range t.aggs {
			w.state = ag.AppendState(w.state, uint32(r))
		}
		key := w.rowKey(int32(r))
		w.spellings.add(key)
		made, err := w.parts.add(w.a.out, shardPart(w.hashes[r]), key, w.state)
		if err != nil {
			return err
		}
		grew += made
	}
	w.passedRows += int64(n)
	if !w.a.holdBuffers(grew) {
		w.noPass = true // the buffers are kept; the worker groups its next rows
	}
	return nil
}
