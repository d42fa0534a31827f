package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/writers"
)

// Names SubmitSlurm gives the files it writes.
const (
	// SlurmShardScript and SlurmMergeScript are the two scripts, in the
	// script directory SubmitSlurm is given. Slurm keeps its own copy of a
	// script from the moment it is submitted, so a resubmission that
	// rewrites them changes nothing for jobs already queued.
	SlurmShardScript = "slurm-shards.sh"
	SlurmMergeScript = "slurm-merge.sh"
	// SlurmJobsFile, in the state directory, records the jobs of the last
	// submission (SlurmJobs, as JSON) for the next one.
	SlurmJobsFile = "slurm-jobs.json"
	// DefaultSlurmLogDir is where the logs go when LogDir is empty: a
	// directory of the state directory, which every node already shares.
	DefaultSlurmLogDir = "logs"
)

// What the scripts tell gdask, and Slurm's own limits.
const (
	slurmEnvIndex    = "SLURM_ARRAY_TASK_ID" // the array index, which is the shard index
	slurmEnvRestart  = "SLURM_RESTART_COUNT" // set only once a task has been requeued
	slurmMergeSuffix = "-merge"

	// slurmctld refuses an --array value (its %K included) longer than
	// 4096 bytes ("Pathname of a file, directory or other parameter too
	// long"; job_mgr.c, _test_job_desc_fields), a job name longer than
	// 1024 and an --output path longer than MAXPATHLEN.
	slurmMaxArrayLen = 4096
	slurmMaxName     = 1024
	slurmMaxPath     = 4096
)

// SlurmSpec is what RenderSlurm and SubmitSlurm need to run a plan's
// shards as a Slurm job array and its merge as a job that depends on it.
// cmd fills it from `gdask submit slurm` flags; nothing in it is Slurm's
// own type, and it holds no sbatch syntax but Extra.
type SlurmSpec struct {
	// Name is the array job's name; the merge job is Name-merge. Letters,
	// digits, '.', '_' and '-': it is written in #SBATCH lines unquoted
	// and shown in squeue's columns.
	Name string

	// Shards is N, 1 to MaxShards.
	Shards int
	// Indices are the shards to submit, in any order, repeats ignored;
	// nil submits them all, 0 to N-1. A resubmission names only the
	// shards that are missing or invalid (Report.Missing, Report.Invalid):
	// the array's task ids are the shard indices themselves, so shard i
	// keeps its number, its state file and its log whichever array runs
	// it.
	//
	// Every index must be below the cluster's MaxArraySize (slurm.conf;
	// 1001 unless the site raised it, see `scontrol show config`), or
	// sbatch refuses the array ("Invalid job array specification"): a site
	// left at the default runs at most 1000 shards. The --array value is
	// the indices as ranges (0-15, or 1,5-7,9 for a resubmission); it must
	// fit slurmctld's 4096 bytes, which every run of a thousand shards
	// does, but a resubmission of thousands of scattered shards may not:
	// RenderSlurm says so, and the shards can be resubmitted in parts.
	Indices []int
	// MaxRunning is how many shards run at once (the array's %K); 0 lets
	// Slurm run as many as it has room for. Shards read their inputs from
	// one shared file system, which gives out its bandwidth, not more of
	// it, to more readers.
	MaxRunning int

	// Partition is the partition (or comma-separated partitions) both
	// jobs run in; empty leaves it to the cluster's default.
	Partition string
	// Time is each job's time limit; 0 leaves it to the partition's
	// default. Slurm counts whole minutes, so it is rounded up to one.
	// A duration rather than Slurm's time string ("1-12:00:00") because
	// cmd parses it like every other gdask duration (--time 36h).
	Time time.Duration

	// MemoryLimit is gdask's --memory-limit in bytes; 0 leaves --mem out
	// (the partition's default then applies).
	MemoryLimit int64
	// MemorySlack is added to MemoryLimit for what gdask's broker does not
	// count (the Go runtime, goroutine stacks, the binary): --mem is
	// MemoryLimit+MemorySlack in MiB, rounded up. Slurm kills a job that
	// goes over its --mem, so it must hold all of gdask, not the budget.
	MemorySlack int64
	// CPUs is gdask's --workers: --cpus-per-task; 0 leaves it out (one
	// CPU).
	CPUs int

	// StateDir is the absolute directory, on a file system every node
	// mounts, where the shards write their states and the merge reads
	// them; SubmitSlurm creates it and records the jobs in it.
	StateDir string
	// LogDir is the absolute directory of the jobs' logs; empty means
	// StateDir/logs. SubmitSlurm creates it: Slurm does not, and a task
	// whose log cannot be opened fails without a word.
	LogDir string

	// ShardCommand is a shard's argv without the shard flags, which the
	// script appends: gdask VERB ARGS... (argv[0] as the nodes find it:
	// an absolute path, or a name on the job's PATH, which sbatch copies
	// from the environment it was run in).
	ShardCommand []string
	// MergeCommand is the merge's argv: gdask merge DIR --output FILE.
	// It needs no --wait: Slurm starts it once every shard succeeded.
	MergeCommand []string

	// Extra are #SBATCH options written as given into both scripts, after
	// gdask's own (--account=lab, --qos=long, --constraint=avx2). Each
	// starts with "--"; sbatch reads the line as it reads its own command
	// line, so a value with a space is quoted ("--comment='a b'").
	// Options gdask writes itself are refused (see slurmReserved).
	Extra []string
}

