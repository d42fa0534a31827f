package sorter

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
)

// Sort runs a plan.Sort. As a sink it encodes the rows it is given with
// their order and keeps each morsel's rows as a run, sorted on the worker
// that ran the morsel when the morsel ends; with TopN, a run keeps only its
// first TopN rows (a bounded top-N: memory O(TopN) per run). Finished, it
// is a source of every row in order: the runs merged by a loser tree. When
// the runs outgrow what the broker lends, a finished run goes to an
// external merge sort (spill.Sorter) instead, and the source merges from
// there.
type Sort struct {
	env  *exec.Env
	op   int
	keys []plan.SortKey
	topN int64
	text bool // cells as output text: the input's types are final, the output reads the rows as they are

	encs []*Encoder // per worker
	mu   sync.Mutex
	runs map[int]*sortedRows // per morsel; a run is filled by the one worker running its morsel
	done []*sortedRows       // finished runs kept in memory
	mem  atomic.Int64        // bytes the finished runs hold
	loan *exec.Loan

	extMu   sync.Mutex
	ext     *spill.Sorter // the external sort, once runs did not fit
	dir     *spill.Dir
	extMem  int64 // what the external sort borrowed
	spilled bool

	schema plan.Schema // the final types, given by Finish
}

// NewSort sorts by keys; topN > 0 keeps only the first topN rows. With
// text, the input's types must be final and the rows are read by an
// output only: cells are encoded as the text it writes.
func NewSort(env *exec.Env, op int, keys []plan.SortKey, topN int64, text bool) *Sort {
	s := &Sort{env: env, op: op, keys: keys, topN: topN, text: text, runs: map[int]*sortedRows{}}
	s.encs = make([]*Encoder, env.Workers)
	for w := range s.encs {
		s.encs[w] = NewEncoder(keys, text)
	}
	// The runs in memory may take a quarter of what the broker has to
	// lend: the operators that feed the sort (a hash aggregate merging its
	// spilled partitions) run at the same time. The external sort borrows
	// its own share when it starts.
	s.loan = env.Broker.NewLoan(max(env.Broker.Available()/4, exec.LoanChunk))
	return s
}

func (s *Sort) run(m int) *sortedRows {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[m]
	if r == nil {
		r = &sortedRows{}
		s.runs[m] = r
	}
	return r
}

// Consume encodes the rows of b into morsel m's run.
func (s *Sort) Consume(w, m int, b *exec.Batch) error {
	r := s.run(m)
	enc := s.encs[w]
	for i := range b.N {
		r.add(enc.Encode(b, i))
	}
	if s.topN > 0 && int64(len(r.keys)) > 2*s.topN+plan.BatchSize {
		r.keepFirst(s.topN)
	}
	return nil
}

// EndMorsel sorts morsel m's run on the worker that filled it, and keeps
// it in memory if the broker lends what it holds, else adds it to the
// external sort.
func (s *Sort) EndMorsel(w, m int) error {
	s.mu.Lock()
	r := s.runs[m]
	delete(s.runs, m)
	s.mu.Unlock()
	if r == nil {
		return nil
	}
	r.sort()
	if s.topN > 0 {
		r.keepFirst(s.topN)
	}
	bytes := r.memBytes()
	if s.loan.Cover(s.mem.Load() + bytes) {
		s.mem.Add(bytes)
		s.mu.Lock()
		s.done = append(s.done, r)
		s.mu.Unlock()
		return nil
	}
	return s.spill(r)
}

// spill adds run r to the external sort, starting it on first need.
func (s *Sort) spill(r *sortedRows) error {
	s.extMu.Lock()
	defer s.extMu.Unlock()
	if s.ext == nil {
		dir, err := s.env.Temp.Get()
		if err != nil {
			return err
		}
		// The external sort buffers a quarter of what is left to lend
		// (at least 4 MiB), and holds about twice that while merging.
		budget := max(s.env.Broker.Available()/4, 4<<20)
		if s.env.Broker.TryBorrow(2 * budget) {
			s.extMem = 2 * budget
		}
		s.dir, s.ext = dir, dir.NewSorter(budget, CompareRows)
		s.spilled = true
	}
	before := s.dir.Bytes()
	for i := range r.keys {
		if err := s.ext.Add(r.row(i)); err != nil {
			return err
		}
	}
	s.env.Events.Event(exec.Event{Kind: exec.EvSpill, Op: s.op, RowsIn: int64(len(r.keys)), Bytes: s.dir.Bytes() - before, At: time.Now()})
	*r = sortedRows{}
	return nil
}

// Spilled reports whether rows went to the external sort: the source then
// reads them back from disk.
func (s *Sort) Spilled() bool { return s.spilled }

// Finish ends the input; schema is its final column types. The Sort is
// then the source of its rows in order.
func (s *Sort) Finish(schema plan.Schema) (exec.Source, error) {
	s.schema = schema
	s.mu.Lock()
	if len(s.runs) > 0 {
		s.mu.Unlock()
		return nil, fmt.Errorf("BUG: sorter: %d morsels did not end", len(s.runs))
	}
	s.mu.Unlock()
	if s.ext != nil {
		// One merge: the runs still in memory join the external sort.
		for _, r := range s.done {
			if err := s.spill(r); err != nil {
				return nil, err
			}
		}
		s.done = nil
		s.loan.Release()
		s.mem.Store(0)
	}
	return s, nil
}

