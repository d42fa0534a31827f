package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// A chain is `gdask VERB INPUTS... [flags] then VERB [flags] then ...`:
// one lazy plan, built from the segments in order (each verb a step over
// the plan below it) and optimised as a whole. Only the first segment
// names inputs. Verb flags belong to their segment and are flags only;
// global flags may stand in any segment and apply to the run.

// step is one segment of a chain: it puts its verb's nodes over child.
// Errors are usage errors (unknown columns, bad expressions).
type step interface {
	apply(child plan.Node) (plan.Node, error)
	// typed reports whether the step reads column types (an expression,
	// an aggregate): otherwise a chain of such steps into csv or tsv
	// output needs no type sample.
	typed() bool
}

// chainVerbs are the verbs that can stand in a chain: each makes its
// command with a runF that receives its parsed options.
var chainVerbs map[string]func(app *App, runF func(step) error) *cobra.Command

func init() {
	// In init: the verbs' commands run chains, which look verbs up here.
	chainVerbs = map[string]func(app *App, runF func(step) error) *cobra.Command{
		"filter": func(app *App, runF func(step) error) *cobra.Command {
			return newFilterCmd(app, func(o *filterOptions) error { return runF(o) })
		},
		"select": func(app *App, runF func(step) error) *cobra.Command {
			return newSelectCmd(app, func(o *selectOptions) error { return runF(o) })
		},
		"groupby": func(app *App, runF func(step) error) *cobra.Command {
			return newGroupByCmd(app, func(o *groupByOptions) error { return runF(o) })
		},
		"sort": func(app *App, runF func(step) error) *cobra.Command {
			return newSortCmd(app, func(o *sortOptions) error { return runF(o) })
		},
		"distinct": func(app *App, runF func(step) error) *cobra.Command {
			return newDistinctCmd(app, func(o *distinctOptions) error { return runF(o) })
		},
		"value-counts": func(app *App, runF func(step) error) *cobra.Command {
			return newValueCountsCmd(app, func(o *valueCountsOptions) error { return runF(o) })
		},
		"head": func(app *App, runF func(step) error) *cobra.Command {
			return newHeadCmd(app, func(o *headOptions) error { return runF(o) })
		},
		"count": func(app *App, runF func(step) error) *cobra.Command {
			return newCountCmd(app, func(o *countOptions) error { return runF(o) })
		},
	}
}

// splitChain cuts args at each `then`: the first segment, with the global
// flags of every later segment moved into it, and the later segments.
// `--explain analyze` becomes `--explain=analyze` wherever it stands.
func splitChain(args []string, globals *pflag.FlagSet) (first []string, later [][]string, err error) {
	var segs [][]string
	cur := []string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			// What follows is arguments, not a chain of this command's
			// (gdask submit k8s -- CHAIN).
			cur = append(cur, args[i:]...)
			i = len(args)
		case a == "then":
			segs = append(segs, cur)
			cur = []string{}
		case a == "--"+flagExplain && i+1 < len(args) && args[i+1] == "analyze":
			cur = append(cur, "--"+flagExplain+"=analyze")
			i++
		default:
			cur = append(cur, a)
		}
	}
	segs = append(segs, cur)
	if len(segs) == 1 {
		return segs[0], nil, nil
	}
	first = segs[0]
	for _, seg := range segs[1:] {
		if len(seg) == 0 {
			return nil, nil, usagef("then needs a verb after it (%s); a file named then is written ./then", strings.Join(chainVerbNames(), ", "))
		}
		var own []string
		for i := 0; i < len(seg); i++ {
			f, takesValue := globalFlag(seg[i], globals)
			if f == "" {
				own = append(own, seg[i])
				continue
			}
			first = append(first, seg[i])
			if takesValue && i+1 < len(seg) {
				first = append(first, seg[i+1])
				i++
			}
		}
		later = append(later, own)
	}
	return first, later, nil
}

// globalFlag reports whether arg is a global flag (its name) and whether
// the value is the next argument.
func globalFlag(arg string, globals *pflag.FlagSet) (string, bool) {
	var f *pflag.Flag
	hasValue := strings.Contains(arg, "=")
	switch {
	case strings.HasPrefix(arg, "--"):
		name, _, _ := strings.Cut(arg[2:], "=")
		f = globals.Lookup(name)
	case strings.HasPrefix(arg, "-") && len(arg) >= 2:
		f = globals.ShorthandLookup(arg[1:2])
		hasValue = hasValue || len(arg) > 2
	}
	if f == nil {
		return "", false
	}
	return f.Name, !hasValue && f.NoOptDefVal == ""
}

