package engine

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// rowKey is a row's key as distinct and value-counts compare it: numbers
// by value, strings by bytes, nulls (and NaN) one value.
func rowKey(rec []string, cols []int, numeric []bool) string {
	var b strings.Builder
	for _, c := range cols {
		switch {
		case numeric[c]:
			v := refNumber(rec[c])
			if v.null {
				b.WriteString("null|")
			} else {
				fmt.Fprintf(&b, "%v|", v.f+0) // the columns hold floats; +0: -0 as 0
			}
		case rec[c] == "":
			b.WriteString("null|")
		default:
			b.WriteString("s" + strconv.Quote(rec[c]) + "|")
		}
	}
	return b.String()
}

// Distinct against a map over the rows in input order: --keep first and
// last, by one column, two, and every column; in memory and through the
// external sort with every worker count; the kept rows in input order.
func TestDistinctReference(t *testing.T) {
	path, recs := sortFile(t, rand.New(rand.NewPCG(11, 12)), 30_000)
	numeric := []bool{true, true, false, false}
	for _, by := range [][]int{{1}, {2}, {1, 2}, nil} {
		for _, keepLast := range []bool{false, true} {
			cols := by
			if cols == nil {
				cols = []int{0, 1, 2, 3}
			}
			at := map[string]int{}
			for i, rec := range recs {
				k := rowKey(rec, cols, numeric)
				if _, seen := at[k]; !seen || keepLast {
					at[k] = i
				}
			}
			var idx []int
			for _, i := range at {
				idx = append(idx, i)
			}
			slices.Sort(idx)
			want := [][]string{{"id", "num", "str", "pay"}}
			for _, i := range idx {
				want = append(want, recs[i])
			}
			for _, run := range []struct {
				workers int
				memory  int64
			}{{1, 1 << 30}, {2, 1 << 30}, {8, 1 << 30}, {2, tightLimit(2)}, {8, tightLimit(8)}} {
				cfg := DefaultConfig()
				cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.TempDir = run.workers, 16<<10, run.memory, t.TempDir()
				for _, format := range []string{"csv", "typed"} {
					got, err := runOutput(t, cfg, []string{path}, "csv", func(s plan.Node) plan.Node {
						if format == "typed" { // rows as cells, not records: through a Project
							s = plan.NewFilter(s, mustPred(t, "true", s.Schema()))
							p, _ := plan.NewProject(s, []plan.ProjCol{{Name: "id", Col: 0}, {Name: "num", Col: 1}, {Name: "str", Col: 2}, {Name: "pay", Col: 3}})
							s = p
						}
						return plan.NewDistinct(s, by, keepLast)
					})
					if err != nil {
						t.Fatal(err)
					}
					if g := parseCSV(t, got); !slices.EqualFunc(g, want, slices.Equal) {
						t.Fatalf("by %v, keep last %v, workers %d, memory %d, %s: %d rows, want %d", by, keepLast, run.workers, run.memory, format, len(g)-1, len(want)-1)
					}
				}
				emptyDir(t, cfg.TempDir)
			}
		}
	}
}

// value-counts' plan (count by the columns, count descending then the
// values, normalized or not) against counting in a map; distinct then
// count against the map's size.
func TestValueCountsReference(t *testing.T) {
	path, recs := sortFile(t, rand.New(rand.NewPCG(13, 14)), 80_000)
	numeric := []bool{true, true, false, false}
	for _, cols := range [][]int{{0}, {1}, {2}, {2, 1}} {
		counts := map[string]int{}
		first := map[string][]string{}
		for _, rec := range recs {
			k := rowKey(rec, cols, numeric)
			counts[k]++
			if first[k] == nil {
				first[k] = rec
			}
		}
		type group struct {
			rec   []string
			count int
		}
		var groups []group
		for k, n := range counts {
			groups = append(groups, group{first[k], n})
		}
		keys := []plan.SortKey{}
		for _, c := range cols {
			keys = append(keys, plan.SortKey{Col: c})
		}
		order := refSort(func() [][]string {
			var rows [][]string
			for _, g := range groups {
				rows = append(rows, append(slices.Clone(g.rec), strconv.Itoa(g.count)))
			}
			return rows
		}(), keys, append(numeric, true))
		slices.SortStableFunc(order, func(a, b []string) int {
			na, _ := strconv.Atoi(a[4])
			nb, _ := strconv.Atoi(b[4])
			return cmp.Compare(nb, na)
		})
		// The least an aggregate runs in: its groups of every row (by id)
		// spill.
		for _, memory := range []int64{1 << 30, tightLimit(2) + 5<<20} {
			cfg := DefaultConfig()
			cfg.Workers, cfg.Blocksize, cfg.MemoryLimit = 2, 16<<10, memory
			stats := exec.NewStats()
			cfg.Events = stats
			for _, normalize := range []bool{false, true} {
				got, err := runOutput(t, cfg, []string{path}, "csv", func(s plan.Node) plan.Node {
					ag, err := plan.NewAggregate(s, cols, []plan.AggFunc{{Kind: plan.AggCount, Col: -1, Name: "count"}})
					if err != nil {
						t.Fatal(err)
					}
					sk := []plan.SortKey{{Col: len(cols), Desc: true}}
					for i := range cols {
						sk = append(sk, plan.SortKey{Col: i})
					}
					var n plan.Node = plan.NewSort(ag, sk)
					if normalize {
						if n, err = plan.NewNormalize(n, len(cols), "proportion"); err != nil {
							t.Fatal(err)
						}
					}
					return n
				})
				if err != nil {
					t.Fatal(err)
				}
				g := parseCSV(t, got)[1:]
				if len(g) != len(order) {
					t.Fatalf("cols %v: %d values, want %d", cols, len(g), len(order))
				}
				sum := 0.0
				for i, row := range g {
					want := order[i]
					if k := rowKey(row, seq(len(cols)), pick(numeric, cols)); k != rowKey(want, cols, numeric) {
						t.Fatalf("cols %v, row %d: value %q, want %q", cols, i, row[:len(cols)], pick(want, cols))
					}
					n, _ := strconv.Atoi(want[4])
					if normalize {
						p, _ := strconv.ParseFloat(row[len(cols)], 64)
						sum += p
						if math.Abs(p-float64(n)/float64(len(recs))) > 1e-15 {
							t.Fatalf("cols %v, row %d: proportion %v, want %d/%d", cols, i, p, n, len(recs))
						}
					} else if row[len(cols)] != want[4] {
						t.Fatalf("cols %v, row %d: count %s, want %s", cols, i, row[len(cols)], want[4])
					}
				}
				if normalize && math.Abs(sum-1) > 1e-9 {
					t.Fatalf("cols %v: proportions sum to %v", cols, sum)
				}
				agg := 1 // Sort, Aggregate, Scan; under a Normalize one further
				if normalize {
					agg = 2
				}
				if cols[0] == 0 && memory < 1<<30 && stats.Op(agg).SpilledRuns == 0 {
					t.Errorf("by id, memory %d: the aggregate did not spill", memory)
				}
			}
			got, err := runOutput(t, cfg, []string{path}, "csv", func(s plan.Node) plan.Node {
				return plan.NewCount(plan.NewDistinct(s, cols, false))
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("count\n%d\n", len(counts)); got != want {
				t.Fatalf("cols %v: distinct then count %q, want %q", cols, got, want)
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func pick[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}
