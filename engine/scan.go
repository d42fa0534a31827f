package engine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gdask/gdask/readers"
)

// checkEvery is how many records a worker handles between looks at ctx and
// progress updates.
const checkEvery = 1 << 14

// scanMode says how eachRecord reads a partition.
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
// read then confirms the error with exact lines).
func (ds *Dataset) scanPartition(ctx context.Context, s *source, p readers.Partition, mode scanMode, fn func(sc *readers.Scanner) error) error {
	whole := mode&serial != 0
	first := p.Start == s.header.DataStart
	startLine := int64(0)
	if first {
		startLine = s.header.DataLine
	}
	sc := readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, startLine)
	if mode&checkFields != 0 {
		sc.SetFieldCount(len(ds.Names))
	}
	if err := fn(sc); err != nil {
		if !first && !whole && !errors.Is(err, context.Canceled) {
			return errSplit
		}
		return err
	}
	if sc.Offset() != p.End {
		if whole {
			panic(fmt.Sprintf("BUG: serial scan of %s stopped at %d, not %d", p.Path, sc.Offset(), p.End))
		}
		return errSplit
	}
	ds.cfg.Progress.addDone(p.End - p.Start)
	return nil
}

// split partitions a splittable source.
func (ds *Dataset) split(ctx context.Context, s *source) (*readers.Layout, error) {
	bs := ds.cfg.blocksize(s.in.Size - s.header.DataStart)
	return readers.Split(ctx, s.in.File, s.in.Path, s.header.DataStart, s.in.Size, bs, ds.cfg.Workers)
}

// whole is a splittable source's data region as one partition.
func (s *source) whole() readers.Partition {
	return readers.Partition{Path: s.in.Path, Start: s.header.DataStart, End: s.in.Size}
}

// eachChunk runs a stream through the worker pool: one goroutine
// decompresses and cuts record-aligned chunks, workers call fn on them.
// Chunk buffers are recycled: fn must not keep ch.Data after returning.
// When ctx ends, eachChunk returns without waiting for a read that is
// blocked (a quiet stdin); that goroutine ends with the process.
func (ds *Dataset) eachChunk(ctx context.Context, s *source, fn func(ctx context.Context, worker int, ch readers.Chunk) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := max(ds.cfg.Workers, 1)
	free := make(chan []byte, workers+2)
	for range workers + 2 {
		free <- nil
	}
	work := make(chan readers.Chunk, workers)
	var readErr error // written before work is closed
	if s.in.Size > 0 {
		ds.cfg.Progress.addTotal(s.in.Size)
	}
	go func() {
		defer close(work)
		seen := int64(0)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-ctx.Done():
				return
			}
			ch, err := s.chunker.Next(buf)
			if err == io.EOF {
				return
			}
			if err != nil {
				readErr = err
				return
			}
			now := s.consumed.Bytes()
			ds.cfg.Progress.addDone(now - seen)
			seen = now
			select {
			case work <- ch:
			case <-ctx.Done():
				return
			}
		}
	}()
	err := parallel(ctx, workers, workers, func(ctx context.Context, w, _ int) error {
		for {
			select {
			case ch, ok := <-work:
				if !ok {
					return nil
				}
				err := fn(ctx, w, ch)
				free <- ch.Data[:0]
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
	// Every worker saw work closed: the reader has finished.
	return readErr
}

// chunkScanner scans a chunk. Its errors name the chunk's position; a quote
// left open at the end of a chunk that is not the last one means the quote
// parity the chunker cut by disagreed with the record structure.
func (ds *Dataset) chunkError(s *source, ch readers.Chunk, err error) error {
	var pe *readers.ParseError
	if !ch.Last && errors.As(err, &pe) && pe.Err == readers.ErrUnterminatedQuote {
		return fmt.Errorf("%s:%d: %w", displayName(s.in.Path), pe.Line, readers.ErrAmbiguousSplit)
	}
	return err
}
