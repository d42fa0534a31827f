package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// chunkRecords cuts r into chunks of about size bytes and parses each chunk
// on its own with a bytes scanner placed at the chunk's offset and line. It
// checks the chunk sequence (indexes, contiguous offsets, io.EOF right
// after a Last chunk) and that CountRecords agrees with the
// scanner on every chunk.
func chunkRecords(t *testing.T, c *Chunker, start int64, d Dialect) []record {
	t.Helper()
	var all []record
	var buf []byte
	off := start
	for i := 0; ; i++ {
		ch, err := c.Next(buf)
		if err == io.EOF { // Last may be false on the final chunk when the reader had not said EOF yet
			return all
		}
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if ch.Index != i || ch.Offset != off || len(ch.Data) == 0 {
			t.Fatalf("chunk %d: index %d offset %d (want %d), %d bytes", i, ch.Index, ch.Offset, off, len(ch.Data))
		}
		off += int64(len(ch.Data))
		n, err := CountRecords(bytes.Clone(ch.Data), d, "chunk", ch.Offset, ch.Line)
		if err != nil {
			t.Fatalf("chunk %d: CountRecords: %v", i, err)
		}
		recs, err := scanRecords(NewBytesScanner(ch.Data, d, "chunk", ch.Offset, ch.Line))
		if err != nil {
			t.Fatalf("chunk %d %q: %v", i, ch.Data, err)
		}
		if n != int64(len(recs)) {
			t.Fatalf("chunk %d %q: CountRecords %d, scanner %d", i, ch.Data, n, len(recs))
		}
		all = append(all, recs...)
		last := ch.Last
		buf = ch.Data // hand the storage back
		if last {
			if _, err := c.Next(buf); err != io.EOF {
				t.Fatalf("Next after the Last chunk: %v", err)
			}
			return all
		}
	}
}

func sameRecordsAndLines(t *testing.T, got, want []record) {
	t.Helper()
	sameRecords(t, got, want)
	for i := range got {
		if got[i].Line != want[i].Line {
			t.Fatalf("record %d: line %d, want %d", i, got[i].Line, want[i].Line)
		}
	}
}

// TestChunker: chunk sizes from 1 to 64 bytes on the splitting test files;
// the records of all chunks, parsed one chunk at a time, are the serial
// records with the same offsets and lines.
func TestChunker(t *testing.T) {
	d := smallDialect()
	files := smallFiles(t)
	rng := rand.New(rand.NewPCG(13, 14))
	for i := range 3 {
		data := genCSV(rng, genOptions{
			minSize: 3 << 10, header: true, quotes: true,
			ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true, maxField: 12,
		})
		files = append(files, writeTestFile(t, fmt.Sprintf("mid%d", i), data, true))
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			serial, err := serialParse(f.data, d, 0, 1)
			if err != nil {
				t.Fatal(err)
			}
			for size := 1; size <= 64; size++ {
				got := chunkRecords(t, NewChunker(bytes.NewReader(f.data), d, f.path, size), 0, d)
				sameRecordsAndLines(t, got, serial)
			}
			for _, size := range []int{1, 2, 3, 7, 64, 1 << 16} {
				for _, r := range []io.Reader{
					iotest.OneByteReader(bytes.NewReader(f.data)),
					iotest.HalfReader(bytes.NewReader(f.data)),
					iotest.DataErrReader(bytes.NewReader(f.data)),
				} {
					got := chunkRecords(t, NewChunker(r, d, f.path, size), 0, d)
					sameRecordsAndLines(t, got, serial)
				}
			}
		})
	}
}

// TestChunkerHeader: SkipBOM and ReadHeader take the BOM and the header off
// the stream; the chunks then hold the data records at their real offsets
// and lines.
func TestChunkerHeader(t *testing.T) {
	d := smallDialect()
	for _, f := range smallFiles(t) {
		if !f.header {
			continue
		}
		serial, err := serialParse(f.data, d, f.dataStart, f.dataLine)
		if err != nil {
			t.Fatal(err)
		}
		for _, bom := range []bool{false, true} {
			data, shift := f.data, int64(0)
			if bom {
				data, shift = append([]byte("\xef\xbb\xbf"), f.data...), 3
			}
			for _, size := range []int{1, 5, 64} {
				c := NewChunker(iotest.HalfReader(bytes.NewReader(data)), d, f.path, size)
				if err := c.SkipBOM(); err != nil {
					t.Fatal(err)
				}
				h, err := c.ReadHeader()
				if err != nil {
					t.Fatal(err)
				}
				if h.DataStart != f.dataStart+shift || h.DataLine != f.dataLine || len(h.Names) != 2 && len(h.Names) != 3 {
					t.Fatalf("%s: header %+v, want data at %d line %d", f.name, h, f.dataStart+shift, f.dataLine)
				}
				got := chunkRecords(t, c, h.DataStart, d)
				want := make([]record, len(serial))
				for i, r := range serial {
					r.Off += shift
					want[i] = r
				}
				sameRecordsAndLines(t, got, want)
			}
		}
	}
}

