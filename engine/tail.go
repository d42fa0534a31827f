package engine

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/readers"
)

// tail parses a file's last block, of firstTailBlock bytes and four times
// larger while it holds too few records, up to maxTailBlock; when the last
// rows need more, it counts the whole file's records in parallel instead.
// Variables so that tests reach every path with small files.
var firstTailBlock, maxTailBlock int64 = 64 << 10, 16 << 20

// TailRows are the last rows of a dataset, held as whole records of text:
// a byte range of a plain file (read again as they go out), and copies of
// the last records of a stream's chunks, in memory while the run's memory
// allows and in spill files beyond. Memory is bounded by the rows kept,
// never by the input. Close removes the spill files.
type TailRows struct {
	ds     *Dataset
	pieces []tailPiece // in input order
	skip   int64       // records at the start of the pieces before the last n
	temp   *exec.TempDir
	loan   *exec.Loan
	held   atomic.Int64 // bytes of pieces in memory, and of free buffers

	mu   sync.Mutex // guards free, which workers take from
	free [][]byte   // buffers of pieces let go, for the next copies
}

// maxFree is how many let-go buffers a tail keeps for reuse: enough for
// the chunks in flight, so a long stream's copies make no garbage.
const maxFree = 8

// buffer returns a buffer holding a copy of b, reusing one let go.
func (t *TailRows) buffer(b []byte) []byte {
	t.mu.Lock()
	var buf []byte
	for i := len(t.free) - 1; i >= 0; i-- {
		if cap(t.free[i]) >= len(b) {
			buf = t.free[i]
			t.free = append(t.free[:i], t.free[i+1:]...)
			t.held.Add(-int64(cap(buf)))
			break
		}
	}
	t.mu.Unlock()
	return append(buf[:0], b...)
}

// release lets p's buffer go, keeping it for reuse while there is room.
func (t *TailRows) release(p *tailPiece) {
	t.held.Add(-int64(cap(p.data)))
	t.mu.Lock()
	if len(t.free) < maxFree {
		t.free = append(t.free, p.data)
		t.held.Add(int64(cap(p.data)))
	}
	t.mu.Unlock()
	p.data = nil
}

// tailPiece is whole records of one input: a range of a file, or a copy
// of a stream chunk's last records in memory (data) or in a spill file.
type tailPiece struct {
	src          *source
	file         bool
	start, end   int64 // the file range
	data         []byte
	spilled      *spill.Rows
	offset, line int64 // input offset and line of the first record (line 0: unknown)
	rows         int64
}

// Tail returns the last n records of the inputs taken as one table. For
// a file it confirms the quote state at its cut before it trusts the cut
// (see tailFile); a stream is read through, its chunks counted in
// parallel. Every record it returns is one a serial parse of the inputs
// reads.
func (ds *Dataset) Tail(ctx context.Context, n int64) (_ *TailRows, err error) {
	broker, err := ds.newBroker(ds.events())
	if err != nil {
		return nil, err
	}
	t := &TailRows{ds: ds, temp: exec.NewTempDir(ds.cfg.SpillFS, ds.cfg.TempDir, ds.events()), loan: broker.NewLoan(broker.Available())}
	defer func() {
		if err != nil {
			t.Close()
			if cerr := ds.checkInputs(); cerr != nil {
				err = cerr
			}
		}
	}()
	var rows int64
	for i := len(ds.inputs) - 1; i >= 0 && rows < n; i-- {
		s := ds.inputs[i]
		q := &tailQueue{t: t, n: n - rows}
		if s.chunker != nil {
			err = ds.tailStream(ctx, s, q)
		} else {
			var p tailPiece
			if p, err = ds.tailFile(ctx, s, q.n); err == nil {
				err = q.push(p)
			}
		}
		if err != nil {
			return nil, err
		}
		t.pieces = append(q.pieces, t.pieces...)
		rows += q.rows
	}
	if err := ds.checkInputs(); err != nil {
		return nil, err
	}
	t.skip = max(rows-n, 0)
	return t, nil
}