func chainVerbNames() []string {
	var names []string
	for n := range chainVerbs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// laterSteps parses the segments after the first into steps.
func (app *App) laterSteps(root *cobra.Command) ([]step, error) {
	var steps []step
	for _, seg := range app.later {
		verb := seg[0]
		mk, ok := chainVerbs[verb]
		if !ok {
			if c, _, err := root.Find([]string{verb}); err == nil && c != root {
				return nil, usagef("%s cannot follow then: a chain goes on with %s", verb, strings.Join(chainVerbNames(), ", "))
			}
			msg := fmt.Sprintf("unknown verb %q after then", verb)
			if s := closestName(verb, chainVerbNames()); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, usagef("%s; a chain goes on with %s", msg, strings.Join(chainVerbNames(), ", "))
		}
		var got step
		c := mk(app, func(s step) error { got = s; return nil })
		c.SetArgs(seg[1:])
		c.SetOut(app.IO.Out)
		c.SetErr(app.IO.Err)
		c.SilenceErrors, c.SilenceUsage = true, true
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{fmt.Errorf("then %s: %w", verb, err)} })
		c.Args = func(_ *cobra.Command, args []string) error {
			if len(args) > 0 && verb != "select" && verb != "value-counts" { // their column lists are arguments
				return usagef("then %s takes no inputs (%s): only the first verb of a chain names them", verb, quoteArgs(args))
			}
			return nil
		}
		app.inChain = true
		err := c.Execute()
		app.inChain = false
		if err != nil {
			return nil, err
		}
		if got == nil {
			return nil, errHelpShown // --help of a later segment
		}
		steps = append(steps, got)
	}
	return steps, nil
}

// errHelpShown ends a run whose segment printed its help.
var errHelpShown = errors.New("help shown")

// closestName is the name in have closest to name, "" when none is close.
func closestName(name string, have []string) string {
	schema := make(plan.Schema, len(have))
	for i, h := range have {
		schema[i].Name = h
	}
	_, err := schema.Lookup(name, "")
	var u *plan.UnknownColumnError
	if errors.As(err, &u) {
		return u.Suggest
	}
	return ""
}

// chainExample is the chain every verb's help shows.
const chainExample = `  gdask filter trips.csv --where 'fare_amount > 20' then select trip_id,fare_amount then head -n 3`

// inputSchema types the job's input columns by a sample of the first
// input; a shard (sf) or merge of a plan.json takes the types the plan
// was made for instead (the inputs are the plan's: plan.json checks their
// sizes and times), sparing every shard but the first the sample's read
// and parse: 10 ms of a shard's start.
func (app *App) inputSchema(j *job, sf *shardFlags) (plan.Schema, error) {
	var p *planFile
	if app.merge != nil {
		p = app.merge.plan
	} else if sf != nil {
		p, _ = readPlanFile(sf.dir) // none yet: this shard samples and writes it
	}
	if p != nil {
		if s, ok := p.inputSchema(j.ds.UntypedSchema()); ok {
			return s, nil
		}
	}
	return j.ds.Schema()
}

