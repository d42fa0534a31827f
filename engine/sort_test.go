package engine

import (
	"bytes"
	"cmp"
	"context"
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
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// sortFile writes n rows id,num,str,pay: num draws from integers, floats,
// -0.0 and 0, NaN, infinities, integers too large for a float to tell
// apart, spaces around numbers and empty fields; str from strings that
// are prefixes of each other, multi-byte UTF-8, fields that need quotes
// and empty ones. Few distinct keys, so most rows tie.
func sortFile(t testing.TB, r *rand.Rand, n int) (string, [][]string) {
	nums := []string{"0", "-0.0", "0.0", "1", "-1", "2.5", "-2.5", "1e3", "1000", "nan", "inf", "-inf", "", "9007199254740993",
		"9007199254740992", " 7 ", "7", "-100", "0.1", "1.5e-7"}
	strs := []string{"", "a", "ab", "abc", "b", "B", "é", "éa", "e", "日本", "日", "a,b", `q"uote`, "line\nbreak", "zz", " a"}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"id", "num", "str", "pay"})
	recs := make([][]string, n)
	for i := range recs {
		num := nums[r.IntN(len(nums))]
		if r.IntN(3) == 0 {
			num = strconv.Itoa(r.IntN(200) - 100)
		}
		recs[i] = []string{strconv.Itoa(i), num, strs[r.IntN(len(strs))], fmt.Sprintf("p%d", r.IntN(1000))}
		w.Write(recs[i])
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "sort.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, recs
}

// refValue is a cell as the sort orders it.
type refValue struct {
	null bool
	f    float64
	i    int64 // the exact integer, for integers a float cannot tell apart
	s    string
}

func refNumber(s string) refValue {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "nan") {
		return refValue{null: true}
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return refValue{f: float64(i), i: i}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic("not a number: " + s)
	}
	v := refValue{f: f}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		v.i = int64(f)
	}
	return v
}

