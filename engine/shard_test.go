package engine

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// runSharded runs build as n shards over the layout of paths, then merges
// them, and returns the merge's output in format.
func runSharded(t *testing.T, cfg Config, paths []string, format string, n int, build func(scan plan.Node) plan.Node) (string, error) {
	t.Helper()
	units := layoutOf(t, cfg, paths, 2<<10)
	bodies := make([]io.Reader, n)
	for i := range n {
		c := cfg
		c.Units = ShardUnits(units, i, n)
		ds, in := openTyped(t, &c, paths)
		root := plan.Optimize(build(plan.NewScan(paths, in)))
		var body *bytes.Buffer
		_, err := ds.RunShard(context.Background(), root, format, func() (io.Writer, error) {
			body = &bytes.Buffer{}
			return body, nil
		}, RunOptions{})
		ds.Close()
		if err != nil {
			return "", err
		}
		bodies[i] = body
	}
	ds, in := openTyped(t, &cfg, paths)
	defer ds.Close()
	root := plan.Optimize(build(plan.NewScan(paths, in)))
	var out bytes.Buffer
	o := &Output{Format: format, Open: func([]writers.Column, Delivery) (writers.Writer, error) { return writers.New(format, &out) }}
	_, err := ds.RunMerge(context.Background(), root, bodies, o, RunOptions{})
	return out.String(), err
}

func TestShardMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	paths := unitInputs(t, r)
	cfg := DefaultConfig()
	cfg.Workers = 3
	cfg.Blocksize = 1 << 10
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
