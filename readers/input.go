package readers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/gdask/gdask/internal/fsname"
)

// Compression of an input, detected by magic bytes.
type Compression int

const (
	None Compression = iota
	Gzip
	Zstd
)

func (c Compression) String() string {
	return [...]string{"none", "gzip", "zstd"}[c]
}

// Stdin is the path that names standard input.
const Stdin = "-"

// Input is one opened input. A plain regular file is Splittable: it can be
// cut into byte ranges; stdin and compressed files are streams.
type Input struct {
	Path        string
	Size        int64 // bytes on disk (compressed size for streams), -1 for stdin
	Compression Compression
	File        *os.File // nil for stdin
	stream      io.Reader
	modTime     time.Time // when File was last written, as opened
	spent       *os.File  // a stream's file, read, once File is its copy
}

// ModTime is when the file was last written, as it was opened (zero for
// stdin).
func (in *Input) ModTime() time.Time { return in.modTime }

// Splittable reports whether the input can be read by offset.
func (in *Input) Splittable() bool { return in.File != nil && in.Compression == None }

// Expand turns the command-line inputs into paths: globs are expanded
// (sorted), "-" stays. A path that exists is itself, even when its name
// holds *, ? or [ (data[1].csv names that file, never data1.csv); only a
// path that does not exist is read as a glob. A glob with no match is an
// error.
func Expand(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if a == Stdin || !strings.ContainsAny(a, "*?[") || exists(a) {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("invalid glob %q: %w", a, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("no files match %q", a)
		}
		out = append(out, m...)
	}
	return out, nil
}

// exists reports whether path names something on disk, a dangling
// symbolic link included: such a name is the user's file, not a pattern.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Open opens path ("-" for stdin) and sniffs its compression.
func Open(path string, stdin io.Reader) (*Input, error) {
	if path == Stdin {
		in := &Input{Path: path, Size: -1}
		br := bufio.NewReaderSize(stdin, 64<<10)
		magic, _ := br.Peek(4)
		in.Compression = sniff(magic)
		in.stream = br
		return in, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, openError(path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, openError(path, err)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("cannot read %s: is a directory (give a file or a glob such as %s)", fsname.Quote(path), globHint(path))
	}
	in := &Input{Path: path, Size: st.Size(), File: f, modTime: st.ModTime()}
	var magic [4]byte
	n, err := f.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		f.Close()
		return nil, openError(path, err)
	}
	in.Compression = sniff(magic[:n])
	if st.Size() == 0 {
		f.Close()
		return nil, fmt.Errorf("cannot read %s: file is empty", fsname.Quote(path))
	}
	return in, nil
}

// ChangedError is a file whose size or modification time moved while it
// was read: what was read may mix two versions of it, so no answer from it
// can be trusted.
type ChangedError struct {
	Path       string
	Size, Now  int64 // bytes when opened, and when it was found changed
	SameLength bool  // only the modification time moved
}

func (e *ChangedError) Error() string {
	if e.SameLength {
		return fmt.Sprintf("%s: changed while being read (written to during the run); run again once nothing writes to it", fsname.Quote(e.Path))
	}
	return fmt.Sprintf("%s: changed while being read (%d bytes when opened, %d now); run again once nothing writes to it", fsname.Quote(e.Path), e.Size, e.Now)
}

// Changed returns a *ChangedError when the file is not as it was opened
// (its size or modification time moved), nil when it is, or is a stream.
// A file replaced by rename is not changed: the open file is the old one,
// read whole.
func (in *Input) Changed() error {
	if in.File == nil {
		return nil
	}
	st, err := in.File.Stat()
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", fsname.Quote(in.Path), fsname.Cause(err))
	}
	if st.Size() != in.Size || !st.ModTime().Equal(in.modTime) {
		return &ChangedError{Path: in.Path, Size: in.Size, Now: st.Size(), SameLength: st.Size() == in.Size}
	}
	return nil
}

func openError(path string, err error) error {
	return fmt.Errorf("cannot open %s: %w", fsname.Quote(path), fsname.Cause(err))
}

// globHint is a glob for the CSV files in directory dir, as a user would
// type it in a shell: in single quotes, or quoted by fsname when the name
// holds characters that do not print.
func globHint(dir string) string {
	g := strings.TrimRight(dir, "/") + "/*.csv"
	if q := fsname.Quote(g); q != g {
		return q
	}
	return "'" + g + "'"
}

func sniff(magic []byte) Compression {
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		return Gzip
	case len(magic) >= 4 && bytes.Equal(magic[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return Zstd
	}
	return None
}

// Close releases the input.
func (in *Input) Close() error {
	if in.spent != nil {
		in.spent.Close()
	}
	if in.File != nil {
		return in.File.Close()
	}
	return nil
}

// Reread makes a stream input, read to its end, a plain file: f holds
// its decompressed bytes at their offsets (size in all), written while it
// was read, for a plan that reads it again. Names in messages stay the
// input's.
func (in *Input) Reread(f *os.File, size int64) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot keep a copy of %s: %w", fsname.Quote(in.Path), fsname.Cause(err))
	}
	in.spent = in.File // the compressed file, if any: closed with the input
	in.File, in.Size, in.Compression, in.stream, in.modTime = f, size, None, nil, st.ModTime()
	return nil
}

