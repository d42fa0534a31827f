package cmd

import (
	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

type countOptions struct {
	Paths []string // the first segment's inputs
}

func newCountCmd(app *App, runF func(*countOptions) error) *cobra.Command {
	opts := &countOptions{}
	c := &cobra.Command{
		Use:   "count FILE...",
		Short: "Count the rows of the inputs exactly, in parallel",
		Long: `count prints the exact number of records (not lines: a quoted field may
hold newlines) of all inputs together, header excluded, blank lines
skipped. It reads partitions in parallel; a quote-free file is counted
by the splitter's pre-pass alone. It does not check that each row has
one field per column: info --exact and the other commands do.

The number is printed bare for table, csv and tsv, so it can be captured
by a shell; json and ndjson give {"rows": N}. In a chain it counts the
rows of the verb before it.`,
		Example: `  gdask count large_data.csv
  n=$(gdask count 'logs/*.csv.zst')
  gunzip -c big.csv.gz | gdask count -
  gdask groupby big.csv --by k --count then filter --where 'count > 10' then count`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	if runF == nil {
		runF = func(o *countOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

func (o *countOptions) typed() bool { return false }

func (o *countOptions) apply(child plan.Node) (plan.Node, error) {
	return plan.NewCount(child), nil
}
