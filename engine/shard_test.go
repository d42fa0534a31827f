package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// memBody is a shard's body in memory.
type memBody struct{ *bytes.Reader }

func (m memBody) ReadBodyAt(p []byte, off int64) (int, error) { return m.ReadAt(p, off) }

// runSharded runs build as n shards over the layout of paths, then merges
// them, and returns the merge's output in format.
func runSharded(t *testing.T, cfg Config, paths []string, format string, n int, build func(scan plan.Node) plan.Node) (string, error) {
	t.Helper()
	return runShardedMerge(t, cfg, paths, format, n, build, nil)
}

// runShardedMerge is runSharded with the merge's config changed by
// mergeCfg (when not nil).
func runShardedMerge(t *testing.T, cfg Config, paths []string, format string, n int, build func(scan plan.Node) plan.Node, mergeCfg func(*Config)) (string, error) {
	t.Helper()
	out, _, err := runShardedMergePassed(t, cfg, paths, format, n, build, mergeCfg, nil)
	return out, err
}

// runShardedMergePassed is runShardedMerge, which also reports how many
// rows the shards' aggregates passed through; spoil (when not nil) may
// change shard i's body before the merge reads it.
func runShardedMergePassed(t *testing.T, cfg Config, paths []string, format string, n int, build func(scan plan.Node) plan.Node, mergeCfg func(*Config), spoil func(i int, body []byte) []byte) (string, int64, error) {
	t.Helper()
	var passed int64
	units := layoutOf(t, cfg, paths, 2<<10)
	bodies := make([]ShardBody, n)
	for i := range n {
		c := cfg
		c.Units = ShardUnits(units, i, n)
		ds, in := openTyped(t, &c, paths)
		root := plan.Optimize(build(plan.NewScan(paths, in)))
		var body *bytes.Buffer
		st, err := ds.RunShard(context.Background(), root, format, func() (io.Writer, error) {
			body = &bytes.Buffer{}
			return body, nil
		}, RunOptions{})
		ds.Close()
		if err != nil {
			return "", 0, err
		}
		passed += st.PassedRows
		b := body.Bytes()
		if spoil != nil {
			b = spoil(i, b)
		}
		bodies[i] = memBody{bytes.NewReader(b)}
	}
	if mergeCfg != nil {
		mergeCfg(&cfg)
	}
	ds, in := openTyped(t, &cfg, paths)
	defer ds.Close()
	root := plan.Optimize(build(plan.NewScan(paths, in)))
	var out bytes.Buffer
	o := &Output{Format: format, Open: func([]writers.Column, Delivery) (writers.Writer, error) { return writers.New(format, &out) }}
	_, err := ds.RunMerge(context.Background(), root, bodies, o, RunOptions{})
	return out.String(), passed, err
}

// TestMergeReadsWholeFirst: the merges that read every body whole, every
// block checked, before their first row are those of one aggregate or
// one count; such a merge refuses a body with bytes after its sections,
// which it would not otherwise read.
func TestMergeReadsWholeFirst(t *testing.T) {
	paths, cfg := unitSetup(t, 43, 44, 2)
	plans := []struct {
		name  string
		build func(plan.Node) plan.Node
		whole bool
	}{
		{"count", func(s plan.Node) plan.Node { return plan.NewCount(s) }, true},
		{"groupby", func(s plan.Node) plan.Node { return groupByNode(t, s, []string{"a"}, []string{"count:", "sum:n"}) }, true},
		{"groupby then sort", func(s plan.Node) plan.Node {
			return plan.NewSort(groupByNode(t, s, []string{"a"}, []string{"sum:n"}), []plan.SortKey{{Col: 1, Desc: true}})
		}, true},
		// nunique beside another aggregate: two aggregates zipped, two cuts.
		{"groupby nunique", func(s plan.Node) plan.Node { return groupByNode(t, s, []string{"a"}, []string{"count:", "nunique:c"}) }, false},
		{"sort", func(s plan.Node) plan.Node { return plan.NewSort(s, []plan.SortKey{{Col: 3}}) }, false},
		{"filter", func(s plan.Node) plan.Node { return plan.NewFilter(s, mustPred(t, "n > 100", s.Schema())) }, false},
	}
	for _, p := range plans {
		_, in := openTyped(t, &cfg, paths)
		root := plan.Optimize(p.build(plan.NewScan(paths, in)))
		if got := MergeReadsWholeFirst(root); got != p.whole {
			t.Errorf("%s: MergeReadsWholeFirst = %v, want %v", p.name, got, p.whole)
		}
		if !p.whole {
			continue
		}
		out, _, err := runShardedMergePassed(t, cfg, paths, "csv", 2, p.build, nil, func(i int, body []byte) []byte {
			if i == 1 {
				body = append(body, 0) // a byte after the sections
			}
			return body
		})
		if err == nil || !strings.Contains(err.Error(), "shard 1/2: its state does not match this plan (bytes after its last section)") || out != "" {
			t.Errorf("%s: a body with a byte after its sections: %v, %d bytes out", p.name, err, len(out))
		}
	}
}

