package engine

import (
	"context"
	"errors"

	"github.com/gdask/gdask/readers"
)

// Count returns the exact number of records in all inputs. Quote-free files
// are counted by the splitter's pre-pass alone; other files are scanned in
// parallel partitions; streams are chunked through the worker pool.
func (ds *Dataset) Count(ctx context.Context) (int64, error) {
	var total int64
	for _, s := range ds.inputs {
		var n int64
		var err error
		if s.chunker != nil {
			n, err = ds.countStream(ctx, s)
		} else {
			n, err = ds.countFile(ctx, s)
		}
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (ds *Dataset) countFile(ctx context.Context, s *source) (int64, error) {
	data := s.in.Size - s.header.DataStart
	ds.cfg.Progress.addTotal(data)
	lay, err := ds.split(ctx, s)
	if err != nil {
		return 0, err
	}
	if lay.Plain(ds.cfg.Dialect.MaxRecordSize) {
		ds.cfg.Progress.addDone(data)
		return lay.PlainRecords(), nil
	}
	counts := make([]int64, len(lay.Partitions))
	err = parallel(ctx, ds.cfg.Workers, len(lay.Partitions), func(ctx context.Context, _, i int) error {
		return ds.eachRecord(ctx, s, lay.Partitions[i], 0, func(*readers.Scanner) error {
			counts[i]++
			return nil
		})
	})
	if errors.Is(err, errSplit) {
		var n int64
		err = ds.eachRecord(ctx, s, s.whole(), serial, func(*readers.Scanner) error {
			n++
			return nil
		})
		return n, err
	}
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, nil
}

func (ds *Dataset) countStream(ctx context.Context, s *source) (int64, error) {
	counts := make([]int64, max(ds.cfg.Workers, 1))
	err := ds.eachChunk(ctx, s, func(ctx context.Context, w int, ch readers.Chunk) error {
		n, err := readers.CountRecords(ch.Data, ds.cfg.Dialect, displayName(s.in.Path), ch.Offset, ch.Line)
		if err != nil {
			return ds.chunkError(s, ch, err)
		}
		counts[w] += n
		return nil
	})
	var n int64
	for _, c := range counts {
		n += c
	}
	return n, err
}
