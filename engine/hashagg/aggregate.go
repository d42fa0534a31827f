package hashagg

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
)

// Aggregate runs a plan.Aggregate. As a sink it groups its input's rows:
// each worker in a table of its own while that fits in the cache, then in
// 16 part tables shared by the workers, writing radix-partitioned runs
// when the broker will not lend more. Finished, it is the source of one
// row per group: the merged table (one morsel), the 16 parts (a morsel
// each), or the 16 radix partitions of the runs, each merged in memory
// (cut again by the next hash bits when it is too big).
type Aggregate struct {
	env    *exec.Env
	op     int
	agg    *plan.Aggregate
	input  plan.Schema
	seed   hashSeed
	budget memBudget
	sh     *sharedParts
	sp     *spillState
	pass   passState
	out    *segWriter // a shard's: where its groups go (WritesStates)
	parts  []partBufs // a shard's: per worker, its groups on their way out

	workers []*aggWorker
	rowsIn  atomic.Int64 // added once a batch

	// A merge's (LoadShards): where the shards' groups are.
	shards  []shardStates
	bad     func(shard int, what string) error
	hashers []keyHasher // per worker
	bufs    [][]byte    // per worker: a segment of a shard's groups

	// Set by Finish (a merge's spellings by LoadShards).
	spellings keySpellings // the key types of every group, and how they were written
	keyTypes  []plan.Type
	emitters  []*emitter   // per worker
	tables    []aggTable   // the source's: the merged table, the parts, or per worker a merge table
	runs      []*spill.Run // spilled runs, when mode is spilled
	loans     []*exec.Loan // per worker: what its merge table holds (spilled)
	mode      int
	final     bool // the aggregates' output types are known before the rows are
	mu        sync.Mutex
}

// Stats are what an aggregate did besides its answer.
type Stats struct {
	SpilledRuns  int
	Repartitions int
	PassedRows   int64 // a shard's rows passed through ungrouped (pass.go)
}

const (
	modeSmall   = iota // one merged table
	modeShared         // the shared parts
	modeSpilled        // runs on disk
	modeShards         // shards' groups (LoadShards)
)

// New makes the aggregate of a (a's keys and aggregates refer to its
// child's columns, which arrive as batches of the child's schema), with
// op its plan node's number for events.
func New(env *exec.Env, op int, a *plan.Aggregate) (*Aggregate, error) {
	budget, err := newBudget(env.Broker, env.Workers)
	if err != nil {
		return nil, err
	}
	ag := &Aggregate{env: env, op: op, agg: a, input: a.Child.Schema(), seed: newHashSeed(env.HashSeed), budget: budget,
		sh: &sharedParts{loan: env.Broker.NewLoan(0)}, sp: &spillState{env: env, op: op}}
	ag.workers = make([]*aggWorker, max(env.Workers, 1))
	for i := range ag.workers {
		ag.workers[i] = newAggWorker(ag)
	}
	return ag, nil
}

// Consume groups the rows of b on worker w.
func (a *Aggregate) Consume(w, _ int, b *exec.Batch) error {
	a.rowsIn.Add(int64(b.N))
	return a.workers[w].consume(b)
}

// RowsIn is how many rows the Aggregate grouped.
func (a *Aggregate) RowsIn() int64 { return a.rowsIn.Load() }

func (a *Aggregate) EndMorsel(int, int) error { return nil }

// Stats reports the spilling; valid after the source has run.
func (a *Aggregate) Stats() Stats {
	return Stats{SpilledRuns: len(a.runs), Repartitions: int(a.sp.repartitions.Load()), PassedRows: a.pass.rows}
}

