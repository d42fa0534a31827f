package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// TestGroupByManyGroups has enough groups that the workers move them into
// the shared parts (see parts.go): the answer must equal the naive
// reference and come out sorted by key, for one key (looked up row by row
// until then) and two keys, for first and last, which order rows by
// position, and for a sum that leaves int64 in one group only.
func TestGroupByManyGroups(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const rows = 130_000
	var recs [][]string
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"n", "s", "v", "f"}
	w.Write(header)
	for range rows {
		n := strconv.Itoa(r.IntN(70_000) - 1000)
		s := []string{"a,b", `q"`, "x\ny", "", "z"}[r.IntN(5)]
		v := strconv.Itoa(r.IntN(2001) - 1000)
		if r.IntN(15) == 0 {
			v = ""
		}
		f := strconv.FormatFloat((r.Float64()-0.5)*1e3, 'g', -1, 64)
		rec := []string{n, s, v, f}
		recs = append(recs, rec)
		w.Write(rec)
	}
	// Group 5's sum of v leaves int64: the whole column turns float, in
	// every part, whichever part group 5 is in.
	for range 4 {
		rec := []string{"5", "z", strconv.FormatInt(math.MaxInt64/3, 10), "1"}
		recs = append(recs, rec)
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "many.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	aggs := []string{"count", "sum:v", "mean:f", "min:v", "max:f", "first:f", "last:v", "nunique:v", "std:f"}
	// With --where, rows are batched with their keys and looked up a batch
	// at a time even with one key.
	var kept [][]string
	for _, rec := range recs {
		if f, _ := strconv.ParseFloat(rec[3], 64); f > -200 {
			kept = append(kept, rec)
		}
	}
	for _, tc := range []struct {
		keys  []string
		where string
	}{{[]string{"n"}, ""}, {[]string{"n", "s"}, ""}, {[]string{"n"}, "f > -200"}} {
		keys := tc.keys
		var keyCols []int
		for _, k := range keys {
			keyCols = append(keyCols, slices.Index(header, k))
		}
		in := recs
		if tc.where != "" {
			in = kept
		}
		want := naiveGroupBy(in, keyCols, aggs, header)
		if len(want) <= cachedSlots*3/4 {
			t.Fatalf("%d groups: too few for the tables to split into parts", len(want))
		}
		for _, cfg := range []Config{{Workers: 1}, {Workers: 2}, {Workers: 3, Blocksize: 64 << 10}, {Workers: 2, Blocksize: 16 << 10}} {
			// The last: workers join the shared parts at 768 groups, so
			// every worker adds to them.
			saved := cachedSlots
			if cfg.Blocksize == 16<<10 {
				cachedSlots = 1 << 10
			}
			cfg.Dialect = readers.DefaultDialect()
			cfg.MemoryLimit = 1 << 30
			got, _ := runGroupByWhere(t, []string{path}, tc.where, keys, aggs, cfg)
			cachedSlots = saved
			t.Run(fmt.Sprintf("%s/%s/w%d", strings.Join(keys, "+"), tc.where, cfg.Workers), func(t *testing.T) {
				compareGroups(t, got, want, len(keys))
				// Sorted by the typed key: n as a number, then s as text
				// with null last.
				key := func(row string) (int, string) {
					cells := strings.Split(row, "|")
					n, err := strconv.Atoi(cells[0])
					if err != nil {
						t.Fatalf("key %q is not a number", cells[0])
					}
					if len(keys) == 1 {
						return n, ""
					}
					if cells[1] == "<null>" {
						return n, "\xff"
					}
					return n, cells[1]
				}
				for i := 1; i < len(got); i++ {
					an, as := key(got[i-1])
					bn, bs := key(got[i])
					if an > bn || an == bn && as >= bs {
						t.Fatalf("row %d %q comes after %q", i, got[i], got[i-1])
					}
				}
			})
		}
	}
}

// TestEachMerged merges sorted parts into one ordered stream, for any
// number of parts with rows, stops when the caller returns an error, and
// stops at the limit, without leaving the merging goroutine behind (a test
// that hangs fails).
func TestEachMerged(t *testing.T) {
	for _, filled := range []int{64, 37, 2, 1} {
		r := rand.New(rand.NewPCG(5, uint64(filled)))
		parts := make([]sortedRows, 1<<partBits)
		var all []string
		for i := range 20_000 {
			key := fmt.Sprintf("k%07d", r.IntN(1_000_000)) + strconv.Itoa(i)
			all = append(all, key)
			order := append(append([]byte{1}, key...), 0, 0)
			row := binary.AppendUvarint(nil, uint64(len(order)))
			row = append(row, order...)
			row = append(row, cellText)
			row = binary.AppendUvarint(row, uint64(len(key)))
			row = append(row, key...)
			parts[r.IntN(filled)*len(parts)/filled].add(row)
		}
		for p := range parts {
			parts[p].sort()
		}
		slices.Sort(all)
		res := &Result{Schema: plan.Schema{{Name: "k", Type: plan.String}}, parts: parts, limit: -1}
		var got []string
		n, err := res.Each(func(f [][]byte) error {
			got = append(got, string(f[0]))
			return nil
		})
		if err != nil || n != int64(len(all)) || !slices.Equal(got, all) {
			t.Fatalf("%d parts: Each: %d rows, err %v; rows equal: %v", filled, n, err, slices.Equal(got, all))
		}
		stop := errors.New("stop")
		seen := 0
		_, err = res.Each(func([][]byte) error {
			if seen++; seen == 1000 {
				return stop
			}
			return nil
		})
		if err != stop || seen != 1000 {
			t.Fatalf("%d parts: Each after an error: err %v, %d rows seen", filled, err, seen)
		}
		res.limit = 3
		got = got[:0]
		if n, err := res.Each(func(f [][]byte) error {
			got = append(got, string(f[0]))
			return nil
		}); err != nil || n != 3 || !slices.Equal(got, all[:3]) {
			t.Fatalf("%d parts: Each with limit 3: %d rows %q, err %v", filled, n, got, err)
		}
	}
	res := &Result{Schema: plan.Schema{{Name: "k", Type: plan.String}}, parts: make([]sortedRows, 4), limit: -1}
	if n, err := res.Each(func([][]byte) error { return errors.New("no rows expected") }); n != 0 || err != nil {
		t.Fatalf("no rows: %d rows, err %v", n, err)
	}
}

