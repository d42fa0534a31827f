package spill

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func sortAll(t *testing.T, s *Sorter) [][]byte {
	t.Helper()
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	var got [][]byte
	for it.Next() {
		got = append(got, bytes.Clone(it.Row()))
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

// writeRuns writes rows as sorted runs of at most runRows rows each, each
// sorted stably by cmp, in input order.
func writeRuns(t testing.TB, s *Sorter, rows [][]byte, runRows int, cmp func(a, b []byte) int) {
	t.Helper()
	for len(rows) > 0 {
		run := slices.Clone(rows[:min(runRows, len(rows))])
		rows = rows[len(run):]
		slices.SortStableFunc(run, cmp)
		if err := s.WriteRun(slices.Values(run)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSorter(t *testing.T) {
	// byPrefix compares the first two bytes only, so most rows tie and the
	// order of ties (the sequence number after them) checks stability.
	byPrefix := func(a, b []byte) int { return bytes.Compare(a[:min(2, len(a))], b[:min(2, len(b))]) }
	prefixKey := func(row []byte) Key {
		var b [16]byte
		copy(b[:], row[:min(2, len(row))])
		return Key{Hi: binary.BigEndian.Uint64(b[:8])}
	}
	for _, c := range []struct {
		name     string
		rows     int
		runRows  int
		mergeMem int64
		cmp      func(a, b []byte) int
		key      func([]byte) Key
		levels   int
	}{
		{"one-run", 5000, 5000, 1 << 30, bytes.Compare, nil, 0},
		{"one-run-stable", 5000, 5000, 1 << 30, byPrefix, nil, 0},
		{"one-pass", 20000, 2000, 1 << 30, bytes.Compare, nil, 0},
		{"one-pass-keys", 20000, 2000, 1 << 30, byPrefix, prefixKey, 0},
		{"one-level", 20000, 500, 16 * readerMem, bytes.Compare, nil, 1},
		{"two-levels", 20000, 50, 16 * readerMem, bytes.Compare, nil, 2},
		{"stable-levels", 20000, 50, 16 * readerMem, byPrefix, prefixKey, 2},
		{"fan-in-two", 2000, 50, 4 << 10, byPrefix, prefixKey, 5},
		{"long-rows", 100, 10, 1 << 30, byPrefix, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, uint64(c.rows)))
			rows := make([][]byte, c.rows)
			for i := range rows {
				n := r.IntN(60)
				if c.name == "spill-long-rows" {
					n = r.IntN(100 << 10)
				}
				row := randBytes(r, n)
				if len(row) >= 2 {
					row[0] %= 3
					row = binary.BigEndian.AppendUint32(row, uint32(i))
				}
				rows[i] = row
			}
			d := newTestDir(t, nil)
			s := d.NewSorter(c.mergeMem, c.cmp, c.key)
			writeRuns(t, s, rows, c.runRows, c.cmp)
			got := sortAll(t, s)
			if s.Levels() != c.levels {
				t.Errorf("%d merge passes before the last, want %d", s.Levels(), c.levels)
			}
			want := bytes2(rows)
			sort.SliceStable(want, func(i, j int) bool { return c.cmp(want[i], want[j]) < 0 })
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("row %d: %x, want %x", i, got[i], want[i])
				}
			}
			assertEmpty(t, d.Path())
		})
	}
}

func bytes2(rows [][]byte) [][]byte { return append([][]byte(nil), rows...) }

func TestSorterEmpty(t *testing.T) {
	d := newTestDir(t, nil)
	if got := sortAll(t, d.NewSorter(1<<20, bytes.Compare, nil)); len(got) != 0 {
		t.Errorf("%d rows from an empty Sorter", len(got))
	}
}

// TestSorterEarlyClose: closing the iterator half way removes the runs.
func TestSorterEarlyClose(t *testing.T) {
	d := newTestDir(t, nil)
	s := d.NewSorter(4<<10, bytes.Compare, nil)
	var rows [][]byte
	for i := range 5000 {
		rows = append(rows, fmt.Appendf(nil, "row %d", i*7919%5000))
	}
	writeRuns(t, s, rows, 100, bytes.Compare)
	it, err := s.Sort()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		it.Next()
	}
	if got := string(it.Row()); got != "row 1005" {
		t.Errorf("10th row %q", got)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, d.Path())
}
