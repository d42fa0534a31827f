package sorter

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/paged"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/internal/hugepage"
	"github.com/gdask/gdask/plan"
)

// Sort runs a plan.Sort. As a sink it encodes the rows it is given with
// their order, into a run per worker; a worker's run is sorted, on that
// worker, when its morsel ends. The runs stay in memory while the broker
// lends what they hold; when it cannot, the runs finished so far go to
// disk merged into one sorted run, and so does the run of the worker
// that asked (spill.Sorter: the external sort). Finished, the Sort is a
// source of every row in order: the runs in memory merged (spill.Merge),
// or, once anything went to disk, every run merged from disk.
//
// With TopN, a worker's run goes on across its morsels and keeps only
// its first TopN rows (a bounded top-N: memory O(TopN) per worker); once
// it has them, a row whose order section comes after the TopN-th's is
// passed by without being encoded.
//
// Keys read as numbers in some batches and as strings in others (a
// column whose type widened part way) are ordered bytewise, all of them,
// and integers past 2^53 in a column that also holds floats order as
// floats: Finish makes such rows' order again (see reorder).
type Sort struct {
	env   *exec.Env
	op    int
	keys  []plan.SortKey
	spec  Spec
	topN  int64
	cells Cells

	encs    []*Encoder    // per worker
	cur     []*sortedRows // per worker: the run being filled
	curMem  []int64       // per worker: cur's bytes, as counted in mem
	lastRun []int         // per worker: the rows of its last run
	cuts    [][]byte      // per worker, with TopN: the order section of cur's TopN-th row, once it has TopN
	mu      sync.Mutex
	done    []*sortedRows // sorted runs in memory
	mem     atomic.Int64  // bytes of the runs in memory, cur and done
	loan    *exec.Loan

	// Per worker, until Finish: what its runs' radix sorts scatter into,
	// and the arena and keys its last run was compacted out of, for its
	// next. They are a run's working memory, not counted in mem (a
	// finished run holds neither), and written again rather than faulted
	// in fresh.
	scratch   [][]rowKey
	spare     []paged.Arena
	spareKeys [][]rowKey
	// slab is where the workers' compacted runs take their rows from, one
	// after another (flatRoom), under mu: a run's rows are a slice of it.
	slab []byte

	extMu   sync.Mutex
	ext     *spill.Sorter // the external sort, once runs did not fit
	dir     *spill.Dir
	extMem  int64 // what the external sort's merge borrowed
	spilled bool

	schema plan.Schema // the final types, given by Finish
}

// Spec is what a Sort does.
type Spec struct {
	Keys []plan.SortKey
	Ties Ties
	// TiesDesc breaks ties last input row first. Positions gives the
	// source's batches their rows' ties as Batch.Pos (input positions, or
	// arrivals), for a sort of them by input order after this one.
	TiesDesc, Positions bool
	// Unique keeps only the first row of each run of rows whose keys are
	// equal (their order sections but the ties): with ties by input
	// order, the first of each, or with TiesDesc the last.
	Unique bool
	TopN   int64 // > 0: keep only the first TopN rows
	// Cells says how rows are kept (CellsText and CellsRaw: for an
	// output). Fields splits a CellsRaw record into its fields, nil for
	// a null one.
	Cells  Cells
	Fields func(record []byte) [][]byte
	// Quoted keeps which text cells the input quoted (cellQuoted), for
	// rows that a csv output writes later in another process (a shard's).
	Quoted bool
}

// NewSort makes the Sort of node op.
func NewSort(env *exec.Env, op int, spec Spec) *Sort {
	s := &Sort{env: env, op: op, spec: spec, keys: spec.Keys, topN: spec.TopN, cells: spec.Cells}
	s.encs = make([]*Encoder, env.Workers)
	for w := range s.encs {
		s.encs[w] = NewEncoder(spec)
	}
	s.cur = make([]*sortedRows, env.Workers)
	s.curMem = make([]int64, env.Workers)
	s.lastRun = make([]int, env.Workers)
	s.scratch = make([][]rowKey, env.Workers)
	s.spare = make([]paged.Arena, env.Workers)
	s.spareKeys = make([][]rowKey, env.Workers)
	s.cuts = make([][]byte, env.Workers)
	// The runs in memory may take a quarter of what the broker has to
	// lend: the operators that feed the sort (a hash aggregate merging its
	// spilled partitions) run at the same time. The external sort's merge
	// borrows its own share when it starts.
	s.loan = env.Broker.NewLoan(max(env.Broker.Available()/4, exec.LoanChunk))
	return s
}

