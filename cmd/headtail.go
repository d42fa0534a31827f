package cmd

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

type headOptions struct {
	Paths []string // the first segment's inputs
	N     int64
}

type tailOptions struct {
	Paths []string
	N     int
}

func newHeadCmd(app *App, runF func(*headOptions) error) *cobra.Command {
	opts := &headOptions{}
	c := &cobra.Command{
		Use:   "head FILE...",
		Short: "Print the first rows, reading only as far as it must",
		Long: `head prints the first n rows (default 5) with the header, as the file has
them: -o csv reproduces the first lines of a plain file byte for byte. It
stops reading as soon as it has its rows, whatever the size of the file;
after filter in a chain it stops the workers once n rows have passed.`,
		Example: `  gdask head large_data.csv
  gdask head large_data.csv -n 20 -o json
  zcat big.csv.gz | gdask head -
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			if opts.N, _ = c.Flags().GetInt64("n"); opts.N < 0 {
				return usagef("invalid -n %d: must be 0 or more", opts.N)
			}
			return runF(opts)
		},
	}
	c.Flags().Int64P("n", "n", 5, "rows to print")
	if runF == nil {
		runF = func(o *headOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

func (o *headOptions) typed() bool { return false }

func (o *headOptions) apply(child plan.Node) (plan.Node, error) {
	return plan.NewLimit(child, o.N), nil
}

func newTailCmd(app *App, runF func(*tailOptions) error) *cobra.Command {
	opts := &tailOptions{}
	c := &cobra.Command{
		Use:   "tail FILE...",
		Short: "Print the last rows of a file, reading only the last block",
		Long: `tail prints the last n rows (default 5) with the header. On a plain or
uncompressed file it reads from the end, a block at a time, until the
last rows are certain even when quoted fields hold newlines; a stream
(stdin, .gz, .zst) is read through.`,
		Example: `  gdask tail large_data.csv
  gdask tail large_data.csv -n 20 -o ndjson
  gdask tail trips.csv -n 3 && ` + strings.TrimSpace(chainExample),
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = readers.Expand(args); err != nil {
				return err
			}
			if opts.N, _ = c.Flags().GetInt("n"); opts.N < 0 {
				return usagef("invalid -n %d: must be 0 or more", opts.N)
			}
			return runF(opts)
		},
	}
	c.Flags().IntP("n", "n", 5, "rows to print")
	if runF == nil {
		runF = func(o *tailOptions) error { return tailRun(c.Context(), app, o) }
	}
	return c
}

func tailRun(ctx context.Context, app *App, opts *tailOptions) error {
	j, err := app.startJob(ctx, opts.Paths)
	if err != nil {
		return err
	}
	defer j.close()
	app.watchWork(app.commandLine(), "Tail (the last rows of every input)")
	rows, err := j.ds.Tail(ctx, int64(opts.N))
	if err != nil {
		return err
	}
	defer rows.Close()
	// The typed formats type each column by the rows printed, so the
	// rows are read twice: to type them, then to write them. csv and tsv
	// print fields as the file has them and need one pass.
	res, d := j.res, &j.cfg.Dialect
	typed := res.format != "csv" && res.format != "tsv"
	inf := j.ds.NewInferrer()
	if typed {
		if err := rows.Each(ctx, func(fields [][]byte) error { inf.Add(fields); return nil }); err != nil {
			return err
		}
	}
	if err := res.w.Begin(columns(j.ds.Names, inf.Types)); err != nil {
		return err
	}
	err = rows.Each(ctx, func(fields [][]byte) error {
		if typed {
			for i, f := range fields {
				if d.IsNull(f) {
					fields[i] = nil
				}
			}
		}
		return res.w.Row(fields)
	})
	if err != nil {
		return err
	}
	if err := res.w.End(); err != nil {
		return err
	}
	return res.commit()
}

// columns pairs names with writer types.
func columns(names []string, types []readers.Type) []writers.Column {
	cols := make([]writers.Column, len(names))
	for i, n := range names {
		cols[i] = writers.Column{Name: n, Type: writerType(types[i])}
	}
	return cols
}

func writerType(t readers.Type) writers.Type {
	switch t {
	case readers.TypeInt:
		return writers.Int
	case readers.TypeFloat:
		return writers.Float
	}
	return writers.String
}
