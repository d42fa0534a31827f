package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/readers"
)

// The scan driver: the one loop that reads the dataset's inputs for every
// plan. It cuts each file into partitions (the split ladder below), runs
// them on the worker pool, one scanner each, and checks every seam; it cuts
// streams (stdin, .gz, .zst) into record-aligned chunks on one goroutine
// and parses them on the pool. Each worker materialises its records into
// batches (materialize.go) and pushes them through its pipeline.
//
// Two modes:
//   - unordered, for a pipeline breaker (an aggregate, a sort, a count):
//     partitions run in any order; a seam that does not hold, or an error
//     from a partition whose first line is not known, ends the run with a
//     splitError, and the run starts again with that file split more
//     carefully (the last resort reads it serially, for exact lines);
//   - ordered, for rows that leave in input order (an output, a limit):
//     the sink takes partitions in order (a window of them in flight), so a
//     partition is known good once every partition before it was, and a
//     failed seam only means splitting the rest of the file again from
//     where the good part ended; errors are resolved in order too, with
//     exact lines.

// checkEvery is how many records a worker handles between looks at ctx.
const checkEvery = 1 << 14

// splitMode is how a splittable input is partitioned, from the cheapest
// guess to the serial read that always holds.
type splitMode uint8

const (
	splitLines  splitMode = iota // cuts at line ends (readers.SplitLines): no pre-pass
	splitQuotes                  // cuts by quote parity (readers.Split): one pre-pass
	splitSerial                  // one partition
)

// splitError is errSplit for one input.
type splitError struct{ input int }

func (e *splitError) Error() string { return errSplit.Error() }

// errSplit marks a partitioned read that disagreed with the record
// structure (a seam that did not hold, or an error that a serial read must
// confirm).
var errSplit = errors.New("split disagreed with a serial read")

// scanSource is a Scan's rows: the dataset's inputs, materialised as spec
// says, with op the Scan node's number for events.
type scanSource struct {
	ds       *Dataset
	spec     *scanSpec
	op       int
	env      *exec.Env
	mats     []*materializer // per worker
	scanners scanners        // per worker, reused from partition to partition
	modes    []splitMode     // per input, for the unordered mode
	parts    []int           // per input: the partitions it was read in
	read     atomic.Int64    // bytes of the records pushed, as batches go out (a shard's progress)
}

func newScanSource(ds *Dataset, spec *scanSpec, op int, env *exec.Env, modes []splitMode) *scanSource {
	s := &scanSource{ds: ds, spec: spec, op: op, env: env, modes: modes, parts: make([]int, len(ds.inputs)),
		scanners: make(scanners, max(env.Workers, 1))}
	s.mats = make([]*materializer, max(env.Workers, 1))
	for w := range s.mats {
		s.mats[w] = newMaterializer(spec, &ds.cfg.Dialect)
	}
	return s
}

// skipped is the records skipped for values that are not numbers.
func (s *scanSource) skipped() int64 {
	var n int64
	for _, m := range s.mats {
		n += m.skipped
	}
	return n
}

// morselTimer reports one morsel of the scan: its rows, the input bytes it
// covered and the time the scan itself took (the pipeline's is not its).
type morselTimer struct {
	start    time.Time
	pushTime time.Duration
	rows     int64
}