// Consume encodes the rows of b into worker w's run.
func (s *Sort) Consume(w, _ int, b *exec.Batch) error {
	r := s.cur[w]
	if r == nil {
		// As many rows as the worker's last run had, less what the
		// keys' doubling would copy: runs of one input come alike.
		keys := s.spareKeys[w]
		if want := s.lastRun[w] + s.lastRun[w]/8; cap(keys) < want {
			keys = hugepage.Make[rowKey](0, want)
		}
		r = &sortedRows{keys: keys, arena: s.spare[w]}
		s.spare[w], s.spareKeys[w] = paged.Arena{}, nil
		s.cur[w] = r
	}
	enc, cut := s.encs[w], s.cuts[w]
	enc.See(b)
	for i := range b.N {
		if cut != nil && enc.After(b, i, cut) {
			enc.Skip() // after the TopN-th row: not among the first TopN
			continue
		}
		enc.Order(b, i)
		r.add(enc.Encode(b, i))
	}
	if s.topN > 0 && int64(len(r.keys)) > 2*s.topN+plan.BatchSize {
		r.keepFirst(s.topN)
		s.cuts[w] = append(s.cuts[w][:0], orderOf(r.row(len(r.keys)-1))...)
	}
	return s.account(w)
}

// account counts what worker w's run holds now, and spills when the loan
// does not cover the runs in memory.
func (s *Sort) account(w int) error {
	n := s.cur[w].memBytes()
	total := s.mem.Add(n - s.curMem[w])
	s.curMem[w] = n
	if !s.loan.Cover(total) {
		return s.spill(w)
	}
	return nil
}

// EndMorsel sorts worker w's run and keeps it with the finished runs (a
// top-N run goes on with the worker's next morsel).
func (s *Sort) EndMorsel(w, _ int) error {
	r := s.cur[w]
	if s.topN > 0 || r == nil || len(r.keys) == 0 {
		return nil
	}
	r.sort(&s.scratch[w])
	s.lastRun[w] = len(r.keys)
	s.spare[w], s.spareKeys[w] = r.compact(s.flatRoom)
	// A finished run's bytes stay counted: its rows alone now, not the
	// keys and arena it filled, which go to the worker's next run.
	s.mem.Add(r.memBytes() - s.curMem[w])
	s.cur[w], s.curMem[w] = nil, 0
	s.mu.Lock()
	s.done = append(s.done, r)
	s.mu.Unlock()
	return nil
}

