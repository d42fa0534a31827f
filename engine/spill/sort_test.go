package spill

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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

func TestSorter(t *testing.T) {
	// byPrefix compares the first two bytes only, so most rows tie and the
	// order of ties (the sequence number after them) checks stability.
	byPrefix := func(a, b []byte) int { return bytes.Compare(a[:min(2, len(a))], b[:min(2, len(b))]) }
	for _, c := range []struct {
		name      string
		rows      int
		memLimit  int64
		cmp       func(a, b []byte) int
		minSpills int
	}{
		{"memory", 5000, 1 << 30, bytes.Compare, 0},
		{"memory-stable", 5000, 1 << 30, byPrefix, 0},
		{"spill-one-pass", 20000, 256 << 10, bytes.Compare, 3},
		{"spill-many-passes", 20000, 4 << 10, bytes.Compare, 100},
		{"spill-stable", 20000, 4 << 10, byPrefix, 100},
		{"spill-long-rows", 100, 64 << 10, byPrefix, 5},
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
			s := d.NewSorter(c.memLimit, c.cmp)
			for _, row := range rows {
				if err := s.Add(row); err != nil {
					t.Fatal(err)
				}
			}
			if s.Spilled() < c.minSpills || (c.minSpills == 0 && s.Spilled() > 0) {
				t.Fatalf("%d sorted runs, want at least %d", s.Spilled(), c.minSpills)
			}
			longest := 0
			for _, row := range rows {
				longest = max(longest, len(row))
			}
			// The limit, the chunk being filled, a row longer than the
			// limit, and the row headers' slice growing by doubling.
			if limit := 2*c.memLimit + int64(s.chunkSize+longest); s.MemBytes() > limit {
				t.Errorf("MemBytes = %d with memLimit %d", s.MemBytes(), c.memLimit)
			}
			got := sortAll(t, s)
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
	if got := sortAll(t, d.NewSorter(1<<20, bytes.Compare)); len(got) != 0 {
		t.Errorf("%d rows from an empty Sorter", len(got))
	}
}

// TestSorterEarlyClose: closing the iterator half way removes the runs.
func TestSorterEarlyClose(t *testing.T) {
	d := newTestDir(t, nil)
	s := d.NewSorter(4<<10, bytes.Compare)
	for i := range 5000 {
		if err := s.Add(fmt.Appendf(nil, "row %d", i*7919%5000)); err != nil {
			t.Fatal(err)
		}
	}
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