// Each calls fn with the fields of every kept row, in order. The fields
// are valid only during the call.
func (t *TailRows) Each(ctx context.Context, fn func(fields [][]byte) error) error {
	ds := t.ds
	skip := t.skip
	each := func(sc *readers.Scanner) error {
		sc.SetFieldCount(len(ds.Names))
		for n := 0; sc.Next(); n++ {
			if n%checkEvery == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if skip > 0 {
				skip--
				continue
			}
			if err := fn(sc.Fields()); err != nil {
				return err
			}
		}
		return sc.Err()
	}
	for _, p := range t.pieces {
		name := displayName(p.src.in.Path)
		var err error
		switch {
		case p.file:
			part := readers.Partition{Path: p.src.in.Path, Start: p.start, End: p.end}
			sc := readers.NewPartitionScanner(p.src.in.File, p.src.in.Size, part, ds.cfg.Dialect, p.line)
			if err = each(sc); err == nil && sc.Offset() != p.end {
				err = &readers.ChangedError{Path: name, Size: p.src.in.Size, Now: sc.Offset(), SameLength: true}
			}
		case p.spilled != nil:
			err = p.spilled.Each(func(data []byte) error {
				return each(readers.NewBytesScanner(data, ds.cfg.Dialect, name, p.offset, p.line))
			})
		default:
			err = each(readers.NewBytesScanner(p.data, ds.cfg.Dialect, name, p.offset, p.line))
		}
		if cerr := ds.checkInputs(); cerr != nil {
			return cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Close removes the spill files and gives the memory back.
func (t *TailRows) Close() error {
	var errs []error
	for i := range t.pieces {
		errs = append(errs, t.drop(&t.pieces[i]))
	}
	t.pieces, t.free = nil, nil
	t.loan.Release()
	return errors.Join(append(errs, t.temp.Close())...)
}

// drop lets piece p go.
func (t *TailRows) drop(p *tailPiece) error {
	if p.data != nil {
		t.release(p)
	}
	if p.spilled != nil {
		err := p.spilled.Remove()
		p.spilled = nil
		return err
	}
	return nil
}

// tailQueue collects the last n records of one input from its pieces in
// order, letting go of a piece once the pieces after it hold n records.
type tailQueue struct {
	t      *TailRows
	n      int64
	pieces []tailPiece
	rows   int64
}

// push adds p after the pieces so far. When the memory it takes cannot be
// borrowed, the oldest pieces in memory move to spill files.
func (q *tailQueue) push(p tailPiece) error {
	if p.rows == 0 {
		return nil
	}
	t := q.t
	q.pieces = append(q.pieces, p)
	q.rows += p.rows
	for len(q.pieces) > 1 && q.rows-q.pieces[0].rows >= q.n {
		q.rows -= q.pieces[0].rows
		if err := t.drop(&q.pieces[0]); err != nil {
			return err
		}
		q.pieces = q.pieces[1:]
	}
	t.held.Add(int64(cap(p.data)))
	for i := range q.pieces {
		if t.loan.Cover(t.held.Load()) {
			break
		}
		if err := t.spill(&q.pieces[i]); err != nil {
			return err
		}
	}
	return nil
}

// spill moves p's copy from memory to a spill file.
func (t *TailRows) spill(p *tailPiece) error {
	if p.data == nil {
		return nil
	}
	dir, err := t.temp.Get()
	if err != nil {
		return err
	}
	if p.spilled, err = dir.WriteRows("tail", slices.Values([][]byte{p.data})); err != nil {
		return err
	}
	t.release(p)
	return nil
}

// tailStream reads stream s through the worker pool: each worker counts
// its chunk's records (checking their quotes as count does) and copies
// the chunk's last q.n of them; the copies join q in chunk order.
func (ds *Dataset) tailStream(ctx context.Context, s *source, q *tailQueue) error {
	name := displayName(s.in.Path)
	var mu sync.Mutex
	pending := map[int]tailPiece{}
	next := 0
	return ds.eachChunk(ctx, s, func(ctx context.Context, _ int, wk chunkWork) error {
		ch := wk.ch
		count, err := readers.CountRecords(ch.Data, ds.cfg.Dialect, name, ch.Offset, ch.Line)
		if err != nil {
			return ds.chunkError(s, ch, err)
		}
		keep := min(count, q.n)
		cut, line, err := readers.RecordStart(ch.Data, ds.cfg.Dialect, name, ch.Offset, ch.Line, count-keep)
		if err != nil {
			return ds.chunkError(s, ch, err)
		}
		p := tailPiece{src: s, data: q.t.buffer(ch.Data[cut:]), offset: ch.Offset + int64(cut), line: line, rows: keep}
		mu.Lock()
		defer mu.Unlock()
		pending[wk.seq] = p
		for {
			p, ok := pending[next]
			if !ok {
				return nil
			}
			delete(pending, next)
			next++
			if err := q.push(p); err != nil {
				return err
			}
		}
	})
}

// tailFile finds where the last n records of a file start. It parses the
// file's last block from the first record start after the block's first
// byte, which needs the quote state there: a pre-pass over the file before
// the block (readers.QuoteState, at memory speed) gives it, so tail never
// takes text inside a quoted field for records. The block grows while it
// holds fewer than n records, up to maxTailBlock; when the state is
// uncertain (a quote out of place before the block), the block's parse
// fails, or the block would be too big, the whole file is counted instead
// (tailCount), which reports any error where a serial read would.
func (ds *Dataset) tailFile(ctx context.Context, s *source, n int64) (tailPiece, error) {
	size, dataStart := s.in.Size, s.header.DataStart
	piece := tailPiece{src: s, file: true, start: size, end: size}
	if n == 0 || dataStart >= size {
		return piece, nil
	}
	base := int64(-1) // where the pre-pass stopped, with the state there
	baseState := false
	for block := firstTailBlock; block <= maxTailBlock; block *= 4 {
		from := size - block
		if from <= dataStart {
			break
		}
		if base < 0 {
			base = max(size-maxTailBlock, dataStart)
			st, known, err := readers.QuoteState(ctx, s.in.File, s.in.Path, dataStart, base, size, false, ds.cfg.Dialect.Delimiter, ds.cfg.Workers)
			if err != nil {
				return piece, err
			}
			if !known {
				break
			}
			baseState = st
		}
		inQuote, known, err := readers.QuoteState(ctx, s.in.File, s.in.Path, base, from, size, baseState, ds.cfg.Dialect.Delimiter, ds.cfg.Workers)
		if err != nil {
			return piece, err
		}
		if !known {
			break
		}
		start, rows, ok := ds.tailFrom(s, from, inQuote, n)
		if !ok {
			break
		}
		if rows == n {
			piece.start, piece.rows = start, rows
			return piece, nil
		}
	}
	return ds.tailCount(ctx, s, n)
}

// tailFrom parses file s from the first record start after from, under
// quote state inQuote there, and returns where its last n records start
// and how many there are (fewer than n when the rest of the file has
// fewer). ok is false when the parse is not to be trusted: the file would
// end inside quotes, a record fails to parse, or a quote stands inside an
// unquoted field; only a serial read can then say what the records are.
func (ds *Dataset) tailFrom(s *source, from int64, inQuote bool, n int64) (start, rows int64, ok bool) {
	at, open, err := readers.RecordStartAfter(s.in.File, from, s.in.Size, inQuote)
	if err != nil || open {
		return 0, 0, false
	}
	// The search for at toggled at quotes: they too must stand where
	// quotes belong, or at may not be a record start.
	if st, known, err := readers.QuoteState(context.Background(), s.in.File, s.in.Path, from, at, s.in.Size, inQuote, ds.cfg.Dialect.Delimiter, 1); err != nil || !known || st {
		return 0, 0, false
	}
	p := readers.Partition{Path: s.in.Path, Start: at, End: s.in.Size}
	sc := readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, 0)
	sc.SetFieldCount(len(ds.Names))
	count := int64(0)
	for sc.Next() {
		count++
	}
	if testHookRead != nil {
		testHookRead(s.in.Path)
	}
	if sc.Err() != nil || sc.BareQuotes() > 0 || sc.Offset() != s.in.Size {
		return 0, 0, false
	}
	if count < n {
		return at, count, true
	}
	sc = readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, 0)
	for range count - n + 1 {
		sc.Next()
	}
	return sc.RecordOffset(), n, true
}

// tailCount finds where the last n records of file s start by counting
// every partition's records in parallel (through the scan driver, with
// its seam checks and serial fallback), then reading the partition where
// they start up to that record.
func (ds *Dataset) tailCount(ctx context.Context, s *source, n int64) (tailPiece, error) {
	size, dataStart := s.in.Size, s.header.DataStart
	lay, err := readers.Split(ctx, s.in.File, s.in.Path, dataStart, size, ds.cfg.blocksize(size-dataStart), ds.cfg.Workers)
	if err != nil {
		return tailPiece{}, err
	}
	parts := lay.Partitions
	counts := make([]int64, len(parts))
	count := func(i int) func(sc *readers.Scanner) error {
		return func(*readers.Scanner) error { counts[i]++; return nil }
	}
	err = exec.Parallel(ctx, ds.cfg.Workers, len(parts), func(ctx context.Context, _, i int) error {
		return ds.eachRecord(ctx, s, parts[i], 0, count(i))
	})
	if errors.Is(err, errSplit) {
		parts, counts = []readers.Partition{s.whole()}, []int64{0}
		err = ds.eachRecord(ctx, s, parts[0], serial, count(0))
	}
	if err != nil {
		return tailPiece{}, err
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	skip := max(total-n, 0)
	for i, p := range parts {
		if skip >= counts[i] {
			skip -= counts[i]
			continue
		}
		start := int64(-1)
		seen := int64(0)
		errFound := errors.New("found")
		err := ds.eachRecord(ctx, s, p, serial, func(sc *readers.Scanner) error {
			if seen == skip {
				start = sc.RecordOffset()
				return errFound
			}
			seen++
			return nil
		})
		if start < 0 {
			if err == nil || err == errFound {
				err = &readers.ChangedError{Path: displayName(s.in.Path), Size: size, Now: size, SameLength: true}
			}
			return tailPiece{}, err
		}
		return tailPiece{src: s, file: true, start: start, end: size, rows: min(n, total)}, nil
	}
	return tailPiece{src: s, file: true, start: size, end: size}, nil
}
