package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gdask/gdask/cluster"
	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
)

type mergeOptions struct {
	Dir          string
	Status       bool
	Wait         time.Duration
	WaitShards   int
	WaitAttempts int
}

// mergePoll is how often merge --wait looks at the state directory.
var mergePoll = 2 * time.Second

func newMergeCmd(app *App, runF func(*mergeOptions) error) *cobra.Command {
	o := &mergeOptions{}
	c := &cobra.Command{
		Use:   "merge DIR",
		Short: "Merge the shards of a sharded run into its answer",
		Long: `merge reads DIR/plan.json and the state files the shards of a run left in
DIR (gdask VERB ... --shard i/N --state-out DIR, or gdask submit), checks
every one of the N (there, whole, of this plan and shard count), and prints
the answer, the same bytes a run without shards prints. A missing, damaged
or foreign shard is named, with exit status 1, and nothing is printed.

--status lists the shards done, missing and invalid instead (exit status 1
while any is not done). --wait waits for the shards (a merge started beside
them, as on Kubernetes) and fails at once when a shard failed for good.`,
		Example: `  for i in 0 1 2 3; do gdask groupby big.csv --by k --sum v --shard $i/4 --state-out st; done
  gdask merge st
  gdask merge --status st`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("merge takes the state directory, got %d arguments: %s", len(args), quoteArgs(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			o.Dir = args[0]
			if runF != nil {
				return runF(o)
			}
			return app.runMerge(c.Context(), c, o)
		},
	}
	f := c.Flags()
	f.BoolVar(&o.Status, "status", false, "list the shards done, missing and invalid, and merge nothing")
	f.DurationVar(&o.Wait, "wait", 0, "wait this long for the shards to be done (polling DIR), e.g. 2h")
	f.IntVar(&o.WaitShards, "wait-shards", 0, "with --wait: the shard count, for a DIR with no plan.json yet")
	f.IntVar(&o.WaitAttempts, "wait-attempts", 1, "with --wait: a shard whose attempt N-1 left a failure record has failed for good")
	return c
}

// mergeRun is a merge under way: the plan every shard ran, and where
// their states are. A chain run with App.merge set merges instead of
// reading its inputs.
type mergeRun struct {
	dir  string
	plan *planFile
}

func (app *App) runMerge(ctx context.Context, c *cobra.Command, o *mergeOptions) error {
	if o.Wait < 0 || o.WaitShards < 0 || o.WaitShards > cluster.MaxShards || o.WaitAttempts < 1 {
		return usagef("--wait, --wait-shards and --wait-attempts take a duration, a shard count up to %d and a count from 1", cluster.MaxShards)
	}
	if o.Status {
		return app.mergeStatus(o.Dir)
	}
	if o.Wait > 0 {
		if err := waitShards(ctx, o); err != nil {
			return err
		}
	}
	p, err := readPlanFile(o.Dir)
	if err != nil {
		return err
	}
	// The state files' headers; their bodies are checked by the merge,
	// before its output or as it goes (mergeChain).
	rep, err := p.status(o.Dir, false)
	if err != nil {
		return err
	}
	args, err := mergeArgs(c, p)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(p.Dir); err == nil && st.IsDir() {
		// The chain's relative paths are the submitter's.
		if err := os.Chdir(p.Dir); err != nil {
			return err
		}
	}
	explain, err := app.settings.explain()
	if err != nil {
		return err
	}
	if stale := otherUnits(rep); len(stale) > 0 && len(stale) == len(rep.Invalid())+len(rep.Missing())+len(rep.Stray) && explain != "plan" {
		if err := app.rerunShards(ctx, c, abs, p, stale); err != nil {
			return err
		}
		// The shards read plan.json again: the merge checks them
		// against the one they ran.
		if p, err = readPlanFile(abs); err != nil {
			return err
		}
		if args, err = mergeArgs(c, p); err != nil {
			return err
		}
		if rep, err = p.status(abs, false); err != nil {
			return err
		}
	}
	if err := rep.Err(); err != nil {
		return err
	}
	sub := &App{IO: app.IO, args: args, merge: &mergeRun{dir: abs, plan: p}}
	return sub.finishWatch(ctx, app.runChainArgs(ctx, args, sub))
}

// mergeArgs are the plan's arguments and the merge's own flags of one
// process (the output, the workers, the memory, a dashboard), which come
// last and so win. Paths among them are made absolute: the merge runs in
// the plan's directory.
func mergeArgs(c *cobra.Command, p *planFile) ([]string, error) {
	args := slices.Clone(p.Args)
	if !c.Flags().Changed(flagFormat) && p.Format != "" {
		// The format the shards were made for, not what this terminal
		// would pick: csv shards of raw rows merge only into csv.
		args = append(args, "--"+flagFormat+"="+p.Format)
	}
	return ownFlags(c, args, flagOutput, flagTempDir, flagReport, flagConfig, flagFormat, flagWorkers, flagMemoryLimit,
		flagProgress, flagDashboard, flagDashboardLinger, flagExplain)
}

// ownFlags appends to args those of names that the merge command was
// given, paths made absolute (the merge runs in the plan's directory).
func ownFlags(c *cobra.Command, args []string, names ...string) ([]string, error) {
	var err error
	c.Flags().Visit(func(f *pflag.Flag) {
		if !slices.Contains(names, f.Name) {
			return
		}
		v := f.Value.String()
		switch f.Name {
		case flagOutput, flagTempDir, flagReport, flagConfig:
			if v != "" {
				var abs string
				if abs, err = filepath.Abs(v); err == nil {
					v = abs
				}
			}
		}
		args = append(args, "--"+f.Name+"="+v)
	})
	return args, err
}

// otherUnits is the shards whose state files read other parts of the
// inputs than plan.json now gives them (cluster.ErrOtherUnits).
func otherUnits(rep *cluster.Report) []int {
	var out []int
	for _, sh := range rep.Shards {
		if sh.State == cluster.Invalid && errors.Is(sh.Err, cluster.ErrOtherUnits) {
			out = append(out, sh.Shard)
		}
	}
	return out
}

// rerunShards runs shards of p again, in this process, one after another:
// those that ran clean on guessed cuts that another shard then made exact
// (a shard whose guessed start fell inside a quoted field reads a
// record's tail as a record, and may end clean). Their scheduler saw them
// succeed and will not run them again; the merge has their inputs and
// their plan, and runs them with its own workers and memory.
func (app *App) rerunShards(ctx context.Context, c *cobra.Command, dir string, p *planFile, shards []int) error {
	for _, i := range shards {
		fmt.Fprintf(app.IO.Err, "gdask: shard %d/%d ran on cuts made exact after it: running it again here\n", i, p.Shards)
		args, err := ownFlags(c, slices.Clone(p.Args), flagWorkers, flagMemoryLimit, flagTempDir, flagConfig)
		if err != nil {
			return err
		}
		if p.Format != "" {
			args = append(args, "--"+flagFormat+"="+p.Format) // the shards' format, whatever this terminal is
		}
		args = append(args, fmt.Sprintf("--%s=%d/%d", flagShard, i, p.Shards), "--"+flagStateOut+"="+dir)
		sub := &App{IO: IOStreams{In: app.IO.In, Out: io.Discard, Err: app.IO.Err}, args: args}
		if err := app.runChainArgs(ctx, args, sub); err != nil {
			return err
		}
	}
	return nil
}

// mergeChain runs the merge of root, the plan the chain's arguments make
// here, which must be the one the shards ran.
func (app *App) mergeChain(ctx context.Context, j *job, root plan.Node, input plan.Schema, out *chainOutput, skipBad bool, env plan.ExplainEnv) error {
	m := app.merge
	p := m.plan
	planPath := fsname.Quote(filepath.Join(m.dir, planFileName))
	csvOut := j.res.format == "csv"
	if hashText(planText(root, input, csvOut)) != p.Hash {
		if hashText(planText(root, input, !csvOut)) == p.Hash {
			if csvOut {
				return usagef("the shards in %s kept their rows for output other than csv: merge them with -o json, ndjson, tsv or table, or run the shards again with -o csv", fsname.Quote(m.dir))
			}
			return usagef("the shards in %s kept their rows as csv records: merge them with -o csv, or run the shards again with -o %s", fsname.Quote(m.dir), j.res.format)
		}
		return fmt.Errorf("%s: its arguments make another plan here than the shards ran: merge with the settings the shards had (GDASK_* variables, the config file: --types, --null, --delimiter) and the gdask that wrote it (%s)", planPath, p.Gdask)
	}
	if err := p.checkInputs(m.dir, j.ds.Inputs()); err != nil {
		return err
	}
	if !engine.MergeReadsWholeFirst(root) {
		// Sorted runs and rows are merged as they are read: every body
		// is checked whole first, so a damaged one stops the merge
		// before its first row. An aggregate's or a count's merge reads
		// the bodies whole, checked, before its first row anyway.
		rep, err := p.status(m.dir, true)
		if err != nil {
			return err
		}
		if err := rep.Err(); err != nil {
			return err
		}
	}
	var bodies []engine.ShardBody
	for i := range p.Shards {
		r, err := cluster.Open(cluster.Path(m.dir, i, p.Shards))
		if err != nil {
			return err
		}
		defer r.Close()
		bodies = append(bodies, r)
	}
	app.watchPlan(app.commandLine(), root)
	stats := j.analyzeStats(out.analyze)
	start := time.Now()
	// No progress bar: the merge reads no input, and its rows stream to
	// the same terminal.
	rs, err := j.ds.RunMerge(ctx, root, bodies, out.output(), engine.RunOptions{SkipBadRows: skipBad})
	if err != nil {
		out.abort()
		return err
	}
	if out.analyze {
		side := engine.ShardSide(root)
		return app.writeAll([]byte(explainAnalyze(root, env, stats, rs, time.Since(start), func(n plan.Node) string {
			if _, merge := side(n); !merge {
				return "ran in the shards"
			}
			return ""
		})))
	}
	return out.commit()
}

// mergeStatus prints the shards of DIR: done, missing or invalid and why.
func (app *App) mergeStatus(dir string) error {
	p, err := readPlanFile(dir)
	if err != nil {
		return err
	}
	rep, err := p.status(dir, true)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(app.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "shard\tstate\trows read\tbytes read\tdetail\n")
	for _, sh := range rep.Shards {
		rows, bytes, detail := "", "", ""
		if sh.Header != nil && sh.State == cluster.Done {
			rows, bytes = fmt.Sprint(sh.Header.RowsRead), formatSize(sh.Header.BytesRead)
		}
		if sh.Err != nil {
			detail = sh.Err.Error()
		}
		if msg, ok := lastFailure(dir, sh.Shard, p.Shards); ok && sh.State != cluster.Done {
			detail = "failed: " + msg
		}
		if len(sh.Temp) > 0 && sh.State != cluster.Done {
			detail = strings.TrimSpace(detail + " (being written now, or by a shard that was killed)")
		}
		fmt.Fprintf(tw, "%d/%d\t%s\t%s\t%s\t%s\n", sh.Shard, sh.Shards, sh.State, rows, bytes, detail)
	}
	for _, sh := range rep.Stray {
		fmt.Fprintf(tw, "-\tstray\t\t\t%s\n", sh.Err)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	done := len(rep.Done())
	fmt.Fprintf(app.IO.Out, "%d of %d shards done\n", done, p.Shards)
	if done < p.Shards {
		return errQuietFailure
	}
	return nil
}

// errQuietFailure is exit status 1 with nothing more to say: what is
// wrong was printed.
var errQuietFailure = errors.New("")

// lastFailure is the error of a shard's latest recorded failed attempt.
func lastFailure(dir string, i, n int) (string, bool) {
	matches, _ := filepath.Glob(failurePrefix(dir, i, n) + "*")
	best, msg, found := -1, "", false
	for _, m := range matches {
		var k int
		if _, err := fmt.Sscanf(m[strings.LastIndex(m, "-")+1:], "%d", &k); err != nil || k < best {
			continue
		}
		if s, ok := readFailure(dir, i, n, k); ok {
			best, msg, found = k, s, true
		}
	}
	return msg, found
}

// waitShards polls the state directory until every shard is done, a
// shard failed for good (its last attempt left a failure record), or
// --wait ends.
func waitShards(ctx context.Context, o *mergeOptions) error {
	deadline := time.Now().Add(o.Wait)
	for {
		p, err := readPlanFile(o.Dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		n := o.WaitShards
		var missing []int // the shards not done: every one until there is a plan
		if p != nil {
			n = p.Shards
			rep, err := p.status(o.Dir, false)
			if err != nil {
				return err
			}
			// A shard that ran on guessed cuts made exact after it is
			// done for its scheduler: the merge runs it again.
			stale := otherUnits(rep)
			invalid := slices.DeleteFunc(rep.Invalid(), func(i int) bool { return slices.Contains(stale, i) })
			if missing = append(rep.Missing(), invalid...); len(missing) == 0 {
				return nil
			}
			slices.Sort(missing)
		} else {
			for i := range n {
				missing = append(missing, i)
			}
		}
		for _, i := range missing {
			if msg, ok := readFailure(o.Dir, i, n, o.WaitAttempts-1); ok {
				return fmt.Errorf("shard %d/%d failed for good (attempt %d of %d): %s", i, n, o.WaitAttempts, o.WaitAttempts, msg)
			}
		}
		if time.Now().After(deadline) {
			if p == nil {
				return fmt.Errorf("%s: no plan.json after --wait %s: no shard started", fsname.Quote(o.Dir), o.Wait)
			}
			return fmt.Errorf("%s: shards not done after --wait %s: %s", fsname.Quote(o.Dir), o.Wait, shardList(missing, n))
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(min(mergePoll, time.Until(deadline)+time.Millisecond)):
		}
	}
}

// shardList names shards as --shard takes them, the first few.
func shardList(shards []int, n int) string {
	var s []string
	for k, i := range shards {
		if k == 8 {
			s = append(s, fmt.Sprintf("and %d more", len(shards)-k))
			break
		}
		s = append(s, fmt.Sprintf("%d/%d", i, n))
	}
	return strings.Join(s, ", ")
}
