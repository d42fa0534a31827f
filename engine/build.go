package engine

import (
	"context"
	"errors"
	"fmt"
	"github.com/gdask/gdask/internal/fsname"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"
	"github.com/gdask/gdask/engine/sorter"
	"github.com/gdask/gdask/engine/stream"
	"github.com/gdask/gdask/plan"
)

// RunOptions are a run's choices that are not part of its plan.
type RunOptions struct {
	SkipBadRows bool // skip rows whose numeric field is not a number, and count them
}

// RunStats are what a run did besides its answer.
type RunStats struct {
	SkippedRows  int64
	SpilledRuns  int   // hash tables written to disk while aggregating
	SpilledBytes int64 // compressed bytes written to spill files
	Repartitions int   // radix partitions cut again because they were too big
	PassedRows   int64 // rows a shard's aggregates passed to the merge ungrouped
}

// Run executes an optimised plan over the dataset and writes its root's
// rows to out. The plan is made into operators by one switch (build);
// a node it does not know is an error before anything runs.
func (ds *Dataset) Run(ctx context.Context, root plan.Node, out *Output, opts RunOptions) (*RunStats, error) {
	return ds.run(ctx, root, out, opts, nil, nil)
}

// run is Run, a shard's (RunShard) or a merge's (RunMerge) when shard is
// not nil; attempt, when not nil, is called before each attempt.
func (ds *Dataset) run(ctx context.Context, root plan.Node, out *Output, opts RunOptions, attempt func() error, shard *shardIO) (*RunStats, error) {
	modes := make([]splitMode, len(ds.inputs))
	for {
		if attempt != nil {
			if err := attempt(); err != nil {
				return nil, err
			}
		}
		st, err := ds.runOnce(ctx, root, out, opts, modes, shard)
		if cerr := ds.checkInputs(); cerr != nil {
			return nil, cerr
		}
		var se *splitError
		if errors.As(err, &se) && modes[se.input] < splitSerial {
			// A seam did not hold, or an error came from a partition whose
			// line numbers are unknown: split that file more carefully and
			// start again. The last resort reads it serially, which gives
			// exact line numbers for an error.
			modes[se.input]++
			continue
		}
		return st, err
	}
}

// scanAll reads every input into the sink newSink makes, in any order,
// with the scan driver's split ladder (a new sink when it starts again),
// and returns the scan.
func (ds *Dataset) scanAll(ctx context.Context, spec *scanSpec, newSink func() exec.Sink) (*scanSource, error) {
	modes := make([]splitMode, len(ds.inputs))
	env := &exec.Env{Workers: max(ds.cfg.Workers, 1), Broker: exec.NewBroker(ds.cfg.MemoryLimit, ds.events()), Events: ds.events(),
		Temp: exec.NewTempDir(ds.cfg.SpillFS, ds.cfg.TempDir, ds.events())}
	defer env.Temp.Close()
	for {
		env.Events.Event(exec.Event{Kind: exec.EvRunStart, Op: -1, At: time.Now()})
		s := newScanSource(ds, spec, 0, env, modes)
		sink := newSink()
		err := s.runUnordered(ctx, &pipeline{env: env, sink: sink, sinkID: -1, ops: make([][]exec.Operator, env.Workers), stats: statsFor(env.Workers, 0)})
		if cerr := ds.checkInputs(); cerr != nil {
			return nil, cerr
		}
		var se *splitError
		if errors.As(err, &se) && modes[se.input] < splitSerial {
			modes[se.input]++
			continue
		}
		return s, err
	}
}

// copyStreams gives every stream input not yet read a copy in the run's
// temp dir, unlinked at once: the scans fill it as they read the stream
// and read again what an earlier scan read (streamCopy).
func (ds *Dataset) copyStreams(temp *exec.TempDir) error {
	for _, s := range ds.inputs {
		if s.chunker == nil || s.read || s.copy != nil {
			continue
		}
		dir, err := temp.Get()
		if err != nil {
			return err
		}
		f, err := os.CreateTemp(dir.Path(), "gdask-stream-*")
		if err != nil {
			return fmt.Errorf("cannot keep a copy of %s in --temp-dir: %w", fsname.Quote(displayName(s.in.Path)), fsname.Cause(err))
		}
		os.Remove(f.Name()) // unlinked: gone with the process whatever happens
		s.copy = newStreamCopy(f, displayName(s.in.Path), s.header.DataStart)
	}
	return nil
}

