package engine

import (
	"context"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

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
	// No field count check: the sample only types the columns, and a verb
	// that needs whole rows (not count) checks them as it reads.
	for sc.Next() {
		inf.Add(sc.Fields())
	}
	if err := sc.Err(); err != nil {
		return nil, ds.changedOr(err)
	}
	return inf.Types, nil
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

// UntypedSchema is the input columns without a type sample: declared
// columns (--types) have their type, the others are strings. For a plan
// that reads no column's type (head and count into csv).
func (ds *Dataset) UntypedSchema() plan.Schema {
	s := make(plan.Schema, len(ds.Names))
	for i, n := range ds.Names {
		t, declared := ds.cfg.Types[n]
		s[i] = plan.Column{Name: n, Type: plan.String, Declared: declared}
		if declared {
			s[i].Type = plan.FromReaders(t)
		}
	}
	return s
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
			return nil, 0, ds.changedOr(err)
		}
		return inf, seen, nil
	}
	sc := s.first
	s.firstUsed = true // consumed: an ordered scan must not take it
	sc.SetFieldCount(len(ds.Names))
	start := sc.Offset()
	for sc.Offset()-start < sampleBytes && sc.Next() {
		inf.Add(sc.Fields())
	}
	return inf, sc.Offset() - start, ds.changedOr(sc.Err())
}
