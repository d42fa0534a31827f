// Package slurmtest starts a throwaway single-node Slurm cluster for a
// test (scripts/slurm-local.sh) and follows its jobs: the tests of
// cluster (the scripts gdask submits) and of cmd (gdask submit slurm end
// to end) share it.
package slurmtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Required reports whether TestSlurmLocal must run: in CI, or when
// asked for. Elsewhere a machine without Slurm skips it.
func Required() bool {
	return os.Getenv("CI") != "" || os.Getenv("GDASK_SLURM_TESTS") == "1"
}

// Need fails the test, or skips it when Slurm is not required, when
// this machine cannot start a cluster with scripts/slurm-local.sh.
func Need(t *testing.T) {
	t.Helper()
	const install = "apt-get install -y --no-install-recommends slurm-wlm munge"
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (slurmd runs jobs as their users)")
	}
	for _, name := range []string{"bash", "sbatch", "scontrol", "scancel", "sinfo", "squeue", "munged", "mungekey", "slurmctld", "slurmd"} {
		if _, err := exec.LookPath(name); err == nil {
			continue
		}
		found := false
		for _, dir := range []string{"/usr/sbin", "/sbin"} { // not on every root's PATH
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				found = true
			}
		}
		if !found {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 0:
	case Required():
		t.Fatalf("a local Slurm cluster needs %s (%s); CI or GDASK_SLURM_TESTS=1 requires this test", strings.Join(missing, ", "), install)
	default:
		t.Skipf("no local Slurm cluster: missing %s (%s; CI=1 or GDASK_SLURM_TESTS=1 makes this a failure)", strings.Join(missing, ", "), install)
	}
	if testing.Short() && !Required() {
		t.Skip("starts a Slurm cluster; skipped in -short")
	}
}

// Start starts a single-node cluster in dir with
// scripts/slurm-local.sh, points this test's Slurm commands at it
// (SLURM_CONF), and stops it when the test ends.
func Start(t *testing.T, dir string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "scripts", "slurm-local.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// munged serves its socket only when every directory above it is
	// searchable by all: t.TempDir's are made 0700.
	for d := filepath.Dir(dir); strings.HasPrefix(d, os.TempDir()+"/"); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
			t.Fatal(err)
		}
	}
	stop := func() {
		out, err := exec.Command("bash", script, "stop", dir).CombinedOutput()
		if err != nil {
			t.Errorf("slurm-local.sh stop: %v\n%s", err, out)
		}
	}
	cmd := exec.Command("bash", script, "start", dir)
	// Room for every shard and the merge at once: the node's CPUs are
	// what slurm.conf says, not what the machine has.
	cmd.Env = append(os.Environ(), "SLURM_LOCAL_CPUS=8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("slurm-local.sh start: %v\n%s", err, stderr.Bytes())
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, f := range []string{"log/slurmctld.log", "log/slurmd.log"} {
				if data, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
					lines := strings.Split(string(data), "\n")
					t.Logf("%s, last lines:\n%s", f, strings.Join(lines[max(0, len(lines)-30):], "\n"))
				}
			}
		}
		stop()
	})
	conf, ok := strings.CutPrefix(strings.TrimSpace(string(out)), "export SLURM_CONF=")
	if !ok {
		t.Fatalf("slurm-local.sh start printed %q", out)
	}
	t.Setenv("SLURM_CONF", conf)
	t.Log(strings.TrimSpace(stderr.String()))
}

// Record is one line of scontrol -o show job: a job, or an array
// task (or the array's tasks still pending, ArrayTaskId=2-5).
type Record struct {
	JobID, ArrayTaskID, State, Reason, Dependency string
}

// Show returns the records of job id (scontrol -o show job).
func Show(t *testing.T, id string) []Record {
	t.Helper()
	out, err := exec.Command("scontrol", "-o", "show", "job", id).Output()
	if err != nil {
		t.Fatalf("scontrol -o show job %s: %v", id, err)
	}
	var recs []Record
	for line := range strings.Lines(string(out)) {
		var r Record
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "JobId":
				r.JobID = v
			case "ArrayTaskId":
				r.ArrayTaskID = v
			case "JobState":
				r.State = v
			case "Reason":
				r.Reason = v
			case "Dependency":
				r.Dependency = v
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// Wait polls job id until done says so of its records, and fails the
// test after timeout. (sbatch --wait would return up to ~15 s late.)
func Wait(t *testing.T, id string, timeout time.Duration, what string, done func([]Record) bool) []Record {
	t.Helper()
	end := time.Now().Add(timeout)
	for {
		recs := Show(t, id)
		if done(recs) {
			return recs
		}
		if time.Now().After(end) {
			t.Fatalf("job %s: not %s after %v: %+v", id, what, timeout, recs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ended reports whether every record of a job has ended.
func Ended(recs []Record) bool {
	for _, r := range recs {
		switch r.State {
		case "PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "REQUEUED", "SUSPENDED":
			return false
		}
	}
	return true
}
