package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

type filterOptions struct {
	Paths []string // the first segment's inputs
	Where string
}

func newFilterCmd(app *App, runF func(*filterOptions) error) *cobra.Command {
	opts := &filterOptions{}
	c := &cobra.Command{
		Use:   "filter FILE... --where EXPR",
		Short: "Keep the rows for which an expression is true, in input order, streaming",
		Long: `filter is Dask's ddf[mask] and ddf.query: it writes the rows of the inputs
for which --where is true, all columns, in input order, while the workers
read ahead; memory stays bounded whatever the input size. With -o csv a
row comes out as the file has it (quoted where the file quoted it, line
ends as "\n").

Expressions: comparisons, arithmetic, and/or/not, in [...], contains,
startsWith, endsWith, == nil (see README).`,
		Example: `  gdask filter trips.csv --where 'fare_amount > 20'
  gdask filter 'logs/*.csv.gz' --where 'status >= 500 and path startsWith "/api"' -o ndjson
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			if opts.Where, _ = c.Flags().GetString("where"); opts.Where == "" {
				return usagef("filter needs --where with an expression")
			}
			return runF(opts)
		},
	}
	c.Flags().String("where", "", "keep the rows for which this expression is true")
	if runF == nil {
		runF = func(o *filterOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

func (o *filterOptions) typed() bool { return true }

func (o *filterOptions) apply(child plan.Node) (plan.Node, error) {
	pred, err := plan.ParseExpr(o.Where, child.Schema(), "--where")
	if err != nil {
		return nil, &usageError{err}
	}
	return plan.NewFilter(child, pred), nil
}

// inputs expands the input arguments (globs, -); none in a later segment.
func inputs(app *App, args []string) ([]string, error) {
	if app.inChain || len(args) == 0 {
		return nil, nil
	}
	return readers.Expand(args)
}

// flagList is a list flag's values, blanks dropped.
func flagList(f *pflag.FlagSet, name string) []string {
	v, _ := f.GetStringSlice(name)
	return cleanList(v)
}

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
