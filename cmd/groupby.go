package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

type groupByOptions struct {
	Paths       []string
	By          []string
	Count       bool
	Aggs        []aggFlag // in plan.AggFuncs order, columns in the order given
	Where       string
	Having      string
	Sort        []string
	Limit       int64 // -1: none
	SkipBadRows bool
	Explain     bool
}

type aggFlag struct{ fn, col string }

func newGroupByCmd(app *App) *cobra.Command {
	opts := &groupByOptions{}
	c := &cobra.Command{
		Use:   "groupby FILE... --by COLS <aggregations>",
		Short: "Group rows by key columns and aggregate, in parallel, spilling to disk when needed",
		Long: `groupby is Dask's ddf.groupby(keys).agg(...).compute(): it groups the rows of
the inputs by the --by columns and computes the aggregations per group.
Output columns are the keys, then <col>_<agg> for each aggregation (and
count for --count), in the order count, sum, mean, min, max, std, var,
first, last, nunique. Groups come sorted by key (numbers by value) unless
--sort says otherwise.

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
  gdask groupby trips.csv --by city --where 'fare > 0' --mean fare --sort fare_mean:desc --limit 10`,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s := app.settings
			var err error
			if opts.Paths, err = readers.Expand(args); err != nil {
				return err
			}
			opts.By = cleanList(s.list("by"))
			if len(opts.By) == 0 {
				return usagef("groupby needs --by with at least one column")
			}
			if opts.Count, err = s.boolean("count"); err != nil {
				return err
			}
			opts.Aggs = nil
			for _, fn := range plan.AggFuncs[1:] {
				for _, col := range cleanList(s.list(fn)) {
					opts.Aggs = append(opts.Aggs, aggFlag{fn, col})
				}
			}
			if !opts.Count && len(opts.Aggs) == 0 {
				return usagef("groupby needs at least one aggregation: --count, --sum, --mean, --min, --max, --std, --var, --first, --last or --nunique")
			}
			opts.Where, opts.Having = s.str("where"), s.str("having")
			opts.Sort = cleanList(s.list("sort"))
			limit, err := s.integer("limit")
			if err != nil {
				return err
			}
			if limit < -1 {
				return usagef("invalid --limit %d: must be 0 or more", limit)
			}
			opts.Limit = int64(limit)
			if opts.SkipBadRows, err = s.boolean("skip-bad-rows"); err != nil {
				return err
			}
			if opts.Explain, err = s.boolean(flagExplain); err != nil {
				return err
			}
			return groupByRun(c.Context(), app, opts)
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
	f.Int("limit", -1, "print at most N groups")
	f.Bool("skip-bad-rows", false, "skip rows whose aggregated value is not a number, and report how many")
	f.Bool(flagExplain, false, "print the optimised plan and run nothing")
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

func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// projection returns the input ordinals the keys and aggregates use, in
// input order.
func projection(input plan.Schema, keys []int, aggs []plan.AggFunc) []int {
	use := make([]bool, len(input))
	for _, k := range keys {
		use[k] = true
	}
	for _, a := range aggs {
		if a.Col >= 0 {
			use[a.Col] = true
		}
	}
	var cols []int
	for c, u := range use {
		if u {
			cols = append(cols, c)
		}
	}
	return cols
}

// buildGroupBy turns options into a type-checked plan over the inputs'
// schema: unknown columns, numeric aggregates over strings and malformed
// expressions are errors before any data is read.
func buildGroupBy(opts *groupByOptions, paths []string, input plan.Schema) (plan.Node, error) {
	var node plan.Node = plan.NewScan(paths, input)
	if opts.Where != "" {
		pred, err := plan.ParseExpr(opts.Where, input, "--where")
		if err != nil {
			return nil, &usageError{err}
		}
		node = plan.NewFilter(node, pred)
	}
	var keys []int
	for _, k := range opts.By {
		i, err := input.Lookup(k, "--by")
		if err != nil {
			return nil, &usageError{err}
		}
		keys = append(keys, i)
	}
	var aggs []plan.AggFunc
	if opts.Count {
		aggs = append(aggs, plan.AggFunc{Func: "count", Col: -1})
	}
	for _, a := range opts.Aggs {
		i, err := input.Lookup(a.col, "--"+a.fn)
		if err != nil {
			return nil, &usageError{err}
		}
		aggs = append(aggs, plan.AggFunc{Func: a.fn, Col: i})
	}
	// The aggregate reads only its keys and columns: a Project of those
	// below it, which the optimizer folds into the scan.
	proj := projection(input, keys, aggs)
	node = plan.NewProject(node, proj)
	at := make(map[int]int, len(proj))
	for i, c := range proj {
		at[c] = i
	}
	for i, k := range keys {
		keys[i] = at[k]
	}
	for i := range aggs {
		if aggs[i].Col >= 0 {
			aggs[i].Col = at[aggs[i].Col]
		}
	}
	ag, err := plan.NewAggregate(node, keys, aggs)
	if err != nil {
		return nil, &usageError{err}
	}
	node = ag
	out := ag.Schema()
	if opts.Having != "" {
		pred, err := plan.ParseExpr(opts.Having, out, "--having")
		if err != nil {
			return nil, &usageError{err}
		}
		node = plan.NewFilter(node, pred)
	}
	var sortKeys []plan.SortKey
	for _, s := range opts.Sort {
		name, dir, _ := strings.Cut(s, ":")
		i, err := out.Lookup(name, "--sort")
		if err != nil {
			return nil, &usageError{err}
		}
		switch dir {
		case "", "asc":
			sortKeys = append(sortKeys, plan.SortKey{Col: i})
		case "desc":
			sortKeys = append(sortKeys, plan.SortKey{Col: i, Desc: true})
		default:
			return nil, usagef("invalid --sort %q: want col or col:desc", s)
		}
	}
	if len(sortKeys) == 0 {
		for k := range keys {
			sortKeys = append(sortKeys, plan.SortKey{Col: k})
		}
	}
	node = plan.NewSort(node, sortKeys)
	if opts.Limit >= 0 {
		node = plan.NewLimit(node, opts.Limit)
	}
	return plan.Optimize(node), nil
}

func groupByRun(ctx context.Context, app *App, opts *groupByOptions) error {
	j, err := app.startJob(ctx, opts.Paths)
	if err != nil {
		return err
	}
	defer j.close()
	input, err := j.ds.Schema()
	if err != nil {
		return err
	}
	root, err := buildGroupBy(opts, opts.Paths, input)
	if err != nil {
		return err
	}
	if opts.Explain {
		parts, streams := j.ds.Partitions()
		return app.writeAll([]byte(plan.Explain(root, plan.ExplainEnv{
			Partitions: parts, Streams: streams, Workers: j.cfg.Workers, Memory: formatSize(j.cfg.MemoryLimit),
		})))
	}
	var res *engine.Result
	var stats *engine.GroupByStats
	err = j.run(ctx, app, "aggregating", func() (err error) {
		res, stats, err = j.ds.GroupBy(ctx, root, engine.GroupByOptions{SkipBadRows: opts.SkipBadRows})
		return err
	})
	if err != nil {
		return err
	}
	defer res.Close()
	if stats.SkippedRows > 0 {
		fmt.Fprintf(app.IO.Err, "gdask: warning: skipped %d rows whose aggregated value is not a number (--skip-bad-rows)\n", stats.SkippedRows)
	}
	return writeResult(j.res, res)
}

func writeResult(out *result, res *engine.Result) error {
	if res.InMemory() {
		// Every row is known and only the destination can fail: write
		// straight to it. Spooling a result of millions of rows would write
		// it twice.
		return out.stream(func(w writers.Writer) error {
			_, err := writeRows(w, res)
			return err
		})
	}
	if _, err := writeRows(out.w, res); err != nil {
		return err
	}
	return out.commit()
}

// writeRows writes a groupby result through w and returns the rows.
func writeRows(w writers.Writer, res *engine.Result) (int64, error) {
	cols := make([]writers.Column, len(res.Schema))
	for i, c := range res.Schema {
		cols[i] = writers.Column{Name: c.Name, Type: planWriterType(c.Type)}
	}
	if err := w.Begin(cols); err != nil {
		return 0, err
	}
	n, err := res.Each(w.Row)
	if err != nil {
		return n, err
	}
	return n, w.End()
}

func planWriterType(t plan.Type) writers.Type {
	switch t {
	case plan.Int:
		return writers.Int
	case plan.Float:
		return writers.Float
	}
	return writers.String
}
