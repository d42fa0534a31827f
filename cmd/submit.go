package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/cluster"
	"github.com/gdask/gdask/internal/fsname"
)

// `gdask submit SCHEDULER [flags] -- VERB ...` hands a chain to a
// scheduler the site has, as N shards and a merge that runs after them
// (DESIGN §8): nothing of gdask runs between them but the shared state
// directory.

func newSubmitCmd(app *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "submit",
		Short: "Run a chain as shards on Slurm or Kubernetes, and merge them",
		Long: `submit runs a chain as N shards on the scheduler a site has, each over its
share of the inputs, and a merge after them that writes the answer a run
without shards prints. The shards and the merge share a state directory:
submitting again with the same --dir runs only the shards not done.`,
	}
	c.AddCommand(newSubmitSlurmCmd(app), newSubmitK8sCmd(app))
	return c
}

// submitChain returns the chain after --, checking it starts with a verb
// that can run as shards.
func submitChain(c *cobra.Command, args []string) ([]string, error) {
	dash := c.ArgsLenAtDash()
	if dash < 0 || dash >= len(args) {
		return nil, usagef("%s needs the chain to run after --, e.g. gdask submit %s --shards 8 -- groupby /data/big.csv --by k --sum v", c.CommandPath(), c.Name())
	}
	if dash > 0 {
		return nil, usagef("%s takes no arguments before --: %s", c.CommandPath(), quoteArgs(args[:dash]))
	}
	chain := args[dash:]
	if _, ok := chainVerbs[chain[0]]; !ok {
		return nil, usagef("%s runs a chain of %s, not %q", c.CommandPath(), strings.Join(chainVerbNames(), ", "), chain[0])
	}
	for _, a := range chain {
		for _, f := range []string{flagShard, flagStateOut, flagShardAttempt, flagOutput} {
			if a == "--"+f || strings.HasPrefix(a, "--"+f+"=") {
				return nil, usagef("%s sets %s itself: leave it out of the chain", c.CommandPath(), "--"+f)
			}
		}
	}
	return chain, nil
}

// chainValue is the value of a global flag in a chain's arguments ("" when
// it is not there): the last one, as the run would take it.
func chainValue(chain []string, name string) string {
	v := ""
	for i, a := range chain {
		switch {
		case a == "--"+name && i+1 < len(chain):
			v = chain[i+1]
		case strings.HasPrefix(a, "--"+name+"="):
			v = strings.TrimPrefix(a, "--"+name+"=")
		}
	}
	return v
}

// memorySlack is what a shard's process may hold beyond --memory-limit:
// the Go runtime, the binary and goroutine stacks, which the broker does
// not count. The memory tests (TestMemoryBound and its kin in
// process_test.go) find peaks within the limit plus 16 MiB; a scheduler
// that kills a job over its memory gets four times that, and a tenth for
// large limits, so a shard within its budget is never killed.
func memorySlack(limit int64) int64 { return max(64<<20, limit/10) }

// resultName is the merge's --output file in the state directory, named
// for the chain's format.
func resultName(chain []string) string {
	f := chainValue(chain, flagFormat)
	for i, a := range chain {
		if a == "-o" && i+1 < len(chain) {
			f = chain[i+1]
		} else if strings.HasPrefix(a, "-o") && len(a) > 2 {
			f = strings.TrimPrefix(strings.TrimPrefix(a, "-o"), "=")
		}
	}
	if f == "" || f == "table" {
		f = "csv" // a file, not a terminal: gdask writes csv
	}
	return "result." + f
}

// runID names a submission: the chain and the state directory, so a
// resubmission of the same run has the same name.
func runID(chain []string, dir string) string {
	h := sha256.Sum256([]byte(strings.Join(append([]string{dir}, chain...), "\x00")))
	return "gdask-" + hex.EncodeToString(h[:4])
}

type submitK8sOptions struct {
	shards, parallelism, retries int
	image, namespace, volume     string
	dir, name                    string
	wait                         time.Duration
	dryRun                       bool
}