// SlurmJobs are the job ids of one submission, as sbatch printed them.
type SlurmJobs struct {
	Array string `json:"array"` // the shards' array job
	Merge string `json:"merge"` // the merge job, which depends on Array
	// Indices are the shards the array runs, sorted.
	Indices []int `json:"indices"`
}

// RunFunc runs a command and returns its standard output. The error of a
// command that failed says why in one line, naming the command.
// RunCommand is the one that runs it; tests give their own.
type RunFunc func(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)

// RenderSlurm returns the two batch scripts of spec: the shards' job array
// and the merge. Its output is the same for the same spec, byte for byte.
// The merge script does not name its dependency: the array's job id is
// known only once sbatch has taken the shards, and SubmitSlurm gives it on
// sbatch's command line.
func RenderSlurm(spec SlurmSpec) (shards, merge []byte, err error) {
	s, err := spec.resolve()
	if err != nil {
		return nil, nil, err
	}
	return s.shardScript(), s.mergeScript(), nil
}

// resolve validates spec and fills in its defaults: LogDir, and Indices
// sorted, without repeats, never nil.
func (spec SlurmSpec) resolve() (SlurmSpec, error) {
	s := spec
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	switch {
	case s.Name == "":
		bad("missing job name")
	case strings.ContainsFunc(s.Name, func(r rune) bool { return !slurmNameChar(r) }):
		bad("invalid job name %q: want letters, digits, '.', '_' and '-'", s.Name)
	case len(s.Name)+len(slurmMergeSuffix) > slurmMaxName:
		bad("invalid job name %q: longer than %d bytes", s.Name, slurmMaxName-len(slurmMergeSuffix))
	}

	shardsOK := s.Shards >= 1 && s.Shards <= MaxShards
	if !shardsOK {
		bad("invalid shard count %d: want 1 to %d", s.Shards, MaxShards)
	}
	switch {
	case s.Indices == nil && shardsOK:
		s.Indices = make([]int, s.Shards)
		for i := range s.Indices {
			s.Indices[i] = i
		}
	case s.Indices != nil && len(s.Indices) == 0:
		bad("no shards to submit: the list of shard indices is empty")
	default:
		s.Indices = slices.Compact(slices.Sorted(slices.Values(s.Indices)))
		if shardsOK && (s.Indices[0] < 0 || s.Indices[len(s.Indices)-1] >= s.Shards) {
			i := s.Indices[0]
			if i >= 0 {
				i = s.Indices[len(s.Indices)-1]
			}
			bad("invalid shard index %d: want 0 to %d", i, s.Shards-1)
		}
	}
	if s.MaxRunning < 0 {
		bad("invalid max running %d: want 0 (no limit) or more", s.MaxRunning)
	}
	if len(errs) == 0 {
		if a := slurmArray(s.Indices, s.MaxRunning); len(a) > slurmMaxArrayLen {
			bad("the %d shards to submit make an --array of %d bytes, more than Slurm's %d: submit them in parts",
				len(s.Indices), len(a), slurmMaxArrayLen)
		}
	}

	if s.Partition != "" && strings.ContainsFunc(s.Partition, func(r rune) bool { return !slurmNameChar(r) && r != ',' }) {
		bad("invalid partition %q: want letters, digits, '.', '_', '-', and ',' between partitions", s.Partition)
	}
	if s.Time < 0 {
		bad("invalid time limit %v: want a positive duration (0 leaves it to the partition)", s.Time)
	}
	checkMemory(s.MemoryLimit, s.MemorySlack, bad)
	if s.CPUs < 0 {
		bad("invalid cpus %d: want 0 or more", s.CPUs)
	}

	stateOK := false
	switch {
	case s.StateDir == "":
		bad("missing state directory: the shards write their states there and the merge reads them")
	case !path.IsAbs(s.StateDir) || path.Clean(s.StateDir) != s.StateDir || strings.ContainsRune(s.StateDir, 0):
		// Absolute: the jobs run in whatever directory sbatch was run in,
		// on another machine.
		bad("invalid state directory %s: want a clean absolute path", fsname.Quote(s.StateDir))
	default:
		stateOK = true
	}
	if s.LogDir == "" && stateOK {
		s.LogDir = path.Join(s.StateDir, DefaultSlurmLogDir)
	}
	switch {
	case s.LogDir == "":
	case !path.IsAbs(s.LogDir) || path.Clean(s.LogDir) != s.LogDir:
		bad("invalid log directory %s: want a clean absolute path", fsname.Quote(s.LogDir))
	case strings.ContainsAny(s.LogDir, "\n\r\x00"):
		// sbatch reads an #SBATCH line to its end: it cannot hold one.
		bad("invalid log directory %s: an #SBATCH line cannot hold a line break", fsname.Quote(s.LogDir))
	case strings.Contains(s.LogDir, `\`):
		// Slurm expands no %a in a file name that holds a backslash: every
		// shard would write the same log.
		bad(`invalid log directory %s: Slurm expands no %%a in a path with a '\'`, fsname.Quote(s.LogDir))
	case len(slurmOutput(s.LogDir, "shard-%a.out")) > slurmMaxPath:
		bad("invalid log directory %s: longer than Slurm takes", fsname.Quote(s.LogDir))
	}

	checkCommand := func(what string, argv []string, ours ...string) {
		if len(argv) == 0 || argv[0] == "" {
			bad("missing %s command", what)
			return
		}
		for _, a := range argv {
			if strings.ContainsRune(a, 0) {
				bad("invalid %s command: argument %q holds a NUL byte, which no command line can", what, a)
			}
		}
		for _, a := range argv[1:] {
			for _, f := range ours {
				if a == f || strings.HasPrefix(a, f+"=") {
					bad("invalid %s command: it already has %s, which the script adds", what, f)
				}
			}
		}
	}
	checkCommand("shard", s.ShardCommand, flagShard, flagStateOut, flagShardAttempt)
	checkCommand("merge", s.MergeCommand)

	for _, e := range s.Extra {
		name := e
		if i := strings.IndexAny(e, "= \t"); i >= 0 {
			name = e[:i]
		}
		switch {
		case !strings.HasPrefix(e, "--") || len(name) <= 2:
			bad("invalid extra option %q: want an sbatch option starting with --", e)
		case strings.ContainsAny(e, "\n\r\x00"):
			bad("invalid extra option %q: an #SBATCH line cannot hold a line break", e)
		default:
			if r, ok := s.reservedBy(name); ok {
				bad("invalid extra option %q: gdask writes %s itself", e, r)
			}
		}
	}

	if len(errs) > 0 {
		// One line, as every gdask message is.
		return SlurmSpec{}, fmt.Errorf("invalid slurm job: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

func slurmNameChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '.' || r == '_' || r == '-'
}

// slurmReserved are the sbatch options the scripts or SubmitSlurm set: an
// Extra line that set one again would break the run (another --array or
// --output) or contradict a setting of gdask's own (--mem). sbatch takes
// any unambiguous prefix of a long option (--part for --partition), so a
// prefix is refused too.
var slurmReserved = []string{
	"--array", "--job-name", "--output", "--error", "--dependency", "--kill-on-invalid-dep",
	"--parsable", "--wait", "--wrap",
	"--partition", "--time", "--mem", "--cpus-per-task",
}

// reservedBy returns the option of slurmReserved that name is or
// abbreviates. The options sbatch refuses beside one that s writes count
// too: --mem-per-cpu and --mem-per-gpu beside --mem, --cpus-per-gpu
// beside --cpus-per-task.
func (s SlurmSpec) reservedBy(name string) (string, bool) {
	reserved := slices.Clip(slurmReserved)
	if s.MemoryLimit > 0 {
		reserved = append(reserved, "--mem-per-cpu", "--mem-per-gpu")
	}
	if s.CPUs > 0 {
		reserved = append(reserved, "--cpus-per-gpu")
	}
	for _, r := range reserved {
		if name == r {
			return r, true
		}
	}
	for _, r := range reserved {
		if strings.HasPrefix(r, name) {
			return r, true
		}
	}
	return "", false
}

// shardScript is the job array: one task per shard, its index from Slurm.
func (s SlurmSpec) shardScript() []byte {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# gdask submit slurm: a %d-shard run, one array task per shard; the task id is the shard index.\n", s.Shards)
	// The array's task ids are the shard indices, so the shard a task
	// runs is $SLURM_ARRAY_TASK_ID, whichever subset this array holds.
	s.header(&b, s.Name, "--array="+slurmArray(s.Indices, s.MaxRunning),
		// %a, the task id, names each log by its shard: the log of a
		// failed shard i is shard-i.out, found without looking up a job
		// id, and a resubmission of shard i writes the same file (the
		// log of its newest attempt) instead of leaving one per job id.
		slurmOutput(s.LogDir, "shard-%a.out"))
	b.WriteString(slurmBody)
	// exec: bash gives its process to gdask, so the signal Slurm sends at
	// the time limit or on scancel reaches gdask itself (which removes its
	// temp state file and stops), not a shell that would leave it
	// running, and the task's exit status is gdask's.
	//
	// Every argument is quoted for bash (shellQuote): they are the user's
	// (expressions with quotes, $ and backticks, paths with spaces) and
	// must reach gdask as they were given, not be expanded on the node.
	// Only the shard flags' values are expanded, in double quotes.
	b.WriteString("exec ")
	for _, a := range s.ShardCommand {
		b.WriteString(shellQuote(a))
		b.WriteByte(' ')
	}
	// SLURM_RESTART_COUNT is how often Slurm requeued this task (its node
	// failed, or scontrol requeue): the attempt gdask names in a failure
	// record. It is unset on the first run, hence the default.
	fmt.Fprintf(&b, "%s \"$%s/%d\" %s %s %s \"${%s:-0}\"\n",
		flagShard, slurmEnvIndex, s.Shards,
		flagStateOut, shellQuote(s.StateDir),
		flagShardAttempt, slurmEnvRestart)
	return []byte(b.String())
}

// mergeScript is one job that merges the shards once they all succeeded.
func (s SlurmSpec) mergeScript() []byte {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	b.WriteString("# gdask submit slurm: the merge, submitted with --dependency=afterok on the shards' array.\n")
	s.header(&b, s.Name+slurmMergeSuffix, "", slurmOutput(s.LogDir, "merge.out"))
	b.WriteString(slurmBody)
	b.WriteString("exec")
	for _, a := range s.MergeCommand {
		b.WriteByte(' ')
		b.WriteString(shellQuote(a))
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

// header writes the #SBATCH lines the two scripts share. The resources
// are the same for both: the merge holds one shard's state at a time, as
// much memory as a shard, and runs with as many workers.
func (s SlurmSpec) header(b *strings.Builder, name, array, output string) {
	line := func(opt string) { b.WriteString("#SBATCH " + opt + "\n") }
	line("--job-name=" + name)
	if array != "" {
		line(array)
	}
	// No --error: gdask's messages go to stderr, and one file per job
	// holds them with whatever it printed.
	line("--output=" + sbatchWord(output))
	if s.Partition != "" {
		line("--partition=" + s.Partition)
	}
	if s.Time > 0 {
		line("--time=" + slurmTime(s.Time))
	}
	if s.MemoryLimit > 0 {
		line("--mem=" + strconv.FormatInt(ceilMiB(s.MemoryLimit+s.MemorySlack), 10) + "M")
	}
	if s.CPUs > 0 {
		line("--cpus-per-task=" + strconv.Itoa(s.CPUs))
	}
	for _, e := range s.Extra {
		line(e)
	}
}

// slurmBody ends the #SBATCH lines (sbatch reads none after the first
// command) and starts the script proper. set -euo pipefail: nothing runs
// before exec now, but a line added later then stops the job at its first
// failure instead of running gdask regardless.
const slurmBody = "\nset -euo pipefail\n"

// slurmArray returns the --array value for sorted indices without
// repeats: runs of consecutive indices as first-last, joined by commas
// (0-15, 1,5-7,9), then %K when at most K may run at once.
func slurmArray(indices []int, maxRunning int) string {
	var b strings.Builder
	for i := 0; i < len(indices); {
		j := i
		for j+1 < len(indices) && indices[j+1] == indices[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(indices[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(indices[j]))
		}
		i = j + 1
	}
	if maxRunning > 0 {
		b.WriteByte('%')
		b.WriteString(strconv.Itoa(maxRunning))
	}
	return b.String()
}

// slurmOutput is the --output file pattern of name in dir: a % of dir's
// is doubled, so that Slurm reads it as a % and not as a pattern (a
// directory "100%a" stays that).
func slurmOutput(dir, name string) string {
	return strings.ReplaceAll(dir, "%", "%%") + "/" + name
}

// sbatchWord returns v as one word of an #SBATCH line. sbatch splits the
// line at white space and stops at a '#' (a comment), and takes quotes and
// backslashes as the shell does, except that a backslash cannot keep a
// space in a word; inside double quotes it still escapes. So v is
// double-quoted when it holds any of those, with " and \ escaped.
func sbatchWord(v string) string {
	if !strings.ContainsAny(v, " \t\v\f#'\"\\") {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// shellQuote returns s as one bash word that bash reads back as s, byte
// for byte: as it is when it holds only letters, digits and _-./,:+=@%
// (nothing bash expands or splits: no ~, no glob, no brace), else in
// single quotes, inside which bash expands nothing. A quote of s closes
// them, is written escaped, and opens them again:
//
//	it's $HOME  ->  'it'\''s $HOME'
//
// s holds no NUL: resolve refuses one.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !shellSafe(r) }) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellSafe(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("_-./,:+=@%", r)
}

// slurmTime formats d as an sbatch --time, rounded up to whole minutes
// (Slurm's unit; it would round a number of seconds up the same way):
// H:MM:00 below a day, D-HH:MM:00 from a day on.
func slurmTime(d time.Duration) string {
	m := int64((d + time.Minute - 1) / time.Minute)
	days, h, m := m/(24*60), m/60%24, m%60
	if days > 0 {
		return fmt.Sprintf("%d-%02d:%02d:00", days, h, m)
	}
	return fmt.Sprintf("%d:%02d:00", h, m)
}

// ceilMiB returns n bytes in MiB, rounded up: a --mem below what gdask
// needs would kill it.
func ceilMiB(n int64) int64 {
	q := n >> 20
	if n&(1<<20-1) != 0 {
		q++
	}
	return q
}

// SubmitSlurm writes spec's scripts to scriptDir (as SlurmShardScript and
// SlurmMergeScript) and submits them with run: first the shards' array,
// then the merge with
//
//	sbatch --parsable --dependency=afterok:ARRAY --kill-on-invalid-dep=no MERGE
//
// afterok starts the merge once every task of the array has succeeded,
// and never when one has failed: a merge that started anyway would only
// fail for want of that shard. A job whose dependency can no longer be
// satisfied stays PENDING with the reason DependencyNeverSatisfied
// unless the site set DependencyParameters=kill_invalid_depend, which
// cancels it; --kill-on-invalid-dep=no keeps it pending on every site, so
// that squeue shows the run waiting on a failed shard (the merge's
// dependency reads afterok:ARRAY_*(failed)) until a resubmission of that
// shard replaces it.
//
// It creates the state and log directories first. When the merge cannot
// be submitted, the array is cancelled (the error says so), so that no
// shards run for a merge that will never come. The jobs are recorded in
// StateDir/SlurmJobsFile; an error after both were submitted returns them
// as well.
func SubmitSlurm(ctx context.Context, spec SlurmSpec, scriptDir string, run RunFunc) (SlurmJobs, error) {
	s, err := spec.resolve()
	if err != nil {
		return SlurmJobs{}, err
	}
	for _, dir := range []string{s.StateDir, s.LogDir, scriptDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return SlurmJobs{}, fmt.Errorf("cannot create %s: %w", fsname.Quote(dir), fsname.Cause(err))
		}
	}
	shardPath := filepath.Join(scriptDir, SlurmShardScript)
	mergePath := filepath.Join(scriptDir, SlurmMergeScript)
	if err := writeScript(shardPath, s.shardScript()); err != nil {
		return SlurmJobs{}, err
	}
	if err := writeScript(mergePath, s.mergeScript()); err != nil {
		return SlurmJobs{}, err
	}

	out, err := run(ctx, nil, "sbatch", "--parsable", shardPath)
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job array specification") {
			return SlurmJobs{}, fmt.Errorf("cannot submit the shards: %w (the largest shard index, %d, must be below the cluster's MaxArraySize: see scontrol show config)",
				err, s.Indices[len(s.Indices)-1])
		}
		return SlurmJobs{}, fmt.Errorf("cannot submit the shards: %w", err)
	}
	array, err := parseJobID(out)
	if err != nil {
		return SlurmJobs{}, fmt.Errorf("cannot submit the shards: %w; they may be queued all the same: look for job %s in squeue", err, s.Name)
	}

	out, err = run(ctx, nil, "sbatch", "--parsable", "--dependency=afterok:"+array, "--kill-on-invalid-dep=no", mergePath)
	var merge string
	if err == nil {
		merge, err = parseJobID(out)
		if err != nil {
			err = fmt.Errorf("%w; it may be queued all the same: look for job %s in squeue", err, s.Name+slurmMergeSuffix)
		}
	}
	if err != nil {
		// The shards would run for nothing: cancel them, whatever ctx
		// says (it may be why the merge failed), within a bound.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := CancelSlurm(cctx, run, array); cerr != nil {
			return SlurmJobs{}, fmt.Errorf("cannot submit the merge job: %w; and %w: cancel the shards with scancel %s", err, cerr, array)
		}
		return SlurmJobs{}, fmt.Errorf("cannot submit the merge job: %w; cancelled the shards' job %s", err, array)
	}

	jobs := SlurmJobs{Array: array, Merge: merge, Indices: s.Indices}
	if err := writeSlurmJobs(filepath.Join(s.StateDir, SlurmJobsFile), jobs); err != nil {
		return jobs, fmt.Errorf("submitted the shards (job %s) and the merge (job %s), but %w", array, merge, err)
	}
	return jobs, nil
}

// writeScript writes a script atomically (a half-written script is never
// submitted), executable so that a user can also run it by hand.
func writeScript(path string, data []byte) error {
	f, err := writers.CreateAtomic(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", fsname.Quote(path), err)
	}
	if tmp := f.TempName(); tmp != "" {
		if err := os.Chmod(tmp, 0o755); err != nil {
			f.Abort()
			return fmt.Errorf("cannot make %s executable: %w", fsname.Quote(path), fsname.Cause(err))
		}
	}
	return f.Commit()
}

func writeSlurmJobs(path string, jobs SlurmJobs) error {
	data, err := json.MarshalIndent(jobs, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot record the jobs: %w", err)
	}
	f, err := writers.CreateAtomic(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Abort()
		return fmt.Errorf("cannot write %s: %w", fsname.Quote(path), err)
	}
	return f.Commit()
}

// parseJobID reads sbatch --parsable's output: the job id, then
// ";CLUSTER" on a multi-cluster site.
func parseJobID(out []byte) (string, error) {
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if !validJobID(id) {
		return "", fmt.Errorf("sbatch printed %q, not a job id", out)
	}
	return id, nil
}

// validJobID reports whether id is a job id (123) or an array task's
// (123_4): what SubmitSlurm records and CancelSlurm passes on, so that no
// option reaches scancel.
func validJobID(id string) bool {
	job, task, isTask := strings.Cut(id, "_")
	digits := func(s string) bool {
		return s != "" && len(s) <= 10 && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	}
	return digits(job) && (!isTask || digits(task))
}

// PreviousSlurmJobs returns the jobs SubmitSlurm last recorded in the
// state directory dir, and false when it recorded none.
//
// A resubmission (the shards Report.Missing and Report.Invalid name, in
// Indices) comes after the previous array has ended, with a shard failed:
// the previous merge then waits, PENDING, on a dependency that can never
// be satisfied any more (afterok on an array with a failed task). The CLI
// cancels it (CancelSlurm) when it submits the new array and merge;
// cancelling a job that has already ended does nothing. It should refuse
// to resubmit while the previous array still has tasks queued or running
// (squeue -h -j ARRAY lists them, and fails on a job Slurm has forgotten,
// MinJobAge after it ended): those shards are missing only until they
// finish, and a second array would run them twice.
func PreviousSlurmJobs(dir string) (SlurmJobs, bool, error) {
	file := filepath.Join(dir, SlurmJobsFile)
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return SlurmJobs{}, false, nil
	}
	if err != nil {
		return SlurmJobs{}, false, fmt.Errorf("cannot read %s: %w", fsname.Quote(file), fsname.Cause(err))
	}
	var jobs SlurmJobs
	if err := json.Unmarshal(data, &jobs); err != nil {
		return SlurmJobs{}, false, fmt.Errorf("cannot read %s: %w", fsname.Quote(file), err)
	}
	if !validJobID(jobs.Array) || !validJobID(jobs.Merge) {
		return SlurmJobs{}, false, fmt.Errorf("cannot read %s: job ids %q and %q are not Slurm's", fsname.Quote(file), jobs.Array, jobs.Merge)
	}
	return jobs, true, nil
}

// CancelSlurm cancels the jobs ids (scancel) with run. scancel succeeds
// on a job that has already ended.
func CancelSlurm(ctx context.Context, run RunFunc, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		if !validJobID(id) {
			return fmt.Errorf("cannot cancel job %q: not a Slurm job id", id)
		}
	}
	if _, err := run(ctx, nil, "scancel", ids...); err != nil {
		return fmt.Errorf("cannot cancel job %s: %w", strings.Join(ids, ", "), err)
	}
	return nil
}

// RunCommand runs name with args (found on PATH), stdin as its standard
// input when not nil, and returns its standard output. An error names the
// command and says why in one line: the command's standard error, its
// lines joined, after its exit status.
func RunCommand(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err == nil {
		return out, nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	line := []string{fsname.Quote(name)}
	for _, a := range args {
		line = append(line, fsname.Quote(a))
	}
	var msg []string
	for l := range strings.Lines(stderr.String()) {
		// What the command said, on one line and without a control
		// character that would reach the terminal.
		l = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
			if r < ' ' || r == 0x7f {
				return ' '
			}
			return r
		}, l)), " ")
		if l != "" {
			msg = append(msg, l)
		}
	}
	if len(msg) == 0 {
		return out, fmt.Errorf("%s: %w", strings.Join(line, " "), err)
	}
	return out, fmt.Errorf("%s: %w: %s", strings.Join(line, " "), err, strings.Join(msg, "; "))
}