func (s *Sort) Morsels() int                { return 1 }
func (s *Sort) Ordered() bool               { return true }
func (s *Sort) Schema() (plan.Schema, bool) { return s.schema, true }

func (s *Sort) Run(ctx context.Context, _, _ int, push func(*exec.Batch) error) error {
	start := time.Now()
	defer func() {
		s.env.Events.Event(exec.Event{Kind: exec.EvMerge, Op: s.op, Level: 1, Dur: time.Since(start), At: time.Now()})
	}()
	if s.ext != nil {
		return s.runExternal(ctx, push)
	}
	return s.runMerged(ctx, push)
}

// Close frees the runs and the external sort's files.
func (s *Sort) Close() error {
	s.done = nil
	s.loan.Release()
	s.extMu.Lock()
	defer s.extMu.Unlock()
	if s.ext != nil {
		s.ext.Abort()
		s.ext = nil
	}
	s.env.Broker.Return(s.extMem)
	s.extMem = 0
	return nil
}

// runExternal pushes the external sort's rows in order, a batch at a time.
func (s *Sort) runExternal(ctx context.Context, push func(*exec.Batch) error) error {
	it, err := s.ext.Sort()
	s.ext = nil // the iterator owns its files now
	if err != nil {
		return err
	}
	defer it.Close()
	dec := NewDecoder(s.schema, s.text)
	var arena []byte
	rows := make([][]byte, 0, plan.BatchSize)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		err := push(dec.Decode(rows))
		rows, arena = rows[:0], arena[:0]
		return err
	}
	n := 0
	for it.Next() {
		// The iterator's row is valid until the next Next: copy it.
		start := len(arena)
		arena = append(arena, it.Row()...)
		rows = append(rows, arena[start:len(arena):len(arena)])
		if len(rows) == plan.BatchSize {
			// The pushed batch is done with once push returns: its rows'
			// arena is reused.
			if err := flush(); err != nil {
				return err
			}
		}
		if n++; n%(1<<14) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return flush()
}

// runMerged pushes the in-memory runs' rows in order. Three goroutines
// pass batches along: one merges the runs (mergeRuns), one decodes the
// rows it picked, and the caller's pushes them on. With millions of rows
// each stage takes about a third of the time the three took one after the
// other. Rows are views of the runs' arenas, which nothing changes any more.
func (s *Sort) runMerged(ctx context.Context, push func(*exec.Batch) error) error {
	runs := make([]sortedRows, len(s.done))
	for i, r := range s.done {
		runs[i] = *r
	}
	stop := make(chan struct{})
	picked := newPipe(3, func() []rowRef { return make([]rowRef, 0, plan.BatchSize) }, stop)
	// Three decoders: a batch is valid until its decoder's next Decode.
	decoders := make(chan *Decoder, 3)
	for range cap(decoders) {
		decoders <- NewDecoder(s.schema, s.text)
	}
	type out struct {
		dec *Decoder
		b   *exec.Batch
	}
	batches := make(chan out, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(picked.full)
		b, ok := picked.take()
		if !ok {
			return
		}
		mergeRuns(runs, func(run int, ref uint64) bool {
			if b = append(b, rowRef{run, ref}); len(b) < plan.BatchSize {
				return true
			}
			if !picked.send(b) {
				return false
			}
			b, ok = picked.take()
			return ok
		})
		if len(b) > 0 {
			picked.send(b)
		}
	})
	wg.Go(func() {
		defer close(batches)
		var rows [][]byte
		for b := range picked.full {
			var dec *Decoder
			select {
			case dec = <-decoders:
			case <-stop:
				return
			}
			// Find every row first: the loads are independent, so their
			// cache misses overlap.
			rows = rows[:0]
			for _, rr := range b {
				rows = append(rows, runs[rr.run].arena.Get(rr.ref))
			}
			picked.free <- b[:0]
			select {
			case batches <- out{dec, dec.Decode(rows)}:
			case <-stop:
				return
			}
		}
	})
	defer wg.Wait()
	defer close(stop)
	n := 0
	for o := range batches {
		if err := push(o.b); err != nil {
			return err
		}
		decoders <- o.dec
		if n++; n%16 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// rowRef is a row of a run.
type rowRef struct {
	run int
	ref uint64
}

// pipe passes buffers between two goroutines with a fixed number of them:
// the sender takes a free one, fills it and sends it on full; the receiver
// ranges over full and puts each back on free, which never blocks. Both
// give up once stop is closed.
type pipe[T any] struct {
	full, free chan T
	stop       <-chan struct{}
}

func newPipe[T any](n int, alloc func() T, stop <-chan struct{}) *pipe[T] {
	p := &pipe[T]{full: make(chan T, n), free: make(chan T, n), stop: stop}
	for range n {
		p.free <- alloc()
	}
	return p
}

// take returns a free buffer, or false once stop is closed.
func (p *pipe[T]) take() (T, bool) {
	select {
	case b := <-p.free:
		return b, true
	case <-p.stop:
		var zero T
		return zero, false
	}
}

// send passes b on, or returns false once stop is closed.
func (p *pipe[T]) send(b T) bool {
	select {
	case p.full <- b:
		return true
	case <-p.stop:
		return false
	}
}
