package cmd

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gdask/gdask/plan"
)

type sortOptions struct {
	Paths      []string // the first segment's inputs
	By         []string // col[:asc|:desc]
	Limit      int64    // -1: all rows
	NullsFirst bool
}

func newSortCmd(app *App, runF func(*sortOptions) error) *cobra.Command {
	opts := &sortOptions{}
	c := &cobra.Command{
		Use:   "sort FILE... --by COL[:desc][,COL[:desc]...]",
		Short: "Order rows by columns, larger than memory; --limit N is a top-k",
		Long: `sort is Dask's sort_values (and nlargest/nsmallest with --limit): the rows
of the inputs, all columns, ordered by the --by columns. Numbers order by
value (-0 equals 0), strings bytewise, nulls and NaN last (--nulls first
puts them first), in both directions. The sort is stable: rows with equal
keys keep their input order, so the output is one exact byte sequence
for every --workers, --blocksize and --memory-limit.

Rows that do not fit in --memory-limit are sorted in runs, spilled to
the temp dir and merged (in more than one pass when there are many
runs). --limit N keeps the first N rows in one pass over the input, in
memory proportional to N.

A key column whose type widens from numbers to strings part way through
the input (a value that is not a number after numbers) orders bytewise
from the first row of the output.`,
		Example: `  gdask sort trips.csv --by fare_amount:desc --limit 10
  gdask sort big.csv --by ts --memory-limit 512MB --output sorted.csv
  gdask filter trips.csv --where 'payment_type == "card"' then sort --by tip_amount:desc --limit 10
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = inputs(app, args); err != nil {
				return err
			}
			f := c.Flags()
			if opts.By = flagList(f, "by"); len(opts.By) == 0 {
				return usagef("sort needs --by with at least one column")
			}
			if opts.Limit, err = limitFlag(f); err != nil {
				return err
			}
			if opts.NullsFirst, err = firstFlag(f, "nulls"); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	f := c.Flags()
	f.StringSlice("by", nil, "order by these columns, col or col:desc, the first first")
	f.Int64("limit", -1, "keep only the first N rows (top-k)")
	f.String("nulls", "last", "where nulls and NaN go: first or last")
	if runF == nil {
		runF = func(o *sortOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

func (o *sortOptions) typed() bool { return true }

func (o *sortOptions) apply(child plan.Node) (plan.Node, error) {
	keys, err := parseSortKeys(o.By, child.Schema(), "--by")
	if err != nil {
		return nil, err
	}
	for i := range keys {
		keys[i].NullsFirst = o.NullsFirst
	}
	var node plan.Node = plan.NewSort(child, keys)
	if o.Limit >= 0 {
		node = plan.NewLimit(node, o.Limit)
	}
	return node, nil
}

// limitFlag reads --limit: -1 when not given, else 0 or more.
func limitFlag(f *pflag.FlagSet) (int64, error) {
	limit, _ := f.GetInt64("limit")
	if !f.Changed("limit") {
		return -1, nil
	}
	if limit < 0 {
		return 0, usagef("invalid --limit %d: must be 0 or more", limit)
	}
	return limit, nil
}

// firstFlag reads a flag that is first or last (--nulls, --keep): true
// for first.
func firstFlag(f *pflag.FlagSet, name string) (bool, error) {
	v, _ := f.GetString(name)
	if v != "first" && v != "last" {
		return false, usagef("invalid --%s %q: want first or last", name, v)
	}
	return v == "first", nil
}

// parseSortKeys reads col[:asc|:desc] items over schema; a column whose
// name has a colon is named whole.
func parseSortKeys(items []string, schema plan.Schema, flag string) ([]plan.SortKey, error) {
	var keys []plan.SortKey
	for _, s := range items {
		if i := schema.Index(s); i >= 0 {
			keys = append(keys, plan.SortKey{Col: i})
			continue
		}
		name, dir := s, ""
		if j := strings.LastIndexByte(s, ':'); j >= 0 {
			name, dir = s[:j], s[j+1:]
		}
		i, err := schema.Lookup(name, flag)
		if err != nil {
			return nil, &usageError{err}
		}
		switch dir {
		case "", "asc":
			keys = append(keys, plan.SortKey{Col: i})
		case "desc":
			keys = append(keys, plan.SortKey{Col: i, Desc: true})
		default:
			return nil, usagef("invalid %s %q: want col, col:asc or col:desc", flag, s)
		}
	}
	return keys, nil
}
