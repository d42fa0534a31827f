package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// countSink counts the rows it is given (a plan.Count).
type countSink struct{ n int64 }

func (c *countSink) Consume(_, _ int, b *exec.Batch) error {
	atomic.AddInt64(&c.n, int64(b.N))
	return nil
}

func (c *countSink) EndMorsel(int, int) error { return nil }

// source is the count as one row.
func (c *countSink) source() exec.Source { return &countSource{n: c.n} }

type countSource struct{ n int64 }

func (c *countSource) Morsels() int  { return 1 }
func (c *countSource) Ordered() bool { return true }
func (c *countSource) Close() error  { return nil }
func (c *countSource) Schema() (plan.Schema, bool) {
	return plan.Schema{{Name: "count", Type: plan.Int}}, true
}

func (c *countSource) Run(_ context.Context, _, _ int, push func(*exec.Batch) error) error {
	v := &plan.Vector{}
	v.Reset(plan.Int, 1)
	v.Ints[0] = c.n
	b := &exec.Batch{}
	b.Cols = []*plan.Vector{v}
	b.N = 1
	return push(b)
}

// countRows counts the records of every input, for a scan whose rows are
// only counted. A file with no quotes, CRs or blank lines is counted from
// the splitter's pre-pass alone; other files are scanned in parallel
// partitions; streams are chunked through the worker pool. in is the rows
// the scan's events put out: rows, and those of partitions counted in
// vain before a file was counted again serially.
func (s *scanSource) countRows(ctx context.Context) (rows, in int64, err error) {
	ds := s.ds
	var total atomic.Int64
	var void int64
	var next atomic.Int64
	var read atomic.Int64 // bytes the partitions of the current file counted
	count := func(ctx context.Context, w int, sc *readers.Scanner, bytes int64) error {
		m := int(next.Add(1) - 1)
		t := s.startMorsel(w, m)
		var n int64
		var err error
		for sc.Next() {
			if n++; n%checkEvery == 0 {
				if err = ctx.Err(); err != nil {
					break
				}
			}
		}
		// The morsel ends however it ended (a cancellation too): a
		// morsel that started always ends.
		t.rows = n
		s.endMorsel(w, m, t, bytes)
		read.Add(bytes)
		total.Add(n)
		if err != nil {
			return err
		}
		return sc.Err()
	}
	for fi, src := range ds.inputs {
		if !ds.reads(fi) {
			continue
		}
		if src.chunker != nil {
			s.announce(src.in.Size)
			err := ds.eachChunk(ctx, src, func(ctx context.Context, w int, wk chunkWork) error {
				m := int(next.Add(1) - 1)
				t := s.startMorsel(w, m)
				n, err := readers.CountRecords(wk.ch.Data, ds.cfg.Dialect, displayName(src.in.Path), wk.ch.Offset, wk.ch.Line)
				if err != nil {
					s.endMorsel(w, m, t, wk.consumed) // a morsel that started ends, also in error
					return ds.chunkError(src, wk.ch, err)
				}
				t.rows = n
				s.endMorsel(w, m, t, wk.consumed)
				total.Add(n)
				return nil
			})
			if err != nil {
				return 0, 0, err
			}
			continue
		}
		rgs := ds.regions(fi)
		s.announce(regionBytes(rgs))
		for _, rg := range rgs {
			v, err := s.countRegion(ctx, src, rg, count, &total, &next, &read)
			if err != nil {
				return 0, 0, err
			}
			void += v
		}
	}
	return total.Load(), total.Load() + void, nil
}

// countRegion counts the records of region rg of a splittable source
// (the data region, or a unit) into total, with count for a partition's
// scan; it returns the rows of partitions counted in vain. A region with
// no quotes, CRs or blank lines is counted from the split's pre-pass of
// the region alone; others are scanned in partitions, and serially when a
// seam fails.
func (s *scanSource) countRegion(ctx context.Context, src *source, rg region,
	count func(ctx context.Context, w int, sc *readers.Scanner, bytes int64) error,
	total, next, read *atomic.Int64) (void int64, err error) {
	ds := s.ds
	data := rg.end - rg.start
	start := time.Now()
	lay, err := readers.Split(ctx, src.in.File, src.in.Path, rg.start, rg.end, ds.cfg.blocksize(data), ds.cfg.Workers)
	if err != nil {
		return 0, err
	}
	if testHookRead != nil {
		testHookRead(src.in.Path)
	}
	if lay.Plain(ds.cfg.Dialect.MaxRecordSize) {
		// The split's pre-pass was the count: one morsel on worker 0
		// that took the split's time. Its start is known to be a
		// morsel only now, so it is sent now, At when the split began;
		// the end follows it (a morsel is drawn from start to end).
		n := lay.PlainRecords()
		m := int(next.Add(1) - 1)
		s.env.Events.Event(exec.Event{Kind: exec.EvMorselStart, Op: s.op, Worker: 0, Morsel: m, At: start})
		s.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: s.op, Worker: 0, Morsel: m, RowsOut: n, Bytes: data,
			Dur: time.Since(start), At: time.Now()})
		total.Add(n)
		return 0, nil
	}
	before := total.Load()
	read.Store(0)
	err = exec.Parallel(ctx, ds.cfg.Workers, len(lay.Partitions), func(ctx context.Context, w, i int) error {
		p := lay.Partitions[i]
		return ds.scanPartitionWith(ctx, nil, src, rg, p, 0, func(sc *readers.Scanner) error { return count(ctx, w, sc, p.End-p.Start) })
	})
	if errors.Is(err, errSplit) {
		// The partitions' morsels are void: the file is counted again,
		// serially. What they read is read again: announced, so the
		// bytes read still add up to the bytes announced. Their rows
		// went out of the scan as its events said: the count takes
		// them in, and drops them.
		void += total.Load() - before
		total.Store(before)
		if read.Load() > 0 {
			s.announce(read.Load())
		}
		err = ds.scanPartitionWith(ctx, nil, src, rg, rg.partition(src), serial, func(sc *readers.Scanner) error { return count(ctx, 0, sc, data) })
	}
	return void, err
}
