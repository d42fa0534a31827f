package engine

import (
	"context"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
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
	schema := make(plan.Schema, len(ds.Names))
	spec := &scanSpec{input: schema}
	for i, n := range ds.Names {
		schema[i] = plan.Column{Name: n, Type: plan.String}
		spec.text = append(spec.text, i)
	}
	var sink *inferSink
	src, err := ds.scanAll(ctx, spec, func() exec.Sink {
		sink = &inferSink{per: make([]*readers.Inferrer, max(ds.cfg.Workers, 1)), fields: make([][][]byte, max(ds.cfg.Workers, 1))}
		for w := range sink.per {
			sink.per[w] = ds.NewInferrer()
		}
		return sink
	})
	if err != nil {
		return nil, err
	}
	for fi, n := range src.parts {
		if ds.inputs[fi].chunker == nil {
			info.Files[fi].Partitions = n
		}
	}
	total := ds.NewInferrer()
	for _, p := range sink.per {
		total.Merge(p)
	}
	return total, nil
}

// inferSink infers types from every field of its rows, a worker at a time.
type inferSink struct {
	per    []*readers.Inferrer
	fields [][][]byte
}

func (s *inferSink) Consume(w, _ int, b *exec.Batch) error {
	f := plan.Grow(s.fields[w], len(b.Text))
	s.fields[w] = f
	for r := range b.N {
		for c, t := range b.Text {
			f[c] = t.Strs[r]
		}
		s.per[w].Add(f)
	}
	return nil
}

func (s *inferSink) EndMorsel(int, int) error { return nil }