// flatRoom returns room for a compacted run's n bytes of rows: a slice
// of the slab, a new one when it has not the room. The slab is a quarter
// of the Sort's loan, at most 64 MiB, allocated with huge pages: a run
// the size of a morsel's rows (megabytes) faults in a slab's pages, where
// a slice of its own would also fault in the pages at its ends one by one,
// unaligned to a huge page. A run bigger than a quarter of a slab has a
// slice of its own. What a slab holds beyond the runs in it is not
// counted as the Sort's: it is never touched, and at most one slab.
func (s *Sort) flatRoom(n int) []byte {
	slab := int(min(64<<20, s.loan.Cap()/4))
	if n > slab/4 {
		return hugepage.Make[byte](0, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cap(s.slab)-len(s.slab) < n {
		s.slab = hugepage.Make[byte](0, slab)
	}
	off := len(s.slab)
	s.slab = s.slab[:off+n]
	return s.slab[off : off : off+n]
}

// spill writes the finished runs in memory to disk, merged into one run,
// then worker w's run (w < 0: none).
func (s *Sort) spill(w int) error {
	s.extMu.Lock()
	defer s.extMu.Unlock()
	if err := s.external(); err != nil {
		return err
	}
	before, runsBefore, start := s.dir.Bytes(), s.ext.Runs(), time.Now()
	var rows int64
	s.mu.Lock()
	done := s.done
	s.done, s.slab = nil, nil // the runs' slabs go with them
	s.mu.Unlock()
	if len(done) > 0 {
		var freed int64
		runs := make([]sortedRows, len(done))
		for i, r := range done {
			runs[i] = *r
			rows += int64(r.len())
			freed += r.memBytes()
		}
		err := s.ext.WriteRun(func(yield func([]byte) bool) {
			mergeRuns(runs, func(p int, ref uint64) bool { return yield(runs[p].get(ref)) })
		})
		if err != nil {
			return err
		}
		s.mem.Add(-freed)
	}
	if w >= 0 && s.cur[w] != nil && len(s.cur[w].keys) > 0 {
		r := s.cur[w]
		if s.topN > 0 {
			r.keepFirst(s.topN)
		} else {
			r.sort(nil)
		}
		rows += int64(len(r.keys))
		if err := s.ext.WriteRun(r.rows()); err != nil {
			return err
		}
		s.cur[w] = nil
		s.mem.Add(-s.curMem[w])
		s.curMem[w] = 0
	}
	s.env.Events.Event(exec.Event{Kind: exec.EvSpill, Op: s.op, RowsIn: rows, Runs: s.ext.Runs() - runsBefore, Bytes: s.dir.Bytes() - before, Dur: time.Since(start), At: time.Now()})
	return nil
}

// external starts the external sort, once. Called with extMu held.
func (s *Sort) external() error {
	if s.ext != nil {
		return nil
	}
	dir, err := s.env.Temp.Get()
	if err != nil {
		return err
	}
	// The merge reads its runs through buffers of about 135 KiB each: a
	// quarter of what is left to lend (at least 4 MiB) lets it read
	// dozens at once.
	mergeMem := max(s.env.Broker.Available()/4, 4<<20)
	if s.env.MergeFanIn > 0 {
		mergeMem = spill.MergeMem(s.env.MergeFanIn)
	}
	if s.env.Broker.TryBorrow(mergeMem) {
		s.extMem = mergeMem
	}
	s.dir, s.ext = dir, dir.NewSorter(mergeMem, CompareRows, keyOf)
	s.spilled = true
	return nil
}

// keyOf is the merge Key of an encoded row: its order section's first 16
// bytes, zero padded.
func keyOf(row []byte) spill.Key {
	// Mostly an order section shorter than 128 bytes in a row of 17 bytes
	// or more: two loads, the bytes past the section masked off. The merge
	// of runs in memory reads a row's key this way on every row.
	if n := int(row[0]); n < 0x80 && len(row) >= 17 {
		hi := binary.BigEndian.Uint64(row[1:9])
		lo := binary.BigEndian.Uint64(row[9:17])
		switch {
		case n >= 16:
		case n > 8:
			lo &^= 1<<(8*(16-n)) - 1
		default:
			hi &^= 1<<(8*(8-n)) - 1 // n = 0 leaves none of hi: 1<<64 is 0
			lo = 0
		}
		return spill.Key{Hi: hi, Lo: lo}
	}
	var b [16]byte
	copy(b[:], orderOf(row))
	return spill.Key{Hi: binary.BigEndian.Uint64(b[:8]), Lo: binary.BigEndian.Uint64(b[8:])}
}

// Spilled reports whether rows went to the external sort: the source then
// reads them back from disk.
func (s *Sort) Spilled() bool { return s.spilled }

// Finish ends the input; schema is its final column types. The Sort is
// then the source of its rows in order.
func (s *Sort) Finish(schema plan.Schema) (exec.Source, error) {
	s.schema = schema
	for w, r := range s.cur {
		if r != nil && len(r.keys) > 0 {
			if s.topN > 0 {
				r.keepFirst(s.topN)
			} else {
				r.sort(&s.scratch[w])
				r.compact(s.flatRoom)
			}
			s.done = append(s.done, r)
		}
		s.cur[w] = nil
	}
	s.scratch, s.spare, s.spareKeys = nil, nil, nil
	if how := Reorderings(s.encs); how != nil {
		if err := s.reorder(how); err != nil {
			return nil, err
		}
	}
	if s.ext != nil {
		// One merge: the runs still in memory go to disk too.
		if err := s.spill(-1); err != nil {
			return nil, err
		}
		s.loan.Release()
		s.mem.Store(0)
	}
	return s, nil
}

// reorder sorts every row again, its order made again with each key as
// how says: the rare case of a key column whose batches came in types
// that order its values apart (numbers then strings, integers past 2^53
// then floats). Every row goes to disk first, so the memory it takes is
// the sort's as before.
func (s *Sort) reorder(how []Reordering) error {
	if err := s.spill(-1); err != nil {
		return err
	}
	old := s.ext
	s.ext = nil
	it, err := old.Sort()
	if err != nil {
		return err
	}
	defer it.Close()
	s.loan.Release()
	s.mem.Store(0)
	enc := s.encs[0]
	suffix := s.suffix()
	r := &sortedRows{}
	s.cur[0] = r
	for n := 1; it.Next(); n++ {
		r.add(enc.Reorder(it.Row(), how, suffix))
		if n%plan.BatchSize == 0 {
			if err := s.account(0); err != nil {
				return err
			}
			if s.cur[0] == nil {
				r = &sortedRows{}
				s.cur[0] = r
			}
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	if s.topN > 0 {
		r.keepFirst(s.topN)
	} else {
		r.sort(nil)
	}
	s.cur[0] = nil
	if len(r.keys) > 0 {
		s.done = append(s.done, r)
	}
	return nil
}

func (s *Sort) Morsels() int                { return 1 }
func (s *Sort) Ordered() bool               { return true }
func (s *Sort) Schema() (plan.Schema, bool) { return s.schema, true }

func (s *Sort) Run(ctx context.Context, _, _ int, push func(*exec.Batch) error) error {
	if s.ext != nil {
		return s.runExternal(ctx, push)
	}
	return s.runMerged(ctx, push)
}

// suffix is how many bytes of ties end the rows' order sections: the same
// for every row, as every encoder that saw a batch made them.
func (s *Sort) suffix() int {
	n := 0
	for _, e := range s.encs {
		n = max(n, e.Suffix())
	}
	return n
}

// decoder makes a Decoder of the Sort's rows.
func (s *Sort) decoder() *Decoder {
	d := NewDecoder(s.schema, s.cells)
	d.positions, d.tiesDesc = s.spec.Positions && s.suffix() > 0, s.spec.TiesDesc
	return d
}

// unique returns the filter of Spec.Unique: whether a row, of rows in
// order, is the first of its keys; nil when every row is kept.
func (s *Sort) unique() func(row []byte) bool {
	if !s.spec.Unique {
		return nil
	}
	suffix := s.suffix()
	var prev []byte
	first := true
	return func(row []byte) bool {
		order := orderOf(row)
		keys := order[:len(order)-suffix]
		if !first && bytes.Equal(keys, prev) {
			return false
		}
		first = false
		prev = append(prev[:0], keys...)
		return true
	}
}

// Close frees the runs and the external sort's files.
func (s *Sort) Close() error {
	s.done, s.slab = nil, nil
	s.cur = nil
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
	start := time.Now()
	ext := s.ext
	runs := ext.Runs()
	s.env.Events.Event(exec.Event{Kind: exec.EvMergeStart, Op: s.op, RowsIn: ext.Rows(), Runs: runs, At: start})
	it, err := ext.Sort()
	s.ext = nil // the iterator owns its files now
	if err != nil {
		return err
	}
	defer it.Close()
	var merged int64
	defer func() {
		// The rows since the last EvMergeRows, also of a merge a limit
		// above stopped: the merge's progress adds up to its rows.
		if rest := merged % mergeEvery; rest > 0 {
			s.env.Events.Event(exec.Event{Kind: exec.EvMergeRows, Op: s.op, RowsOut: rest, At: time.Now()})
		}
		s.env.Events.Event(exec.Event{Kind: exec.EvMerge, Op: s.op, RowsIn: merged, Runs: runs, Level: ext.Levels() + 1, Dur: time.Since(start), At: time.Now()})
	}()
	batches := NewBatches(s.decoder(), push)
	keep := s.unique()
	for it.Next() {
		if merged++; merged%mergeEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			s.env.Events.Event(exec.Event{Kind: exec.EvMergeRows, Op: s.op, RowsOut: mergeEvery, At: time.Now()})
		}
		if keep != nil && !keep(it.Row()) {
			continue
		}
		// The iterator's row is valid until the next Next: Add copies it.
		if err := batches.Add(it.Row()); err != nil {
			return err
		}
	}
	if err := it.Err(); err != nil {
		return err
	}
	return batches.Flush()
}

// mergeEvery is how many merged rows an EvMergeRows event reports.
const mergeEvery = 1 << 16

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
		decoders <- s.decoder()
	}
	type out struct {
		dec *Decoder
		b   *exec.Batch
	}
	batches := make(chan out, 3)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(picked.full)
		out := newFiller(picked)
		keep := s.unique()
		mergeRunsSplit(runs, func(run int, ref uint64) bool {
			if keep != nil && !keep(runs[run].get(ref)) {
				return true
			}
			return out.add(rowRef{run, ref})
		})
		out.flush()
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
				rows = append(rows, runs[rr.run].get(rr.ref))
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

// filler fills a pipe's buffers, slices, and passes each on when it is
// full. Used by the pipe's one sender.
type filler[T any] struct {
	p  *pipe[[]T]
	b  []T
	ok bool // false once the pipe was stopped
}

func newFiller[T any](p *pipe[[]T]) *filler[T] {
	b, ok := p.take()
	return &filler[T]{p: p, b: b, ok: ok}
}

// add appends x to the buffer, and passes the buffer on when it is full.
// It returns false once the pipe was stopped.
func (f *filler[T]) add(x T) bool {
	if !f.ok {
		return false
	}
	if f.b = append(f.b, x); len(f.b) < cap(f.b) {
		return true
	}
	if f.ok = f.p.send(f.b); f.ok {
		f.b, f.ok = f.p.take()
	}
	return f.ok
}

// flush passes on what the buffer holds.
func (f *filler[T]) flush() {
	if f.ok && len(f.b) > 0 {
		f.p.send(f.b)
	}
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