// newBroker returns the run's memory broker with the run's fixed
// overhead already taken, or an error when --memory-limit leaves nothing
// to lend.
func (ds *Dataset) newBroker(ev exec.Events) (*exec.Broker, error) {
	broker := exec.NewBroker(ds.cfg.MemoryLimit, ev)
	if over := ds.fixedOverhead(); !broker.TryBorrow(over) {
		return nil, fmt.Errorf("--memory-limit %d bytes is too small to run at all: with %d workers this run needs at least %d MiB (raise it, or lower --workers)",
			ds.cfg.MemoryLimit, max(ds.cfg.Workers, 1), (over+(1<<20)-1)>>20)
	}
	return broker, nil
}

// fixedOverhead is memory a run needs whatever the data: the Go runtime
// and binary, each worker's 1 MiB read buffer and batch scratch, a spill
// writer's 16 partition buffers, and the chunk buffers of streamed inputs.
func (ds *Dataset) fixedOverhead() int64 {
	w := int64(max(ds.cfg.Workers, 1))
	n := int64(24<<20) + w*(2<<20) + 16*(32<<10)*w
	for _, s := range ds.inputs {
		if s.chunker != nil {
			n += (w + 2) * int64(ds.cfg.chunkSize()) * 2 // buffers and the chunker's carry
			break
		}
	}
	return n
}

// events is where the run's events go.
func (ds *Dataset) events() exec.Events {
	if ds.cfg.Events == nil {
		return exec.NoEvents{}
	}
	return ds.cfg.Events
}

// NodeIDs numbers the nodes of a plan as Explain prints them, root 0:
// events name operators by these numbers.
func NodeIDs(root plan.Node) map[plan.Node]int {
	ids := map[plan.Node]int{}
	plan.Walk(root, func(n plan.Node) { ids[n] = len(ids) })
	return ids
}

// runner is one attempt at running a plan.
type runner struct {
	ds      *Dataset
	env     *exec.Env
	opts    RunOptions
	out     *Output
	ids     map[plan.Node]int
	top     plan.Node // the root below its Limits: its rows go to the output as they are
	limits  []int     // the root's Limit nodes, run by the output
	roles   map[*plan.Scan]*scanRoles
	modes   []splitMode
	scans   []*scanSource
	aggs    []*hashagg.Aggregate
	closers []func() error
	aggOf   map[plan.Node]*hashagg.Aggregate // each Aggregate node's operator
	spilled bool                             // rows of the output come back from spill files
	shard   *shardIO                         // a shard's or a merge's (shard.go); nil for a local run
}

