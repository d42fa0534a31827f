package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gdask/gdask/cluster"
	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
)

type submitSlurmOptions struct {
	shards     string
	partition  string
	time       time.Duration
	mem        string
	maxRunning int
	dir        string
	name       string
	gdask      string
	extra      []string
	dryRun     bool
}

// autoShardBytes is the input --shards auto gives each shard: a few
// minutes of one node's work, and few enough shards that the scheduler
// is not flooded.
const autoShardBytes = 4 << 30

func newSubmitSlurmCmd(app *App) *cobra.Command {
	o := &submitSlurmOptions{}
	c := &cobra.Command{
		Use:   "slurm [--shards N|auto] [flags] -- VERB ...",
		Short: "Run a chain as a Slurm job array of shards and a merge job after it",
		Long: `slurm writes DIR/plan.json (the inputs cut into exact record ranges once),
an sbatch script for a job array of N shards (task i runs shard i of the
chain) and one for a merge job that runs after every shard succeeded
(--dependency=afterok), submits both and prints their job ids. The answer
goes to DIR/result.FORMAT, the jobs' logs to DIR/logs.

Submitting again with the same --dir submits only the shards whose state
is missing or invalid (a shard that failed leaves none) and a new merge,
and cancels the merge of the last submission, which waits for good on its
failed shard. --mem comes from --memory-limit in the chain, plus slack for
what gdask's budget does not count, so Slurm never kills a shard that
keeps to its budget; or --memory-limit from --mem, when only that is given.`,
		Example: `  gdask submit slurm --shards 16 --partition short --time 1h --max-running 8 --dir /shared/st \
      -- groupby /shared/trips/*.csv --by payment_type --mean fare --memory-limit 4GB
  gdask merge --status /shared/st
  gdask submit slurm --dir /shared/st --shards 16 -- groupby ...   # again: only what failed`,
		RunE: func(c *cobra.Command, args []string) error {
			chain, err := submitChain(c, args)
			if err != nil {
				return err
			}
			return app.submitSlurm(c.Context(), c, o, chain)
		},
	}
	f := c.Flags()
	f.StringVar(&o.shards, "shards", "auto", "shards: tasks of the job array, each over 1/N of the inputs (auto: one per 4 GiB of input)")
	f.StringVar(&o.partition, "partition", "", "Slurm partition of the jobs (default: the cluster's)")
	f.DurationVar(&o.time, "time", 0, "time limit of each job, e.g. 30m or 2h (default: the partition's)")
	f.StringVar(&o.mem, "mem", "", "memory of each job, e.g. 4GB (default: the chain's --memory-limit plus slack)")
	f.IntVar(&o.maxRunning, "max-running", 0, "shards running at once (the array's %K; 0: as many as Slurm gives)")
	f.StringVar(&o.dir, "dir", "", "state directory on storage every node shares (default ./gdask-HASH of the chain)")
	f.StringVar(&o.name, "name", "", "job name; the merge is NAME-merge (default gdask-HASH of the chain)")
	f.StringVar(&o.gdask, "gdask", "", "the gdask the jobs run, on every node (default: this one)")
	f.StringArrayVar(&o.extra, "sbatch", nil, "an sbatch option for both jobs, e.g. --sbatch=--account=proj (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "write plan.json and print the scripts instead of submitting them")
	return c
}

// submitRun is a submission's preparation: a chain run with App.submit
// set writes DIR/plan.json instead of reading its inputs.
type submitRun struct {
	dir  string
	n    int       // 0: auto
	plan *planFile // set once written or checked
}

// prepareSubmit writes DIR/plan.json for the chain's plan root, or checks
// that the one there is this plan's.
func (app *App) prepareSubmit(ctx context.Context, j *job, root plan.Node, input plan.Schema, globals *pflag.FlagSet) error {
	s := app.submit
	kind, err := engine.ShardCuts(root)
	if err != nil {
		return usagef("%v", err)
	}
	inputs := j.ds.Inputs()
	var total int64
	for _, in := range inputs {
		if in.Size < 0 {
			return usagef("standard input cannot be read by shards: each would read its own; give a file")
		}
		total += in.Size
	}
	n := s.n
	if n == 0 {
		n = int(min(max((total+autoShardBytes-1)/autoShardBytes, 1), 1000))
	}
	text := planText(root, input, j.res.format == "csv")
	sf := &shardFlags{n: n, dir: s.dir}
	p, err := app.sharedPlan(ctx, sf, func() (*planFile, error) { return app.newPlanFile(ctx, j, root, input, text, kind, n, globals) })
	if err != nil {
		return err
	}
	planPath := fsname.Quote(filepath.Join(s.dir, planFileName))
	if p.Hash != hashText(text) {
		return usagef("%s is another chain's (%s): submit this one with another --dir", planPath, quoteArgs(p.Args))
	}
	if s.n != 0 && p.Shards != s.n {
		return usagef("%s is for %d shards: submit again with --shards %d, or another --dir", planPath, p.Shards, p.Shards)
	}
	if err := p.checkInputs(s.dir, inputs); err != nil {
		return err
	}
	s.plan = p
	return nil
}

func (app *App) submitSlurm(ctx context.Context, c *cobra.Command, o *submitSlurmOptions, chain []string) error {
	n := 0
	if o.shards != "auto" {
		var err error
		if n, err = strconv.Atoi(o.shards); err != nil || n < 1 || n > cluster.MaxShards {
			return usagef("invalid --shards %q: want a count from 1 to %d, or auto", o.shards, cluster.MaxShards)
		}
	}
	id := runID(chain, o.dir)
	dir := o.dir
	if dir == "" {
		dir = id
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	gdask := o.gdask
	if gdask == "" {
		if gdask, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this gdask's path (%v): name it with --gdask", err)
		}
	}
	name := o.name
	if name == "" {
		name = id
	}
	// Memory: --mem from the chain's --memory-limit, or the other way.
	var limit, mem int64
	if v := chainValue(chain, flagMemoryLimit); v != "" && v != "auto" {
		if limit, err = parseSize(v); err != nil {
			return usagef("invalid --memory-limit %q in the chain: %v", v, err)
		}
	}
	if o.mem != "" {
		if mem, err = parseSize(o.mem); err != nil {
			return usagef("invalid --mem %q: %v", o.mem, err)
		}
	}
	switch {
	case limit > 0 && mem > 0 && mem < limit+memorySlack(limit):
		return usagef("--mem %s is below the chain's --memory-limit %s plus the %s gdask needs beyond it: Slurm would kill shards that keep to their budget; raise --mem or lower --memory-limit",
			formatSize(mem), formatSize(limit), formatSize(memorySlack(limit)))
	case limit == 0 && mem > 0:
		limit = mem - memorySlack(mem)
		if limit < 64<<20 {
			return usagef("--mem %s leaves gdask too little: give at least 128MB", formatSize(mem))
		}
		chain = append(slices.Clone(chain), "--"+flagMemoryLimit, strconv.FormatInt(limit, 10))
	}
	cpus := 0
	if v := chainValue(chain, flagWorkers); v != "" {
		if cpus, err = strconv.Atoi(v); err != nil || cpus < 0 {
			return usagef("invalid --workers %q in the chain", v)
		}
	}

	// The plan: parse the chain as gdask would run it, and write plan.json.
	sub := &App{IO: app.IO, args: chain, submit: &submitRun{dir: dir, n: n}}
	if err := app.runChainArgs(ctx, chain, sub); err != nil {
		return err
	}
	p := sub.submit.plan
	if p == nil {
		return nil // --help
	}
	rep, err := p.status(dir, true)
	if err != nil {
		return err
	}
	todo := append(rep.Missing(), rep.Invalid()...)
	slices.Sort(todo)
	if len(todo) == 0 {
		fmt.Fprintf(app.IO.Out, "all %d shards in %s are done: gdask merge %s prints the answer\n", p.Shards, fsname.Quote(dir), fsname.Quote(dir))
		return nil
	}
	spec := cluster.SlurmSpec{Name: name, Shards: p.Shards, MaxRunning: o.maxRunning, Partition: o.partition, Time: o.time,
		CPUs: cpus, StateDir: dir, Extra: o.extra,
		ShardCommand: append([]string{gdask}, chain...),
		MergeCommand: []string{gdask, "merge", dir, "--output", filepath.Join(dir, resultName(chain))}}
	if len(todo) < p.Shards {
		spec.Indices = todo
	}
	if limit > 0 {
		spec.MemoryLimit, spec.MemorySlack = limit, memorySlack(limit)
		if mem > 0 {
			spec.MemorySlack = mem - limit
		}
	}
	if o.dryRun {
		shards, merge, err := cluster.RenderSlurm(spec)
		if err != nil {
			return usagef("%v", err)
		}
		fmt.Fprintf(app.IO.Out, "# %s\n%s\n# %s (sbatch --dependency=afterok:ARRAY --kill-on-invalid-dep=no)\n%s",
			cluster.SlurmShardScript, shards, cluster.SlurmMergeScript, merge)
		return nil
	}
	if prev, ok, err := cluster.PreviousSlurmJobs(dir); err != nil {
		return err
	} else if ok {
		// The last submission's shards must be over (its failed ones are
		// what this one redoes); its merge waits for good on them.
		out, err := cluster.RunCommand(ctx, nil, "squeue", "-h", "-o", "%i", "-j", prev.Array)
		if err == nil && strings.TrimSpace(string(out)) != "" {
			return usagef("shards of the last submission to %s (job %s) are still queued or running: wait for them, or scancel %s, then submit again",
				fsname.Quote(dir), prev.Array, prev.Array)
		}
		if err := cluster.CancelSlurm(ctx, cluster.RunCommand, prev.Merge); err != nil {
			return err
		}
	}
	jobs, err := cluster.SubmitSlurm(ctx, spec, dir, cluster.RunCommand)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("the %d shards", p.Shards)
	if spec.Indices != nil {
		what = fmt.Sprintf("%d of the %d shards (%s)", len(todo), p.Shards, shardList(todo, p.Shards))
	}
	fmt.Fprintf(app.IO.Out, "submitted %s as job array %s, and the merge as job %s after them\n", what, jobs.Array, jobs.Merge)
	fmt.Fprintf(app.IO.Out, "the jobs:        squeue -j %s,%s\n", jobs.Array, jobs.Merge)
	fmt.Fprintf(app.IO.Out, "the shards done: gdask merge --status %s\n", fsname.Quote(dir))
	fmt.Fprintf(app.IO.Out, "the answer:      %s (logs in %s)\n", fsname.Quote(filepath.Join(dir, resultName(chain))), fsname.Quote(filepath.Join(dir, cluster.DefaultSlurmLogDir)))
	return nil
}
