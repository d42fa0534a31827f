package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

type selectOptions struct {
	Paths   []string // the first segment's inputs
	Cols    []string // nil: every column
	Exclude []string
	With    []string // "name = EXPR"
	Rename  []string // "old:new"
}

func newSelectCmd(app *App, runF func(*selectOptions) error) *cobra.Command {
	opts := &selectOptions{}
	c := &cobra.Command{
		Use:   "select FILE... COLS",
		Short: "Keep, reorder, rename and derive columns, in input order, streaming",
		Long: `select is Dask's ddf[cols], assign and rename: it writes the columns COLS
(a,b,c) in that order, or every column but --exclude; --with 'name = EXPR'
adds a column computed by an expression over the input columns (or
replaces one of that name, as assign does); --rename old:new renames.
Rows keep their input order and stream with bounded memory.

The last argument is COLS when it is not an existing file and more than
one argument is given; with --exclude, --with or --rename alone, COLS may
be left out (every column).`,
		Example: `  gdask select trips.csv trip_id,fare_amount
  gdask select trips.csv --exclude note,pickup_ts
  gdask select trips.csv --with 'tip_pct = tip_amount / fare_amount' --rename fare_amount:fare
` + chainExample,
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			f := c.Flags()
			opts.Exclude = flagList(f, "exclude")
			opts.With, _ = f.GetStringArray("with")
			opts.Rename = flagList(f, "rename")
			files := args
			switch {
			case app.inChain && len(args) == 1:
				opts.Cols, files = cleanList(strings.Split(args[0], ",")), nil
			case app.inChain && len(args) > 1:
				return usagef("then select takes one list of columns (a,b,c), got %s", quoteArgs(args))
			case len(args) > 1 && !statPath(args[len(args)-1]):
				opts.Cols, files = cleanList(strings.Split(args[len(args)-1], ",")), args[:len(args)-1]
			}
			if opts.Cols == nil && len(opts.Exclude)+len(opts.With)+len(opts.Rename) == 0 {
				return usagef("select needs the columns to keep (select FILE... a,b,c), or --exclude, --with or --rename")
			}
			if opts.Cols != nil && len(opts.Exclude) > 0 {
				return usagef("select takes the columns to keep or --exclude, not both")
			}
			var err error
			if opts.Paths, err = inputs(app, files); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	f := c.Flags()
	f.StringSlice("exclude", nil, "every column but these")
	f.StringArray("with", nil, "add a column computed by an expression: 'name = EXPR' (repeatable)")
	f.StringSlice("rename", nil, "rename columns: old:new,...")
	if runF == nil {
		runF = func(o *selectOptions) error { return app.runChain(c.Context(), c, o.Paths, o) }
	}
	return c
}

// apply puts a Project over child: the columns kept, renamed, then those
// derived (a derived column with a kept column's name replaces it).
func (o *selectOptions) typed() bool { return len(o.With) > 0 }

func (o *selectOptions) apply(child plan.Node) (plan.Node, error) {
	in := child.Schema()
	var cols []plan.ProjCol
	switch {
	case o.Cols != nil:
		for _, name := range o.Cols {
			i, err := in.Lookup(name, "select")
			if err != nil {
				return nil, &usageError{err}
			}
			cols = append(cols, plan.ProjCol{Name: name, Col: i})
		}
	default:
		drop := map[int]bool{}
		for _, name := range o.Exclude {
			i, err := in.Lookup(name, "--exclude")
			if err != nil {
				return nil, &usageError{err}
			}
			drop[i] = true
		}
		for i, c := range in {
			if !drop[i] {
				cols = append(cols, plan.ProjCol{Name: c.Name, Col: i})
			}
		}
	}
	for _, r := range o.Rename {
		old, name, ok := strings.Cut(r, ":")
		if !ok || old == "" || name == "" {
			return nil, usagef("invalid --rename %q: want old:new", r)
		}
		at := -1
		names := make(plan.Schema, len(cols))
		for i, c := range cols {
			names[i].Name = c.Name
			if c.Name == old {
				at = i
			}
		}
		if at < 0 {
			_, err := names.Lookup(old, "--rename")
			return nil, &usageError{err}
		}
		cols[at].Name = name
	}
	for _, w := range o.With {
		name, src, ok := strings.Cut(w, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, "<>!") {
			return nil, usagef("invalid --with %q: want 'name = EXPR'", w)
		}
		e, err := plan.ParseValue(strings.TrimSpace(src), in, fmt.Sprintf("--with %s", name))
		if err != nil {
			return nil, &usageError{err}
		}
		pc := plan.ProjCol{Name: name, Expr: e}
		replaced := false
		for i := range cols {
			if cols[i].Name == name {
				cols[i], replaced = pc, true
			}
		}
		if !replaced {
			cols = append(cols, pc)
		}
	}
	if len(cols) == 0 {
		return nil, usagef("select leaves no column: keep at least one")
	}
	p, err := plan.NewProject(child, cols)
	if err != nil {
		return nil, &usageError{err}
	}
	return p, nil
}