// zstdMaxWindow bounds the memory a zstd frame can ask for (DESIGN §6).
const zstdMaxWindow = 128 << 20

// Reader returns the decompressed byte stream of a streaming input. The
// returned closer releases decoder resources. Bytes counts compressed input
// consumed, for progress.
func (in *Input) Reader(consumed *CountingReader) (io.Reader, func(), error) {
	var raw io.Reader = in.stream
	if in.File != nil {
		raw = in.File
	}
	consumed.R = raw
	switch in.Compression {
	case Gzip:
		zr, err := gzip.NewReader(bufio.NewReaderSize(consumed, 256<<10))
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read %s: corrupt gzip data: %w", fsname.Quote(in.Path), fsname.Cause(err))
		}
		return &decompressErr{r: zr, path: in.Path, kind: "gzip"}, func() { zr.Close() }, nil
	case Zstd:
		zr, err := zstd.NewReader(consumed, zstd.WithDecoderMaxWindow(zstdMaxWindow), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read %s: corrupt zstd data: %w", fsname.Quote(in.Path), fsname.Cause(err))
		}
		return &decompressErr{r: zr, path: in.Path, kind: "zstd"}, zr.Close, nil
	}
	return consumed, func() {}, nil
}

// decompressErr names the file and codec in decompression errors.
type decompressErr struct {
	r          io.Reader
	path, kind string
}

func (d *decompressErr) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("truncated")
		}
		err = fmt.Errorf("corrupt %s data: %w", d.kind, err)
	}
	return n, err
}

// CountingReader counts the bytes read through it. Its count is read by the
// progress reporter from another goroutine, so use Bytes.
type CountingReader struct {
	R io.Reader
	n atomic.Int64
}

func (c *CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Bytes returns the bytes read so far.
func (c *CountingReader) Bytes() int64 { return c.n.Load() }

// Header is the first record of an input, or generated names.
type Header struct {
	Names     []string
	DataStart int64 // offset of the first data byte
	DataLine  int64 // line number at DataStart
}

// ReadHeader reads the header record from s, which must be at the start of
// the input (after any BOM). It checks that names are valid UTF-8 and gives
// duplicates _2, _3 suffixes. With NoHeader, names are column0, column1...
// from the first record's width, and the record is left for the caller:
// DataStart is where s started.
func ReadHeader(s *Scanner, d Dialect, path string) (Header, error) {
	var h Header
	start, startLine := s.Offset(), s.NextLine()
	if !s.Next() {
		if err := s.Err(); err != nil {
			return h, err
		}
		return h, fmt.Errorf("cannot read %s: no header line (the file holds only blank lines)", fsname.Quote(path))
	}
	fields := s.Fields()
	h.Names = make([]string, len(fields))
	if d.NoHeader {
		for i := range fields {
			h.Names[i] = "column" + strconv.Itoa(i)
		}
		h.DataStart, h.DataLine = start, startLine
		return h, nil
	}
	seen := make(map[string]int, len(fields))
	for i, f := range fields {
		if !utf8.Valid(f) {
			return h, fmt.Errorf("%s:1:%d: header name %s is not valid UTF-8 (re-encode the file as UTF-8)", fsname.Quote(path), i+1, strconv.Quote(string(f)))
		}
		name := strings.TrimSpace(string(f))
		if name == "" {
			name = "column" + strconv.Itoa(i)
		}
		h.Names[i] = name
		seen[name]++
	}
	h.Names = dedupe(h.Names, seen)
	h.DataStart, h.DataLine = s.Offset(), s.NextLine()
	return h, nil
}

// dedupe gives repeated names _2, _3... suffixes; the first keeps its name.
func dedupe(names []string, seen map[string]int) []string {
	used := make(map[string]bool, len(names))
	count := make(map[string]int, len(names))
	for i, n := range names {
		count[n]++
		if count[n] == 1 {
			used[n] = true
			continue
		}
		for k := count[n]; ; k++ {
			cand := n + "_" + strconv.Itoa(k)
			if !used[cand] && seen[cand] == 0 {
				names[i] = cand
				used[cand] = true
				break
			}
		}
	}
	return names
}

// BOMLen returns 3 when data starts with a UTF-8 byte order mark.
func BOMLen(data []byte) int64 {
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		return 3
	}
	return 0
}

// OpenFileScanner returns a Scanner at the start of a splittable file (after
// any BOM), ready for ReadHeader.
func OpenFileScanner(in *Input, d Dialect) (*Scanner, error) {
	var magic [3]byte
	n, err := in.File.ReadAt(magic[:], 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("cannot read %s: %w", fsname.Quote(in.Path), fsname.Cause(err))
	}
	bom := BOMLen(magic[:n])
	sr := io.NewSectionReader(in.File, bom, in.Size-bom)
	return newScanner(sr, d, in.Path, bom, -1, 1, min(headerBufferSize, bufferSize(d))), nil
}

// headerBufferSize is the first read of a file's scanner from its start:
// enough for the header and the rows head reads, not a whole block, which
// a process that reads the file elsewhere (a shard of a later part, a
// merge) would read and fault in for nothing. It doubles for a longer
// record.
const headerBufferSize = 64 << 10
