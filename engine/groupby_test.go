package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

// runGroupBy runs a groupby over path with every aggregate of aggs
// ("fn:col") by keys, and returns the output as text rows, cells joined by
// "|", null as <null>.
func runGroupBy(t *testing.T, path string, keys []string, aggs []string, cfg Config) []string {
	out, _ := runGroupByStats(t, path, keys, aggs, cfg)
	return out
}

func runGroupByStats(t *testing.T, path string, keys []string, aggs []string, cfg Config) ([]string, *RunStats) {
	t.Helper()
	return runGroupByPaths(t, []string{path}, keys, aggs, cfg)
}

func runGroupByPaths(t *testing.T, paths []string, keys []string, aggs []string, cfg Config) ([]string, *RunStats) {
	t.Helper()
	return runGroupByWhere(t, paths, "", keys, aggs, cfg)
}

// runGroupByWhere is runGroupByPaths with a --where expression ("" for
// none).
func runGroupByWhere(t *testing.T, paths []string, where string, keys []string, aggs []string, cfg Config) ([]string, *RunStats) {
	t.Helper()
	ds, in := openTyped(t, &cfg, paths)
	defer ds.Close()
	var node plan.Node = plan.NewScan(paths, in)
	if where != "" {
		pred, err := plan.ParseExpr(where, in, "--where")
		if err != nil {
			t.Fatal(err)
		}
		node = plan.NewFilter(node, pred)
	}
	root := plan.Optimize(groupByNode(t, node, keys, aggs))
	return runRows(t, ds, root)
}

// groupByNode is a groupby of child by keys with aggs ("fn:col"), sorted
// by the keys.
func groupByNode(t testing.TB, child plan.Node, keys []string, aggs []string) plan.Node {
	in := child.Schema()
	var keyIdx []int
	var sk []plan.SortKey
	for i, k := range keys {
		keyIdx = append(keyIdx, in.Index(k))
		sk = append(sk, plan.SortKey{Col: i})
	}
	var fs []plan.AggFunc
	for _, a := range aggs {
		fn, col, _ := strings.Cut(a, ":")
		k, ok := plan.ParseAggKind(fn)
		if !ok {
			t.Fatalf("aggregate %q", fn)
		}
		c := -1
		if col != "" {
			c = in.Index(col)
		}
		fs = append(fs, plan.AggFunc{Kind: k, Col: c})
	}
	ag, err := plan.NewAggregate(child, keyIdx, fs)
	if err != nil {
		t.Fatal(err)
	}
	return plan.NewSort(ag, sk)
}

// runRows runs root over ds and returns its rows as text, cells joined by
// "|", null as <null>.
func runRows(t testing.TB, ds *Dataset, root plan.Node) ([]string, *RunStats) {
	t.Helper()
	rows, stats, err := tryRows(ds, root)
	if err != nil {
		t.Fatal(err)
	}
	return rows, stats
}

func tryRows(ds *Dataset, root plan.Node) ([]string, *RunStats, error) {
	c := &captureWriter{}
	out := &Output{Format: "table", Open: func([]writers.Column, Delivery) (writers.Writer, error) { return c, nil }}
	stats, err := ds.Run(context.Background(), root, out, RunOptions{})
	return c.rows, stats, err
}

// captureWriter keeps the rows written through it as text.
type captureWriter struct {
	rows  []string
	ended bool
}

func (c *captureWriter) Begin([]writers.Column) error { return nil }
func (c *captureWriter) Row(fields [][]byte) error {
	parts := make([]string, len(fields))
	for j, f := range fields {
		if f == nil {
			parts[j] = "<null>"
		} else {
			parts[j] = string(f)
		}
	}
	c.rows = append(c.rows, strings.Join(parts, "|"))
	return nil
}
func (c *captureWriter) WriteEncoded([]byte, int64) error { panic("table format takes rows") }
func (c *captureWriter) End() error                       { c.ended = true; return nil }