func (ds *Dataset) runOnce(ctx context.Context, root plan.Node, out *Output, opts RunOptions, modes []splitMode, shard *shardIO) (_ *RunStats, err error) {
	ev := ds.events()
	ev.Event(exec.Event{Kind: exec.EvRunStart, Op: -1, At: time.Now()})
	broker, err := ds.newBroker(ev)
	if err != nil {
		return nil, err
	}
	temp := exec.NewTempDir(ds.cfg.SpillFS, ds.cfg.TempDir, ev)
	r := &runner{ds: ds, opts: opts, out: out, ids: NodeIDs(root), modes: modes, aggOf: map[plan.Node]*hashagg.Aggregate{}, shard: shard,
		env: &exec.Env{Workers: max(ds.cfg.Workers, 1), Broker: broker, Events: ev, Temp: temp, MergeFanIn: ds.cfg.MergeFanIn}}
	if shard != nil {
		r.env.HashSeed = shardHashSeed
	}
	defer func() {
		for i := len(r.closers) - 1; i >= 0; i-- {
			if cerr := r.closers[i](); cerr != nil && err == nil {
				err = cerr
			}
		}
		if cerr := temp.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// Limits at the root are the output's: it stops the run once it has
	// written their rows.
	limit := int64(-1)
	top := root
	var limits []int // the root's Limits, which the output runs
	for l, ok := top.(*plan.Limit); ok; l, ok = top.(*plan.Limit) {
		if limit < 0 || l.N < limit {
			limit = l.N
		}
		limits = append(limits, r.ids[l])
		top = l.Child
	}
	r.limits = limits
	scans := 0
	plan.Walk(root, func(n plan.Node) {
		if _, ok := n.(*plan.Scan); ok {
			scans++
		}
	})
	if scans > 1 {
		// A stream can be read once: its scans keep a copy of what they
		// read for the others (an Attach's children each scan the input),
		// however far each one reads.
		if err := ds.copyStreams(temp); err != nil {
			return nil, err
		}
	}
	r.roles = rolesOf(top, out != nil && out.Format == "csv" && ds.cfg.Dialect.Delimiter == ',')
	r.top = top
	st, err := r.build(top)
	if err != nil {
		return nil, err
	}
	if shard != nil && !shard.merge {
		err = r.shardOutput(ctx, st, limit)
	} else {
		err = r.output(ctx, st, limit)
	}
	if err != nil {
		return nil, err
	}
	stats := &RunStats{SpilledBytes: temp.Bytes()}
	for _, s := range r.scans {
		stats.SkippedRows += s.skipped()
	}
	for _, a := range r.aggs {
		as := a.Stats()
		stats.SpilledRuns += as.SpilledRuns
		stats.Repartitions += as.Repartitions
		stats.PassedRows += as.PassedRows
	}
	return stats, nil
}

// stage makes the rows of a plan node: open runs every pipeline below the
// node's source and returns the stream of its rows.
type stage struct {
	open func(ctx context.Context) (*rowStream, error)
}

// rowStream is rows on their way: from a scan or a finished breaker's
// source, through streaming operators, not yet into a sink.
type rowStream struct {
	scan   *scanSource
	src    exec.Source
	srcOp  int // the source's node
	ops    []opStage
	schema plan.Schema // the rows' columns, after ops
	raw    bool        // the rows carry their records as the input has them (Batch.Raw)
}

// serial reports whether the stream's rows come on one worker, in order.
func (s *rowStream) serial() bool {
	return s.src != nil && s.src.Ordered() && s.src.Morsels() == 1
}

// opStage is a streaming operator of a pipeline: make gives each worker
// its own.
type opStage struct {
	id   int
	make func() exec.Operator
}

// build is the builder: one switch from plan nodes to operators.
func (r *runner) build(n plan.Node) (*stage, error) {
	id := r.ids[n]
	switch n := n.(type) {
	case *plan.Scan:
		return &stage{open: func(context.Context) (*rowStream, error) {
			s := newScanSource(r.ds, r.scanSpec(n), id, r.env, r.modes)
			r.scans = append(r.scans, s)
			return &rowStream{scan: s, srcOp: id, schema: n.Input}, nil
		}}, nil
	case *plan.Filter:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			s.ops = append(s.ops, opStage{id, func() exec.Operator { return stream.NewFilter(n.Pred) }})
			return s, nil
		})
	case *plan.Project:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			s.ops = append(s.ops, opStage{id, func() exec.Operator { return stream.NewProject(n.Cols) }})
			schema := make(plan.Schema, len(n.Cols))
			for i, c := range n.Cols {
				schema[i] = n.Schema()[i]
				if !c.Derived() {
					schema[i].Type = s.schema[c.Col].Type
				}
			}
			s.schema = schema
			return s, nil
		})
	case *plan.Limit:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			if s.serial() {
				s.ops = append(s.ops, opStage{id, func() exec.Operator { return stream.NewLimit(n.N) }})
				return s, nil
			}
			// Rows from many workers: the first N in order come through
			// an ordered sink, on one worker.
			return &rowStream{src: &limitSource{r: r, up: s, n: n.N, id: id}, srcOp: id, schema: s.schema}, nil
		})
	case *plan.Aggregate:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			a, err := hashagg.New(r.env, id, n)
			if err != nil {
				return nil, err
			}
			r.aggs = append(r.aggs, a)
			r.aggOf[n] = a
			cut, merge := r.cut(n)
			if cut && !merge {
				a.WritesStates(r.statesOut(id), r.shardProgress)
			}
			if cut && merge {
				err = r.loadStates(ctx, id, a)
			} else {
				err = r.drain(ctx, s, a, id, nil)
			}
			if err != nil {
				return nil, err
			}
			src, err := a.Finish(ctx)
			if err != nil {
				return nil, err
			}
			r.closers = append(r.closers, src.Close)
			schema, _ := src.Schema()
			if cut && !merge {
				return emptyStream(id, schema), r.dumpStates(ctx, id, a)
			}
			return &rowStream{src: src, srcOp: id, schema: schema}, nil
		})
	case *plan.Sort:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			spec := r.sortSpec(s, n)
			spec.Keys, spec.TopN = n.Keys, n.TopN
			return r.sortRows(ctx, s, id, id, spec, n)
		})
	case *plan.Distinct:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			return r.distinct(ctx, n, id, s)
		})
	case *plan.Normalize:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			agg, _ := plan.NormalizedAggregate(n.Child, n.Col)
			a := r.aggOf[agg]
			if a == nil {
				return nil, fmt.Errorf("BUG: Normalize before its aggregate ran")
			}
			total := a.RowsIn()
			s.ops = append(s.ops, opStage{id, func() exec.Operator { return stream.NewShare(n.Col, total) }})
			s.schema = n.Schema()
			return s, nil
		})
	case *plan.Attach:
		main, err := r.build(n.Main)
		if err != nil {
			return nil, err
		}
		parts := make([]*stage, len(n.Parts))
		for i, p := range n.Parts {
			if parts[i], err = r.build(p); err != nil {
				return nil, err
			}
		}
		return &stage{open: func(ctx context.Context) (*rowStream, error) {
			// Each child runs to its sorted rows (a breaker), one after
			// another; the zip then streams them all at once.
			ms, err := main.open(ctx)
			if err != nil {
				return nil, err
			}
			// The children are sorted, so their types are final: a sum
			// that left int64 is Float here, as it prints.
			src := &attachSource{r: r, main: ms, keys: n.Keys, schema: slices.Clone(ms.schema)}
			for _, p := range parts {
				ps, err := p.open(ctx)
				if err != nil {
					return nil, err
				}
				src.parts = append(src.parts, ps)
				src.schema = append(src.schema, ps.schema[len(ps.schema)-1])
			}
			return &rowStream{src: src, srcOp: id, schema: src.schema}, nil
		}}, nil
	case *plan.Count:
		return r.over(n.Child, func(ctx context.Context, s *rowStream) (*rowStream, error) {
			c := &countSink{}
			cut, merge := r.cut(n)
			if cut && merge {
				var err error
				if c.n, err = r.loadCount(id); err != nil {
					return nil, err
				}
			} else if s.scan != nil && len(s.ops) == 0 && s.scan.spec.rowsOnly() {
				rows, in, err := s.scan.countRows(ctx)
				if err != nil {
					return nil, err
				}
				c.n = rows
				// The scan counted: the Count ran on no worker and no
				// morsel, so its rows in are figures only (Morsel -1). They
				// are the rows the scan's events put out, void ones too.
				r.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: id, Worker: -1, Morsel: -1, RowsIn: in, At: time.Now()})
			} else if err := r.drain(ctx, s, c, id, nil); err != nil {
				return nil, err
			}
			if cut && !merge {
				return emptyStream(id, n.Schema()), r.dumpCount(id, c.n)
			}
			return &rowStream{src: c.source(), srcOp: id, schema: n.Schema()}, nil
		})
	}
	return nil, fmt.Errorf("BUG: the engine cannot run a %T (%s)", n, n)
}