// scan reads sc's records into worker w's batches and pushes each through
// p as morsel m. It returns the scanner's or materialiser's error as
// scanErr, and what the pipeline returned as pushErr.
func (s *scanSource) scan(ctx context.Context, p *pipeline, w, m int, sc *readers.Scanner, input int, t *morselTimer) (scanErr, pushErr error) {
	mat := s.mats[w]
	// The operators' figures for the morsel go out however it ends: a
	// limit that stopped it, an error, a cancellation.
	defer p.report(w, m)
	last := sc.Offset()
	push := func(b *exec.Batch) error {
		if b == nil {
			return nil
		}
		off := sc.Offset()
		s.read.Add(off - last)
		last = off
		t.rows += int64(b.N)
		start := time.Now()
		err := p.push(w, m, b)
		t.pushTime += time.Since(start)
		return err
	}
	// The batch points into the scanner's buffer: it goes on before the
	// scanner refills it.
	var refillErr error
	sc.OnRefill(func() {
		if refillErr == nil {
			refillErr = push(mat.flush())
		}
	})
	defer sc.OnRefill(nil)
	n := 0
	for sc.Next() {
		if refillErr != nil {
			return nil, refillErr
		}
		full, err := mat.add(sc, input)
		if err != nil {
			mat.rows = 0
			return err, nil
		}
		if full {
			if err := push(mat.flush()); err != nil {
				return nil, err
			}
		}
		if n++; n == checkEvery {
			n = 0
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	if refillErr != nil {
		return nil, refillErr
	}
	if err := sc.Err(); err != nil {
		mat.rows = 0
		return err, nil
	}
	return nil, push(mat.flush())
}

func (s *scanSource) startMorsel(w, m int) *morselTimer {
	s.env.Events.Event(exec.Event{Kind: exec.EvMorselStart, Op: s.op, Worker: w, Morsel: m, At: time.Now()})
	return &morselTimer{start: time.Now()}
}

func (s *scanSource) endMorsel(w, m int, t *morselTimer, bytes int64) {
	s.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: s.op, Worker: w, Morsel: m, RowsOut: t.rows,
		Bytes: bytes, Dur: time.Since(t.start) - t.pushTime, At: time.Now()})
}

// announce says the scan is about to read bytes of an input. A size that
// is not known (stdin's is -1) is announced as 0, as exec.EvInput says: a
// negative size took a byte off every other input's total.
func (s *scanSource) announce(bytes int64) {
	s.env.Events.Event(exec.Event{Kind: exec.EvInput, Op: s.op, Bytes: max(bytes, 0), At: time.Now()})
}