// randomCSV writes a file with key columns k1 (strings that need quoting:
// commas, quotes, newlines), k2 (small ints, some null) and value columns
// v (ints, some huge so sums overflow int64 into floats), f (floats with
// negatives and nulls).
func randomCSV(t *testing.T, r *rand.Rand, rows int) (string, [][]string) {
	t.Helper()
	keys1 := []string{"a", "b,c", `q"uote`, "new\nline", "", "x y", "-1", "ü"}
	var recs [][]string
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"k1", "k2", "v", "f"})
	for range rows {
		k2 := strconv.Itoa(r.IntN(5) - 2)
		if r.IntN(10) == 0 {
			k2 = ""
		}
		v := strconv.Itoa(r.IntN(2001) - 1000)
		switch r.IntN(20) {
		case 0:
			v = ""
		case 1:
			v = strconv.FormatInt(math.MaxInt64/3, 10)
		}
		f := strconv.FormatFloat((r.Float64()-0.5)*1000, 'g', -1, 64)
		if r.IntN(8) == 0 {
			f = ""
		}
		rec := []string{keys1[r.IntN(len(keys1))], k2, v, f}
		recs = append(recs, rec)
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, recs
}

// naiveGroupBy is the deliberately simple reference: maps, big.Rat for
// exact sums, and the same formatting rules.
func naiveGroupBy(recs [][]string, keyCols []int, aggs []string, header []string) []string {
	type acc struct {
		count   int64
		n       map[int]int64
		sum     map[int]*big.Rat
		allInt  map[int]bool
		min     map[int]*big.Rat
		max     map[int]*big.Rat
		sumsq   map[int]*big.Rat
		uniq    map[int]map[string]bool
		first   map[int]string
		last    map[int]string
		hasVals map[int]bool
	}
	col := func(name string) int { return slices.Index(header, name) }
	groups := map[string]*acc{}
	var order []string
	for _, rec := range recs {
		var kparts []string
		for _, k := range keyCols {
			v := rec[k]
			if v == "" {
				v = "<null>"
			}
			kparts = append(kparts, v)
		}
		key := strings.Join(kparts, "|")
		a := groups[key]
		if a == nil {
			a = &acc{n: map[int]int64{}, sum: map[int]*big.Rat{}, allInt: map[int]bool{}, min: map[int]*big.Rat{}, max: map[int]*big.Rat{},
				sumsq: map[int]*big.Rat{}, uniq: map[int]map[string]bool{}, first: map[int]string{}, last: map[int]string{}, hasVals: map[int]bool{}}
			groups[key] = a
			order = append(order, key)
		}
		a.count++
		seen := map[int]bool{}
		for _, ag := range aggs {
			_, name, _ := strings.Cut(ag, ":")
			if name == "" || seen[col(name)] {
				continue
			}
			c := col(name)
			seen[c] = true
			s := rec[c]
			if s == "" {
				continue
			}
			// The exact value of the double the text parses to: what any
			// engine sums is the parsed doubles, exactly or not.
			pf, err := strconv.ParseFloat(s, 64)
			if err != nil {
				panic("bad number " + s)
			}
			x := new(big.Rat).SetFloat64(pf)
			if !strings.ContainsAny(s, ".eE") {
				x.SetString(s) // integers beyond 2^53 stay exact
			}
			if !a.hasVals[c] {
				a.hasVals[c] = true
				a.sum[c], a.sumsq[c] = new(big.Rat), new(big.Rat)
				a.min[c], a.max[c] = new(big.Rat).Set(x), new(big.Rat).Set(x)
				a.allInt[c] = true
				a.uniq[c] = map[string]bool{}
				a.first[c] = s
			}
			a.n[c]++
			a.sum[c].Add(a.sum[c], x)
			a.sumsq[c].Add(a.sumsq[c], new(big.Rat).Mul(x, x))
			if x.Cmp(a.min[c]) < 0 {
				a.min[c].Set(x)
			}
			if x.Cmp(a.max[c]) > 0 {
				a.max[c].Set(x)
			}
			a.allInt[c] = a.allInt[c] && !strings.ContainsAny(s, ".eE")
			a.uniq[c][x.RatString()] = true
			a.last[c] = s
		}
	}
	fl := func(r *big.Rat) float64 { f, _ := r.Float64(); return f }
	ffmt := func(f float64) string { return string(exec.AppendFloat(nil, f)) }
	// A column has one type: when one group's integer sum leaves int64,
	// every group's sum prints as a float.
	sumWidened := map[int]bool{}
	for _, a := range groups {
		for c, s := range a.sum {
			if !a.allInt[c] || !s.Num().IsInt64() {
				sumWidened[c] = true
			}
		}
	}
	isFloatCol := func(c int) bool { return header[c] == "f" }
	var out []string
	for _, key := range order {
		a := groups[key]
		parts := []string{key}
		for _, ag := range aggs {
			fn, name, _ := strings.Cut(ag, ":")
			c := -1
			if name != "" {
				c = col(name)
			}
			if fn == "count" {
				parts = append(parts, strconv.FormatInt(a.count, 10))
				continue
			}
			if !a.hasVals[c] {
				if fn == "nunique" {
					parts = append(parts, "0")
				} else if fn == "sum" && sumWidened[c] {
					parts = append(parts, "0.0") // the column is a float one
				} else if fn == "sum" {
					parts = append(parts, "0")
				} else {
					parts = append(parts, "<null>")
				}
				continue
			}
			n := a.n[c]
			switch fn {
			case "sum":
				if !sumWidened[c] {
					parts = append(parts, a.sum[c].Num().String())
				} else {
					parts = append(parts, ffmt(fl(a.sum[c])))
				}
			case "mean":
				parts = append(parts, ffmt(fl(new(big.Rat).Quo(a.sum[c], new(big.Rat).SetInt64(n)))))
			case "min", "max":
				r := a.min[c]
				if fn == "max" {
					r = a.max[c]
				}
				if r.IsInt() && a.allInt[c] && !isFloatCol(c) {
					parts = append(parts, r.Num().String())
				} else {
					parts = append(parts, ffmt(fl(r)))
				}
			case "nunique":
				parts = append(parts, strconv.Itoa(len(a.uniq[c])))
			case "first", "last":
				v := a.first[c]
				if fn == "last" {
					v = a.last[c]
				}
				if isFloatCol(c) {
					x, _ := strconv.ParseFloat(v, 64)
					v = ffmt(x)
				}
				parts = append(parts, v)
			case "var", "std":
				if n < 2 {
					parts = append(parts, "<null>")
					continue
				}
				// (Σx² − (Σx)²/n) / (n−1), exactly.
				nr := new(big.Rat).SetInt64(n)
				v := new(big.Rat).Mul(a.sum[c], a.sum[c])
				v.Quo(v, nr)
				v.Sub(a.sumsq[c], v)
				v.Quo(v, new(big.Rat).SetInt64(n-1))
				f := fl(v)
				if fn == "std" {
					f = math.Sqrt(f)
				}
				parts = append(parts, "~"+ffmt(f))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	return out
}

// Differential test: random CSVs with nulls, negatives, int sums that
// overflow into floats, keys that need quoting and several keys, against
// the naive reference, for several worker counts and blocksizes.
func TestGroupByDifferential(t *testing.T) {
	aggs := []string{"count", "sum:v", "mean:v", "min:v", "max:v", "nunique:v", "sum:f", "mean:f", "min:f", "max:f", "var:f", "std:f", "first:f", "last:f"}
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(seed, 7))
		path, recs := randomCSV(t, r, 200+r.IntN(3000))
		header := []string{"k1", "k2", "v", "f"}
		for _, keys := range [][]string{{"k1"}, {"k2"}, {"k1", "k2"}} {
			var keyCols []int
			for _, k := range keys {
				keyCols = append(keyCols, slices.Index(header, k))
			}
			want := naiveGroupBy(recs, keyCols, aggs, header)
			for _, cfg := range []Config{
				{Workers: 1},
				{Workers: 3, Blocksize: readers.MinBlocksize},
				{Workers: 8, Blocksize: 4 << 10},
				{Workers: 2, Blocksize: 2 << 10}, // through the shared parts, below
			} {
				cfg.Dialect = readers.DefaultDialect()
				cfg.MemoryLimit = 1 << 30
				saved := hashagg.CachedSlots
				if cfg.Blocksize == 2<<10 {
					hashagg.CachedSlots = 1 // every worker joins the shared parts at its first batch
				}
				got := runGroupBy(t, path, keys, aggs, cfg)
				hashagg.CachedSlots = saved
				t.Run(fmt.Sprintf("seed%d/%s/w%d", seed, strings.Join(keys, "+"), cfg.Workers), func(t *testing.T) {
					compareGroups(t, got, want, len(keys))
				})
			}
		}
	}
}

// compareGroups compares outputs group by group (the engine sorts by typed
// key; the reference is in first-seen order). Rows are nkeys key cells then
// aggregate cells, joined by "|". Reference cells marked ~ are compared to
// about 9 significant digits.
func compareGroups(t *testing.T, got, want []string, nkeys int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d\ngot  %q\nwant %q", len(got), len(want), got, want)
	}
	split := func(row string) (string, []string) {
		parts := strings.Split(row, "|")
		return strings.Join(parts[:nkeys], "|"), parts[nkeys:]
	}
	byKey := map[string][]string{}
	for _, w := range want {
		k, cells := split(w)
		byKey[k] = cells
	}
	for _, g := range got {
		key, cells := split(g)
		w, ok := byKey[key]
		if !ok {
			t.Fatalf("unexpected group %q in %q", key, g)
		}
		for i, cell := range cells {
			wc := w[i]
			if strings.HasPrefix(wc, "~") {
				a, _ := strconv.ParseFloat(cell, 64)
				b, _ := strconv.ParseFloat(wc[1:], 64)
				if math.Abs(a-b) > 1e-9*math.Max(1, math.Abs(b)) {
					t.Errorf("group %q column %d = %s, want about %s", key, i, cell, wc[1:])
				}
				continue
			}
			if cell != wc {
				t.Errorf("group %q column %d = %s, want %s", key, i, cell, wc)
			}
		}
	}
}

