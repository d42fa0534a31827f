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
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

type demoOptions struct {
	Rows int64
}

func newDemoCmd(app *App) *cobra.Command {
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
			if opts.Rows, err = int64Setting(app, "rows"); err != nil {
				return err
			}
			return demoRun(c.Context(), app, opts)
		},
	}
	c.Flags().Int64("rows", 1_000_000, "rows of generated data")
	return c
}

func demoRun(ctx context.Context, app *App, opts *demoOptions) error {
	cfg, err := app.settings.engineConfig(app)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "gdask-demo-")
	if err != nil {
		return fmt.Errorf("cannot create demo directory: %w", err)
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
		if err := generateTo(ctx, f, g, cfg.Workers, nil); err != nil {
			return err
		}
		if err := f.Commit(); err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
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
	err = step("2. ddf.head() — gdask head large_data.csv", func(w io.Writer) error {
		var rows [][][]byte
		if err := ds.Head(ctx, 5, func(f [][]byte) error {
			rows = append(rows, copyFields(f))
			return nil
		}); err != nil {
			return err
		}
		tw, _ := writers.New("table", w)
		if err := tw.Begin(columns(ds.Names, []readers.Type{readers.TypeInt, readers.TypeString, readers.TypeFloat})); err != nil {
			return err
		}
		for _, row := range rows {
			if err := tw.Row(row); err != nil {
				return err
			}
		}
		return tw.End()
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
	input, err := ds.Schema()
	if err != nil {
		return err
	}
	groupby := func(w io.Writer, having string) error {
		root, err := buildGroupBy(&groupByOptions{By: []string{"category"}, Aggs: []aggFlag{{"mean", "value"}}, Having: having, Limit: -1}, []string{path}, input)
		if err != nil {
			return err
		}
		res, _, err := ds.GroupBy(ctx, root, engine.GroupByOptions{})
		if err != nil {
			return err
		}
		defer res.Close()
		tw, _ := writers.New("table", w)
		n, err := writeRows(tw, res)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "(%d groups)\n", n)
		return err
	}
	err = step("4. ddf.groupby('category')['value'].mean() — gdask groupby large_data.csv --by category --mean value", func(w io.Writer) error {
		return groupby(w, "")
	})
	if err != nil {
		return err
	}
	err = step("5. mean_by_category[mean_by_category > 500].compute() — ... --having 'value_mean > 500'", func(w io.Writer) error {
		return groupby(w, "value_mean > 500")
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "removed %s\n", dir)
	return err
}