// runUnordered passes every record of every input through p, in any
// order. A file that must be split more carefully ends it with a
// *splitError.
func (s *scanSource) runUnordered(ctx context.Context, p *pipeline) error {
	ds := s.ds
	var next atomic.Int64 // morsel numbers, unique over the run
	for _, fi := range filesFirst(ds.inputs) {
		src := ds.inputs[fi]
		if !ds.reads(fi) {
			continue
		}
		var err error
		switch {
		case src.chunker != nil:
			s.announce(src.in.Size)
			err = ds.eachChunk(ctx, src, func(ctx context.Context, w int, wk chunkWork) error {
				ch := wk.ch
				m := int(next.Add(1) - 1)
				t := s.startMorsel(w, m)
				sc := readers.NewBytesScanner(ch.Data, ds.cfg.Dialect, displayName(src.in.Path), ch.Offset, ch.Line)
				sc.SetFieldCount(len(ds.Names))
				scanErr, pushErr := s.scan(ctx, p, w, m, sc, fi, t)
				s.endMorsel(w, m, t, wk.consumed)
				if scanErr != nil {
					return ds.chunkError(src, ch, scanErr)
				}
				if pushErr != nil {
					return pushErr
				}
				return p.endMorsel(w, m)
			})
		case s.modes[fi] == splitSerial:
			// Each region (the data region, or each unit) read serially:
			// each starts on a known line, so errors are exact.
			rgs := ds.regions(fi)
			s.announce(regionBytes(rgs))
			s.parts[fi] = len(rgs)
			for _, rg := range rgs {
				m := int(next.Add(1) - 1)
				t := s.startMorsel(0, m)
				err = ds.scanPartitionWith(ctx, nil, src, rg, rg.partition(src), serial|checkFields, func(sc *readers.Scanner) error {
					scanErr, pushErr := s.scan(ctx, p, 0, m, sc, fi, t)
					return errors.Join(scanErr, pushErr)
				})
				s.endMorsel(0, m, t, rg.end-rg.start)
				if err == nil {
					err = p.endMorsel(0, m)
				}
				if err != nil {
					break
				}
			}
		default:
			rgs := ds.regions(fi)
			s.announce(regionBytes(rgs))
			var parts []readers.Partition
			var within []region // per partition, the region it is part of
			for _, rg := range rgs {
				ps, err := ds.partitions(ctx, src, rg.start, rg.end, s.modes[fi], false)
				if err != nil {
					return err
				}
				parts = append(parts, ps...)
				for range ps {
					within = append(within, rg)
				}
			}
			s.parts[fi] = len(parts)
			base := int(next.Add(int64(len(parts)))) - len(parts)
			err = exec.Parallel(ctx, ds.cfg.Workers, len(parts), func(ctx context.Context, w, i int) error {
				m, part := base+i, parts[i]
				t := s.startMorsel(w, m)
				err := ds.scanPartitionWith(ctx, s.scanners.get(w, src, part, ds.cfg.Dialect, 0), src, within[i], part, checkFields, func(sc *readers.Scanner) error {
					scanErr, pushErr := s.scan(ctx, p, w, m, sc, fi, t)
					if pushErr != nil {
						return &pipelineError{pushErr}
					}
					return scanErr
				})
				s.endMorsel(w, m, t, part.End-part.Start)
				if pe := (*pipelineError)(nil); errors.As(err, &pe) {
					return pe.err
				}
				if err != nil {
					return err
				}
				return p.endMorsel(w, m)
			})
		}
		if errors.Is(err, errSplit) {
			return &splitError{input: fi}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pipelineError is an error from the pipeline above a scan, not from the
// scan: the split is not to blame.
type pipelineError struct{ err error }

func (e *pipelineError) Error() string { return e.err.Error() }
func (e *pipelineError) Unwrap() error { return e.err }

// filesFirst returns the ordinals of inputs, splittable files before
// streams. A failed seam starts an unordered run again, and a stream
// (stdin, a decompressed file) cannot be read twice: reading every file
// first means a retry never comes after a stream was consumed. The order
// of reading does not change an unordered answer (row positions carry the
// input ordinal).
func filesFirst(inputs []*source) []int {
	var files, streams []int
	for i, s := range inputs {
		if s.chunker != nil {
			streams = append(streams, i)
		} else {
			files = append(files, i)
		}
	}
	return append(files, streams...)
}

// partitions cuts a splittable source's data from start as mode says;
// ordered scans take smaller partitions, since a partition's rows wait in
// memory until every partition before it has gone out.
func (ds *Dataset) partitions(ctx context.Context, s *source, start, end int64, mode splitMode, ordered bool) ([]readers.Partition, error) {
	if start >= end {
		return nil, nil
	}
	size := end - start
	bs := ds.cfg.blocksize(size)
	if ordered && ds.cfg.Blocksize == 0 {
		bs = min(bs, orderedBlocksize)
	}
	switch mode {
	case splitLines:
		return readers.SplitLines(ctx, s.in.File, s.in.Path, start, end, bs)
	case splitQuotes:
		lay, err := readers.Split(ctx, s.in.File, s.in.Path, start, end, bs, ds.cfg.Workers)
		if err != nil {
			return nil, err
		}
		return lay.Partitions, nil
	}
	return []readers.Partition{{Path: s.in.Path, Start: start, End: end}}, nil
}

// partitionScanner returns worker w's scanner over part of src for an
// ordered scan, and the line it starts on (0: not known, counted from 0).
// The data's first partition takes the scanner that read the header,
// once: it holds the file's first block already.
func (s *scanSource) partitionScanner(w int, src *source, part readers.Partition) (*readers.Scanner, int64) {
	if part.Start == src.header.DataStart && src.first != nil && !src.firstUsed {
		src.firstUsed = true
		src.first.SetLimit(part.End)
		return src.first, src.header.DataLine
	}
	return s.scanners.get(w, src, part, s.ds.cfg.Dialect, 0), 0
}

// cutter returns the partitions of an ordered scan of s from start, one
// per call, false after the last: cut as they are asked for by line ends,
// or all at once by quote parity, or the rest of the file as one.
func (ds *Dataset) cutter(ctx context.Context, s *source, start, end int64, mode splitMode) (func() (readers.Partition, bool, error), error) {
	if mode == splitLines {
		bs := ds.cfg.blocksize(end - start)
		if ds.cfg.Blocksize == 0 {
			bs = min(bs, orderedBlocksize)
		}
		c, err := readers.NewLineCutter(s.in.File, s.in.Path, start, end, bs)
		if err != nil {
			return nil, err
		}
		return c.Next, nil
	}
	parts, err := ds.partitions(ctx, s, start, end, mode, true)
	if err != nil {
		return nil, err
	}
	return func() (readers.Partition, bool, error) {
		if len(parts) == 0 {
			return readers.Partition{}, false, nil
		}
		p := parts[0]
		parts = parts[1:]
		return p, true, nil
	}, nil
}

// orderedBlocksize bounds the partitions of an ordered scan when
// --blocksize is auto: the rows of a window of them are held in memory.
const orderedBlocksize = 4 << 20

// runOrdered passes every record through p in input order, as o takes
// it: o admits partitions into its window and resolves seams and errors in
// order (see ordered).
func (s *scanSource) runOrdered(ctx context.Context, p *pipeline, o ordered) error {
	ds := s.ds
	next := 0 // the next morsel number
	for fi, src := range ds.inputs {
		if !ds.reads(fi) {
			continue
		}
		if src.chunker != nil {
			s.announce(src.in.Size)
			o.startRound(next, 0)
			first := next
			err := ds.eachChunk(ctx, src, func(ctx context.Context, w int, wk chunkWork) error {
				ch, m := wk.ch, first+wk.seq
				if err := o.admit(ctx, m); err != nil {
					return err
				}
				t := s.startMorsel(w, m)
				sc := readers.NewBytesScanner(ch.Data, ds.cfg.Dialect, displayName(src.in.Path), ch.Offset, ch.Line)
				sc.SetFieldCount(len(ds.Names))
				scanErr, pushErr := s.scan(ctx, p, w, m, sc, fi, t)
				s.endMorsel(w, m, t, wk.consumed)
				if pushErr != nil {
					return pushErr
				}
				if scanErr != nil {
					scanErr = ds.chunkError(src, ch, scanErr)
				}
				if err := o.endMorsel(w, m, morselEnd{err: scanErr, want: -1}); err != nil {
					return err
				}
				return p.endMorsel(w, m)
			}, func(seq int) { next = first + seq })
			if err != nil {
				return err
			}
			continue
		}
		rgs := ds.regions(fi)
		s.announce(regionBytes(rgs))
		for _, rg := range rgs {
			if err := s.orderedRegion(ctx, p, o, fi, rg, &next); err != nil {
				return err
			}
		}
	}
	return nil
}

// orderedRegion is runOrdered's read of region rg of splittable input fi,
// its morsels numbered from *next on.
func (s *scanSource) orderedRegion(ctx context.Context, p *pipeline, o ordered, fi int, rg region, next *int) error {
	ds, src := s.ds, s.ds.inputs[fi]
	start, line := rg.start, rg.line
	for mode := splitLines; ; mode = min(mode+1, splitSerial) {
		if start >= rg.end {
			break
		}
		cut, err := ds.cutter(ctx, src, start, rg.end, mode)
		if err != nil {
			return err
		}
		o.startRound(*next, line)
		first := *next
		var read atomic.Int64 // the bytes this round's morsels read
		// Partitions are cut as the workers take them, in order: a run
		// that stops early (a limit) has read only the cuts it used.
		var mu sync.Mutex
		taken := 0
		take := func() (int, readers.Partition, bool, error) {
			mu.Lock()
			defer mu.Unlock()
			p, ok, err := cut()
			if !ok || err != nil {
				return 0, p, false, err
			}
			taken++
			return first + taken - 1, p, true, nil
		}
		err = exec.Parallel(ctx, ds.cfg.Workers, ds.cfg.Workers, func(ctx context.Context, w, _ int) error {
			for {
				// A seam that failed cancels the round: the partitions
				// after it are split again, so reading them now is waste.
				if err := ctx.Err(); err != nil {
					return err
				}
				m, part, ok, err := take()
				if !ok || err != nil {
					return err
				}
				if err := o.admit(ctx, m); err != nil {
					return err
				}
				t := s.startMorsel(w, m)
				// Lines count from 0: the partition's first line is known
				// only once every partition before it has been read. The
				// file's first partition is read by the scanner that read
				// the header, which holds its first block already.
				sc, firstLine := s.partitionScanner(w, src, part)
				sc.SetFieldCount(len(ds.Names))
				scanErr, pushErr := s.scan(ctx, p, w, m, sc, fi, t)
				// The bytes the scanner went over, not the partition's:
				// a morsel a limit stopped, or one whose seam did not
				// hold, read less or more of the file than its cut.
				n := sc.Offset() - part.Start
				read.Add(n)
				s.endMorsel(w, m, t, n)
				if testHookRead != nil {
					testHookRead(src.in.Path)
				}
				if pushErr != nil {
					return pushErr
				}
				end := morselEnd{err: scanErr, end: sc.Offset(), want: part.End, lines: sc.NextLine() - firstLine, relative: firstLine == 0}
				if err := o.endMorsel(w, m, end); err != nil {
					return err
				}
				if err := p.endMorsel(w, m); err != nil {
					return err
				}
			}
		})
		*next = first + taken
		var seam *seamError
		if errors.As(err, &seam) {
			if err := ds.checkInputs(); err != nil {
				return err // the seam moved because the file did
			}
			if mode == splitSerial || seam.end > rg.end {
				// A partition to the region's end did not stop there: the
				// record it finished runs past the region (a unit whose
				// end is not a record end). Splitting again would start
				// past the region and end the loop as if it were read.
				return unitMismatch(src, rg, seam.end)
			}
			// Partitions up to the seam's went out; the rest of the file
			// is split again, more carefully, from where they ended.
			// They read [start, seam.end); what the round's later
			// morsels read is void and is read again: announced, so the
			// bytes read still add up to the bytes announced.
			if void := read.Load() - (seam.end - start); void > 0 {
				s.announce(void)
			}
			start, line, *next = seam.end, seam.line, seam.morsel+1
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	return nil
}

// testHookRead, when set by a test, is called after each partition of a
// file and each chunk of a stream is read: a test changes the file there,
// between two reads, rather than racing a timer.
var testHookRead func(path string)

// scanMode says how scanPartition reads a partition.
type scanMode uint8

const (
	serial      scanMode = 1 << iota // the partition is a whole file: errors are final
	checkFields                      // a record without one field per column is an error
)

// eachRecord calls fn with every record of partition p of a splittable
// source (see scanPartition for errors and seams).
func (ds *Dataset) eachRecord(ctx context.Context, s *source, p readers.Partition, mode scanMode, fn func(sc *readers.Scanner) error) error {
	return ds.scanPartition(ctx, s, p, mode, func(sc *readers.Scanner) error {
		n := 0
		for sc.Next() {
			if err := fn(sc); err != nil {
				return err
			}
			if n++; n == checkEvery {
				n = 0
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return sc.Err()
	})
}

// scanPartition hands fn a scanner over partition p of a splittable
// source; fn reads records until Next is false and returns sc.Err() or its
// own error. Unless mode has serial, it returns errSplit when the
// partition's end disagrees with its seam, or when a partition other than
// the first fails (line numbers are known only from the first: a serial
// read then confirms the error with exact lines). A *pipelineError from fn
// is returned as it is.
func (ds *Dataset) scanPartition(ctx context.Context, s *source, p readers.Partition, mode scanMode, fn func(sc *readers.Scanner) error) error {
	return ds.scanPartitionWith(ctx, nil, s, s.wholeRegion(), p, mode, fn)
}

// scanPartitionWith is scanPartition with sc, a scanner over p made by
// scanners.get (nil: a new one), p being part of region rg of s (the
// data region, or a unit): the region's first partition starts on its
// line; with serial, p is the whole region.
func (ds *Dataset) scanPartitionWith(ctx context.Context, sc *readers.Scanner, s *source, rg region, p readers.Partition, mode scanMode, fn func(sc *readers.Scanner) error) error {
	whole := mode&serial != 0
	first := p.Start == rg.start
	startLine := int64(0)
	if first {
		startLine = rg.line
	}
	if sc == nil {
		sc = readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, startLine)
	} else if first {
		sc.Reset(io.NewSectionReader(s.in.File, p.Start, s.in.Size-p.Start), p.Start, p.End, startLine)
	}
	if mode&checkFields != 0 {
		sc.SetFieldCount(len(ds.Names))
	}
	err := fn(sc)
	if testHookRead != nil {
		testHookRead(s.in.Path)
	}
	if err != nil {
		var pe *pipelineError
		if !first && !whole && !errors.Is(err, context.Canceled) && !errors.As(err, &pe) {
			return errSplit
		}
		return err
	}
	if sc.Offset() != p.End {
		if whole {
			// A serial scan reads to its end unless the file shrank
			// under it, or changed where it was read.
			if err := s.in.Changed(); err != nil {
				return err
			}
			if !s.isWhole(rg) {
				return unitMismatch(s, rg, sc.Offset())
			}
			return &readers.ChangedError{Path: displayName(s.in.Path), Size: s.in.Size, Now: sc.Offset(), SameLength: true}
		}
		return errSplit
	}
	return nil
}

// whole is a splittable source's data region as one partition.
func (s *source) whole() readers.Partition { return s.wholeRegion().partition(s) }

// partition is rg as one partition of s.
func (rg region) partition(s *source) readers.Partition {
	return readers.Partition{Path: s.in.Path, Start: rg.start, End: rg.end}
}

// chunkWork is one chunk of a stream for a worker: its sequence number (0,
// 1, ...) and the raw (compressed) input bytes that made it.
type chunkWork struct {
	ch       readers.Chunk
	seq      int
	consumed int64
}

// eachChunk runs a stream through the worker pool: one goroutine
// decompresses and cuts record-aligned chunks, workers call fn on them.
// When the stream is read, last is called with the number of chunks,
// before eachChunk returns. Chunk buffers are recycled: fn must not keep
// ch.Data after returning. When ctx ends, eachChunk returns without
// waiting for a read that is blocked (a quiet stdin); that goroutine ends
// with the process. A stream with a copy (streamCopy) is read from its
// start each time, the part an earlier scan read from the copy.
func (ds *Dataset) eachChunk(ctx context.Context, s *source, fn func(ctx context.Context, worker int, wk chunkWork) error, last ...func(n int)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := max(ds.cfg.Workers, 1)
	free := make(chan []byte, workers+2)
	for range workers + 2 {
		free <- nil
	}
	// The reader's own: once this scan returns, a later one may make the
	// source a plain file while this reader still ends its last read.
	cp, chunker, consumed := s.copy, s.chunker, s.consumed
	if cp == nil {
		if s.read {
			return fmt.Errorf("BUG: %s is read a second time, but it is a stream", fsname.Quote(displayName(s.in.Path)))
		}
		s.read = true
	}
	queue := make(chan chunkWork, workers)
	var readErr error // written before queue is closed
	chunks := 0       // likewise
	complete := false
	go func() {
		defer close(queue)
		seen := int64(0)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			var ch readers.Chunk
			var used int64 // raw input bytes the chunk took
			var err error
			if cp != nil {
				ch, used, err = cp.chunk(chunks, buf, chunker, consumed)
			} else if ch, err = chunker.Next(buf); err == nil {
				now := consumed.Bytes()
				used, seen = now-seen, now
			}
			if testHookRead != nil {
				testHookRead(s.in.Path)
			}
			if err == io.EOF {
				complete = true
				return
			}
			if err != nil {
				readErr = err
				return
			}
			wk := chunkWork{ch: ch, seq: chunks, consumed: used}
			select {
			case queue <- wk:
				chunks++
			case <-ctx.Done():
				return
			}
		}
	}()
	err := exec.Parallel(ctx, workers, workers, func(ctx context.Context, w, _ int) error {
		for {
			select {
			case wk, ok := <-queue:
				if !ok {
					return nil
				}
				err := fn(ctx, w, wk)
				free <- wk.ch.Data[:0]
				if err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	})
	if err != nil {
		return err
	}
	// Every worker saw the queue closed: the reader has finished.
	for _, l := range last {
		l(chunks)
	}
	if readErr == nil && complete && cp != nil {
		// Read to the end: later scans read the copy, split like a file.
		// No reader reads the chunker again (the copy is complete), so
		// its decompressor can go.
		if err := s.in.Reread(cp.file, cp.size()); err != nil {
			return err
		}
		if s.closeDec != nil {
			s.closeDec()
			s.closeDec = nil
		}
		s.chunker, s.copy = nil, nil
	}
	return readErr
}

// eachStreamChunk reads a stream's chunks in order on this goroutine and
// hands each to fn with a scanner over it (one field per column checked).
// fn reads what it wants and says whether to go on; a parse error the
// scanner met is then returned with the chunk's position.
func (ds *Dataset) eachStreamChunk(ctx context.Context, s *source, fn func(ch readers.Chunk, sc *readers.Scanner) (more bool, err error)) error {
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ch, err := s.chunker.Next(buf)
		if testHookRead != nil {
			testHookRead(s.in.Path)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		sc := readers.NewBytesScanner(ch.Data, ds.cfg.Dialect, displayName(s.in.Path), ch.Offset, ch.Line)
		sc.SetFieldCount(len(ds.Names))
		more, err := fn(ch, sc)
		if err != nil {
			return err
		}
		if err := sc.Err(); err != nil {
			return ds.chunkError(s, ch, err)
		}
		if !more {
			return nil
		}
		buf = ch.Data
	}
}

// chunkError is a scan error of a chunk: it names the chunk's position; a
// quote left open at the end of a chunk that is not the last one means the
// quote parity the chunker cut by disagreed with the record structure.
func (ds *Dataset) chunkError(s *source, ch readers.Chunk, err error) error {
	var pe *readers.ParseError
	if !ch.Last && errors.As(err, &pe) && pe.Err == readers.ErrUnterminatedQuote {
		return fmt.Errorf("%s:%d: %w", fsname.Quote(displayName(s.in.Path)), pe.Line, readers.ErrAmbiguousSplit)
	}
	return err
}

// scanners are each worker's partition scanner: a scanner's 1 MiB buffer
// is reused from partition to partition instead of made for each.
type scanners []*readers.Scanner

// get returns worker w's scanner over partition p of s, starting on line
// startLine.
func (sc scanners) get(w int, s *source, p readers.Partition, d readers.Dialect, startLine int64) *readers.Scanner {
	r := io.NewSectionReader(s.in.File, p.Start, s.in.Size-p.Start)
	if sc[w] == nil || sc[w].File() != p.Path {
		sc[w] = readers.NewScanner(r, d, p.Path, p.Start, p.End, startLine)
	} else {
		sc[w].Reset(r, p.Start, p.End, startLine)
	}
	return sc[w]
}