// TestGroupByRetryAfterStream: a cut at a line end that falls inside a
// quoted field fails its seam and starts the groupby again. A stream input
// (here gzip) cannot be read twice, so files are read before streams and
// the stream's rows still count, whatever the order of the inputs.
func TestGroupByRetryAfterStream(t *testing.T) {
	dir := t.TempDir()
	var quoted strings.Builder
	quoted.WriteString("k,v\na,\"")
	for range 700 {
		quoted.WriteString("x\n") // a quoted field across the 1 KiB cut
	}
	quoted.WriteString("\"\n")
	for i := range 300 {
		fmt.Fprintf(&quoted, "b,%d\n", i)
	}
	qpath := filepath.Join(dir, "quoted.csv")
	if err := os.WriteFile(qpath, []byte(quoted.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write([]byte("k,v\n"))
	for i := range 50 {
		fmt.Fprintf(zw, "c,%d\n", i)
	}
	zw.Close()
	zpath := filepath.Join(dir, "stream.csv.gz")
	if err := os.WriteFile(zpath, zipped.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Workers, cfg.Blocksize = 2, 1<<10
	want := []string{"a|1", "b|300", "c|50"}
	for _, paths := range [][]string{{zpath, qpath}, {qpath, zpath}} {
		got, _ := runGroupByPaths(t, paths, []string{"k"}, []string{"count"}, cfg)
		if !slices.Equal(got, want) {
			t.Errorf("%v: got %v, want %v", paths, got, want)
		}
	}
}

// A groupby's nunique is planned as a count of distinct pairs (two hash
// aggregates that spill), attached by key beside the other aggregates:
// the same answers as the reference, with several worker counts and
// blocksizes, nulls and all-null groups included. (The memory test in cmd
// shows it holds --memory-limit.)
func TestGroupByNUniqueExact(t *testing.T) {
	header := []string{"k1", "k2", "v", "f"}
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 11))
		path, recs := randomCSV(t, r, 2000+r.IntN(20000))
		for _, keys := range [][]string{{"k1"}, {"k2"}, {"k1", "k2"}} {
			var keyCols []int
			for _, k := range keys {
				keyCols = append(keyCols, slices.Index(header, k))
			}
			for _, aggs := range [][]string{{"nunique:v"}, {"nunique:f"}, {"count", "nunique:v", "mean:f", "nunique:f"}, {"nunique:f", "nunique:v"}} {
				want := naiveGroupBy(recs, keyCols, aggs, header)
				for _, cfg := range []Config{
					{Workers: 1, MemoryLimit: 1 << 30},
					{Workers: 3, Blocksize: 4 << 10, MemoryLimit: 1 << 30},
				} {
					cfg.Dialect = readers.DefaultDialect()
					got := runGroupBy(t, path, keys, aggs, cfg)
					t.Run(fmt.Sprintf("seed%d/%s/%s/w%d", seed, strings.Join(keys, "+"), strings.Join(aggs, ","), cfg.Workers), func(t *testing.T) {
						compareGroups(t, got, want, len(keys))
					})
				}
			}
		}
	}
}

