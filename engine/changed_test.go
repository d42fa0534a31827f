package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

// changeAfterReads makes the file at path change (shrink, or shrink and
// then grow past its old size) after the reads-th partition or chunk read.
func changeAfterReads(t *testing.T, path string, reads int, grow bool) {
	t.Helper()
	n := 0
	testHookRead = func(string) {
		if n++; n != reads {
			return
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Error(err)
			return
		}
		if err := os.Truncate(path, st.Size()/2); err != nil {
			t.Error(err)
		}
		if grow {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			f.Write(bytes.Repeat([]byte("9,9,9\n"), int(st.Size()/6)))
			f.Close()
		}
	}
	t.Cleanup(func() { testHookRead = nil })
}

// A file that changes while it is read is an input error naming it, on
// every path that reads it: a plan's scan (split, and serial after a seam
// fails), info --exact, tail's block and its whole-file count, and a
// stream. Never a panic, never an answer.
func TestFileChangedWhileRead(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("a,b,c\n")
	for i := range 40_000 {
		fmt.Fprintf(&b, "%d,%d,x%d\n", i, i%7, i)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b.Bytes())
	zw.Close()

	ctx := context.Background()
	runs := map[string]func(ds *Dataset) error{
		"count": func(ds *Dataset) error { return runPlan(ds, func(s plan.Node) plan.Node { return plan.NewCount(s) }) },
		"groupby": func(ds *Dataset) error {
			return runPlan(ds, func(s plan.Node) plan.Node {
				a, err := plan.NewAggregate(s, []int{1}, []plan.AggFunc{{Kind: plan.AggSum, Col: 0, Name: "a_sum"}})
				if err != nil {
					t.Fatal(err)
				}
				return a
			})
		},
		"filter": func(ds *Dataset) error { return runPlan(ds, func(s plan.Node) plan.Node { return s }) },
		"info":   func(ds *Dataset) error { _, err := ds.Info(ctx, true); return err },
		"tail": func(ds *Dataset) error {
			tr, err := ds.Tail(ctx, 30_000)
			if err == nil {
				err = tr.Each(ctx, func([][]byte) error { return nil })
				tr.Close()
			}
			return err
		},
		"tail-block": func(ds *Dataset) error {
			tr, err := ds.Tail(ctx, 3)
			if err == nil {
				err = tr.Each(ctx, func([][]byte) error { return nil })
				tr.Close()
			}
			return err
		},
	}
	for name, run := range runs {
		for _, grow := range []bool{false, true} {
			for _, stream := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/grow=%v/stream=%v", name, grow, stream), func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "f.csv")
					data := b.Bytes()
					if stream {
						path += ".gz"
						data = gz.Bytes()
					}
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					cfg := DefaultConfig()
					cfg.Workers, cfg.Blocksize = 1, 16<<10
					ds, err := Open(ctx, &cfg, []string{path})
					if err != nil {
						t.Fatal(err)
					}
					defer ds.Close()
					changeAfterReads(t, path, 1, grow)
					err = run(ds)
					var ce *readers.ChangedError
					if !errors.As(err, &ce) || ce.Path != path {
						t.Fatalf("got %v, want %s changed while being read", err, path)
					}
				})
			}
		}
	}
}

// runPlan runs the plan top makes over a scan of the dataset's one input,
// discarding the rows.
func runPlan(ds *Dataset, top func(scan plan.Node) plan.Node) error {
	in, err := ds.Schema()
	if err != nil {
		return err
	}
	root := plan.Optimize(top(plan.NewScan(ds.Paths(), in)))
	out := &Output{Format: "table", Open: func([]writers.Column, Delivery) (writers.Writer, error) { return &captureWriter{}, nil }}
	_, err = ds.Run(context.Background(), root, out, RunOptions{})
	return err
}