func TestShardMerge(t *testing.T) {
	paths, cfg := unitSetup(t, 41, 42, 3)
	plans := map[string]func(plan.Node) plan.Node{
		"filter": func(s plan.Node) plan.Node { return plan.NewFilter(s, mustPred(t, "n > 100", s.Schema())) },
		"scan":   func(s plan.Node) plan.Node { return s },
		"head":   func(s plan.Node) plan.Node { return plan.NewLimit(s, 250) },
		"count":  func(s plan.Node) plan.Node { return plan.NewCount(s) },
		"groupby": func(s plan.Node) plan.Node {
			return groupByNode(t, s, []string{"a"}, []string{"count:", "sum:n", "mean:n", "first:b", "nunique:c"})
		},
		"sort": func(s plan.Node) plan.Node { return plan.NewSort(s, []plan.SortKey{{Col: 3, Desc: true}}) },
		"top":  func(s plan.Node) plan.Node { return plan.NewLimit(plan.NewSort(s, []plan.SortKey{{Col: 0}}), 30) },
	}
	for name, build := range plans {
		for _, format := range []string{"csv", "json"} {
			local, err := runOutput(t, cfg, paths, format, build)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 2, 3, 7} {
				got, err := runSharded(t, cfg, paths, format, n, build)
				if err != nil {
					t.Fatalf("%s %s %d shards: %v", name, format, n, err)
				}
				if got != local {
					t.Fatalf("%s %s %d shards: merged output differs from the local run's:\n%.2000s\nlocal:\n%.2000s", name, format, n, got, local)
				}
			}
		}
	}
}

// TestShardMergeSpills: shards whose groups do not fit their memory limit
// spill (their states then come from their merged spilled partitions), a
// merge under the same limit does not need to (it reads the shards'
// groups a partition at a time), and it still gives the local run's
// answer.
func TestShardMergeSpills(t *testing.T) {
	var b strings.Builder
	b.WriteString("k,v\n")
	r := rand.New(rand.NewPCG(43, 44))
	for range 600_000 {
		fmt.Fprintf(&b, "key%d,%d\n", r.IntN(400_000), r.IntN(1000))
	}
	path := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Workers = 2
	build := func(s plan.Node) plan.Node {
		return groupByNode(t, s, []string{"k"}, []string{"count:", "sum:v", "mean:v"})
	}
	local, err := runOutput(t, cfg, []string{path}, "csv", build)
	if err != nil {
		t.Fatal(err)
	}
	// The shards spill too: their states come from merged spilled
	// partitions. The merge holds none of the shards' groups, only a
	// partition's table at a time: it does not spill.
	shardSpills, spills := &spillCount{}, &spillCount{}
	cfg.MemoryLimit, cfg.Events = 40<<20, shardSpills
	got, err := runShardedMerge(t, cfg, []string{path}, "csv", 3, build, func(c *Config) {
		c.MemoryLimit, c.Events = 40<<20, spills
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != local {
		t.Fatalf("merged under 40MB differs from the local run")
	}
	aggOp := -1
	for n, id := range NodeIDs(build(plan.NewScan([]string{path}, plan.Schema{{Name: "k"}, {Name: "v"}}))) {
		if _, ok := n.(*plan.Aggregate); ok {
			aggOp = id
		}
	}
	if shardSpills.of(aggOp) == 0 {
		t.Fatal("the shards' aggregate under 40MB did not spill: the test no longer tests it")
	}
	if n := spills.of(aggOp); n != 0 {
		t.Fatalf("the merge's aggregate under 40MB spilled %d times: it holds a partition of the shards' groups at a time, far less", n)
	}
}

// TestShardPassThrough: shards of high-cardinality groupbys (many keys,
// few rows each) pass their rows through ungrouped, and their merge still
// gives the local run's bytes, numeric keys in several spellings folded
// by what the passed rows' keys were.
func TestShardPassThrough(t *testing.T) {
	savedAfter, savedSlots := hashagg.PassThroughAfter, hashagg.CachedSlots
	hashagg.PassThroughAfter, hashagg.CachedSlots = 2048, 1<<10
	defer func() { hashagg.PassThroughAfter, hashagg.CachedSlots = savedAfter, savedSlots }()
	var b strings.Builder
	b.WriteString("k,n,v\n")
	r := rand.New(rand.NewPCG(45, 46))
	for i := range 60_000 {
		n := r.IntN(500_000)
		spelling := fmt.Sprint(n)
		if i%20_000 >= 10_000 && r.IntN(50) == 0 {
			// Late in each shard's rows, so among those passed through:
			// the column becomes float, and n's groups fold.
			spelling = fmt.Sprintf("%d.0", n)
		}
		fmt.Fprintf(&b, "key%d,%s,%d\n", r.IntN(500_000), spelling, r.IntN(1000))
	}
	path := filepath.Join(t.TempDir(), "keys.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Workers = 2
	cfg.Blocksize = 64 << 10 // morsels end early: the shard knows how far it read
	for name, build := range map[string]func(plan.Node) plan.Node{
		"by string": func(s plan.Node) plan.Node {
			return groupByNode(t, s, []string{"k"}, []string{"count:", "sum:v", "mean:v", "max:v"})
		},
		"by number": func(s plan.Node) plan.Node {
			return groupByNode(t, s, []string{"n"}, []string{"count:", "sum:v", "first:k"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			local, err := runOutput(t, cfg, []string{path}, "csv", build)
			if err != nil {
				t.Fatal(err)
			}
			got, passed, err := runShardedMergePassed(t, cfg, []string{path}, "csv", 3, build, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if passed == 0 {
				t.Fatal("no shard passed rows through: the test no longer tests it")
			}
			if got != local {
				t.Fatalf("merged differs from the local run")
			}
		})
	}
}

// spillCount counts a run's spills, per operator.
type spillCount struct {
	mu  sync.Mutex
	ops map[int]int
}

func (c *spillCount) Event(e exec.Event) {
	if e.Kind == exec.EvSpill {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ops == nil {
			c.ops = map[int]int{}
		}
		c.ops[e.Op]++
	}
}

func (c *spillCount) of(op int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}