// A stream read by a plan of several scans (nunique beside other
// aggregates): the first scan keeps a copy that the others read, so the
// answer is the file's.
func TestGroupByNUniqueStream(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 12))
	path, _ := randomCSV(t, r, 30_000)
	zpath, _ := gzipped(t, path, "r.csv.gz")
	aggs := []string{"count", "nunique:v", "mean:f", "nunique:f"}
	for _, keys := range [][]string{{"k1"}, {"k1", "k2"}} {
		cfg := DefaultConfig()
		cfg.Workers, cfg.Blocksize, cfg.TempDir = 2, 16<<10, t.TempDir()
		want := runGroupBy(t, path, keys, aggs, cfg)
		got := runGroupBy(t, zpath, keys, aggs, cfg)
		if !slices.Equal(got, want) {
			t.Fatalf("%v over a stream: %d rows differ from the file's %d", keys, len(got), len(want))
		}
		emptyDir(t, cfg.TempDir)
	}
}

// A stream read by several scans under a limit (head then groupby with
// nunique beside count): each scan stops once the limit has its rows, and
// the first one leaves the stream there. The later scans still read it
// from its start, so the answer is the plain file's, over gzip and stdin:
// limits within the first chunk, across several chunks and past the end,
// with and without a filter below the limit.
func TestGroupByNUniqueStreamLimit(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 13))
	path, recs := randomCSV(t, r, 30_000)
	zpath, data := gzipped(t, path, "r.csv.gz")
	keys, aggs := []string{"k1"}, []string{"count", "nunique:v", "mean:f"}
	for _, n := range []int64{16, 5000, 40_000} {
		for _, where := range []string{"", "v > 0"} {
			cfg := DefaultConfig()
			cfg.Workers, cfg.Blocksize, cfg.TempDir = 3, 16<<10, t.TempDir()
			run := func(paths []string, stdin []byte) []string {
				t.Helper()
				if stdin != nil {
					cfg.Stdin = bytes.NewReader(stdin)
				}
				ds, in := openTyped(t, &cfg, paths)
				defer ds.Close()
				var node plan.Node = plan.NewScan(paths, in)
				if where != "" {
					node = plan.NewFilter(node, mustPred(t, where, in))
				}
				root := plan.Optimize(groupByNode(t, plan.NewLimit(node, n), keys, aggs))
				scans := 0
				plan.Walk(root, func(n plan.Node) {
					if _, ok := n.(*plan.Scan); ok {
						scans++
					}
				})
				if scans < 2 {
					t.Fatalf("the plan scans its input %d time(s), not the case under test: %s", scans, root)
				}
				rows, _ := runRows(t, ds, root)
				return rows
			}
			name := fmt.Sprintf("head %d where %q", n, where)
			want := run([]string{path}, nil)
			if where == "" {
				compareGroups(t, want, naiveGroupBy(recs[:min(n, int64(len(recs)))], []int{0}, aggs, []string{"k1", "k2", "v", "f"}), 1)
			}
			if got := run([]string{zpath}, nil); !slices.Equal(got, want) {
				t.Errorf("%s over gzip: %q, the file's %q", name, got, want)
			}
			if got := run([]string{readers.Stdin}, data); !slices.Equal(got, want) {
				t.Errorf("%s over stdin: %q, the file's %q", name, got, want)
			}
			emptyDir(t, cfg.TempDir)
		}
	}
}
