package cmd

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gdask/gdask/internal/slurmtest"
)

// submitted returns the job ids gdask submit slurm printed.
func submitted(t *testing.T, out string) (array, merge string) {
	t.Helper()
	m := regexp.MustCompile(`as job array (\d+), and the merge as job (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("gdask submit slurm printed no job ids:\n%s", out)
	}
	return m[1], m[2]
}

// completed waits for job id to end and fails the test unless every
// record of it COMPLETED.
func completed(t *testing.T, id, what string) {
	t.Helper()
	for _, r := range slurmtest.Wait(t, id, 90*time.Second, "ended", slurmtest.Ended) {
		if r.State != "COMPLETED" {
			t.Fatalf("%s (job %s): %+v", what, id, r)
		}
	}
}

// TestSubmitSlurm runs gdask submit slurm for real on a single-node
// cluster: a 4-shard groupby and a 3-shard sort end to end through
// sbatch, each merged to the local run's bytes; one shard of the sort
// made to fail (its state cannot be written) leaves the merge never
// started, and the submission again redoes that shard alone and merges.
func TestSubmitSlurm(t *testing.T) {
	slurmtest.Need(t)
	root := t.TempDir()
	slurmtest.Start(t, filepath.Join(root, "cluster"))
	bin := buildGdask(t, root)
	paths := shardInputs(t, rand.New(rand.NewPCG(15, 16)))

	run := func(dir string, shards string, chain ...string) (string, string) {
		out, stderr, code := runIn(t, append([]string{"submit", "slurm", "--shards", shards, "--dir", dir, "--gdask", bin, "--time", "5m", "--"}, chain...)...)
		if code != 0 {
			t.Fatalf("gdask submit slurm: exit %d: %s", code, stderr)
		}
		return submitted(t, out)
	}
	check := func(dir string, chain []string) {
		t.Helper()
		local, _, _ := runIn(t, append(chain, "-o", "csv")...)
		got, err := os.ReadFile(filepath.Join(dir, "result.csv"))
		if err != nil || string(got) != local {
			t.Fatalf("%s: the merge job's result.csv (%v) differs from the local run:\n%.2000s\nlocal:\n%.2000s", dir, err, got, local)
		}
	}

	groupby := append(append([]string{"groupby"}, paths...), "--by", "k", "--count", "--sum", "n", "--mean", "v", "--blocksize", "4KiB", "--memory-limit", "200MB")
	gdir := filepath.Join(root, "groupby")
	_, gmerge := run(gdir, "4", groupby...)

	sort := append(append([]string{"sort"}, paths...), "--by", "v:desc,k", "--blocksize", "4KiB")
	sdir := filepath.Join(root, "sort")
	// Shard 1 cannot rename its state into place: a directory stands there.
	if err := os.MkdirAll(filepath.Join(sdir, "shard-0001-of-0003.state"), 0o755); err != nil {
		t.Fatal(err)
	}
	sarray, smerge := run(sdir, "3", sort...)

	completed(t, gmerge, "the groupby's merge")
	check(gdir, groupby)

	// The sort's merge never starts: it waits for good on shard 1.
	slurmtest.Wait(t, smerge, 90*time.Second, "stuck on its dependency", func(recs []slurmtest.Record) bool {
		return len(recs) == 1 && recs[0].State == "PENDING" && recs[0].Reason == "DependencyNeverSatisfied"
	})
	for _, r := range slurmtest.Show(t, sarray) {
		if want := map[string]string{"0": "COMPLETED", "1": "FAILED", "2": "COMPLETED"}[r.ArrayTaskID]; r.State != want {
			t.Fatalf("sort shard %s: %s, want %s", r.ArrayTaskID, r.State, want)
		}
	}
	if _, err := os.Stat(filepath.Join(sdir, "logs", "merge.out")); err == nil {
		t.Fatal("the sort's merge ran, though a shard failed")
	}
	status, _, code := runIn(t, "merge", "--status", sdir)
	if code != 1 || !strings.Contains(status, "2 of 3 shards done") {
		t.Fatalf("merge --status: exit %d:\n%s", code, status)
	}

	// Again, with the obstacle gone: only shard 1 runs, and a new merge.
	if err := os.Remove(filepath.Join(sdir, "shard-0001-of-0003.state")); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runIn(t, append([]string{"submit", "slurm", "--shards", "3", "--dir", sdir, "--gdask", bin, "--time", "5m", "--"}, sort...)...)
	if code != 0 || !strings.Contains(out, "1 of the 3 shards (1/3)") {
		t.Fatalf("resubmission: exit %d: %s\n%s", code, out, stderr)
	}
	rarray, rmerge := submitted(t, out)
	completed(t, rmerge, "the sort's merge after the resubmission")
	if recs := slurmtest.Show(t, rarray); len(recs) != 1 || recs[0].ArrayTaskID != "1" {
		t.Fatalf("the resubmission ran %+v, want shard 1 alone", recs)
	}
	if recs := slurmtest.Show(t, smerge); recs[0].State != "CANCELLED" {
		t.Fatalf("the first merge: %+v, want CANCELLED by the resubmission", recs)
	}
	check(sdir, sort)
}

// TestSubmitK8sApplies: without --dry-run, the manifests go to kubectl
// apply -f - on stdin, and the command says how to follow the run.
func TestSubmitK8sApplies(t *testing.T) {
	bin := t.TempDir()
	got := filepath.Join(bin, "applied.yaml")
	kubectl := "#!/bin/sh\n[ \"$*\" = 'apply -f -' ] || { echo \"kubectl: unexpected $*\" >&2; exit 9; }\ncat > " + got + "\necho 'job.batch/x created'\n"
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte(kubectl), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	args := []string{"submit", "k8s", "--image", "gdask:1", "--volume", "data:/data", "--shards", "2", "--", "count", "/data/x.csv"}
	dry, _, code := runIn(t, append(args[:2:2], append([]string{"--dry-run"}, args[2:]...)...)...)
	if code != 0 {
		t.Fatalf("--dry-run: exit %d", code)
	}
	out, stderr, code := runIn(t, args...)
	if code != 0 || !strings.Contains(out, "job.batch/x created") || !strings.Contains(stderr, "kubectl get jobs,pods -l app.kubernetes.io/instance=") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	applied, err := os.ReadFile(got)
	if err != nil || string(applied) != dry {
		t.Fatalf("kubectl was given (%v):\n%s\nwant what --dry-run prints:\n%s", err, applied, dry)
	}
	// kubectl failing is one line with its words.
	if err := os.WriteFile(filepath.Join(bin, "kubectl"), []byte("#!/bin/sh\necho 'error: no context' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runIn(t, args...); code != 1 || !strings.Contains(stderr, "kubectl apply: exit status 1: error: no context") {
		t.Fatalf("a failing kubectl: exit %d: %s", code, stderr)
	}
}
