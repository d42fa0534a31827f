package engine

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/hashagg"
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
		if len(want) <= hashagg.CachedSlots*3/4 {
			t.Fatalf("%d groups: too few for the tables to split into parts", len(want))
		}
		for _, cfg := range []Config{{Workers: 1}, {Workers: 2}, {Workers: 3, Blocksize: 64 << 10}, {Workers: 2, Blocksize: 16 << 10}} {
			// The last: workers join the shared parts at 768 groups, so
			// every worker adds to them.
			saved := hashagg.CachedSlots
			if cfg.Blocksize == 16<<10 {
				hashagg.CachedSlots = 1 << 10
			}
			cfg.Dialect = readers.DefaultDialect()
			cfg.MemoryLimit = 1 << 30
			got, _ := runGroupByWhere(t, []string{path}, tc.where, keys, aggs, cfg)
			hashagg.CachedSlots = saved
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
