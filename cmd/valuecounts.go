package cmd

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

type valueCountsOptions struct {
	Paths     []string // the first segment's inputs
	Cols      []string
	Normalize bool
	DropNA    bool
}

func newValueCountsCmd(app *App, runF func(*valueCountsOptions) error) *cobra.Command {
	opts := &valueCountsOptions{}
	c := &cobra.Command{
		Use:   "value-counts FILE... COLS",
		Short: "Count each value (or combination of values) of columns, most frequent first",
		Long: `value-counts is Dask's value_counts: each distinct value of COLS (a
column, or a,b for combinations of values), then count, the rows that
hold it, most frequent first and equal counts by value ascending. A null
is a value too, last among equal counts, unless --dropna drops the rows
with a null in COLS. --normalize gives each value's share of the rows
(proportion) instead of its count. A column counted that is named count
(proportion with --normalize) is an error: rename it first, with
select --rename count:count_key then value-counts count_key.

Values are grouped as groupby groups keys: numbers by value, strings
byte for byte. The last argument is COLS; in a chain, then value-counts
COLS.`,
		Example: `  gdask value-counts trips.csv payment_type
  gdask value-counts trips.csv pickup_zone,payment_type --normalize
  gdask filter trips.csv --where 'fare_amount > 50' then value-counts pickup_zone
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			files := args
			switch {
			case app.inChain && len(args) == 1:
				files = nil
			case app.inChain:
				return usagef("then value-counts takes one list of columns (a,b), got %s", quoteArgs(args))
			case len(args) < 2 || statPath(args[len(args)-1]):
				return usagef("value-counts needs the columns to count after the inputs: value-counts FILE... COLS")
			default:
				files = args[:len(args)-1]
			}
			if opts.Cols = cleanList(strings.Split(args[len(args)-1], ",")); len(opts.Cols) == 0 {
				return usagef("value-counts needs at least one column")
			}
			var err error
			if opts.Paths, err = inputs(app, files); err != nil {
				return err
			}
			f := c.Flags()
			opts.Normalize, _ = f.GetBool("normalize")
			opts.DropNA, _ = f.GetBool("dropna")
			return runF(opts)
		},
	}
	f := c.Flags()
	f.Bool("normalize", false, "each value's share of the rows (proportion) instead of its count")
	f.Bool("dropna", false, "leave out the rows with a null in the columns")
	if runF == nil {
		runF = func(o *valueCountsOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

// typed: values group by their typed values.
func (o *valueCountsOptions) typed() bool { return true }

// apply: Filter (--dropna), Aggregate (count by the columns), Sort (count
// descending, then the values), Normalize (--normalize).
func (o *valueCountsOptions) apply(child plan.Node) (plan.Node, error) {
	in := child.Schema()
	keys, err := lookupAll(in, o.Cols, "value-counts")
	if err != nil {
		return nil, err
	}
	node := child
	if o.DropNA {
		// One test per column, joined with And: parsed as one text, the
		// conjunction of very many columns would pass the expression
		// language's nesting limit.
		var conds []*plan.Expr
		for _, k := range keys {
			cond, err := plan.ParseExpr("$env["+strconv.Quote(in[k].Name)+"] != nil", in, "--dropna")
			if err != nil {
				return nil, err
			}
			conds = append(conds, cond)
		}
		node = plan.NewFilter(node, plan.And(conds))
	}
	// The counts are a column named count (pandas 2's name); --normalize
	// makes them the shares, named proportion, so then the counts take a
	// name no column counted has: a column named count is counted as any.
	added, name := "count", "count"
	if o.Normalize {
		added = "proportion"
		for slices.ContainsFunc(keys, func(k int) bool { return in[k].Name == name }) {
			name += "_"
		}
	}
	ag, err := plan.NewAggregate(node, keys, []plan.AggFunc{{Kind: plan.AggCount, Col: -1, Name: name}})
	if err != nil {
		return nil, o.clash(err, in, added)
	}
	count := len(keys)
	sortKeys := []plan.SortKey{{Col: count, Desc: true}}
	for i := range keys {
		sortKeys = append(sortKeys, plan.SortKey{Col: i})
	}
	node = plan.NewSort(ag, sortKeys)
	if o.Normalize {
		if node, err = plan.NewNormalize(node, count, added); err != nil {
			return nil, o.clash(err, in, added)
		}
	}
	return node, nil
}

// clash is the usage error for err, from the plan of value-counts over
// columns in, whose column of counts (or shares) is named added. Output
// columns have a name each (plan.NameClashError): where pandas gives a
// column named count beside its counts (a header count,count, which
// reads back as count,count_2), gdask says what to rename, as Polars
// refuses value_counts of a column named as its counts.
func (o *valueCountsOptions) clash(err error, in plan.Schema, added string) error {
	var nc *plan.NameClashError
	switch {
	case !errors.As(err, &nc):
		return &usageError{err}
	case nc.Key && nc.Agg < 0:
		return usagef("value-counts names column %q twice", nc.Name)
	}
	what, flag := "counts", ""
	if o.Normalize {
		what, flag = "shares of --normalize", " --normalize"
	}
	renamed := freeColumnName(in, nc.Name+"_key")
	cols := slices.Clone(o.Cols)
	for i, c := range cols {
		if c == nc.Name {
			cols[i] = renamed
		}
	}
	return usagef("two output columns are named %q: a column counted and the %s (rename the column first: select --rename %s:%s then value-counts %s%s)",
		nc.Name, what, nc.Name, renamed, strings.Join(cols, ","), flag)
}
