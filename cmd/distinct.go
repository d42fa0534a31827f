package cmd

import (
	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

type distinctOptions struct {
	Paths    []string // the first segment's inputs
	By       []string // nil: every column
	KeepLast bool
}

func newDistinctCmd(app *App, runF func(*distinctOptions) error) *cobra.Command {
	opts := &distinctOptions{}
	c := &cobra.Command{
		Use:   "distinct FILE... [--by COLS] [--keep first|last]",
		Short: "Drop duplicate rows, larger than memory, keeping input order",
		Long: `distinct is Dask's drop_duplicates: of the rows equal on the --by columns
(every column by default) it keeps the first in input order (--keep last:
the last), all columns, and writes the kept rows in input order.

Rows are equal when their values are: numbers by value (1, 1.0 and 01 are
one number; -0 equals 0), strings byte for byte, nulls (and NaN) equal to
each other. The rows are sorted by the --by columns on the way, through
the external sort when they do not fit in --memory-limit, so any number
of distinct rows works; a count of them (then count) only groups.`,
		Example: `  gdask distinct trips.csv --by pickup_zone,payment_type
  gdask distinct events.csv --by user_id --keep last --output latest.csv
  gdask select big.csv key then distinct then count
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			f := c.Flags()
			opts.By = flagList(f, "by")
			first, err := firstFlag(f, "keep")
			if err != nil {
				return err
			}
			opts.KeepLast = !first
			return runF(opts)
		},
	}
	f := c.Flags()
	f.StringSlice("by", nil, "compare rows on these columns (default: every column)")
	f.String("keep", "first", "which of equal rows to keep: first or last in input order")
	if runF == nil {
		runF = func(o *distinctOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

// typed: rows are equal by their typed values.
func (o *distinctOptions) typed() bool { return true }

func (o *distinctOptions) apply(child plan.Node) (plan.Node, error) {
	keys, err := lookupAll(child.Schema(), o.By, "--by")
	if err != nil {
		return nil, err
	}
	return plan.NewDistinct(child, keys, o.KeepLast), nil
}

// lookupAll finds the named columns of schema (nil for no names); an
// unknown one is a usage error naming flag and the closest column.
func lookupAll(schema plan.Schema, names []string, flag string) ([]int, error) {
	var cols []int
	for _, name := range names {
		i, err := schema.Lookup(name, flag)
		if err != nil {
			return nil, &usageError{err}
		}
		cols = append(cols, i)
	}
	return cols, nil
}