// runChain runs the first segment's step, then the later segments', over
// the inputs paths: it prints the plan (--explain), runs it and prints its
// figures (--explain analyze), or runs it and writes its rows.
func (app *App) runChain(ctx context.Context, c *cobra.Command, paths []string, first step) error {
	steps, err := app.laterSteps(c.Root())
	if errors.Is(err, errHelpShown) {
		return nil
	}
	if err != nil {
		return err
	}
	steps = append([]step{first}, steps...)
	explain, err := app.settings.explain()
	if err != nil {
		return err
	}
	skipBad, err := app.settings.boolean(flagSkipBadRows)
	if err != nil {
		return err
	}
	j, err := app.startJob(ctx, paths)
	if err != nil {
		return err
	}
	defer j.close()
	// Types come from a sample of the input, which costs a read and a
	// parse; head and count into csv or tsv do not look at them.
	typed := typedFormat(j.res.format) || explain == "analyze"
	for _, s := range steps {
		typed = typed || s.typed()
	}
	// A bad --shard is reported below, after --explain and submit.
	sf, sfErr := app.settings.shardSettings()
	input := j.ds.UntypedSchema()
	if typed {
		if input, err = app.inputSchema(j, sf); err != nil {
			return err
		}
	}
	var node plan.Node = plan.NewScan(paths, input)
	for _, s := range steps {
		if node, err = s.apply(node); err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				err = &usageError{err}
			}
			return err
		}
	}
	root := plan.Optimize(node)
	parts, streams := j.ds.Partitions()
	env := plan.ExplainEnv{Partitions: parts, Streams: streams, Workers: j.cfg.Workers, Memory: formatSize(j.cfg.MemoryLimit)}
	if explain == "plan" {
		return app.writeAll([]byte(plan.ExplainWith(root, env, app.shardNotes(root))))
	}
	if app.submit != nil {
		return app.prepareSubmit(ctx, j, root, input, c.Root().PersistentFlags())
	}
	if sfErr != nil {
		return sfErr
	}
	if sf != nil {
		if app.merge != nil {
			return usagef("merge runs no shard: --shard and --state-out go with the verbs")
		}
		app.watchPlan(app.commandLine(), root)
		stats := j.analyzeStats(explain == "analyze")
		start := time.Now()
		var rs *engine.RunStats
		err := j.run(ctx, app, "shard "+progressLabel(root), func() (err error) {
			rs, err = app.runShard(ctx, j, root, input, sf, skipBad, c.Root().PersistentFlags())
			return err
		})
		if err != nil || explain != "analyze" || rs == nil {
			return err // a shard already done ran nothing, and said so
		}
		side := engine.ShardSide(root)
		return app.writeAll([]byte(explainAnalyze(root, env, stats, rs, time.Since(start), func(n plan.Node) string {
			if shard, _ := side(n); !shard {
				return "runs in gdask merge"
			}
			return ""
		})))
	}
	out := &chainOutput{app: app, res: j.res, count: isCount(root), analyze: explain == "analyze"}
	if app.merge != nil {
		return app.mergeChain(ctx, j, root, input, out, skipBad, env)
	}
	app.watchPlan(app.commandLine(), root)
	stats := j.analyzeStats(explain == "analyze")
	start := time.Now()
	var rs *engine.RunStats
	err = j.run(ctx, app, progressLabel(root), func() (err error) {
		rs, err = j.ds.Run(ctx, root, out.output(), engine.RunOptions{SkipBadRows: skipBad})
		return err
	})
	if err != nil {
		out.abort()
		return err
	}
	if rs.SkippedRows > 0 {
		fmt.Fprintf(app.IO.Err, "gdask: warning: skipped %d rows whose value is not a number where a number is needed (--skip-bad-rows)\n", rs.SkippedRows)
	}
	if explain == "analyze" {
		return app.writeAll([]byte(explainAnalyze(root, env, stats, rs, time.Since(start), nil)))
	}
	return out.commit()
}

// analyzeStats, for --explain analyze, collects the figures of the job's
// run as its events go by; nil otherwise.
func (j *job) analyzeStats(analyze bool) *exec.Stats {
	if !analyze {
		return nil
	}
	stats := exec.NewStats()
	j.cfg.Events = exec.Tee{j.cfg.Events, stats}
	return stats
}

// progressLabel says what the progress bar shows a run doing.
func progressLabel(root plan.Node) string {
	label := "reading"
	plan.Walk(root, func(n plan.Node) {
		switch n.(type) {
		case *plan.Aggregate:
			label = "aggregating"
		case *plan.Count:
			if label == "reading" {
				label = "counting"
			}
		}
	})
	return label
}

// typedFormat reports whether format writes values by their type.
func typedFormat(format string) bool { return format != "csv" && format != "tsv" }

func isCount(n plan.Node) bool {
	_, ok := n.(*plan.Count)
	return ok
}

// chainOutput is where a chain's rows go: straight to the destination
// (stdout, or the --output file, renamed into place on success) when they
// come as they are computed or are all in memory; through the spool when
// they are read back from spill files, so a failure then leaves nothing
// half written. A count prints its number bare (table, csv, tsv) or as
// {"rows": N}; --explain analyze writes no rows.
type chainOutput struct {
	app     *App
	res     *result
	count   bool
	analyze bool
	file    *writers.AtomicFile
	spooled bool
}

func (o *chainOutput) output() *engine.Output {
	format := o.res.format
	if o.count || o.analyze {
		format = "table" // rows one at a time, through Row
	}
	return &engine.Output{Format: format, Open: o.open}
}

func (o *chainOutput) open(cols []writers.Column, how engine.Delivery) (writers.Writer, error) {
	switch {
	case o.analyze:
		return writers.New("csv", io.Discard)
	case o.count:
		return &countWriter{format: o.res.format, out: o}, nil
	case how == engine.Spilled:
		o.spooled = true
		return o.res.w, nil
	}
	dst, err := o.destination()
	if err != nil {
		return nil, err
	}
	return o.res.writerTo(dst)
}

