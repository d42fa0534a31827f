package engine

import (
	"context"
	"errors"

	"github.com/gdask/gdask/readers"
)

// SampleBytes is how much of the first input is read to infer column
// types when Config.SampleBytes is 0 (Dask's read_csv sample is 256 KB).
const SampleBytes = 1 << 20

// Partitions returns the partitions the splittable inputs will have at the
// configured blocksize, and how many inputs are streams.
func (ds *Dataset) Partitions() (parts, streams int) {
	for _, s := range ds.inputs {
		if s.chunker != nil {
			streams++
			continue
		}
		data := s.in.Size - s.header.DataStart
		bs := ds.cfg.blocksize(data)
		parts += int((data + bs - 1) / bs)
	}
	return parts, streams
}

// FileInfo describes one input.
type FileInfo struct {
	Path        string
	Bytes       int64 // on disk; -1 for stdin
	Compression readers.Compression
	Partitions  int // 0 for a stream, which is cut into chunks as it is read
}

// Info is what `gdask info` reports (Dask: dtypes, npartitions, len).
type Info struct {
	Names     []string
	Types     []readers.Type
	Files     []FileInfo
	Blocksize int64 // the blocksize of the first splittable file, 0 if none
	Rows      int64 // exact when Exact, else estimated; -1 when unknown
	Exact     bool
}

// Info inspects the dataset. Without exact it reads one sample block:
// types come from the sample, partitions from the blocksize and rows are
// estimated from the sample's mean record size. With exact it reads
// everything: types widen over every value, partitions are the splitter's,
// rows are counted.
func (ds *Dataset) Info(ctx context.Context, exact bool) (*Info, error) {
	info := &Info{Names: ds.Names, Exact: exact}
	for _, s := range ds.inputs {
		fi := FileInfo{Path: displayName(s.in.Path), Bytes: s.in.Size, Compression: s.in.Compression}
		if s.chunker == nil {
			data := s.in.Size - s.header.DataStart
			bs := ds.cfg.blocksize(data)
			if info.Blocksize == 0 {
				info.Blocksize = bs
			}
			fi.Partitions = int((data + bs - 1) / bs)
		}
		info.Files = append(info.Files, fi)
	}
	if exact {
		inf, err := ds.inferAll(ctx, info)
		if err != nil {
			return nil, err
		}
		info.Types, info.Rows = inf.Types, inf.Rows
		return info, nil
	}
	inf, seen, err := ds.Sample(ctx, ds.cfg.sampleBytes())
	if err != nil {
		return nil, err
	}
	info.Types = inf.Types
	info.Rows = 0
	for _, s := range ds.inputs {
		if s.chunker != nil {
			info.Rows = -1
			break
		}
		data := s.in.Size - s.header.DataStart
		if inf.Rows > 0 && seen > 0 {
			info.Rows += int64(float64(data)*float64(inf.Rows)/float64(seen) + 0.5)
		}
	}
	return info, nil
}

// inferAll reads every record, inferring types and counting rows in
// parallel, and records the actual partitions in info.
func (ds *Dataset) inferAll(ctx context.Context, info *Info) (*readers.Inferrer, error) {
	total := ds.NewInferrer()
	per := make([]*readers.Inferrer, max(ds.cfg.Workers, 1))
	reset := func() {
		for w := range per {
			per[w] = ds.NewInferrer()
		}
	}
	for fi, s := range ds.inputs {
		reset()
		var err error
		if s.chunker != nil {
			err = ds.eachChunk(ctx, s, func(ctx context.Context, w int, ch readers.Chunk) error {
				sc := readers.NewBytesScanner(ch.Data, ds.cfg.Dialect, displayName(s.in.Path), ch.Offset, ch.Line)
				sc.SetFieldCount(len(ds.Names))
				for sc.Next() {
					per[w].Add(sc.Fields())
				}
				if err := sc.Err(); err != nil {
					return ds.chunkError(s, ch, err)
				}
				return nil
			})
		} else {
			ds.cfg.Progress.addTotal(s.in.Size - s.header.DataStart)
			var lay *readers.Layout
			lay, err = ds.split(ctx, s)
			if err != nil {
				return nil, err
			}
			info.Files[fi].Partitions = len(lay.Partitions)
			err = parallel(ctx, ds.cfg.Workers, len(lay.Partitions), func(ctx context.Context, w, i int) error {
				return ds.eachRecord(ctx, s, lay.Partitions[i], checkFields, ds.addTo(per[w]))
			})
			if errors.Is(err, errSplit) {
				reset()
				err = ds.eachRecord(ctx, s, s.whole(), checkFields|serial, ds.addTo(per[0]))
			}
		}
		if err != nil {
			return nil, err
		}
		for _, p := range per {
			total.Merge(p)
		}
	}
	return total, nil
}

func (ds *Dataset) addTo(inf *readers.Inferrer) func(*readers.Scanner) error {
	return func(sc *readers.Scanner) error {
		inf.Add(sc.Fields())
		return nil
	}
}
