package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// Dataset is the opened inputs of one command. All inputs share one header.
type Dataset struct {
	cfg    *Config
	Names  []string
	inputs []*source
}

// source is one input with its header read.
type source struct {
	in     *readers.Input
	header readers.Header
	// For splittable files: the scanner that read the header, positioned
	// at the first record, so head reads the file's first block only once.
	first     *readers.Scanner
	firstUsed bool // an ordered scan read the first partition with first
	// For streams: the chunker, positioned after the header, and what it
	// has consumed of the raw (compressed) input.
	chunker  *readers.Chunker
	consumed *readers.CountingReader
	closeDec func()
	// copy, when a plan reads a stream more than once, keeps what its
	// scans read of it, for the scans after them; once read to the end,
	// the source becomes that plain file.
	copy   *streamCopy
	read   bool // the chunker has been read without a copy: it cannot be read again
	stream bool // opened as a stream (it stays one for Layout once it became a file)
}

// Open opens every path (globs already expanded) and reads the headers.
// Inputs whose headers differ are an error.
func Open(ctx context.Context, cfg *Config, paths []string) (*Dataset, error) {
	if err := cfg.Dialect.Validate(); err != nil {
		return nil, err
	}
	ds := &Dataset{cfg: cfg}
	for _, p := range paths {
		src, err := openSource(cfg, p)
		if err != nil {
			ds.Close()
			return nil, err
		}
		ds.inputs = append(ds.inputs, src)
		if ds.Names == nil {
			ds.Names = src.header.Names
			continue
		}
		if !equalNames(ds.Names, src.header.Names) {
			ds.Close()
			return nil, fmt.Errorf("%s: header %q differs from %s's %q (all inputs must have the same columns)",
				fsname.Quote(p), strings.Join(src.header.Names, ","), fsname.Quote(paths[0]), strings.Join(ds.Names, ","))
		}
	}
	names := make(plan.Schema, len(ds.Names))
	for i, n := range ds.Names {
		names[i].Name = n
	}
	for name := range cfg.Types {
		if _, err := names.Lookup(name, "--types"); err != nil {
			ds.Close()
			return nil, err
		}
	}
	return ds, nil
}

// NewInferrer returns an inferrer of the dataset's columns that starts
// each declared column (Config.Types) at its declared type.
func (ds *Dataset) NewInferrer() *readers.Inferrer {
	inf := readers.NewInferrer(len(ds.Names), &ds.cfg.Dialect)
	for c, name := range ds.Names {
		if t, ok := ds.cfg.Types[name]; ok {
			inf.Declare(c, t)
		}
	}
	return inf
}

func equalNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func openSource(cfg *Config, path string) (*source, error) {
	in, err := readers.Open(path, cfg.Stdin)
	if err != nil {
		return nil, err
	}
	src := &source{in: in}
	name := displayName(path)
	if in.Splittable() {
		s, err := readers.OpenFileScanner(in, cfg.Dialect)
		if err != nil {
			in.Close()
			return nil, err
		}
		src.header, err = readers.ReadHeader(s, cfg.Dialect, name)
		if err != nil {
			in.Close()
			return nil, err
		}
		if cfg.Dialect.NoHeader {
			// The first record is data: start over for head.
			if s, err = readers.OpenFileScanner(in, cfg.Dialect); err != nil {
				in.Close()
				return nil, err
			}
		}
		src.first = s
		return src, nil
	}
	src.stream = true
	src.consumed = &readers.CountingReader{}
	r, closeDec, err := in.Reader(src.consumed)
	if err != nil {
		in.Close()
		return nil, err
	}
	src.closeDec = closeDec
	src.chunker = readers.NewChunker(r, cfg.Dialect, name, cfg.chunkSize())
	if err := src.chunker.SkipBOM(); err != nil {
		src.close()
		return nil, err
	}
	if empty, err := src.chunker.Empty(); err != nil {
		src.close()
		return nil, err
	} else if empty {
		src.close()
		return nil, fmt.Errorf("cannot read %s: input is empty", fsname.Quote(name))
	}
	src.header, err = src.chunker.ReadHeader()
	if err != nil {
		src.close()
		return nil, err
	}
	return src, nil
}

// checkInputs returns a *readers.ChangedError for the first input file
// that changed since it was opened. A run checks after it reads: whatever
// it found (an answer, or an error that a change may have caused) cannot be
// trusted if the file moved under it.
func (ds *Dataset) checkInputs() error {
	for _, s := range ds.inputs {
		if err := s.in.Changed(); err != nil {
			return err
		}
	}
	return nil
}

// changedOr returns the error of an input that changed while it was read
// in place of err, a read's error that the change may have caused; nil
// when err is.
func (ds *Dataset) changedOr(err error) error {
	if err == nil {
		return nil
	}
	if cerr := ds.checkInputs(); cerr != nil {
		return cerr
	}
	return err
}

func displayName(path string) string {
	if path == readers.Stdin {
		return "<stdin>"
	}
	return path
}

func (s *source) close() {
	if s.closeDec != nil {
		s.closeDec()
	}
	if s.copy != nil {
		s.copy.file.Close()
	}
	s.in.Close()
}

// HeaderOnly returns the inputs that hold a header but no data.
func (ds *Dataset) HeaderOnly() ([]string, error) {
	var out []string
	for _, s := range ds.inputs {
		empty := s.header.DataStart >= s.in.Size
		if s.chunker != nil {
			var err error
			if empty, err = s.chunker.Empty(); err != nil {
				return nil, err
			}
		}
		if empty && !ds.cfg.Dialect.NoHeader {
			out = append(out, displayName(s.in.Path))
		}
	}
	return out, nil
}

// Close releases every input.
func (ds *Dataset) Close() {
	for _, s := range ds.inputs {
		s.close()
	}
	ds.inputs = nil
}

// Paths returns the input paths in order.
func (ds *Dataset) Paths() []string {
	out := make([]string, len(ds.inputs))
	for i, s := range ds.inputs {
		out[i] = s.in.Path
	}
	return out
}

// InputFile is an input as a run opened it.
type InputFile struct {
	Path    string
	Size    int64 // bytes on disk, -1 for stdin
	ModTime time.Time
	Stream  bool // read as a stream: stdin, .gz, .zst
}

// Inputs returns the inputs as opened, in order.
func (ds *Dataset) Inputs() []InputFile {
	out := make([]InputFile, len(ds.inputs))
	for i, s := range ds.inputs {
		out[i] = InputFile{Path: s.in.Path, Size: s.in.Size, ModTime: s.in.ModTime(), Stream: s.stream}
	}
	return out
}

// recordFields splits one record, as a scan kept it (Batch.Raw), into its
// fields, nil for a null one: for the rare operator that needs a field of
// a record it kept whole.
func (ds *Dataset) recordFields(record []byte) [][]byte {
	d := ds.cfg.Dialect
	fields := make([][]byte, len(ds.Names)) // a short record's missing fields are null
	sc := readers.NewBytesScanner(record, d, "", 0, 1)
	if sc.Next() { // it was read once: it parses
		for i, f := range sc.Fields()[:min(len(sc.Fields()), len(fields))] {
			if !d.IsNull(f) {
				fields[i] = f
			}
		}
	}
	return fields
}