// over builds child and returns the stage that opens it and hands its
// rows to next: the shape of every node with one input.
func (r *runner) over(child plan.Node, next func(ctx context.Context, s *rowStream) (*rowStream, error)) (*stage, error) {
	c, err := r.build(child)
	if err != nil {
		return nil, err
	}
	return &stage{open: func(ctx context.Context) (*rowStream, error) {
		s, err := c.open(ctx)
		if err != nil {
			return nil, err
		}
		return next(ctx, s)
	}}, nil
}

// sortSpec is how a Sort of node n sorts the rows of s: ties keep their
// input order (rows from a scan carry their positions, rows from one
// ordered source come in order), and they are kept as the output will
// read them when n is the root.
func (r *runner) sortSpec(s *rowStream, n plan.Node) sorter.Spec {
	spec := sorter.Spec{Fields: r.ds.recordFields}
	switch {
	case s.scan != nil:
		spec.Ties = sorter.TiesByPosition
	case s.serial():
		spec.Ties = sorter.TiesByArrival
	}
	// Types settled before the rows come, and rows that go to the output
	// as they are: each cell as its output text.
	final := s.scan != nil
	if s.src != nil {
		_, final = s.src.Schema()
	}
	switch {
	case s.raw || s.scan != nil && s.scan.spec.raw:
		spec.Cells = sorter.CellsRaw // the roles made this the root's, over records as they are
	case final && n == r.top && len(s.ops) == 0:
		spec.Cells = sorter.CellsText
	}
	return spec
}