// refSort is sort.SliceStable over the parsed rows: numbers by value as
// floats (-0 equal to 0; the numeric columns hold floats), strings
// bytewise, nulls last (or first) in both directions.
func refSort(recs [][]string, keys []plan.SortKey, numeric []bool) [][]string {
	out := slices.Clone(recs)
	val := func(rec []string, c int) refValue {
		if numeric[c] {
			return refNumber(rec[c])
		}
		return refValue{null: rec[c] == "", s: rec[c]}
	}
	slices.SortStableFunc(out, func(a, b []string) int {
		for _, k := range keys {
			va, vb := val(a, k.Col), val(b, k.Col)
			if va.null || vb.null {
				if va.null == vb.null {
					continue
				}
				if va.null == k.NullsFirst {
					return -1
				}
				return 1
			}
			c := cmp.Compare(va.f, vb.f) // the columns hold floats: values compare as floats
			if c == 0 {
				c = strings.Compare(va.s, vb.s)
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	return out
}

func parseCSV(t testing.TB, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// sortRun sorts path by keys (top-N when limit >= 0) with cfg and
// returns the csv output, and the operator figures of the sort.
func sortRun(t testing.TB, cfg Config, path string, keys []plan.SortKey, limit int64) (string, exec.OpStats) {
	t.Helper()
	stats := exec.NewStats()
	cfg.Events = stats
	out, err := runOutput(t, cfg, []string{path}, "csv", func(s plan.Node) plan.Node {
		var n plan.Node = plan.NewSort(s, keys)
		if limit >= 0 {
			n = plan.NewLimit(n, limit)
		}
		return n
	})
	if err != nil {
		t.Fatal(err)
	}
	op := exec.OpStats{}
	for id := range 3 {
		if s := stats.Op(id); s.SpilledRows > 0 || s.MergeLevels > 0 {
			op = s
		}
	}
	return out, op
}

// tightLimit is a memory limit that leaves a sort about 1 MiB of runs.
func tightLimit(workers int) int64 {
	ds := &Dataset{cfg: &Config{Workers: workers}}
	return ds.fixedOverhead() + 3<<20
}

// The sort against sort.SliceStable over parsed rows: mixed directions,
// nulls first and last, ties kept in input order; byte-identical for
// every worker count and blocksize, in memory and through the external
// sort with 0, 1 and 2 and more merge passes before the last, the temp
// dir left empty.
func TestSortReference(t *testing.T) {
	path, recs := sortFile(t, rand.New(rand.NewPCG(5, 6)), 40_000)
	numeric := []bool{true, true, false, false}
	cases := []struct {
		name string
		keys []plan.SortKey
	}{
		{"num", []plan.SortKey{{Col: 1}}},
		{"str desc", []plan.SortKey{{Col: 2, Desc: true}}},
		{"num desc, str", []plan.SortKey{{Col: 1, Desc: true}, {Col: 2}}},
		{"str, num desc, nulls first", []plan.SortKey{{Col: 2, NullsFirst: true}, {Col: 1, Desc: true, NullsFirst: true}}},
	}
	for _, tc := range cases {
		want := append([][]string{{"id", "num", "str", "pay"}}, refSort(recs, tc.keys, numeric)...)
		var first string
		passesSeen := map[int]bool{}
		for _, run := range []struct {
			workers   int
			blocksize int64
			memory    int64
			fanIn     int
			spill     bool
		}{
			{1, 0, 1 << 30, 0, false},
			{2, 1 << 10, 1 << 30, 0, false},
			{8, 64 << 10, 1 << 30, 0, false},
			{2, 64 << 10, tightLimit(2), 64, true},
			{2, 16 << 10, tightLimit(2), 8, true},
			{2, 16 << 10, tightLimit(2), 4, true},
			{8, 16 << 10, tightLimit(8), 2, true},
			{1, 1 << 10, tightLimit(1), 2, true},
			// 1 KiB partitions on 4 workers: 8 or 9 spilled runs in
			// every run seen, so 2 passes or more at fan-in 2 (8
			// workers' runs vary with the schedule, 3 to 16).
			{4, 1 << 10, tightLimit(4), 2, true},
		} {
			cfg := DefaultConfig()
			cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.MergeFanIn = run.workers, run.blocksize, run.memory, run.fanIn
			cfg.TempDir = t.TempDir()
			got, op := sortRun(t, cfg, path, tc.keys, -1)
			label := fmt.Sprintf("%s, workers %d, blocksize %d, memory %d, fan-in %d", tc.name, run.workers, run.blocksize, run.memory, run.fanIn)
			if spilled := op.SpilledRows > 0; spilled != run.spill {
				t.Errorf("%s: spilled %v (%d runs)", label, spilled, op.SpilledRuns)
			}
			if run.spill {
				// Passes before the last merge: groups of fan-in runs
				// merged into one until no more than fan-in are left.
				passes := 0
				for r := op.SpilledRuns; r > run.fanIn; r = (r + run.fanIn - 1) / run.fanIn {
					passes++
				}
				if op.MergeLevels != passes+1 {
					t.Errorf("%s: %d runs merged in %d levels, want %d", label, op.SpilledRuns, op.MergeLevels, passes+1)
				}
				passesSeen[min(passes, 2)] = true
			}
			emptyDir(t, cfg.TempDir)
			if first == "" {
				first = got
				if g := parseCSV(t, got); !slices.EqualFunc(g, want, slices.Equal) {
					for i := range min(len(g), len(want)) {
						if !slices.Equal(g[i], want[i]) {
							t.Fatalf("%s: row %d is %q, want %q", label, i, g[i], want[i])
						}
					}
					t.Fatalf("%s: %d rows, want %d", label, len(g), len(want))
				}
			} else if got != first {
				t.Fatalf("%s: output differs from the first run's (%s)", label, firstDiff(got, first))
			}
		}
		if !passesSeen[0] || !passesSeen[1] || !passesSeen[2] {
			t.Errorf("%s: merges with 0, 1 and 2 or more passes before the last not all seen: %v", tc.name, passesSeen)
		}
		// The rows as cells rather than records: as output text (tsv),
		// and typed, through a Project that reverses the columns.
		for _, memory := range []int64{1 << 30, tightLimit(2)} {
			cfg := DefaultConfig()
			cfg.Workers, cfg.Blocksize, cfg.MemoryLimit = 2, 16<<10, memory
			tsv, err := runOutput(t, cfg, []string{path}, "tsv", func(s plan.Node) plan.Node { return plan.NewSort(s, tc.keys) })
			if err != nil {
				t.Fatal(err)
			}
			var g [][]string
			for _, line := range strings.Split(strings.TrimSuffix(tsv, "\n"), "\n") {
				g = append(g, strings.Split(strings.ReplaceAll(line, `\n`, "\n"), "\t"))
			}
			if !slices.EqualFunc(g, want, slices.Equal) {
				t.Fatalf("%s, memory %d, tsv: rows differ from the reference", tc.name, memory)
			}
			rev, err := runOutput(t, cfg, []string{path}, "csv", func(s plan.Node) plan.Node {
				in := s.Schema()
				p, err := plan.NewProject(s, []plan.ProjCol{{Name: in[3].Name, Col: 3}, {Name: in[2].Name, Col: 2}, {Name: in[1].Name, Col: 1}, {Name: in[0].Name, Col: 0}})
				if err != nil {
					t.Fatal(err)
				}
				keys := slices.Clone(tc.keys)
				for i := range keys {
					keys[i].Col = 3 - keys[i].Col
				}
				return plan.NewSort(p, keys)
			})
			if err != nil {
				t.Fatal(err)
			}
			g = parseCSV(t, rev)
			for i := range g {
				slices.Reverse(g[i])
			}
			if !slices.EqualFunc(g, want, slices.Equal) {
				t.Fatalf("%s, memory %d, typed: rows differ from the reference", tc.name, memory)
			}
		}
	}
}

// Top-k equals sort then head, for N from 0 to past the input, in memory
// and spilled.
func TestSortTopK(t *testing.T) {
	path, _ := sortFile(t, rand.New(rand.NewPCG(7, 8)), 20_000)
	keys := []plan.SortKey{{Col: 1, Desc: true}, {Col: 2}}
	cfg := DefaultConfig()
	cfg.Workers, cfg.Blocksize = 2, 32<<10
	full, _ := sortRun(t, cfg, path, keys, -1)
	r := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int64{0, 1, 7, int64(r.IntN(500)), 1000, int64(r.IntN(20_000)), 20_000, 25_000} {
		for _, memory := range []int64{1 << 30, tightLimit(2)} {
			cfg.MemoryLimit = memory
			got, _ := sortRun(t, cfg, path, keys, n)
			// The full output's header and first n rows.
			want := parseCSV(t, full)
			want = want[:min(len(want), int(n)+1)]
			if g := parseCSV(t, got); !slices.EqualFunc(g, want, slices.Equal) {
				t.Fatalf("top %d, memory %d: %d rows differ from sort then head", n, memory, len(g)-1)
			}
		}
	}
}

// A key column that is numbers in the type sample and later not sorts
// bytewise from the first row (never a mixed order), in memory and
// spilled.
func TestSortWidenedKey(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("k,i\n")
	r := rand.New(rand.NewPCG(1, 1))
	var recs [][]string
	add := func(k string) {
		recs = append(recs, []string{k, strconv.Itoa(len(recs))})
		fmt.Fprintf(&buf, "%s,%d\n", k, len(recs)-1)
	}
	for range 60_000 {
		add(strconv.Itoa(r.IntN(100_000) - 1000))
	}
	add("abc")
	for range 1000 {
		add(strconv.Itoa(r.IntN(100_000)))
	}
	path := filepath.Join(t.TempDir(), "widen.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	keys := []plan.SortKey{{Col: 0}}
	want := append([][]string{{"k", "i"}}, refSort(recs, keys, []bool{false, false})...)
	for _, memory := range []int64{1 << 30, tightLimit(2)} {
		cfg := DefaultConfig()
		cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.SampleBytes = 2, 16<<10, memory, 4<<10
		cfg.TempDir = t.TempDir()
		got, _ := sortRun(t, cfg, path, keys, -1)
		if g := parseCSV(t, got); !slices.EqualFunc(g, want, slices.Equal) {
			t.Fatalf("memory %d: not in bytewise order", memory)
		}
		emptyDir(t, cfg.TempDir)
	}
}

// A run that fails after the sort spilled (a bad value late in a column
// a filter reads), and a run cancelled as a signal does once it spilled,
// leave the temp dir empty.
func TestSortCleanupOnErrorAndSignal(t *testing.T) {
	path, _ := sortFile(t, rand.New(rand.NewPCG(3, 3)), 30_000)
	data, _ := os.ReadFile(path)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, append(data, "30000,oops,x,y\n"...), 0o644)
	keys := []plan.SortKey{{Col: 2}}

	cfg := DefaultConfig()
	cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.SampleBytes = 2, 16<<10, tightLimit(2), 4<<10
	cfg.TempDir = t.TempDir()
	var spills atomic.Int64
	cfg.Events = eventFunc(func(e exec.Event) {
		if e.Kind == exec.EvSpill {
			spills.Add(1)
		}
	})
	_, err := runOutput(t, cfg, []string{bad}, "csv", func(s plan.Node) plan.Node {
		return plan.NewSort(plan.NewFilter(s, mustPred(t, "num > -1000", s.Schema())), keys)
	})
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Value != "oops" {
		t.Fatalf("error %v, want the bad value", err)
	}
	if spills.Load() == 0 {
		t.Fatal("the run failed before the sort spilled")
	}
	emptyDir(t, cfg.TempDir)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var once sync.Once
	cfg.TempDir = t.TempDir()
	cfg.Events = eventFunc(func(e exec.Event) {
		if e.Kind == exec.EvSpill {
			once.Do(func() { cancel(errors.New("interrupted by signal")) })
		}
	})
	ds, err := Open(ctx, &cfg, []string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	in, _ := ds.Schema()
	root := plan.Optimize(plan.NewSort(plan.NewScan([]string{path}, in), keys))
	out := &Output{Format: "table", Open: func([]writers.Column, Delivery) (writers.Writer, error) { return &captureWriter{}, nil }}
	if _, err = ds.Run(ctx, root, out, RunOptions{}); err == nil {
		t.Fatal("the cancelled run succeeded")
	}
	emptyDir(t, cfg.TempDir)
}

type eventFunc func(exec.Event)

func (f eventFunc) Event(e exec.Event) { f(e) }

// Integers past 2^53 order exactly in a column of integers, and as floats
// (equal when their floats are, then in input order) in a column that
// also holds a float, however the batches fall.
func TestSortBigIntegers(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("i,x,n\n")
	r := rand.New(rand.NewPCG(2, 2))
	var ints []int64
	for n := range 5000 {
		v := int64(1)<<60 + r.Int64N(64)
		ints = append(ints, v)
		x := strconv.FormatInt(v, 10)
		if n == 4000 {
			x = "1.5" // the x column holds a float, late
		}
		fmt.Fprintf(&buf, "%d,%s,%d\n", v, x, n)
	}
	path := filepath.Join(t.TempDir(), "big.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, memory := range []int64{1 << 30, tightLimit(2)} {
		cfg := DefaultConfig()
		cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.SampleBytes = 2, 4<<10, memory, 1<<10
		got, _ := sortRun(t, cfg, path, []plan.SortKey{{Col: 0}}, -1)
		want := slices.Clone(ints)
		slices.Sort(want)
		for i, rec := range parseCSV(t, got)[1:] {
			if rec[0] != strconv.FormatInt(want[i], 10) {
				t.Fatalf("memory %d, by i: row %d is %s, want %d", memory, i, rec[0], want[i])
			}
		}
		got, _ = sortRun(t, cfg, path, []plan.SortKey{{Col: 1}}, -1)
		prevF, prevN := -1.0, -1
		for i, rec := range parseCSV(t, got)[1:] {
			f, _ := strconv.ParseFloat(rec[1], 64)
			n, _ := strconv.Atoi(rec[2])
			if f < prevF || f == prevF && n < prevN {
				t.Fatalf("memory %d, by x: row %d (%s, row %d) after (%v, row %d)", memory, i, rec[1], n, prevF, prevN)
			}
			prevF, prevN = f, n
		}
	}
}