// TestGroupByEqualValueKeys: "7" and "7.0" are one group of a float key
// column, printed 7.0, whatever the workers and blocksize, in the shared
// parts (30,000 groups from 60,000 spellings) and in a small table alike.
func TestGroupByEqualValueKeys(t *testing.T) {
	for _, n := range []int{30_000, 40} {
		var buf bytes.Buffer
		buf.WriteString("k,v\n")
		r := rand.New(rand.NewPCG(1, uint64(n)))
		for _, i := range r.Perm(2 * n) {
			if i%2 == 0 {
				fmt.Fprintf(&buf, "%d,1\n", i/2)
			} else {
				fmt.Fprintf(&buf, "%d.0,2\n", i/2)
			}
		}
		path := filepath.Join(t.TempDir(), "k.csv")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var first []string
		for _, cfg := range []Config{{Workers: 1}, {Workers: 2, Blocksize: 4 << 10}, {Workers: 3, Blocksize: readers.MinBlocksize}} {
			cfg.Dialect = readers.DefaultDialect()
			cfg.MemoryLimit = 1 << 30
			got := runGroupBy(t, path, []string{"k"}, []string{"sum:v"}, cfg)
			if len(got) != n {
				t.Fatalf("%d groups, want %d", len(got), n)
			}
			for i, row := range got {
				if want := fmt.Sprintf("%d.0|3", i); row != want {
					t.Fatalf("workers %d: row %d = %q, want %q", cfg.Workers, i, row, want)
				}
			}
			if first == nil {
				first = got
			} else if !slices.Equal(got, first) {
				t.Fatalf("workers %d: output differs from workers 1", cfg.Workers)
			}
		}
	}
}

// TestSortedRowsSort sorts keys in the orders that break naive quicksorts
// (sorted, reversed, organ pipe, few distinct prefixes, all on one tie)
// and checks the result against slices.SortFunc with the same comparison.
func TestSortedRowsSort(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{0, 1, 2, 17, 100, 5000} {
		for _, pattern := range []string{"random", "sorted", "reversed", "organ", "prefixes", "ties"} {
			var s sortedRows
			for i := range n {
				var key string
				switch pattern {
				case "random":
					key = fmt.Sprintf("%08d", r.IntN(1_000_000))
				case "sorted":
					key = fmt.Sprintf("%08d", i)
				case "reversed":
					key = fmt.Sprintf("%08d", n-i)
				case "organ":
					key = fmt.Sprintf("%08d", min(i, n-i))
				case "prefixes":
					key = fmt.Sprintf("k%d-%024d", r.IntN(3), r.IntN(1_000_000)) // ties on the first 16 bytes
				case "ties":
					key = strings.Repeat("x", 20) + strconv.Itoa(r.IntN(50))
				}
				order := append(append([]byte{1}, key...), 0, 0)
				row := binary.AppendUvarint(nil, uint64(len(order)))
				row = append(row, order...)
				row = append(row, cellText, byte(len(key)))
				row = append(row, key...)
				s.add(row)
			}
			want := slices.Clone(s.keys)
			slices.SortFunc(want, func(a, b rowKey) int { return compareKeys(&s, &a, &s, &b) })
			s.sort()
			for i := range want {
				if compareKeys(&s, &s.keys[i], &s, &want[i]) != 0 {
					t.Fatalf("%s, %d keys: key %d out of order", pattern, n, i)
				}
			}
		}
	}
}

// TestAppendFloatWhole: whole numbers take a fast path; it must print what
// the shortest-repr path prints, "-0.0" for negative zero included.
func TestAppendFloatWhole(t *testing.T) {
	slow := func(f float64) string {
		if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
			return strconv.FormatFloat(f, 'e', -1, 64)
		}
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	r := rand.New(rand.NewPCG(4, 4))
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 1<<53 - 1, -(1<<53 - 1), 1 << 53, 1e15, 9999999999999998, 1e16, 0.5, 123456.0}
	for range 100_000 {
		fs = append(fs, math.Trunc((r.Float64()-0.5)*math.Pow(2, float64(r.IntN(60)))))
	}
	for _, f := range fs {
		if got, want := string(AppendFloat(nil, f)), slow(f); got != want {
			t.Fatalf("AppendFloat(%v) = %q, want %q", f, got, want)
		}
	}
}