// sortRows runs s into a Sort made of spec, the Sort of node id, and
// returns its rows; the pipeline into it reports as node in's. node is
// the plan node whose rows these are when the sort may be a cut of a
// sharded run (nil: it is not).
func (r *runner) sortRows(ctx context.Context, s *rowStream, id, in int, spec sorter.Spec, node plan.Node) (*rowStream, error) {
	srt := sorter.NewSort(r.env, id, spec)
	r.closers = append(r.closers, srt.Close)
	cut, merge := r.cut(node)
	var err error
	if cut && merge {
		err = r.loadRuns(id, srt)
	} else {
		err = r.drain(ctx, s, srt, in, nil)
	}
	if err != nil {
		return nil, err
	}
	schema := s.schema
	if s.src != nil && len(s.ops) == 0 {
		schema, _ = s.src.Schema() // settled now that every morsel ran
	}
	src, err := srt.Finish(schema)
	if err != nil {
		return nil, err
	}
	if cut && !merge {
		return emptyStream(id, schema), r.dumpRows(ctx, id, srt)
	}
	r.spilled = r.spilled || srt.Spilled()
	return &rowStream{src: src, srcOp: id, schema: schema, raw: spec.Cells == sorter.CellsRaw}, nil
}

// distinct runs a Distinct of the rows of s as two sorts: by its keys,
// ties in input order (last first for keep=last), keeping the first row
// of each key; then the kept rows by their input order. Both are the
// external sort, so any number of distinct rows fits the memory limit.
func (r *runner) distinct(ctx context.Context, n *plan.Distinct, id int, s *rowStream) (*rowStream, error) {
	first := r.sortSpec(s, nil)
	if first.Cells == sorter.CellsText {
		first.Cells = sorter.CellsTyped
	}
	for _, k := range n.KeyCols() {
		first.Keys = append(first.Keys, plan.SortKey{Col: k})
	}
	first.Unique, first.TiesDesc, first.Positions = true, n.KeepLast, true
	kept, err := r.sortRows(ctx, s, id, id, first, n)
	if err != nil || first.Ties == sorter.TiesByBytes {
		return kept, err // rows of no defined order: they stay in key order
	}
	kept.srcOp = -1 // the Distinct's rows out are the second sort's
	again := r.sortSpec(kept, n)
	again.Ties = sorter.TiesByPosition // the ties the first sort gave back
	if first.Cells == sorter.CellsRaw {
		again.Cells = sorter.CellsRaw
	}
	return r.sortRows(ctx, kept, id, -1, again, nil)
}

