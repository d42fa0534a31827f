package readers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testFile is a CSV written to disk for the splitting tests.
type testFile struct {
	name      string
	path      string
	data      []byte
	header    bool
	dataStart int64
	dataLine  int64
}

func writeTestFile(t *testing.T, name string, data []byte, header bool) testFile {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".csv")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := testFile{name: name, path: path, data: data, header: header}
	f.dataStart, f.dataLine = dataStartOf(t, data, header)
	return f
}

func (f testFile) open(t *testing.T) *os.File {
	t.Helper()
	r, err := os.Open(f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// handMade are small inputs with every way a cut can go wrong: quoted line
// ends of each kind, doubled quotes next to line ends, blank lines of each
// kind, CRLF split between cuts, a missing final line end.
var handMade = []string{
	"a,b\n\"c\nd\",e\r\n\r\nf\rg\n",
	"\"\"\"\n\"\"\",x\n\"\r\n\"\r\n\r\r\n\"\"\n",
	"\"a\r\"\r\"\nb\"\r\n\n\n\"\"\"\"\r\"\r\r\n\"",
	"x\r\r\r\ny\n\n\r\n\"\n\n\n\",\"\r\r\",\"\"\"\"\"\"",
	"\n\r\n\r\"q\"\"\n\"\"\"\r\n\"\",\r\n,\"\"\n,\n",
	"h1,h2\r\n\"1\r\n2\",\"3\"\"\r\n4\"\r\n5,6\r\n",
}

// smallDialect keeps the read buffer of each of the many partition
// scanners small; the small files are far below its MaxRecordSize.
func smallDialect() Dialect {
	d := DefaultDialect()
	d.MaxRecordSize = 4 << 10
	return d
}

// smallFiles are the inputs cut at every byte offset.
func smallFiles(t *testing.T) []testFile {
	var files []testFile
	for i, s := range handMade {
		files = append(files, writeTestFile(t, fmt.Sprintf("hand%d", i), []byte(s), false))
		files = append(files, writeTestFile(t, fmt.Sprintf("hand%d_header", i), append([]byte("id,name\n"), s...), true))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 40 {
		data := genCSV(rng, genOptions{
			records: 3 + rng.IntN(12), header: i%2 == 0, quotes: true,
			ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true, maxField: 5,
		})
		files = append(files, writeTestFile(t, fmt.Sprintf("gen%d", i), data, i%2 == 0))
	}
	return files
}

// TestCutEveryOffset cuts each small file at every byte offset of its data
// region (one cut, and two nearby cuts), moves each cut with the quote
// parity to the next record start as Split does, and checks that the
// partitions parse to exactly the one-partition records with every seam
// holding. Small read windows make nextRecordStart look past its buffer.
func TestCutEveryOffset(t *testing.T) {
	d := smallDialect()
	for _, f := range smallFiles(t) {
		t.Run(f.name, func(t *testing.T) {
			r := f.open(t)
			size := int64(len(f.data))
			serial, err := serialParse(f.data, d, f.dataStart, f.dataLine)
			if err != nil {
				t.Fatalf("%s: serial parse: %v", quoteLines(f.data), err)
			}
			for k := f.dataStart + 1; k < size; k++ {
				for _, window := range []int{1, 2, 3, 5, 64 << 10} {
					parts := cutPartitions(t, r, f.data, f.dataStart, []int64{k}, window)
					checkContiguous(t, parts, f.dataStart, size)
					if len(parts) > 2 {
						t.Fatalf("one cut gave %d partitions", len(parts))
					}
					sameRecords(t, scanPartitions(t, r, size, parts, d), serial)
				}
				// RecordStartAfter agrees under the right quote state and
				// sees that the wrong one leaves the file inside quotes.
				odd := bytes.Count(f.data[f.dataStart:k], []byte{'"'})%2 == 1
				at, open, err := RecordStartAfter(r, k, size, odd)
				want, _, _ := nextRecordStart(r, k, size, odd, make([]byte, 64))
				if err != nil || open || at != want {
					t.Fatalf("RecordStartAfter(%d, %v) = %d, %v, %v; want %d", k, odd, at, open, err, want)
				}
				if _, open, err := RecordStartAfter(r, k, size, !odd); err != nil || !open {
					t.Fatalf("RecordStartAfter(%d, %v) with the wrong quote state: open %v, %v", k, !odd, open, err)
				}
				for _, gap := range []int64{1, 2, 3, 7} {
					parts := cutPartitions(t, r, f.data, f.dataStart, []int64{k, k + gap}, 64<<10)
					checkContiguous(t, parts, f.dataStart, size)
					sameRecords(t, scanPartitions(t, r, size, parts, d), serial)
				}
			}
		})
	}
}

// TestCutEveryOffsetRecordStart: wherever the cut falls, the partition
// boundary is never inside a record of the serial parse (its bytes and its
// line end).
func TestCutEveryOffsetRecordStart(t *testing.T) {
	d := smallDialect()
	for _, f := range smallFiles(t) {
		serial, err := serialParse(f.data, d, f.dataStart, f.dataLine)
		if err != nil {
			t.Fatal(err)
		}
		s := NewBytesScanner(bytes.Clone(f.data[f.dataStart:]), d, "serial", f.dataStart, f.dataLine)
		type span struct{ start, end int64 }
		var spans []span
		for s.Next() {
			spans = append(spans, span{s.RecordOffset(), s.Offset()})
		}
		if len(spans) != len(serial) {
			t.Fatal("serial parses disagree")
		}
		size := int64(len(f.data))
		r := bytes.NewReader(f.data)
		for k := f.dataStart + 1; k < size; k++ {
			parts := cutPartitions(t, r, f.data, f.dataStart, []int64{k}, 64<<10)
			if len(parts) < 2 {
				continue
			}
			at := parts[1].Start
			for _, sp := range spans {
				if sp.start < at && at < sp.end {
					t.Fatalf("%s: cut %d moved to %d, inside record [%d,%d)", f.name, k, at, sp.start, sp.end)
				}
			}
		}
	}
}

// TestCutEveryOffsetBareQuotes: with quotes inside unquoted fields (which
// the scanner accepts as literal bytes) quote parity can put a cut in the
// wrong place; then the seam check or a parse error must catch it. Every
// partitioning whose seams hold equals the serial parse, and the test
// makes sure some cuts are caught.
func TestCutEveryOffsetBareQuotes(t *testing.T) {
	d := smallDialect()
	for _, in := range []string{
		"a\"b,c\nd,e\nf,\"g\nh\",i\nj\n",
		"5\" tall,x\ny,\"q\nr\"\nz,1\n2,3\n",
		"it's 5\" long,ok\r\nnext,\"a\r\nb\"\r\nlast\r\n",
		"x\"\n\"\"\"\n\"\ny\"\rz\r",
	} {
		data := []byte(in)
		serial, err := serialParse(data, d, 0, 1)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		r := bytes.NewReader(data)
		caught := 0
		for k := int64(1); k < int64(len(data)); k++ {
			parts := cutPartitions(t, r, data, 0, []int64{k}, 64<<10)
			got, ok := tryPartitions(r, int64(len(data)), parts, d)
			if !ok {
				caught++
				continue
			}
			sameRecords(t, got, serial)
		}
		if caught == 0 {
			t.Fatalf("%q: no cut was misled by a bare quote", in)
		}
	}
}

func checkContiguous(t *testing.T, parts []Partition, dataStart, size int64) {
	t.Helper()
	if len(parts) == 0 {
		t.Fatalf("no partitions for [%d,%d)", dataStart, size)
	}
	if parts[0].Start != dataStart || parts[len(parts)-1].End != size {
		t.Fatalf("partitions %v do not cover [%d,%d)", parts, dataStart, size)
	}
	for i, p := range parts {
		if p.Index != i || p.Start >= p.End {
			t.Fatalf("partition %d: %+v", i, p)
		}
		if i > 0 && parts[i-1].End != p.Start {
			t.Fatalf("partitions %d and %d are not contiguous: %v", i-1, i, parts)
		}
	}
}

// TestSplitInvariance: files of 10-200 KiB full of quoted line ends, CRLF,
// CR-only ends, doubled quotes and blank lines, split at random blocksizes
// with 1-8 workers, parse to exactly the records of one partition, with
// contiguous partitions and every seam holding.
func TestSplitInvariance(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	d := DefaultDialect()
	ctx := context.Background()
	for i, target := range []int{10 << 10, 33 << 10, 64 << 10, 100 << 10, 150 << 10, 200 << 10} {
		opts := genOptions{
			minSize: target, header: i%2 == 0, quotes: true,
			ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true, maxField: 10,
		}
		switch i {
		case 1:
			opts.ends = []string{"\r"} // CR-only file
		case 2:
			opts.ends = []string{"\r\n"}
		case 3:
			opts.maxField = 200 // records longer than some blocks
		}
		f := writeTestFile(t, fmt.Sprintf("big%d", i), genCSV(rng, opts), opts.header)
		t.Run(f.name, func(t *testing.T) {
			r := f.open(t)
			size := int64(len(f.data))
			serial, err := serialParse(f.data, d, f.dataStart, f.dataLine)
			if err != nil {
				t.Fatal(err)
			}
			region := f.data[f.dataStart:]
			blocksizes := []int64{MinBlocksize, MinBlocksize + 1, 4 << 10, size - f.dataStart, size, 1 << 20}
			for range 14 {
				blocksizes = append(blocksizes, MinBlocksize+rng.Int64N(16<<10))
			}
			for _, bs := range blocksizes {
				workers := 1 + rng.IntN(8)
				lay, err := Split(ctx, r, f.path, f.dataStart, size, bs, workers)
				if err != nil {
					t.Fatal(err)
				}
				checkContiguous(t, lay.Partitions, f.dataStart, size)
				// SplitCuts makes the same cuts and line ends.
				cuts, err := SplitCuts(ctx, r, f.path, f.dataStart, size, bs, workers)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(cuts.Partitions, lay.Partitions) || !reflect.DeepEqual(cuts.Breaks, lay.Breaks) || cuts.Quotes != lay.Quotes {
					t.Fatalf("blocksize %d: SplitCuts cuts %v %v, Split %v %v", bs, cuts.Partitions, cuts.Breaks, lay.Partitions, lay.Breaks)
				}
				if want := (size - f.dataStart + bs - 1) / bs; int64(len(lay.Partitions)) > want {
					t.Fatalf("blocksize %d: %d partitions, more than %d blocks", bs, len(lay.Partitions), want)
				}
				for _, p := range lay.Partitions {
					if p.Path != f.path {
						t.Fatalf("partition path %q", p.Path)
					}
				}
				if lay.Quotes != int64(bytes.Count(region, []byte{'"'})) ||
					lay.Newlines != int64(bytes.Count(region, []byte{'\n'})) ||
					lay.HasCR != bytes.Contains(region, []byte{'\r'}) ||
					lay.LastByte != f.data[size-1] {
					t.Fatalf("blocksize %d: layout counts %+v", bs, lay)
				}
				if lay.Plain(DefaultMaxRecordSize) {
					t.Fatalf("blocksize %d: a quoted file is Plain", bs)
				}
				sameRecords(t, scanPartitions(t, r, size, lay.Partitions, d), serial)
			}
		})
	}
}

func TestSplitEdges(t *testing.T) {
	ctx := context.Background()
	data := []byte("a,b\n1,2\n")
	r := bytes.NewReader(data)
	if _, err := Split(ctx, r, "x.csv", 0, 8, MinBlocksize-1, 1); err == nil {
		t.Fatal("blocksize below MinBlocksize accepted")
	}
	lay, err := Split(ctx, r, "x.csv", 8, 8, MinBlocksize, 4)
	if err != nil || len(lay.Partitions) != 0 || !lay.Plain(DefaultMaxRecordSize) || lay.PlainRecords() != 0 {
		t.Fatalf("empty data region: %+v, %v", lay, err)
	}
	lay, err = Split(ctx, r, "x.csv", 4, 8, MinBlocksize, 4)
	if err != nil || len(lay.Partitions) != 1 || lay.Partitions[0] != (Partition{Path: "x.csv", Start: 4, End: 8}) {
		t.Fatalf("one block: %+v, %v", lay, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Split(cctx, r, "x.csv", 0, 8, MinBlocksize, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled split: %v", err)
	}
	// The file shrank after its size was taken: an error, not stale bytes.
	short := bytes.NewReader(data[:4])
	if _, err := Split(ctx, short, "x.csv", 0, 8, MinBlocksize, 1); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short read: %v", err)
	}
	if _, _, err := nextRecordStart(short, 1, 8, false, make([]byte, 2)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short read: %v", err)
	}
}

// plainFile writes n lines "i,cat_i,f" with LF ends.
func plainFile(n int, header, final bool) []byte {
	var b bytes.Buffer
	if header {
		b.WriteString("id,category,value\n")
	}
	for i := range n {
		fmt.Fprintf(&b, "%d,cat_%d,%d.0", i, i%100, i%1000)
		if i < n-1 || final {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// TestLayoutPlain: on quote-free, CR-free, blank-free data PlainRecords is
// the record count; a quote, a CR or a blank line anywhere (also at the
// data start, the end, or right at a block boundary) makes the layout not
// Plain.
func TestLayoutPlain(t *testing.T) {
	ctx := context.Background()
	d := DefaultDialect()
	split := func(t *testing.T, data []byte, header bool, bs int64) (*Layout, int) {
		t.Helper()
		f := writeTestFile(t, "plain", data, header)
		r := f.open(t)
		lay, err := Split(ctx, r, f.path, f.dataStart, int64(len(data)), bs, 3)
		if err != nil {
			t.Fatal(err)
		}
		serial, err := serialParse(data, d, f.dataStart, f.dataLine)
		if err != nil {
			t.Fatal(err)
		}
		return lay, len(serial)
	}
	for _, n := range []int{1, 2, 10, 1000, 5000} {
		for _, header := range []bool{false, true} {
			for _, final := range []bool{false, true} {
				data := plainFile(n, header, final)
				for _, bs := range []int64{MinBlocksize, 3000, 1 << 20} {
					lay, want := split(t, data, header, bs)
					if !lay.Plain(DefaultMaxRecordSize) || lay.PlainRecords() != int64(want) || want != n {
						t.Fatalf("n=%d header=%v final=%v bs=%d: Plain %v, PlainRecords %d, records %d",
							n, header, final, bs, lay.Plain(DefaultMaxRecordSize), lay.PlainRecords(), want)
					}
				}
			}
		}
	}

	// A line longer than the record bound is left for the scanner.
	long := append(plainFile(100, true, true), strings.Repeat("x", 5000)+"\n"...)
	long = append(long, plainFile(100, false, true)...)
	for _, bs := range []int64{MinBlocksize, 3000, 1 << 20} {
		lay, want := split(t, long, true, bs)
		if lay.Plain(4999) || !lay.Plain(DefaultMaxRecordSize) || lay.PlainRecords() != int64(want) {
			t.Fatalf("blocksize %d: a 5000-byte line: Plain(4999) %v, Plain(default) %v, %d records, want %d",
				bs, lay.Plain(4999), lay.Plain(DefaultMaxRecordSize), lay.PlainRecords(), want)
		}
	}

	base := plainFile(2000, true, true)
	dataStart := int64(len("id,category,value\n"))
	notPlain := func(name string, data []byte) {
		t.Helper()
		for _, bs := range []int64{MinBlocksize, 4096, 1 << 20} {
			if lay, _ := split(t, data, true, bs); lay.Plain(DefaultMaxRecordSize) {
				t.Fatalf("%s, blocksize %d: Plain", name, bs)
			}
		}
	}
	insert := func(at int64, s string) []byte {
		out := append(bytes.Clone(base[:at]), s...)
		return append(out, base[at:]...)
	}
	// at returns the line start at or after off.
	at := func(off int64) int64 {
		for off > 0 && base[off-1] != '\n' {
			off++
		}
		return off
	}
	notPlain("blank at data start", insert(dataStart, "\n"))
	notPlain("blank at end", append(bytes.Clone(base), '\n'))
	notPlain("blank in the middle", insert(at(5000), "\n"))
	for _, k := range []int64{1, 2, 4, 7} {
		b := dataStart + k*MinBlocksize
		// A blank line whose LF is the first, or the last, byte of a block.
		for _, off := range []int64{b - 1, b, b + 1} {
			data := bytes.Clone(base)
			// Find an LF at or after off and double it, keeping the LF at off when possible.
			for data[off] != '\n' {
				off++
			}
			notPlain(fmt.Sprintf("blank at %d", off), append(data[:off+1:off+1], data[off:]...))
		}
	}
	notPlain("quoted field", insert(at(3000), "\"q,1\",2,3\n"))
	notPlain("CRLF", insert(at(3000), "x,y,z\r\n"))
	notPlain("CR-only", bytes.ReplaceAll(base, []byte("\n"), []byte("\r")))
	notPlain("CR in a field", insert(at(3000), "x\ry\n"))
}

// TestSplitLines: the line-end guess never yields wrong records. On files
// full of quoted line ends, CRLF, CR-only ends and blank lines, at random
// blocksizes, the partitions are contiguous and either every seam holds and
// the records are exactly the serial parse, or some seam fails (the cue for
// a caller to split by quote parity); some cut does land inside quotes. On
// quote-free data every seam holds.
func TestSplitLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	d := DefaultDialect()
	ctx := context.Background()
	for i, target := range []int{10 << 10, 64 << 10, 150 << 10} {
		opts := genOptions{
			minSize: target, header: i%2 == 0, quotes: true,
			ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true, maxField: 10,
		}
		f := writeTestFile(t, fmt.Sprintf("lines%d", i), genCSV(rng, opts), opts.header)
		t.Run(f.name, func(t *testing.T) {
			r := f.open(t)
			size := int64(len(f.data))
			serial, err := serialParse(f.data, d, f.dataStart, f.dataLine)
			if err != nil {
				t.Fatal(err)
			}
			failed := 0
			for range 30 {
				bs := MinBlocksize + rng.Int64N(8<<10)
				parts, err := SplitLines(ctx, r, f.path, f.dataStart, size, bs)
				if err != nil {
					t.Fatal(err)
				}
				checkContiguous(t, parts, f.dataStart, size)
				got, ok := tryPartitions(r, size, parts, d)
				if !ok {
					failed++
					continue
				}
				sameRecords(t, got, serial)
			}
			if failed == 0 {
				t.Fatal("no cut fell inside a quoted field: the test shows nothing")
			}
		})
	}
	data := plainFile(20000, true, false)
	f := writeTestFile(t, "plain", data, true)
	r := f.open(t)
	serial, err := serialParse(data, d, f.dataStart, f.dataLine)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range []int64{MinBlocksize, MinBlocksize + 7, 5000, int64(len(data))} {
		parts, err := SplitLines(ctx, r, f.path, f.dataStart, int64(len(data)), bs)
		if err != nil {
			t.Fatal(err)
		}
		checkContiguous(t, parts, f.dataStart, int64(len(data)))
		if want := (int64(len(data)) - f.dataStart + bs - 1) / bs; int64(len(parts)) != want {
			t.Fatalf("blocksize %d: %d partitions, want %d", bs, len(parts), want)
		}
		sameRecords(t, scanPartitions(t, r, int64(len(data)), parts, d), serial)
	}
	if _, err := SplitLines(ctx, r, f.path, 0, 8, MinBlocksize-1); err == nil {
		t.Fatal("blocksize below MinBlocksize accepted")
	}
}

// countingReaderAt counts the bytes read through it.
type countingReaderAt struct {
	r io.ReaderAt
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.n += int64(len(p))
	return c.r.ReadAt(p, off)
}

// SplitLines reads a window at each cut, not the file: on data whose
// records hold quoted fields (a cut inside one cannot know its quote
// state) it must not scan ahead for a line end "outside quotes".
func TestSplitLinesReadsWindows(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("a,b,c\n")
	for i := 0; b.Len() < 4<<20; i++ {
		fmt.Fprintf(&b, "%d,\"zone, %d\",\"a \"\"note\"\", with, commas\"\n", i, i%7)
	}
	data := b.Bytes()
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	parts, err := SplitLines(context.Background(), cr, "q.csv", 6, int64(len(data)), MinBlocksize)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(data)) / MinBlocksize; int64(len(parts)) < want/2 {
		t.Fatalf("%d partitions, want about %d", len(parts), want)
	}
	if cr.n > int64(len(parts))*(4<<10)*2 {
		t.Fatalf("read %d bytes for %d cuts", cr.n, len(parts))
	}
}

// TestSplitBreaks checks each partition's line ends before it (Breaks)
// against the scanner's line count, with LF, CRLF and lone CR ends, CRs
// at block and read-buffer boundaries (blocks over 1 MiB are read in
// several buffers), and quoted fields holding line ends across cuts.
func TestSplitBreaks(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	ctx := context.Background()
	for i, target := range []int{20 << 10, 90 << 10, 3 << 20} {
		opts := genOptions{minSize: target, header: i%2 == 0, quotes: true,
			ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true, maxField: 10}
		if i == 1 {
			opts.maxField = 200
		}
		f := writeTestFile(t, fmt.Sprintf("breaks%d", i), genCSV(rng, opts), opts.header)
		r := f.open(t)
		size := int64(len(f.data))
		serial, err := serialParse(f.data, DefaultDialect(), f.dataStart, f.dataLine)
		if err != nil {
			t.Fatal(err)
		}
		lineAt := map[int64]int64{}
		for _, rec := range serial {
			lineAt[rec.Off] = rec.Line
		}
		bss := []int64{MinBlocksize, 3 << 10, 1<<20 + 7, 2<<20 + 1}
		for range 6 {
			bss = append(bss, MinBlocksize+rng.Int64N(64<<10))
		}
		for _, bs := range bss {
			lay, err := Split(ctx, r, f.path, f.dataStart, size, bs, 1+rng.IntN(4))
			if err != nil {
				t.Fatal(err)
			}
			if len(lay.Breaks) != len(lay.Partitions) {
				t.Fatalf("%d breaks for %d partitions", len(lay.Breaks), len(lay.Partitions))
			}
			want := int64(0) // line ends before p: no partition starts inside a CRLF
			for j, p := range lay.Partitions {
				if j > 0 {
					want += lineBreaks(f.data[lay.Partitions[j-1].Start:p.Start])
				}
				if lay.Breaks[j] != want {
					t.Fatalf("%s blocksize %d partition %d at %d: breaks %d, want %d", f.name, bs, j, p.Start, lay.Breaks[j], want)
				}
				if line, ok := lineAt[p.Start]; ok && line != f.dataLine+want {
					t.Fatalf("%s blocksize %d partition %d: scanner line %d, breaks say %d", f.name, bs, j, line, f.dataLine+want)
				}
			}
		}
	}
}

// TestSplitBreaksBufferEdge puts a CR (lone, or half of a CRLF) on the
// last byte of the pre-pass's first read buffer inside a block, and on a
// block's last byte.
func TestSplitBreaksBufferEdge(t *testing.T) {
	ctx := context.Background()
	for _, rec := range []string{"ab\r", "a\r\n", "abc\r\n"} {
		for pad := range 3 {
			data := append([]byte(strings.Repeat("q", pad)), bytes.Repeat([]byte(rec), (3<<20)/len(rec))...)
			f := writeTestFile(t, fmt.Sprintf("edge%d", pad), data, false)
			r := f.open(t)
			for _, bs := range []int64{2 << 20, 1<<20 + 1, 1<<20 + 2, 1<<20 + 3} {
				lay, err := Split(ctx, r, f.path, 0, int64(len(data)), bs, 2)
				if err != nil {
					t.Fatal(err)
				}
				want := int64(0)
				for j, p := range lay.Partitions {
					if j > 0 {
						want += lineBreaks(data[lay.Partitions[j-1].Start:p.Start])
					}
					if lay.Breaks[j] != want {
						t.Fatalf("%q pad %d blocksize %d partition %d: breaks %d, want %d", rec, pad, bs, j, lay.Breaks[j], want)
					}
				}
			}
		}
	}
}

func TestHasDoubleLF(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 200000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			switch r.IntN(4) {
			case 0:
				b[i] = '\n'
			case 1:
				b[i] = byte(r.IntN(256))
			default:
				b[i] = 'x'
			}
		}
		if got, want := hasDoubleLF(b), bytes.Contains(b, []byte("\n\n")); got != want {
			t.Fatalf("hasDoubleLF(%q) = %v, want %v", b, got, want)
		}
	}
}
