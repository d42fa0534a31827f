package cmd

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

type groupByOptions struct {
	Paths  []string // the first segment's inputs
	By     []string
	Count  bool
	Aggs   []aggFlag // in plan.AggFuncs order, columns in the order given
	Where  string
	Having string
	Sort   []string
	Limit  int64 // -1: none
}

type aggFlag struct {
	kind plan.AggKind
	col  string
}

func newGroupByCmd(app *App, runF func(*groupByOptions) error) *cobra.Command {
	opts := &groupByOptions{}
	c := &cobra.Command{
		Use:   "groupby FILE... --by COLS <aggregations>",
		Short: "Group rows by key columns and aggregate, in parallel, spilling to disk when needed",
		Long: `groupby is Dask's ddf.groupby(keys).agg(...).compute(): it groups the rows of
the inputs by the --by columns and computes the aggregations per group.
Output columns are the keys, then <col>_<agg> for each aggregation (and
count for --count), in the order count, sum, mean, min, max, std, var,
first, last, nunique; an aggregation given twice is one column, and one
named as a key (--by count --count) is an error: rename the key first,
with select --rename. Groups come sorted by key (numbers by value) unless
--sort says otherwise; a numeric key groups by value (1, 01 and +1 are
one group; --types k:string keeps the text).

Aggregations take one or more columns (--mean a,b or --mean a --mean b).
Nulls are skipped as pandas and SQL skip them; --count counts rows.
std and var are sample statistics (ddof=1, like pandas). Integer sums are
exact.

--where filters input rows and --having filters groups, with expressions:
comparisons, arithmetic, and/or/not, in [...], contains, startsWith,
endsWith, == nil.`,
		Example: `  gdask groupby large_data.csv --by category --mean value
  gdask groupby large_data.csv --by category --mean value --having 'value_mean > 500'
  gdask groupby 'logs/*.csv.zst' --by host,status --count --sum bytes --max latency -o json
  gdask groupby trips.csv --by city --where 'fare > 0' --mean fare --sort fare_mean:desc --limit 10
  gdask filter trips.csv --where 'tip_amount > 0' then groupby --by payment_type --mean fare_amount`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			f := c.Flags()
			opts.By = flagList(f, "by")
			if len(opts.By) == 0 {
				return usagef("groupby needs --by with at least one column")
			}
			opts.Count, _ = f.GetBool("count")
			opts.Aggs = nil
			for _, name := range plan.AggFuncs[1:] {
				k, _ := plan.ParseAggKind(name)
				for _, col := range flagList(f, name) {
					opts.Aggs = append(opts.Aggs, aggFlag{k, col})
				}
			}
			if !opts.Count && len(opts.Aggs) == 0 {
				return usagef("groupby needs at least one aggregation: --count, --sum, --mean, --min, --max, --std, --var, --first, --last or --nunique")
			}
			opts.Where, _ = f.GetString("where")
			opts.Having, _ = f.GetString("having")
			opts.Sort = flagList(f, "sort")
			if opts.Limit, err = limitFlag(f); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	f := c.Flags()
	f.StringSlice("by", nil, "key columns")
	f.Bool("count", false, "rows per group, nulls included")
	for _, fn := range plan.AggFuncs[1:] {
		f.StringSlice(fn, nil, aggHelp[fn])
	}
	f.String("where", "", "keep input rows for which this expression is true")
	f.String("having", "", "keep groups for which this expression over output columns is true")
	f.StringSlice("sort", nil, "order by output columns, col or col:desc (default: the keys)")
	f.Int64("limit", -1, "print at most N groups")
	if runF == nil {
		runF = func(o *groupByOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

var aggHelp = map[string]string{
	"sum":     "sum of these columns (exact for integers)",
	"mean":    "mean of these columns",
	"min":     "smallest value of these columns",
	"max":     "largest value of these columns",
	"std":     "sample standard deviation (ddof=1) of these columns",
	"var":     "sample variance (ddof=1) of these columns",
	"first":   "first non-null value in input order",
	"last":    "last non-null value in input order",
	"nunique": "number of distinct non-null values (exact)",
}

// apply puts the groupby's nodes over child: Filter (--where), Aggregate,
// Filter (--having), Sort (--sort, then the keys, so the order is one
// exact sequence), Limit. Unknown columns, numeric aggregates over strings
// and malformed expressions are errors before any data is read.
func (o *groupByOptions) typed() bool { return true }

func (o *groupByOptions) apply(child plan.Node) (plan.Node, error) {
	input := child.Schema()
	node := child
	if o.Where != "" {
		pred, err := plan.ParseExpr(o.Where, input, "--where")
		if err != nil {
			return nil, &usageError{err}
		}
		node = plan.NewFilter(node, pred)
	}
	var keys []int
	for _, k := range o.By {
		i, err := input.Lookup(k, "--by")
		if err != nil {
			return nil, &usageError{err}
		}
		keys = append(keys, i)
	}
	var aggs []plan.AggFunc
	var flags []string // each aggregate's flag, for messages
	if o.Count {
		aggs = append(aggs, plan.AggFunc{Kind: plan.AggCount, Col: -1})
		flags = append(flags, "--count")
	}
	for _, a := range o.Aggs {
		i, err := input.Lookup(a.col, "--"+a.kind.String())
		if err != nil {
			return nil, &usageError{err}
		}
		aggs = append(aggs, plan.AggFunc{Kind: a.kind, Col: i})
		flags = append(flags, "--"+a.kind.String()+" "+a.col)
	}
	ag, err := plan.NewAggregate(node, keys, aggs)
	var nc *plan.NameClashError
	switch {
	case errors.As(err, &nc) && nc.Key && nc.Agg < 0:
		return nil, usagef("--by names column %q twice", nc.Name)
	case errors.As(err, &nc) && nc.Key:
		// Output columns have a name each (plan.NameClashError), and an
		// aggregate's is <col>_<agg>: the key is what can be renamed.
		renamed := freeColumnName(input, nc.Name+"_key")
		by := slices.Clone(o.By)
		for i, k := range by {
			if k == nc.Name {
				by[i] = renamed
			}
		}
		return nil, usagef("two output columns are named %q: a --by column and %s's (rename the column first: select --rename %s:%s then groupby --by %s)",
			nc.Name, flags[nc.Agg], nc.Name, renamed, strings.Join(by, ","))
	case err != nil:
		return nil, &usageError{err}
	}
	node = ag
	out := ag.Schema()
	if o.Having != "" {
		pred, err := plan.ParseExpr(o.Having, out, "--having")
		if err != nil {
			return nil, &usageError{err}
		}
		node = plan.NewFilter(node, pred)
	}
	sortKeys, err := parseSortKeys(o.Sort, out, "--sort")
	if err != nil {
		return nil, err
	}
	for k := range keys {
		if !sortsBy(sortKeys, k) {
			sortKeys = append(sortKeys, plan.SortKey{Col: k}) // ties: the group keys
		}
	}
	node = plan.NewSort(node, sortKeys)
	if o.Limit >= 0 {
		node = plan.NewLimit(node, o.Limit)
	}
	return node, nil
}

func sortsBy(keys []plan.SortKey, col int) bool {
	for _, k := range keys {
		if k.Col == col {
			return true
		}
	}
	return false
}

// freeColumnName is name, or name with a number after it, whichever no
// column of s has: a name to suggest for a rename.
func freeColumnName(s plan.Schema, name string) string {
	free := name
	for i := 2; s.Index(free) >= 0; i++ {
		free = name + strconv.Itoa(i)
	}
	return free
}