// drain runs the pipeline of s into sink (the node id's), in any order,
// or in order through o when o is not nil.
func (r *runner) drain(ctx context.Context, s *rowStream, sink exec.Sink, id int, o ordered) error {
	p := r.pipeline(s, sink, id)
	if s.scan != nil {
		if o != nil {
			return s.scan.runOrdered(ctx, p, o)
		}
		return s.scan.runUnordered(ctx, p)
	}
	run := func(ctx context.Context, w, m int) error {
		if o != nil {
			if err := o.admit(ctx, m); err != nil {
				return err
			}
		}
		start := time.Now()
		r.env.Events.Event(exec.Event{Kind: exec.EvMorselStart, Op: s.srcOp, Worker: w, Morsel: m, At: start})
		var rows int64
		var pushTime time.Duration
		err := s.src.Run(ctx, w, m, func(b *exec.Batch) error {
			rows += int64(b.N)
			t := time.Now()
			err := p.push(w, m, b)
			pushTime += time.Since(t)
			return err
		})
		r.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: s.srcOp, Worker: w, Morsel: m, RowsOut: rows,
			Dur: time.Since(start) - pushTime, At: time.Now()})
		if o == nil && errors.Is(err, exec.ErrStop) {
			// A Limit of the pipeline has its rows (the sink, a breaker,
			// never stops): the source ends there, and the morsel ends
			// as any other, or the sink never finishes its run.
			err = nil
		}
		if err != nil {
			p.report(w, m)
			return err
		}
		if o != nil {
			if err := o.endMorsel(w, m, morselEnd{want: -1}); err != nil {
				p.report(w, m) // the operators' figures go out however the morsel ends (the output stopped it)
				return err
			}
		}
		return p.endMorsel(w, m)
	}
	if s.serial() {
		return run(ctx, 0, 0)
	}
	if o != nil {
		o.startRound(0, 0)
	}
	return exec.Parallel(ctx, r.env.Workers, s.src.Morsels(), func(ctx context.Context, w, m int) error {
		return run(ctx, w, m)
	})
}

// output writes the rows of the plan's root to the run's Output, at most
// limit of them (-1: all).
func (r *runner) output(ctx context.Context, b *stage, limit int64) error {
	s, err := b.open(ctx)
	if err != nil {
		return err
	}
	how := Streamed
	switch {
	case r.shard != nil && r.shard.cuts.rows:
		// A merge of rows: each shard's, in shard order, as they are read.
		spec := rowsCodec(s)
		s = &rowStream{src: &rowsSource{r: r, schema: s.schema, cells: spec.Cells}, srcOp: -1, schema: s.schema, raw: spec.Cells == sorter.CellsRaw}
	case s.src != nil && r.spilled:
		how = Spilled
	case s.src != nil:
		how = Settled
	}
	if s.src != nil && len(s.ops) == 0 {
		s.schema, _ = s.src.Schema()
	}
	cols := writerColumns(s.schema)
	w, err := r.out.Open(cols, how)
	if err != nil {
		return err
	}
	if err := w.Begin(cols); err != nil {
		return err
	}
	sink := newOrderedSink(2*r.env.Workers, limit)
	if typedOnly(r.out.Format) {
		rw := &rowWriter{schema: s.schema, w: w, typed: true, fields: make([][]byte, len(s.schema))}
		sink.down = rw.write
	} else {
		raw := s.raw || s.scan != nil && s.scan.spec.raw
		sink.encs = make([]*rowEncoder, r.env.Workers)
		for i := range sink.encs {
			sink.encs[i] = newRowEncoder(r.out.Format, s.schema, raw)
		}
		sink.w = w
	}
	start := time.Now()
	if err := r.drain(ctx, s, sink, -1, sink); err != nil && !errors.Is(err, exec.ErrStop) {
		return err
	}
	// The root's Limits ran in the output's sink, over every morsel: their
	// figures are no morsel of a worker (Morsel -1).
	for _, id := range r.limits {
		r.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: id, Worker: -1, Morsel: -1, RowsIn: sink.in, RowsOut: sink.out,
			Dur: time.Since(start), At: time.Now()})
	}
	return w.End()
}

// shardOutput runs a shard's plan: opening the root's stage runs every
// cut below it, which writes its section; when the root's rows are the
// cut (no breaker above the scan), they are written, at most limit.
func (r *runner) shardOutput(ctx context.Context, b *stage, limit int64) error {
	s, err := b.open(ctx)
	if err != nil || !r.shard.cuts.rows {
		return err
	}
	return r.dumpOutput(ctx, s, limit)
}

// typedOnly reports whether format writes whole tables only (table).
func typedOnly(format string) bool { return format == "table" }