func newSubmitK8sCmd(app *App) *cobra.Command {
	o := &submitK8sOptions{}
	c := &cobra.Command{
		Use:   "k8s --image IMG --volume CLAIM:/PATH [--shards N] [flags] -- VERB ...",
		Short: "Run a chain as an Indexed Job of shards and a merge Job on Kubernetes",
		Long: `k8s writes two Jobs and applies them with kubectl apply -f - (or prints them
with --dry-run): an Indexed Job of N pods, pod i running shard i of the
chain (its index from JOB_COMPLETION_INDEX), and a merge Job of one pod
that waits in the state directory for the shards and writes the answer to
DIR/result.FORMAT. Both mount the PersistentVolumeClaim --volume: the
inputs, named by absolute paths, and the state directory must be on it.
A shard that fails is retried once (--retries); a shard whose state is
already in DIR is not run again.`,
		Example: `  gdask submit k8s --image registry.example/gdask:1 --volume data:/data --shards 16 \
      -- groupby /data/trips/*.csv --by payment_type --mean fare --memory-limit 2GB
  gdask submit k8s --dry-run --image gdask --volume data:/data --shards 4 -- count /data/big.csv`,
		RunE: func(c *cobra.Command, args []string) error {
			chain, err := submitChain(c, args)
			if err != nil {
				return err
			}
			return app.submitK8s(c.Context(), o, chain)
		},
	}
	f := c.Flags()
	f.IntVar(&o.shards, "shards", 1, "shards: pods of the Indexed Job, each over 1/N of the inputs")
	f.IntVar(&o.parallelism, "max-running", 0, fmt.Sprintf("shards running at once (0: min(shards, %d))", cluster.DefaultK8sParallelism))
	f.IntVar(&o.retries, "retries", cluster.DefaultK8sBackoffLimitPerIndex, "times a failed shard is tried again")
	f.StringVar(&o.image, "image", "", "the container image that holds gdask (on its PATH)")
	f.StringVar(&o.namespace, "namespace", "", "namespace of the Jobs (default: kubectl's)")
	f.StringVar(&o.volume, "volume", "", "CLAIM:/PATH: the PersistentVolumeClaim the pods share, and where they mount it")
	f.StringVar(&o.dir, "dir", "", "state directory, under the volume's path (default /PATH/gdask/RUN)")
	f.StringVar(&o.name, "name", "", "name of the shard Job; the merge Job is NAME-merge (default gdask-HASH of the chain)")
	f.DurationVar(&o.wait, "merge-wait", cluster.DefaultK8sMergeWait, "how long the merge waits for shards that leave no word")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the manifests instead of applying them")
	return c
}

func (app *App) submitK8s(ctx context.Context, o *submitK8sOptions, chain []string) error {
	claim, mount, ok := strings.Cut(o.volume, ":")
	if !ok {
		return usagef("invalid --volume %q: want CLAIM:/PATH, a PersistentVolumeClaim and where the pods mount it", o.volume)
	}
	id := runID(chain, o.dir)
	name := o.name
	if name == "" {
		name = id
	}
	spec := cluster.K8sSpec{Name: name, Namespace: o.namespace, RunID: id, Image: o.image, Shards: o.shards,
		Parallelism: o.parallelism, BackoffLimitPerIndex: &o.retries, Volume: cluster.K8sVolume{Claim: claim, MountPath: mount},
		StateDir: o.dir, MergeWait: o.wait, ShardCommand: append([]string{"gdask"}, chain...)}
	if o.dir == "" && mount != "" {
		spec.StateDir = filepath.Join(mount, "gdask", id)
	}
	spec.MergeCommand = []string{"gdask", "merge", spec.StateDir, "--output", filepath.Join(spec.StateDir, resultName(chain))}
	if v := chainValue(chain, flagMemoryLimit); v != "" && v != "auto" {
		n, err := parseSize(v)
		if err != nil {
			return usagef("invalid --memory-limit %q in the chain: %v", v, err)
		}
		spec.Resources.MemoryLimit, spec.Resources.MemorySlack = n, memorySlack(n)
	}
	if v := chainValue(chain, flagWorkers); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return usagef("invalid --workers %q in the chain", v)
		}
		spec.Resources.CPU = n
	}
	yaml, err := cluster.RenderK8s(spec)
	if err != nil {
		return usagef("%v", err)
	}
	if o.dryRun {
		return app.writeAll(yaml)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		return fmt.Errorf("kubectl is not on PATH: install it, or print the manifests with --dry-run and apply them your way")
	}
	cmd := exec.CommandContext(ctx, kubectl, "apply", "-f", "-")
	cmd.Stdin = bytes.NewReader(yaml)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = app.IO.Out, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kubectl apply: %v: %s", err, strings.TrimSpace(strings.ReplaceAll(stderr.String(), "\n", " ")))
	}
	ns := ""
	if o.namespace != "" {
		ns = " -n " + o.namespace
	}
	fmt.Fprintf(app.IO.Err, "gdask: submitted %d shards as job %s and the merge as %s-merge; watch them with\n  kubectl get jobs,pods%s -l %s=%s\nthe answer will be in %s\n",
		o.shards, name, name, ns, cluster.LabelInstance, id, fsname.Quote(filepath.Join(spec.StateDir, resultName(chain))))
	return nil
}