// destination is stdout, or the --output file's temp file.
func (o *chainOutput) destination() (io.Writer, error) {
	if o.res.path == "" {
		return o.app.IO.Out, nil
	}
	f, err := writers.CreateAtomic(o.res.path)
	if err != nil {
		return nil, err
	}
	o.file = f
	return f, nil
}

func (o *chainOutput) commit() error {
	switch {
	case o.spooled:
		return o.res.commit()
	case o.file != nil:
		return o.file.Commit()
	}
	return nil
}

func (o *chainOutput) abort() {
	if o.file != nil {
		o.file.Abort()
	}
}

// countWriter prints a Count's one row as count prints it.
type countWriter struct {
	format string
	out    *chainOutput
	n      []byte
}

func (w *countWriter) Begin([]writers.Column) error { return nil }
func (w *countWriter) WriteEncoded([]byte, int64) error {
	return errors.New("BUG: a count takes a row")
}
func (w *countWriter) Row(fields [][]byte) error { w.n = append(w.n[:0], fields[0]...); return nil }
func (w *countWriter) End() error {
	text := string(w.n) + "\n"
	if w.format == "json" || w.format == "ndjson" {
		text = fmt.Sprintf("{\"rows\":%s}\n", w.n)
	}
	dst, err := w.out.destination()
	if err != nil {
		return err
	}
	_, err = io.WriteString(dst, text)
	return err
}

// explainAnalyze is the plan with what each operator did.
func explainAnalyze(root plan.Node, env plan.ExplainEnv, stats *exec.Stats, rs *engine.RunStats, wall time.Duration, notes func(plan.Node) string) string {
	ids := engine.NodeIDs(root)
	var b strings.Builder
	b.WriteString(plan.ExplainWith(root, env, func(n plan.Node) string {
		if notes != nil {
			if note := notes(n); note != "" {
				return note // the merge's: what ran in the shards
			}
		}
		s := stats.Op(ids[n])
		note := fmt.Sprintf("rows in=%d out=%d", s.RowsIn, s.RowsOut)
		if _, ok := n.(*plan.Scan); ok {
			note = fmt.Sprintf("rows out=%d, read %s", s.RowsOut, formatSize(s.Bytes))
		}
		note += fmt.Sprintf(", time %s", s.Time.Round(time.Microsecond))
		if s.SpilledBytes > 0 {
			note += fmt.Sprintf(", spilled %s in %d rows, %d runs", formatSize(s.SpilledBytes), s.SpilledRows, s.SpilledRuns)
		}
		if s.MergeLevels > 0 {
			note += fmt.Sprintf(", merge levels %d", s.MergeLevels)
		}
		return note
	}))
	fmt.Fprintf(&b, "wall time: %s, memory lent at most: %s", wall.Round(time.Millisecond), formatSize(stats.PeakMemory()))
	if rs.SpilledBytes > 0 {
		fmt.Fprintf(&b, ", spilled: %s", formatSize(rs.SpilledBytes))
	}
	if rs.PassedRows > 0 {
		fmt.Fprintf(&b, ", rows passed to the merge ungrouped: %d", rs.PassedRows)
	}
	b.WriteString("\n")
	return b.String()
}

// explain returns --explain: "" (off), "plan" or "analyze".
func (s *settings) explain() (string, error) {
	switch v := strings.TrimSpace(s.str(flagExplain)); v {
	case "", "false":
		return "", nil
	case "plan", "true":
		return "plan", nil
	case "analyze":
		return "analyze", nil
	default:
		return "", usagef("invalid --explain %q: want --explain (the plan) or --explain analyze (run it and show what each operator did)", v)
	}
}

// statPath reports whether p names an existing file (or stdin).
func statPath(p string) bool {
	if p == "-" {
		return true
	}
	_, err := os.Stat(p)
	return err == nil
}

// runChainArgs runs gdask's root command over args as sub (an App of a
// merge or a submission, which the chain's run looks at), and returns
// what it returned.
func (app *App) runChainArgs(ctx context.Context, args []string, sub *App) error {
	root := newRootCmd(sub)
	first, later, err := splitChain(args, root.PersistentFlags())
	if err != nil {
		return err
	}
	sub.later = later
	root.SetArgs(first)
	root.SetIn(app.IO.In)
	root.SetOut(app.IO.Out)
	root.SetErr(app.IO.Err)
	return root.ExecuteContext(ctx)
}
