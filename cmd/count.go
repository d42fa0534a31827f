package cmd

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/readers"
)

type countOptions struct {
	Paths []string
}

func newCountCmd(app *App) *cobra.Command {
	opts := &countOptions{}
	return &cobra.Command{
		Use:   "count FILE...",
		Short: "Count the rows of the inputs exactly, in parallel",
		Long: `count prints the exact number of records (not lines: a quoted field may
hold newlines) of all inputs together, header excluded, blank lines
skipped. It reads partitions in parallel; a quote-free file is counted
by the splitter's pre-pass alone. It does not check that each row has
one field per column: info --exact and the other commands do.

The number is printed bare for table, csv and tsv, so it can be captured
by a shell; json and ndjson give {"rows": N}.`,
		Example: `  gdask count large_data.csv
  n=$(gdask count 'logs/*.csv.zst')
  gunzip -c big.csv.gz | gdask count -`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = readers.Expand(args); err != nil {
				return err
			}
			return countRun(c.Context(), app, opts)
		},
	}
}

func countRun(ctx context.Context, app *App, opts *countOptions) error {
	j, err := app.startJob(ctx, opts.Paths)
	if err != nil {
		return err
	}
	defer j.close()
	var n int64
	err = j.run(ctx, app, "counting", func() (err error) {
		n, err = j.ds.Count(ctx)
		return err
	})
	if err != nil {
		return err
	}
	out := strconv.FormatInt(n, 10) + "\n"
	if f := j.res.format; f == "json" || f == "ndjson" {
		out = fmt.Sprintf("{\"rows\":%d}\n", n)
	}
	return app.writeAll([]byte(out))
}