func TestChunkerEmptyAndBOMOnly(t *testing.T) {
	d := DefaultDialect()
	for _, in := range []string{"", "\xef\xbb\xbf"} {
		c := NewChunker(bytes.NewReader([]byte(in)), d, "e.csv", 16)
		if err := c.SkipBOM(); err != nil {
			t.Fatal(err)
		}
		if empty, err := c.Empty(); err != nil || !empty {
			t.Fatalf("%q: Empty %v, %v", in, empty, err)
		}
		if _, err := c.Next(nil); err != io.EOF {
			t.Fatalf("%q: Next: %v", in, err)
		}
	}
	c := NewChunker(bytes.NewReader([]byte("\xef\xbb\xbfa\n")), d, "e.csv", 16)
	if err := c.SkipBOM(); err != nil {
		t.Fatal(err)
	}
	if ch, err := c.Next(nil); err != nil || string(ch.Data) != "a\n" || ch.Offset != 3 || !ch.Last {
		t.Fatalf("chunk %+v, %v", ch, err)
	}
}

// TestChunkerRecordTooLarge: a record longer than MaxRecordSize is
// reported (by the chunker before it is read whole, or by the scanner of the
// last chunk); one of exactly MaxRecordSize bytes, whatever its line end,
// is not.
func TestChunkerRecordTooLarge(t *testing.T) {
	d := DefaultDialect()
	d.MaxRecordSize = 8
	for _, size := range []int{1, 3, 4, 64} {
		c := NewChunker(iotest.OneByteReader(bytes.NewReader([]byte("ok\n\"abcdefghijklmnopqrstuvwxyz\"\nz\n"))), d, "big.csv", size)
		// Either the chunker reports it, or (when the stream ended while the
		// record was still within one read) the scanner of its chunk.
		var err error
		for err == nil {
			var ch Chunk
			if ch, err = c.Next(nil); err == nil {
				_, err = scanRecords(NewBytesScanner(ch.Data, d, "big.csv", ch.Offset, ch.Line))
			}
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Err != ErrRecordTooLarge || pe.Line != 2 || pe.Offset != 3 {
			t.Fatalf("size %d: %v", size, err)
		}
		for _, end := range []string{"\n", "\r\n", "\r"} {
			in := "x" + end + "abcdefgh" + end + "\"a\"\"b\",x" + end + "y"
			c := NewChunker(iotest.OneByteReader(bytes.NewReader([]byte(in))), d, "max.csv", size)
			got := chunkRecords(t, c, 0, d)
			if len(got) != 4 {
				t.Fatalf("size %d, %q: %v", size, in, got)
			}
		}
	}
}

func TestChunkerReadError(t *testing.T) {
	boom := errors.New("boom")
	c := NewChunker(io.MultiReader(bytes.NewReader([]byte("a\nb")), iotest.ErrReader(boom)), DefaultDialect(), "e.csv", 1)
	var err error
	for err == nil {
		_, err = c.Next(nil)
	}
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want the read error", err)
	}
}

// TestCountRecords: the line-count fast path and the scanner agree, and a
// line over MaxRecordSize is not counted but reported.
func TestCountRecords(t *testing.T) {
	d := DefaultDialect()
	d.MaxRecordSize = 8
	f := func(in string, want int64, wantErr error) {
		t.Helper()
		n, err := CountRecords([]byte(in), d, "c.csv", 0, 1)
		if !errors.Is(err, wantErr) || (wantErr == nil && n != want) {
			t.Fatalf("%q: %d, %v; want %d, %v", in, n, err, want, wantErr)
		}
	}
	f("", 0, nil)
	f("a\nb\nc", 3, nil)
	f("a\nb\nc\n", 3, nil)
	f("abcdefgh\nx\n", 2, nil)
	f("\na\n\nb\n", 2, nil)
	f("a\r\nb\rc", 3, nil)
	f("\"a\nb\"\nc\n", 2, nil)
	f("abcdefghi\nx\n", 0, ErrRecordTooLarge)
	f("x\nabcdefghi", 0, ErrRecordTooLarge)
	f("x\n\"a\nb\nc\nd\"\n", 0, ErrRecordTooLarge)
}
