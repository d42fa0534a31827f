package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gdask/gdask/readers"
)

// quotedFile returns random CSV text with three columns: plain, empty and
// quoted fields (holding delimiters, line ends, doubled quotes), LF or
// CRLF line ends.
func quotedFile(r *rand.Rand, rows int) []byte {
	var b bytes.Buffer
	b.WriteString("a,b,c\n")
	eol := "\n"
	if r.IntN(4) == 0 {
		eol = "\r\n"
	}
	for i := range rows {
		for c := range 3 {
			if c > 0 {
				b.WriteByte(',')
			}
			switch r.IntN(6) {
			case 0:
			case 1:
				fmt.Fprintf(&b, `"%d,""q""`+"\n"+`x"`, i)
			case 2:
				fmt.Fprintf(&b, `"%d"`, r.IntN(1000))
			default:
				fmt.Fprintf(&b, "v%d", r.IntN(100000))
			}
		}
		b.WriteString(eol)
	}
	return b.Bytes()
}

// serialRecords parses data (header first) as one serial scan would,
// without checking field counts: the records after the header, or the
// scan's error.
func serialRecords(data []byte) ([][]string, error) {
	sc := readers.NewBytesScanner(data, readers.DefaultDialect(), "f.csv", 0, 1)
	var recs [][]string
	for sc.Next() {
		rec := make([]string, len(sc.Fields()))
		for i, f := range sc.Fields() {
			rec[i] = string(f)
		}
		recs = append(recs, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, nil
	}
	return recs[1:], nil
}

// tailOf runs Tail over path and returns its rows.
func tailOf(t *testing.T, cfg Config, path string, n int64) ([][]string, error) {
	t.Helper()
	ctx := context.Background()
	ds, err := Open(ctx, &cfg, []string{path})
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	tr, err := ds.Tail(ctx, n)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	err = tr.Each(ctx, func(fields [][]byte) error {
		rec := make([]string, len(fields))
		for i, f := range fields {
			rec[i] = string(f)
		}
		rows = append(rows, rec)
		return nil
	})
	if cerr := tr.Close(); err == nil {
		err = cerr
	}
	return rows, err
}

// checkTail checks Tail against a serial parse of data: when the parse
// fails, tail prints no rows (it never prints text a serial parse does not read
// as records); when it succeeds, tail prints its last n records, or fails
// only because one of them has the wrong number of fields.
func checkTail(t *testing.T, cfg Config, data []byte, n int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	want, serr := serialRecords(data)
	got, err := tailOf(t, cfg, path, n)
	if serr != nil {
		if err == nil && len(got) > 0 {
			t.Fatalf("tail -n %d printed %d rows of a file a serial parse rejects (%v)", n, len(got), serr)
		}
		return
	}
	want = want[max(len(want)-int(n), 0):]
	ragged := slices.ContainsFunc(want, func(r []string) bool { return len(r) != 3 })
	switch {
	case err != nil && !ragged:
		t.Fatalf("tail -n %d: %v; a serial parse reads the file", n, err)
	case err == nil && ragged:
		t.Fatalf("tail -n %d printed a row with the wrong number of fields", n)
	case err == nil && !slices.EqualFunc(got, want, slices.Equal):
		t.Fatalf("tail -n %d: %d rows differ from the serial parse's last %d", n, len(got), len(want))
	}
}

// withTailBlocks makes tail's blocks small, so small files take every
// path: the last block, grown blocks, and counting the whole file.
func withTailBlocks(t *testing.T, first, most int64) {
	f, m := firstTailBlock, maxTailBlock
	firstTailBlock, maxTailBlock = first, most
	t.Cleanup(func() { firstTailBlock, maxTailBlock = f, m })
}

// tail against a serial parse on random quoted files, clean and with a
// quote inserted or deleted at a random place, for random n (some larger
// than the file) and several workers and blocksizes.
func TestTailAgainstSerialParse(t *testing.T) {
	withTailBlocks(t, 256, 8<<10)
	r := rand.New(rand.NewPCG(14, 4))
	for i := range 300 {
		data := quotedFile(r, 50+r.IntN(1500))
		switch i % 3 {
		case 1: // a quote opened anywhere
			at := 6 + r.IntN(len(data)-6)
			data = slices.Insert(data, at, '"')
		case 2: // a quote removed
			var qs []int
			for j, c := range data {
				if c == '"' {
					qs = append(qs, j)
				}
			}
			if len(qs) > 0 {
				q := qs[r.IntN(len(qs))]
				data = slices.Delete(data, q, q+1)
			}
		}
		cfg := DefaultConfig()
		cfg.Workers = 1 + r.IntN(3)
		cfg.Blocksize = int64(1+r.IntN(8)) << 10
		n := int64(r.IntN(40))
		if r.IntN(4) == 0 {
			n = int64(r.IntN(2000))
		}
		checkTail(t, cfg, data, n)
	}
}

// The case that printed text inside a quoted field as rows: a quote left
// open in the middle of a long file, the last block clean.
func TestTailQuoteOpenEarlier(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("a,b,c\n")
	for i := range 100_000 {
		if i == 50_000 {
			b.WriteString(`x,"open,y` + "\n")
			continue
		}
		fmt.Fprintf(&b, "%d,%d,%d\n", i, 2*i, 3*i)
	}
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := tailOf(t, DefaultConfig(), path, 5)
	if err == nil || !strings.Contains(err.Error(), "f.csv:50002:2: unterminated quoted field") {
		t.Fatalf("tail of a file with a quote left open: %v, want the parse error at 50002:2", err)
	}
}

// A stream's last rows: the same as the file's, through a memory limit so
// small that almost every kept chunk is spilled, the spill files gone
// after Close.
func TestTailStreamSpills(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	data := quotedFile(r, 40_000)
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	path := filepath.Join(dir, "f.csv.gz")
	if err := os.WriteFile(path, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	all, err := serialRecords(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{0, 1, 7, 20_000, 40_000, 50_000} {
		cfg := DefaultConfig()
		cfg.Workers, cfg.Blocksize, cfg.TempDir = 2, 16<<10, t.TempDir()
		ctx := context.Background()
		ds, err := Open(ctx, &cfg, []string{path})
		if err != nil {
			t.Fatal(err)
		}
		cfg.MemoryLimit = ds.fixedOverhead() + 1 // no memory to lend for the rows kept
		tr, err := ds.Tail(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		spilled := 0
		for _, p := range tr.pieces {
			if p.spilled != nil {
				spilled++
			}
		}
		var got [][]string
		err = tr.Each(ctx, func(fields [][]byte) error {
			rec := make([]string, len(fields))
			for i, f := range fields {
				rec[i] = string(f)
			}
			got = append(got, rec)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		ds.Close()
		want := all[max(len(all)-int(n), 0):]
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("tail -n %d of a stream: %d rows differ from the last %d", n, len(got), len(want))
		}
		if n > 20_000 && spilled == 0 {
			t.Errorf("tail -n %d kept every chunk in memory under the limit", n)
		}
		emptyDir(t, cfg.TempDir)
	}
}

// A fuzz target: tail of random bytes after a header, for any n, against
// the serial parse.
func FuzzTail(f *testing.F) {
	f.Add([]byte("1,2,3\n\"a\nb\",\"\"\"\",x\n"), uint16(1))
	f.Add([]byte("1,\"2,3\n4,5,6\n"), uint16(2))
	f.Add([]byte("1,a\"b,3\n4,5,6\r\n7,\"\"\"\",9"), uint16(5))
	f.Fuzz(func(t *testing.T, body []byte, n uint16) {
		withTailBlocks(t, 16, 256)
		cfg := DefaultConfig()
		cfg.Workers, cfg.Blocksize = 2, 1<<10
		checkTail(t, cfg, append([]byte("a,b,c\n"), body...), int64(n%64))
	})
}