// Finish ends the input. The Aggregate is then the source of its groups.
func (a *Aggregate) Finish(ctx context.Context) (exec.Source, error) {
	for _, w := range a.workers {
		a.pass.rows += w.passedRows
	}
	if a.shards == nil {
		a.spellings = a.workers[0].spellings
		for _, w := range a.workers[1:] {
			a.spellings.merge(&w.spellings)
		}
	}
	keyTypes, fold := a.spellings.types()
	a.keyTypes = keyTypes
	spilled := a.env.Temp.Made() && (len(a.sh.runs) > 0 || anyRuns(a.workers))
	var final []plan.Type
	switch {
	case a.shards != nil:
		// The merge of shards: each worker merges partitions of theirs in
		// a table of its own, as it merges a spilled run's.
		for _, w := range a.workers {
			w.aggTable = aggTable{}
			w.loan.Release()
		}
		a.mode = modeShards
		n := max(a.env.Workers, 1)
		a.tables = make([]aggTable, n)
		a.loans = make([]*exec.Loan, n)
		a.hashers = make([]keyHasher, n)
		a.bufs = make([][]byte, n)
		for w := range n {
			a.tables[w] = newAggTable(a.agg, false)
			a.loans[w] = a.env.Broker.NewLoan(a.budget.table)
			a.hashers[w] = a.workers[w].hasher
		}
	case !spilled && a.sh.tables != nil:
		// Everything fit, in many groups: the workers still on their own
		// tables add them to the shared parts, which emit in parallel.
		for _, w := range a.workers {
			if !w.inShared && w.table.len() > 0 {
				w.shared.init(a.agg)
				w.moveToShared(&w.aggTable)
			}
			w.aggTable = aggTable{}
			w.loan.Release()
		}
		a.mode, a.tables = modeShared, a.sh.tables
		// The column types over every part first: the parts' rows then go
		// out as the types the output has, and need no converting later.
		types := make([][]plan.Type, len(a.tables))
		err := exec.Parallel(ctx, a.env.Workers, len(a.tables), func(_ context.Context, _, p int) error {
			types[p] = a.tables[p].resultTypes(a.agg.Aggs)
			return nil
		})
		if err != nil {
			return nil, err
		}
		final = mergeTypes(a.agg, types)
	case !spilled:
		// Everything fit in small tables: merge them in worker order.
		w0 := a.workers[0]
		for _, w := range a.workers[1:] {
			w0.mergeFrom(w)
			w.aggTable = aggTable{}
			w.loan.Release()
		}
		a.mode, a.tables = modeSmall, []aggTable{w0.aggTable}
		final = w0.resultTypes(a.agg.Aggs)
	default:
		for _, w := range a.workers {
			if !w.inShared && w.table.len() > 0 {
				if err := w.spillTable(); err != nil {
					return nil, err
				}
			}
			a.runs = append(a.runs, w.runs...)
			w.aggTable = aggTable{} // free the memory for the merge
			w.loan.Release()
		}
		if a.sh.tables != nil {
			if err := a.sh.spill(a.workers[0], false); err != nil {
				return nil, err
			}
			a.runs = append(a.runs, a.sh.runs...)
			a.sh.tables = nil
		}
		a.sh.loan.Release()
		a.mode = modeSpilled
		n := min(max(a.env.Workers, 1), 1<<spillBits)
		budget := a.budget.merge / int64(n)
		if fold {
			budget /= 2 // the folded table of a partition is held next to it
		}
		a.tables = make([]aggTable, n)
		a.loans = make([]*exec.Loan, n)
		for w := range n {
			a.tables[w] = newAggTable(a.agg, false)
			a.loans[w] = a.env.Broker.NewLoan(budget)
		}
	}
	a.final = final != nil
	e := newEmitter(a.agg, keyTypes, final)
	if fold {
		e.folder = newKeyFolder(a.agg, a.seed, keyTypes)
	}
	a.emitters = make([]*emitter, max(a.env.Workers, 1))
	a.emitters[0] = e
	for w := 1; w < len(a.emitters); w++ {
		a.emitters[w] = e.clone(a.seed)
	}
	a.workers = nil
	return a, nil
}

func anyRuns(ws []*aggWorker) bool {
	for _, w := range ws {
		if len(w.runs) > 0 {
			return true
		}
	}
	return false
}

// mergeTypes is the output type of each aggregate over tables whose
// groups need types.
func mergeTypes(a *plan.Aggregate, types [][]plan.Type) []plan.Type {
	out := make([]plan.Type, len(a.Aggs))
	for i, f := range a.Aggs {
		out[i] = f.Type
		for _, t := range types {
			out[i] = widest(out[i], t[i])
		}
	}
	return out
}

// Morsels: the merged table, the parts, the radix partitions, or the
// shards' partitions a morsel's worth at a time (shardMorsels).
func (a *Aggregate) Morsels() int {
	switch a.mode {
	case modeSmall:
		return 1
	case modeShared:
		return len(a.tables)
	case modeShards:
		return shardMorsels
	}
	return 1 << spillBits // the radix partitions
}

// Ordered is false: groups come in hash order.
func (a *Aggregate) Ordered() bool { return false }

// Schema is the keys, with the types their values took, then the
// aggregates, with the types some group needed. In memory they are known
// at once; after a spill, once every partition has been merged.
func (a *Aggregate) Schema() (plan.Schema, bool) {
	s := append(plan.Schema(nil), a.agg.Schema()...)
	for k, t := range a.keyTypes {
		s[k].Type = t
	}
	for i := range a.agg.Aggs {
		t := a.emitters[0].types[i]
		if a.emitters[0].final != nil {
			t = a.emitters[0].final[i]
		} else {
			for _, e := range a.emitters[1:] {
				t = widest(t, e.types[i])
			}
		}
		if t == plan.Null {
			t = plan.String
		}
		s[len(a.keyTypes)+i].Type = t
	}
	return s, a.final
}

// Run emits morsel m's groups on worker w.
func (a *Aggregate) Run(ctx context.Context, w, m int, push func(*exec.Batch) error) error {
	e := a.emitters[w]
	switch a.mode {
	case modeSmall:
		err := e.emit(&a.tables[0], push)
		a.tables[0] = aggTable{}
		return err
	case modeShared:
		err := e.emit(&a.tables[m], push)
		a.tables[m] = aggTable{} // its memory is free for what follows
		return err
	case modeShards:
		const per = (1 << shardBits) / shardMorsels
		for p := m * per; p < (m+1)*per; p++ {
			if err := a.mergeShards(ctx, w, p, func(t *aggTable) error { return e.emit(t, push) }); err != nil {
				return err
			}
		}
		return nil
	}
	// The merge table is accounted for at its cap: it grows to it before
	// a partition is cut again.
	loan := a.loans[w]
	loan.Cover(loan.Cap())
	defer loan.Release()
	return a.sp.mergePartition(ctx, a.runs, m, firstShift, loan.Cap(), &a.tables[w], func(t *aggTable) error { return e.emit(t, push) })
}

// Close removes the spilled runs.
func (a *Aggregate) Close() error {
	for _, r := range a.runs {
		r.Remove()
	}
	a.runs = nil
	a.tables = nil
	for _, l := range a.loans {
		l.Release()
	}
	a.shards = nil
	a.parts = nil
	if a.pass.loan != nil {
		a.pass.loan.Release()
	}
	return nil
}