// pipeline makes the pipeline of s into sink: each worker its own
// operators.
func (r *runner) pipeline(s *rowStream, sink exec.Sink, sinkID int) *pipeline {
	p := &pipeline{env: r.env, sink: sink, sinkID: sinkID}
	p.ops = make([][]exec.Operator, r.env.Workers)
	p.stats = statsFor(r.env.Workers, len(s.ops))
	for w := range p.ops {
		for _, o := range s.ops {
			p.ops[w] = append(p.ops[w], o.make())
		}
	}
	for _, o := range s.ops {
		p.ids = append(p.ids, o.id)
	}
	return p
}

// pipeline is the streaming operators of every worker and the sink they
// end in.
type pipeline struct {
	env    *exec.Env
	ops    [][]exec.Operator // per worker
	ids    []int
	sink   exec.Sink
	sinkID int
	stats  [][]opCount // per worker, per operator and the sink: the current morsel's
}

// statsFor makes the per-worker figures of a pipeline of ops operators
// and a sink.
func statsFor(workers, ops int) [][]opCount {
	st := make([][]opCount, workers)
	for w := range st {
		st[w] = make([]opCount, ops+1)
	}
	return st
}

// opCount is an operator's figures over one morsel.
type opCount struct {
	in, out int64
	dur     time.Duration
}

// push takes batch b of morsel m through worker w's operators into the
// sink.
func (p *pipeline) push(w, m int, b *exec.Batch) error {
	st := p.stats[w]
	for i, op := range p.ops[w] {
		st[i].in += int64(b.N)
		t := time.Now()
		nb, err := op.Process(b)
		st[i].dur += time.Since(t)
		if err != nil {
			return err
		}
		if nb == nil || nb.N == 0 {
			return nil
		}
		b = nb
		st[i].out += int64(b.N)
	}
	k := len(p.ops[w])
	st[k].in += int64(b.N)
	t := time.Now()
	err := p.sink.Consume(w, m, b)
	st[k].dur += time.Since(t)
	return err
}

// endMorsel tells the sink that worker w has passed all of morsel m and
// reports the operators' figures over it.
func (p *pipeline) endMorsel(w, m int) error {
	k := len(p.ids)
	t := time.Now()
	err := p.sink.EndMorsel(w, m)
	p.stats[w][k].dur += time.Since(t)
	p.report(w, m)
	return err
}

// report sends worker w's operators' figures over morsel m, also of a
// morsel that stopped early (a limit had its rows, an error), and starts
// the next morsel's from zero.
func (p *pipeline) report(w, m int) {
	now := time.Now()
	st := p.stats[w]
	for i, id := range p.ids {
		if st[i] != (opCount{}) {
			p.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: id, Worker: w, Morsel: m, RowsIn: st[i].in, RowsOut: st[i].out, Dur: st[i].dur, At: now})
		}
		st[i] = opCount{}
	}
	k := len(p.ids)
	if p.sinkID >= 0 && st[k] != (opCount{}) {
		p.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: p.sinkID, Worker: w, Morsel: m, RowsIn: st[k].in, Dur: st[k].dur, At: now})
	}
	st[k] = opCount{}
}

// limitSource is the first n rows of a stream whose rows come from many
// workers: its pipeline runs into an ordered sink that hands the rows on,
// in order, to the pipeline above, on one worker.
type limitSource struct {
	r    *runner
	up   *rowStream
	n    int64
	id   int
	once sync.Once
}

func (l *limitSource) Morsels() int                { return 1 }
func (l *limitSource) Ordered() bool               { return true }
func (l *limitSource) Schema() (plan.Schema, bool) { return l.up.schema, true }
func (l *limitSource) Close() error                { return nil }

func (l *limitSource) Run(ctx context.Context, _, _ int, push func(*exec.Batch) error) error {
	sink := newOrderedSink(2*l.r.env.Workers, l.n)
	sink.down = push
	err := l.r.drain(ctx, l.up, sink, -1, sink)
	// The rows that came into the Limit, in figures only (Morsel -1); its
	// morsel's end, sent by drain, has its rows out. Not as the sink of
	// the pipeline below, which reports per morsel of that pipeline: one
	// would be worker 0's morsel 0, the Limit's own, still running.
	l.r.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: l.id, Worker: -1, Morsel: -1, RowsIn: sink.in, At: time.Now()})
	if errors.Is(err, exec.ErrStop) {
		return nil
	}
	return err
}
