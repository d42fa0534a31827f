package engine

import (
	"context"
	"io"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// Head calls emit with the first n records, taken from the inputs in order,
// reading only as far as it must. emit's fields are valid only during the
// call. Ragged rows are errors.
func (ds *Dataset) Head(ctx context.Context, n int, emit func(fields [][]byte) error) error {
	left := n
	for _, s := range ds.inputs {
		if left == 0 {
			return nil
		}
		var err error
		if s.chunker != nil {
			left, err = ds.headStream(ctx, s, left, emit)
		} else {
			sc := s.first
			sc.SetFieldCount(len(ds.Names))
			for left > 0 && sc.Next() {
				if err := emit(sc.Fields()); err != nil {
					return err
				}
				left--
			}
			err = sc.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (ds *Dataset) headStream(ctx context.Context, s *source, left int, emit func([][]byte) error) (int, error) {
	err := ds.eachStreamChunk(ctx, s, func(_ readers.Chunk, sc *readers.Scanner) (bool, error) {
		for left > 0 && sc.Next() {
			if err := emit(sc.Fields()); err != nil {
				return false, err
			}
			left--
		}
		return left > 0, nil
	})
	return left, err
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

// Types infers column types from the records in the first --sample bytes
// of the first input, without consuming anything: the dataset can be read
// in full afterwards (a stream's sample is peeked, a file's is read again).
func (ds *Dataset) Types() ([]readers.Type, error) {
	sampleBytes := ds.cfg.sampleBytes()
	inf := ds.NewInferrer()
	s := ds.inputs[0]
	var sc *readers.Scanner
	if s.chunker != nil {
		data, err := s.chunker.Peek(int(sampleBytes))
		if err != nil {
			return nil, err
		}
		sc = readers.NewBytesScanner(append([]byte(nil), data...), ds.cfg.Dialect, displayName(s.in.Path), s.header.DataStart, s.header.DataLine)
	} else {
		p := readers.Partition{Path: s.in.Path, Start: s.header.DataStart, End: min(s.in.Size, s.header.DataStart+sampleBytes)}
		sc = readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, s.header.DataLine)
	}
	sc.SetFieldCount(len(ds.Names))
	for sc.Next() {
		inf.Add(sc.Fields())
	}
	return inf.Types, sc.Err()
}

// Schema is the input columns with the types Types infers; a column whose
// type --types declared says so.
func (ds *Dataset) Schema() (plan.Schema, error) {
	types, err := ds.Types()
	if err != nil {
		return nil, err
	}
	s := make(plan.Schema, len(ds.Names))
	for i, n := range ds.Names {
		_, declared := ds.cfg.Types[n]
		s[i] = plan.Column{Name: n, Type: plan.FromReaders(types[i]), Declared: declared}
	}
	return s, nil
}

// Sample infers column types from the records in the first sampleBytes of
// the first input and returns the bytes those records take. It must come
// before any other read of the dataset; for a stream it consumes the chunks
// it reads.
func (ds *Dataset) Sample(ctx context.Context, sampleBytes int64) (*readers.Inferrer, int64, error) {
	inf := ds.NewInferrer()
	s := ds.inputs[0]
	if s.chunker != nil {
		var seen int64
		err := ds.eachStreamChunk(ctx, s, func(ch readers.Chunk, sc *readers.Scanner) (bool, error) {
			for sc.Next() {
				inf.Add(sc.Fields())
			}
			seen += int64(len(ch.Data))
			return seen < sampleBytes, nil
		})
		if err != nil {
			return nil, 0, err
		}
		return inf, seen, nil
	}
	sc := s.first
	sc.SetFieldCount(len(ds.Names))
	start := sc.Offset()
	for sc.Offset()-start < sampleBytes && sc.Next() {
		inf.Add(sc.Fields())
	}
	return inf, sc.Offset() - start, sc.Err()
}
