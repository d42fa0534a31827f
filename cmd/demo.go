package cmd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

type demoOptions struct {
	Rows int64
}

func newDemoCmd(app *App, runF func(*demoOptions) error) *cobra.Command {
	opts := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the seed Dask program's steps end to end on generated data",
		Long: `demo runs, step by step, the Dask program gdask mirrors: it creates
large_data.csv (1,000,000 rows) in a temporary directory, shows its head
and number of partitions, computes the mean value per category and keeps
the categories whose mean is above 500, printing each result and the time
it took. It removes what it created.`,
		Example: `  gdask demo
  gdask demo --rows 10000000`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			var err error
			if opts.Rows, err = int64Flag(c, "rows", 0); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	c.Flags().Int64("rows", 1_000_000, "rows of generated data")
	if runF == nil {
		runF = func(o *demoOptions) error { return demoRun(c.Context(), app, o) }
	}
	return c
}

func demoRun(ctx context.Context, app *App, opts *demoOptions) error {
	cfg, err := app.settings.engineConfig(app)
	if err != nil {
		return err
	}
	cfg.Events = app.events(nil)
	dir, err := os.MkdirTemp(cfg.TempDir, "gdask-demo-")
	if err != nil {
		return fmt.Errorf("cannot create demo directory in %s: %w", fsname.Quote(cfg.TempDir), fsname.Cause(err))
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "large_data.csv")
	out := app.IO.Out
	step := func(title string, fn func(w io.Writer) error) error {
		fmt.Fprintf(out, "== %s\n", title)
		var buf bytes.Buffer
		start := time.Now()
		if err := fn(&buf); err != nil {
			return err
		}
		took := time.Since(start)
		if _, err := out.Write(buf.Bytes()); err != nil {
			return err
		}
		_, err := fmt.Fprintf(out, "(%s)\n\n", took.Round(time.Microsecond))
		return err
	}
	err = step(fmt.Sprintf("1. create large_data.csv (%d rows) — gdask gen-data", opts.Rows), func(w io.Writer) error {
		g := &genDataOptions{Path: path, Rows: opts.Rows, Categories: 100}
		f, err := writers.CreateAtomic(path)
		if err != nil {
			return err
		}
		defer f.Abort()
		app.watchWork("create large_data.csv", "Generate id,category,value")
		if err := generateTo(ctx, f, g, cfg.Workers, cfg.Events); err != nil {
			return fmt.Errorf("cannot write %s: %w", fsname.Quote(path), fsname.Cause(err))
		}
		if err := f.Commit(); err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w", fsname.Quote(path), fsname.Cause(err))
		}
		_, err = fmt.Fprintf(w, "wrote %d bytes\n", st.Size())
		return err
	})
	if err != nil {
		return err
	}
	ds, err := engine.Open(ctx, cfg, []string{path})
	if err != nil {
		return err
	}
	defer ds.Close()
	input, err := ds.Schema()
	if err != nil {
		return err
	}
	scan := plan.NewScan([]string{path}, input)
	err = step("2. ddf.head() — gdask head large_data.csv", func(w io.Writer) error {
		_, err := app.runToTable(ctx, ds, "ddf.head()", plan.Optimize(plan.NewLimit(scan, 5)), w)
		return err
	})
	if err != nil {
		return err
	}
	err = step("3. ddf.npartitions — gdask info large_data.csv", func(w io.Writer) error {
		info, err := ds.Info(ctx, false)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "partitions: %d (blocksize %s, %d workers)\n", info.Files[0].Partitions, formatSize(info.Blocksize), cfg.Workers)
		return err
	})
	if err != nil {
		return err
	}
	groupby := func(w io.Writer, title, having string) error {
		opts := &groupByOptions{By: []string{"category"}, Aggs: []aggFlag{{plan.AggMean, "value"}}, Having: having, Limit: -1}
		node, err := opts.apply(scan)
		if err != nil {
			return err
		}
		n, err := app.runToTable(ctx, ds, title, plan.Optimize(node), w)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "(%d groups)\n", n)
		return err
	}
	err = step("4. ddf.groupby('category')['value'].mean() — gdask groupby large_data.csv --by category --mean value", func(w io.Writer) error {
		return groupby(w, "ddf.groupby('category')['value'].mean()", "")
	})
	if err != nil {
		return err
	}
	err = step("5. mean_by_category[mean_by_category > 500].compute() — ... --having 'value_mean > 500'", func(w io.Writer) error {
		return groupby(w, "mean_by_category[mean_by_category > 500]", "value_mean > 500")
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "removed %s\n", fsname.Quote(dir))
	return err
}

// runToTable runs root over ds, a step named title, and writes its rows
// to w as a table; it returns the rows written.
func (app *App) runToTable(ctx context.Context, ds *engine.Dataset, title string, root plan.Node, w io.Writer) (int64, error) {
	app.watchPlan(title, root)
	var cw *countingWriter
	out := &engine.Output{Format: "table", Open: func([]writers.Column, engine.Delivery) (writers.Writer, error) {
		tw, err := writers.New("table", w)
		cw = &countingWriter{Writer: tw}
		return cw, err
	}}
	if _, err := ds.Run(ctx, root, out, engine.RunOptions{}); err != nil {
		return 0, err
	}
	return cw.rows, nil
}

// countingWriter counts the rows written through it.
type countingWriter struct {
	writers.Writer
	rows int64
}

func (c *countingWriter) Row(fields [][]byte) error {
	c.rows++
	return c.Writer.Row(fields)
}
