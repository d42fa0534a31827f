package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gdask/gdask/internal/slurmtest"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// slurmCase is a spec with two golden files, testdata/slurm/NAME.shards.sh
// and NAME.merge.sh.
type slurmCase struct {
	name string
	spec SlurmSpec
}

func slurmCases() []slurmCase {
	basic := SlurmSpec{
		Name:        "gdask-7f3c2a",
		Shards:      16,
		MaxRunning:  4,
		Partition:   "batch",
		Time:        2 * time.Hour,
		MemoryLimit: 4 << 30,
		MemorySlack: 512 << 20,
		CPUs:        4,
		StateDir:    "/scratch/gdask/7f3c2a",
		ShardCommand: []string{"/usr/local/bin/gdask", "groupby", "/data/trips/*.csv",
			"--by", "payment_type", "--mean", "tip_amount", "--memory-limit", "4GiB", "--workers", "4"},
		MergeCommand: []string{"/usr/local/bin/gdask", "merge", "/scratch/gdask/7f3c2a", "--output", "/scratch/gdask/7f3c2a/result.csv"},
	}
	// A resubmission of the shards a first run left missing or invalid.
	resubmit := basic
	resubmit.Indices = []int{9, 1, 5, 6, 7, 5}
	return []slurmCase{
		{"basic", basic},
		{"resubmit", resubmit},
		// Nothing but what must be there, one shard.
		{"single", SlurmSpec{
			Name:         "g1",
			Shards:       1,
			StateDir:     "/home/ana/state",
			ShardCommand: []string{"gdask", "count", "in.csv"},
			MergeCommand: []string{"gdask", "merge", "/home/ana/state"},
		}},
		// User arguments and paths that hold what bash or sbatch would
		// expand, split or cut, a time limit over a day, extra options.
		{"quoting", SlurmSpec{
			Name:        "nightly.trips_2026-11-25",
			Shards:      3,
			Partition:   "short,long",
			Time:        36*time.Hour + time.Second,
			MemoryLimit: 1e9,
			StateDir:    `/home/ana/runs/it's "here"`,
			LogDir:      "/home/ana/runs/100% done #2/logs",
			ShardCommand: []string{"/opt/gdask tools/gdask", "filter", "/data/it's.csv", "--where",
				"note == \"$HOME\" or name == 'x' and `date` != '\\n'", "-o", "csv", "", "~", "a\nb", "*"},
			MergeCommand: []string{"/opt/gdask tools/gdask", "merge", `/home/ana/runs/it's "here"`, "--output", "/home/ana/$USER.csv"},
			Extra:        []string{"--account=lab", "--comment='nightly run'"},
		}},
	}
}

// TestSlurmGolden renders each case and compares its scripts with their
// golden files; -update rewrites them.
func TestSlurmGolden(t *testing.T) {
	for _, c := range slurmCases() {
		t.Run(c.name, func(t *testing.T) {
			shards, merge, err := RenderSlurm(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			shards2, merge2, _ := RenderSlurm(c.spec)
			if !bytes.Equal(shards, shards2) || !bytes.Equal(merge, merge2) {
				t.Fatal("two renderings of one spec differ")
			}
			for _, f := range []struct {
				suffix string
				got    []byte
			}{{".shards.sh", shards}, {".merge.sh", merge}} {
				file := filepath.Join("testdata", "slurm", c.name+f.suffix)
				if *update {
					if err := os.WriteFile(file, f.got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(file)
				if err != nil {
					t.Fatalf("%v (run go test ./cluster -run Slurm -update to write it)", err)
				}
				if !bytes.Equal(f.got, want) {
					t.Errorf("RenderSlurm differs from %s (go test ./cluster -run Slurm -update rewrites it):\n%s", file, lineDiff(string(want), string(f.got)))
				}
			}
		})
	}
}

// sbatchArgs splits an #SBATCH line's options as sbatch does
// (get_argument in src/sbatch/opt.c, Slurm 22.05 to 25.05): words end at
// white space outside quotes; ' and " quote; a backslash takes the next
// byte as it is, inside quotes too, but cannot keep white space outside
// them; an unquoted # starts a comment.
func sbatchArgs(line string) ([]string, error) {
	var args []string
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) || line[i] == '#' {
			return args, nil
		}
		var arg []byte
		var quote byte
		escaped := false
		for i < len(line) && (quote != 0 || !isSpace(line[i])) && line[i] != '\n' {
			c := line[i]
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
				i++
				continue
			case quote != 0:
				if c == quote {
					quote = 0
					i++
					continue
				}
			case c == '"' || c == '\'':
				quote = c
				i++
				continue
			case c == '#':
				return append(args, string(arg)), nil
			}
			arg = append(arg, c)
			i++
		}
		if quote != 0 {
			return nil, fmt.Errorf("unmatched %c in %q", quote, line)
		}
		args = append(args, string(arg))
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r' }

// sbatchOptions returns the options of a script's #SBATCH lines, as
// sbatch reads them: up to its first command.
func sbatchOptions(t *testing.T, script []byte) []string {
	t.Helper()
	var opts []string
	for line := range strings.Lines(string(script)) {
		line = strings.TrimSuffix(line, "\n")
		rest, ok := strings.CutPrefix(line, "#SBATCH")
		if !ok {
			if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
				break
			}
			continue
		}
		args, err := sbatchArgs(rest)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, args...)
	}
	return opts
}

// TestSlurmHeader reads the #SBATCH lines back as sbatch would and checks
// each option's value.
func TestSlurmHeader(t *testing.T) {
	for _, c := range slurmCases() {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.spec.resolve()
			if err != nil {
				t.Fatal(err)
			}
			shards, merge, _ := RenderSlurm(c.spec)
			logDir := strings.ReplaceAll(s.LogDir, "%", "%%")
			var common []string
			if s.Partition != "" {
				common = append(common, "--partition="+s.Partition)
			}
			if s.Time > 0 {
				common = append(common, "--time="+slurmTime(s.Time))
			}
			if s.MemoryLimit > 0 {
				common = append(common, fmt.Sprintf("--mem=%dM", ceilMiB(s.MemoryLimit+s.MemorySlack)))
			}
			if s.CPUs > 0 {
				common = append(common, "--cpus-per-task="+strconv.Itoa(s.CPUs))
			}
			for _, e := range s.Extra {
				args, err := sbatchArgs(e)
				if err != nil {
					t.Fatal(err)
				}
				common = append(common, args...)
			}
			want := slices.Concat([]string{
				"--job-name=" + s.Name,
				"--array=" + slurmArray(s.Indices, s.MaxRunning),
				"--output=" + logDir + "/shard-%a.out",
			}, common)
			if got := sbatchOptions(t, shards); !slices.Equal(got, want) {
				t.Errorf("shard script options\n  %q\nwant\n  %q", got, want)
			}
			want = slices.Concat([]string{"--job-name=" + s.Name + "-merge", "--output=" + logDir + "/merge.out"}, common)
			if got := sbatchOptions(t, merge); !slices.Equal(got, want) {
				t.Errorf("merge script options\n  %q\nwant\n  %q", got, want)
			}
		})
	}
	// sbatchWord's words read back whole, whatever they hold but a line
	// break.
	for _, v := range []string{"plain", "a b", "#1", `"q"`, "it's", `back\slash`, "tab\there", `\"#' x`, "", " "} {
		if got, err := sbatchArgs("--output=" + sbatchWord(v)); err != nil || !slices.Equal(got, []string{"--output=" + v}) {
			t.Errorf("sbatchWord(%q) = %s reads back as %q, %v", v, sbatchWord(v), got, err)
		}
	}
}

// expandArray reads an --array value as Slurm does (index lists of a and
// a-b, then %K), insisting on the form slurmArray writes: ascending,
// every run of consecutive indices as one range.
func expandArray(spec string) (indices []int, maxRunning int, err error) {
	list, k, throttled := strings.Cut(spec, "%")
	if throttled {
		if maxRunning, err = strconv.Atoi(k); err != nil || maxRunning < 1 {
			return nil, 0, fmt.Errorf("bad throttle in %q", spec)
		}
	}
	last := -2
	for tok := range strings.SplitSeq(list, ",") {
		a, b, isRange := strings.Cut(tok, "-")
		lo, err1 := strconv.Atoi(a)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(b)
		}
		switch {
		case err1 != nil || err2 != nil || lo < 0 || strconv.Itoa(lo) != a:
			return nil, 0, fmt.Errorf("bad token %q in %q", tok, spec)
		case isRange && hi <= lo:
			return nil, 0, fmt.Errorf("range %q in %q is not ascending", tok, spec)
		case lo <= last+1:
			return nil, 0, fmt.Errorf("token %q in %q overlaps or continues the one before", tok, spec)
		}
		for i := lo; i <= hi; i++ {
			indices = append(indices, i)
		}
		last = hi
	}
	return indices, maxRunning, nil
}

// TestSlurmArray checks the --array values: examples, then random sets of
// indices, which read back as exactly their sorted distinct members.
func TestSlurmArray(t *testing.T) {
	for _, c := range []struct {
		indices []int
		k       int
		want    string
	}{
		{[]int{0}, 0, "0"},
		{[]int{0, 1}, 0, "0-1"},
		{[]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 4, "0-15%4"},
		{[]int{1, 5, 6, 7, 9}, 4, "1,5-7,9%4"},
		{[]int{0, 2, 4}, 0, "0,2,4"},
		{[]int{9998}, 1, "9998%1"},
	} {
		if got := slurmArray(c.indices, c.k); got != c.want {
			t.Errorf("slurmArray(%v, %d) = %q, want %q", c.indices, c.k, got, c.want)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(200)
		if r.IntN(10) == 0 {
			n = 1 + r.IntN(MaxShards)
		}
		var indices []int
		var k int
		if r.IntN(8) > 0 {
			dense := r.Float64()
			for range 1 + r.IntN(2*n) {
				if r.Float64() < dense {
					indices = append(indices, r.IntN(n))
				}
			}
			if len(indices) == 0 {
				indices = []int{r.IntN(n)}
			}
			k = r.IntN(5)
		}
		spec := SlurmSpec{Name: "p", Shards: n, Indices: slices.Clone(indices), MaxRunning: k,
			StateDir: "/s", ShardCommand: []string{"gdask"}, MergeCommand: []string{"gdask"}}
		want := slices.Compact(slices.Sorted(slices.Values(indices)))
		if indices == nil {
			want = nil
			for i := range n {
				want = append(want, i)
			}
		}
		shards, _, err := RenderSlurm(spec)
		if err != nil {
			if strings.Contains(err.Error(), "more than Slurm's 4096") && len(slurmArray(want, k)) > slurmMaxArrayLen {
				continue
			}
			t.Fatalf("%d shards %v: %v", n, indices, err)
		}
		var array string
		for _, o := range sbatchOptions(t, shards) {
			if v, ok := strings.CutPrefix(o, "--array="); ok {
				array = v
			}
		}
		got, gotK, err := expandArray(array)
		if err != nil {
			t.Fatalf("%d shards %v: %v", n, indices, err)
		}
		if !slices.Equal(got, want) || gotK != k {
			t.Fatalf("%d shards %v, max running %d: --array=%s expands to %v %%%d, want %v", n, indices, k, array, got, gotK, want)
		}
		if !slices.Equal(spec.Indices, indices) {
			t.Fatalf("RenderSlurm changed the caller's indices to %v", spec.Indices)
		}
	}

	// Too scattered a resubmission to fit Slurm's 4096 bytes.
	var every2 []int
	for i := 0; i < MaxShards; i += 2 {
		every2 = append(every2, i)
	}
	s := slurmCases()[0].spec
	s.Shards, s.Indices = MaxShards, every2
	if _, _, err := RenderSlurm(s); err == nil || !strings.Contains(err.Error(), "5000 shards to submit make an --array of 24446 bytes, more than Slurm's 4096: submit them in parts") {
		t.Errorf("every other of %d shards: %v", MaxShards, err)
	}
}

// printer writes a program that prints its arguments NUL-separated, at a
// path that needs quoting, and returns the path.
func printer(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "it's a \"$dir\" `x`")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "print args")
	if err := os.WriteFile(p, []byte("#!/bin/bash\nprintf '%s\\0' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func splitNUL(out []byte) []string {
	if len(out) == 0 {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
}

// nasty are arguments bash would expand, split or cut if they reached it
// unquoted, or quoted the wrong way.
var nasty = []string{
	"", " ", "plain", "a b", "it's", "'", "''", `"`, `\`, `\'`, "$HOME", "${HOME}", "$(id)", "`id`",
	"a\nb", "\n", "\t", "*", "?", "[a]", "{a,b}", "~", "~/x", "x=~", "a;b", "a&b", "a|b", "<x", ">x",
	"!", "#c", "-n", "--shards=9/9", "é", "\xff\xfe", "\r", "\x1b[31m", `$'\n'`, `"$@"`, "%a", "a=b",
}

// TestSlurmQuoting runs the rendered scripts with bash, the command a
// program that prints its arguments, and checks that they arrive byte for
// byte, each in its place.
func TestSlurmQuoting(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	// shellQuote on its own: every nasty word, and words made of pieces
	// of them.
	r := rand.New(rand.NewPCG(3, 4))
	words := slices.Clone(nasty)
	for range 300 {
		var b strings.Builder
		for range 1 + r.IntN(4) {
			b.WriteString(nasty[r.IntN(len(nasty))])
		}
		words = append(words, b.String())
	}
	var script strings.Builder
	script.WriteString("printf '%s\\0'")
	for _, w := range words {
		script.WriteString(" " + shellQuote(w))
	}
	cmd := exec.Command("bash", "-c", script.String())
	// Where a word quoted wrong (>x) would make its files.
	cmd.Dir = t.TempDir()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash cannot read the quoted words: %v\n%s", err, stderr.Bytes())
	}
	if got := splitNUL(out); !slices.Equal(got, words) {
		for i := range min(len(got), len(words)) {
			if got[i] != words[i] {
				t.Fatalf("word %d: %q quoted as %s reads back as %q", i, words[i], shellQuote(words[i]), got[i])
			}
		}
		t.Fatalf("%d words read back as %d", len(words), len(got))
	}

	// The scripts, whole.
	prog := printer(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state 'dir' $x")
	spec := SlurmSpec{
		Name:         "quoting",
		Shards:       12,
		Indices:      []int{3, 11},
		StateDir:     state,
		ShardCommand: slices.Concat([]string{prog, "groupby"}, nasty),
		MergeCommand: slices.Concat([]string{prog, "merge"}, nasty),
	}
	shards, merge, err := RenderSlurm(spec)
	if err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string][]byte{"shard": shards, "merge": merge} {
		cmd := exec.Command("bash", "-n")
		cmd.Stdin = bytes.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("bash -n on the %s script: %v\n%s", name, err, out)
		}
	}
	run := func(script []byte, env ...string) []string {
		t.Helper()
		p := filepath.Join(dir, "script.sh")
		if err := os.WriteFile(p, script, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("bash", p)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.Bytes())
		}
		return splitNUL(out)
	}
	for _, c := range []struct {
		env     []string
		attempt string
	}{
		{[]string{"SLURM_ARRAY_TASK_ID=3"}, "0"},
		{[]string{"SLURM_ARRAY_TASK_ID=11", "SLURM_RESTART_COUNT=2"}, "2"},
	} {
		got := run(shards, c.env...)
		shard := strings.TrimPrefix(c.env[0], "SLURM_ARRAY_TASK_ID=") + "/12"
		want := slices.Concat(spec.ShardCommand[1:], []string{"--shard", shard, "--state-out", state, "--shard-attempt", c.attempt})
		if !slices.Equal(got, want) {
			t.Errorf("shard script with %v ran\n  %q\nwant\n  %q", c.env, got, want)
		}
	}
	if got := run(merge); !slices.Equal(got, spec.MergeCommand[1:]) {
		t.Errorf("merge script ran\n  %q\nwant\n  %q", got, spec.MergeCommand[1:])
	}

	// Outside an array task, the shard script stops before gdask runs
	// rather than give it an empty shard.
	p := filepath.Join(dir, "script.sh")
	os.WriteFile(p, shards, 0o755)
	cmd = exec.Command("bash", p)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(e string) bool { return strings.HasPrefix(e, "SLURM_") })
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "SLURM_ARRAY_TASK_ID: unbound variable") {
		t.Errorf("shard script without SLURM_ARRAY_TASK_ID: %v\n%s", err, out)
	}
}

// TestSlurmInvalid checks that a spec sbatch would refuse, or that could
// not work, is an error that says why.
func TestSlurmInvalid(t *testing.T) {
	good := slurmCases()[0].spec
	for _, c := range []struct {
		name string
		edit func(*SlurmSpec)
		want string
	}{
		{"empty name", func(s *SlurmSpec) { s.Name = "" }, "missing job name"},
		{"name with a space", func(s *SlurmSpec) { s.Name = "my run" }, `invalid job name "my run": want letters, digits, '.', '_' and '-'`},
		{"name with a quote", func(s *SlurmSpec) { s.Name = `run"1` }, `invalid job name "run\"1"`},
		{"name too long", func(s *SlurmSpec) { s.Name = strings.Repeat("a", 1019) }, "longer than 1018 bytes"},
		{"no shards", func(s *SlurmSpec) { s.Shards = 0 }, "invalid shard count 0: want 1 to 9999"},
		{"too many shards", func(s *SlurmSpec) { s.Shards = 10000 }, "invalid shard count 10000"},
		{"empty indices", func(s *SlurmSpec) { s.Indices = []int{} }, "no shards to submit"},
		{"index too large", func(s *SlurmSpec) { s.Indices = []int{3, 16} }, "invalid shard index 16: want 0 to 15"},
		{"negative index", func(s *SlurmSpec) { s.Indices = []int{-1, 3, 99} }, "invalid shard index -1: want 0 to 15"},
		{"negative max running", func(s *SlurmSpec) { s.MaxRunning = -1 }, "invalid max running -1"},
		{"partition", func(s *SlurmSpec) { s.Partition = "a b" }, `invalid partition "a b"`},
		{"negative time", func(s *SlurmSpec) { s.Time = -time.Minute }, "invalid time limit -1m0s"},
		{"negative memory", func(s *SlurmSpec) { s.MemoryLimit = -1 }, "invalid memory -1 + slack 536870912"},
		{"slack without a limit", func(s *SlurmSpec) { s.MemoryLimit = 0 }, "memory slack 536870912 without a memory limit"},
		{"memory overflow", func(s *SlurmSpec) { s.MemoryLimit = 1<<63 - 1 }, "too large"},
		{"negative cpus", func(s *SlurmSpec) { s.CPUs = -2 }, "invalid cpus -2"},
		{"no state dir", func(s *SlurmSpec) { s.StateDir = "" }, "missing state directory"},
		{"relative state dir", func(s *SlurmSpec) { s.StateDir = "state" }, "invalid state directory state: want a clean absolute path"},
		{"unclean state dir", func(s *SlurmSpec) { s.StateDir = "/a/../b" }, "invalid state directory /a/../b"},
		{"relative log dir", func(s *SlurmSpec) { s.LogDir = "logs" }, "invalid log directory logs"},
		{"log dir with a newline", func(s *SlurmSpec) { s.LogDir = "/a\nb" }, `invalid log directory "/a\nb": an #SBATCH line cannot hold a line break`},
		{"state dir with a newline", func(s *SlurmSpec) { s.StateDir = "/a\nb" }, `invalid log directory "/a\nb/logs"`},
		{"log dir with a backslash", func(s *SlurmSpec) { s.LogDir = `/a\b` }, `invalid log directory /a\b: Slurm expands no %a in a path with a '\'`},
		{"log dir too long", func(s *SlurmSpec) { s.LogDir = "/" + strings.Repeat("a", 4090) }, "longer than Slurm takes"},
		{"no shard command", func(s *SlurmSpec) { s.ShardCommand = nil }, "missing shard command"},
		{"empty shard program", func(s *SlurmSpec) { s.ShardCommand = []string{""} }, "missing shard command"},
		{"no merge command", func(s *SlurmSpec) { s.MergeCommand = nil }, "missing merge command"},
		{"shard flag given", func(s *SlurmSpec) { s.ShardCommand = append(s.ShardCommand, "--shard=1/8") }, "invalid shard command: it already has --shard, which the script adds"},
		{"state-out given", func(s *SlurmSpec) { s.ShardCommand = append(s.ShardCommand, "--state-out", "/x") }, "it already has --state-out"},
		{"attempt given", func(s *SlurmSpec) { s.ShardCommand = append(s.ShardCommand, "--shard-attempt=1") }, "it already has --shard-attempt"},
		{"NUL in an argument", func(s *SlurmSpec) { s.MergeCommand = append(s.MergeCommand, "a\x00b") }, `invalid merge command: argument "a\x00b" holds a NUL byte`},
		{"extra without dashes", func(s *SlurmSpec) { s.Extra = []string{"-A lab"} }, `invalid extra option "-A lab": want an sbatch option starting with --`},
		{"extra of dashes", func(s *SlurmSpec) { s.Extra = []string{"--=x"} }, `invalid extra option "--=x"`},
		{"extra with a newline", func(s *SlurmSpec) { s.Extra = []string{"--comment=a\nb"} }, "an #SBATCH line cannot hold a line break"},
		{"extra array", func(s *SlurmSpec) { s.Extra = []string{"--array=0-3"} }, `invalid extra option "--array=0-3": gdask writes --array itself`},
		{"extra output, abbreviated", func(s *SlurmSpec) { s.Extra = []string{"--out /tmp/x"} }, "gdask writes --output itself"},
		{"extra dependency", func(s *SlurmSpec) { s.Extra = []string{"--dependency=afterany:1"} }, "gdask writes --dependency itself"},
		{"extra time", func(s *SlurmSpec) { s.Extra = []string{"--time=10"} }, "gdask writes --time itself"},
		{"extra partition, abbreviated", func(s *SlurmSpec) { s.Extra = []string{"--part=debug"} }, "gdask writes --partition itself"},
		{"extra mem per cpu beside --mem", func(s *SlurmSpec) { s.Extra = []string{"--mem-per-cpu=1G"} }, "gdask writes --mem-per-cpu itself"},
		{"extra cpus per gpu beside --cpus-per-task", func(s *SlurmSpec) { s.Extra = []string{"--cpus-per-gpu=2"} }, "gdask writes --cpus-per-gpu itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := good
			s.ShardCommand = slices.Clone(good.ShardCommand)
			s.MergeCommand = slices.Clone(good.MergeCommand)
			c.edit(&s)
			shards, _, err := RenderSlurm(s)
			if err == nil {
				t.Fatalf("RenderSlurm accepted it:\n%s", shards)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "invalid slurm job: ") {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}

	// Every problem is reported at once.
	s := good
	s.Name, s.StateDir, s.Shards = "a b", "", 0
	_, _, err := RenderSlurm(s)
	for _, want := range []string{"invalid job name", "missing state directory", "invalid shard count"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v: want it to name %q", err, want)
		}
	}

	// What may be given: --mem-per-cpu without a memory limit, options
	// gdask does not write, a prefix of none of them.
	s = good
	s.MemoryLimit, s.MemorySlack = 0, 0
	s.Extra = []string{"--mem-per-cpu=2G", "--account lab", "--qos=long", "--time-min=10", "--requeue", "--constraint=avx2&ib"}
	if _, _, err := RenderSlurm(s); err != nil {
		t.Error(err)
	}
}

// TestSlurmUnits checks the time limit and memory conversions.
func TestSlurmUnits(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "0:01:00", time.Minute: "0:01:00", 61 * time.Second: "0:02:00", 90 * time.Minute: "1:30:00",
		24*time.Hour - time.Minute: "23:59:00", 24 * time.Hour: "1-00:00:00", 36*time.Hour + time.Second: "1-12:01:00",
		100 * 24 * time.Hour: "100-00:00:00",
	} {
		if got := slurmTime(d); got != want {
			t.Errorf("slurmTime(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]int64{1: 1, 1 << 20: 1, 1<<20 + 1: 2, 4<<30 + 512<<20: 4608, 1e9: 954, 1<<63 - 1: 1 << 43} {
		if got := ceilMiB(n); got != want {
			t.Errorf("ceilMiB(%d) = %d, want %d", n, got, want)
		}
	}
}

// fakeRun is a RunFunc that records the commands and answers each from a
// list, in order.
type fakeRun struct {
	calls   [][]string
	answers []fakeAnswer
}

type fakeAnswer struct {
	out string
	err error
}

func (f *fakeRun) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	f.calls = append(f.calls, slices.Concat([]string{name}, args))
	if len(f.answers) == 0 {
		return nil, fmt.Errorf("%s: unexpected", name)
	}
	a := f.answers[0]
	f.answers = f.answers[1:]
	return []byte(a.out), a.err
}

// TestSubmitSlurm submits with a fake sbatch and scancel.
func TestSubmitSlurm(t *testing.T) {
	newSpec := func(t *testing.T) (SlurmSpec, string) {
		root := t.TempDir()
		s := slurmCases()[0].spec
		s.StateDir = filepath.Join(root, "state")
		return s, filepath.Join(root, "scripts")
	}
	ctx := context.Background()

	t.Run("submitted", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{{out: "41;gdask-local\n"}, {out: "42\n"}}}
		jobs, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err != nil {
			t.Fatal(err)
		}
		shardPath, mergePath := filepath.Join(scripts, SlurmShardScript), filepath.Join(scripts, SlurmMergeScript)
		want := [][]string{
			{"sbatch", "--parsable", shardPath},
			{"sbatch", "--parsable", "--dependency=afterok:41", "--kill-on-invalid-dep=no", mergePath},
		}
		if !reflect.DeepEqual(f.calls, want) {
			t.Errorf("ran\n  %q\nwant\n  %q", f.calls, want)
		}
		all := make([]int, spec.Shards)
		for i := range all {
			all[i] = i
		}
		if wantJobs := (SlurmJobs{Array: "41", Merge: "42", Indices: all}); !reflect.DeepEqual(jobs, wantJobs) {
			t.Errorf("jobs %+v, want %+v", jobs, wantJobs)
		}
		shards, merge, _ := RenderSlurm(spec)
		for p, want := range map[string][]byte{shardPath: shards, mergePath: merge} {
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: %v\n%s", p, err, got)
			}
			if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o755 {
				t.Errorf("%s: mode %v, %v; want 0755", p, fi.Mode(), err)
			}
		}
		if fi, err := os.Stat(filepath.Join(spec.StateDir, "logs")); err != nil || !fi.IsDir() {
			t.Errorf("log directory not made: %v", err)
		}
		data, err := os.ReadFile(filepath.Join(spec.StateDir, SlurmJobsFile))
		if err != nil {
			t.Fatal(err)
		}
		var recorded SlurmJobs
		if err := json.Unmarshal(data, &recorded); err != nil || !reflect.DeepEqual(recorded, jobs) {
			t.Errorf("%s holds %s (%v)", SlurmJobsFile, data, err)
		}
		prev, ok, err := PreviousSlurmJobs(spec.StateDir)
		if err != nil || !ok || !reflect.DeepEqual(prev, jobs) {
			t.Errorf("PreviousSlurmJobs = %+v, %v, %v; want %+v", prev, ok, err, jobs)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(spec.StateDir, ".gdask-*")); len(leftovers) > 0 {
			t.Errorf("temp files left: %v", leftovers)
		}

		// A resubmission of two shards replaces the record.
		spec.Indices = []int{7, 3}
		f = &fakeRun{answers: []fakeAnswer{{out: "50\n"}, {out: "51\n"}}}
		jobs, err = SubmitSlurm(ctx, spec, scripts, f.run)
		if err != nil {
			t.Fatal(err)
		}
		prev, ok, err = PreviousSlurmJobs(spec.StateDir)
		if want := (SlurmJobs{Array: "50", Merge: "51", Indices: []int{3, 7}}); err != nil || !ok || !reflect.DeepEqual(prev, want) || !reflect.DeepEqual(jobs, want) {
			t.Errorf("after the resubmission: %+v recorded %+v, %v, %v; want %+v", jobs, prev, ok, err, want)
		}
		if got, _ := os.ReadFile(shardPath); !bytes.Contains(got, []byte("\n#SBATCH --array=3,7%4\n")) {
			t.Errorf("the resubmitted shard script is\n%s", got)
		}
	})

	t.Run("merge refused", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{
			{out: "41\n"},
			{err: errors.New("sbatch --parsable ...: exit status 1: sbatch: error: Batch job submission failed: Invalid account")},
			{},
		}}
		_, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err == nil || !strings.Contains(err.Error(), "cannot submit the merge job: ") ||
			!strings.Contains(err.Error(), "Invalid account; cancelled the shards' job 41") {
			t.Errorf("error %v", err)
		}
		if len(f.calls) != 3 || !slices.Equal(f.calls[2], []string{"scancel", "41"}) {
			t.Errorf("ran %q; want scancel 41 last", f.calls)
		}
		if _, ok, _ := PreviousSlurmJobs(spec.StateDir); ok {
			t.Error("jobs recorded for a failed submission")
		}
	})

	t.Run("merge refused, cancel failed", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{{out: "41\n"}, {err: errors.New("timed out")}, {err: errors.New("scancel 41: exit status 1: no route")}}}
		_, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err == nil || !strings.Contains(err.Error(), "cannot submit the merge job: timed out; and cannot cancel job 41: scancel 41: exit status 1: no route: cancel the shards with scancel 41") {
			t.Errorf("error %v", err)
		}
	})

	t.Run("merge id unreadable", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{{out: "41\n"}, {out: "Submitted batch job 42\n"}, {}}}
		_, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err == nil || !strings.Contains(err.Error(), `sbatch printed "Submitted batch job 42\n", not a job id; it may be queued all the same: look for job gdask-7f3c2a-merge in squeue; cancelled the shards' job 41`) {
			t.Errorf("error %v", err)
		}
		if len(f.calls) != 3 || f.calls[2][0] != "scancel" {
			t.Errorf("ran %q", f.calls)
		}
	})

	t.Run("array refused", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{{err: errors.New("sbatch: error: Batch job submission failed: Invalid job array specification")}}}
		_, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err == nil || !strings.Contains(err.Error(), "the largest shard index, 15, must be below the cluster's MaxArraySize") {
			t.Errorf("error %v", err)
		}
		if len(f.calls) != 1 {
			t.Errorf("ran %q after the array failed", f.calls)
		}
	})

	t.Run("array id unreadable", func(t *testing.T) {
		spec, scripts := newSpec(t)
		f := &fakeRun{answers: []fakeAnswer{{out: ""}}}
		_, err := SubmitSlurm(ctx, spec, scripts, f.run)
		if err == nil || !strings.Contains(err.Error(), `cannot submit the shards: sbatch printed "", not a job id; they may be queued all the same: look for job gdask-7f3c2a in squeue`) {
			t.Errorf("error %v", err)
		}
		if len(f.calls) != 1 {
			t.Errorf("ran %q", f.calls)
		}
	})

	t.Run("invalid spec", func(t *testing.T) {
		spec, scripts := newSpec(t)
		spec.Shards = 0
		f := &fakeRun{}
		if _, err := SubmitSlurm(ctx, spec, scripts, f.run); err == nil || len(f.calls) > 0 {
			t.Errorf("error %v, ran %q", err, f.calls)
		}
	})

	t.Run("previous", func(t *testing.T) {
		dir := t.TempDir()
		if jobs, ok, err := PreviousSlurmJobs(dir); ok || err != nil || !reflect.DeepEqual(jobs, SlurmJobs{}) {
			t.Errorf("empty directory: %+v, %v, %v", jobs, ok, err)
		}
		for content, want := range map[string]string{
			"{":                                     "slurm-jobs.json: unexpected end of JSON input",
			`{"array":"1","merge":"--me"}`:          `slurm-jobs.json: job ids "1" and "--me" are not Slurm's`,
			`{"array":"1;c","merge":"2"}`:           `job ids "1;c" and "2"`,
			`{"array":"12_3","merge":"2","x":true}`: "",
		} {
			os.WriteFile(filepath.Join(dir, SlurmJobsFile), []byte(content), 0o644)
			_, ok, err := PreviousSlurmJobs(dir)
			if want == "" {
				if err != nil || !ok {
					t.Errorf("%s: %v, %v", content, ok, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "cannot read "+dir) {
				t.Errorf("%s: error %v, want %q", content, err, want)
			}
		}
	})

	t.Run("cancel", func(t *testing.T) {
		f := &fakeRun{answers: []fakeAnswer{{}}}
		if err := CancelSlurm(ctx, f.run); err != nil || len(f.calls) > 0 {
			t.Errorf("no ids: %v, ran %q", err, f.calls)
		}
		if err := CancelSlurm(ctx, f.run, "12", "-u"); err == nil || len(f.calls) > 0 {
			t.Errorf("an option as an id: %v, ran %q", err, f.calls)
		}
		if err := CancelSlurm(ctx, f.run, "12", "13_4"); err != nil || !reflect.DeepEqual(f.calls, [][]string{{"scancel", "12", "13_4"}}) {
			t.Errorf("%v, ran %q", err, f.calls)
		}
	})
}

// TestRunCommand runs real commands.
func TestRunCommand(t *testing.T) {
	ctx := context.Background()
	out, err := RunCommand(ctx, []byte("in put"), "sh", "-c", "cat; echo ' out'")
	if err != nil || string(out) != "in put out\n" {
		t.Errorf("got %q, %v", out, err)
	}
	_, err = RunCommand(ctx, nil, "sh", "-c", `echo out; printf 'sbatch: error: one\n\n  two\033[31m\n' >&2; exit 3`, "x y")
	// The arguments as every message shows a file name (fsname.Quote),
	// the standard error on one line without its escape character.
	want := `sh -c echo out; printf 'sbatch: error: one\n\n  two\033[31m\n' >&2; exit 3 x y: exit status 3: sbatch: error: one; two [31m`
	if err == nil || err.Error() != want {
		t.Errorf("error\n  %v\nwant\n  %s", err, want)
	}
	_, err = RunCommand(ctx, nil, "gdask-no-such-command")
	if err == nil || !strings.Contains(err.Error(), "gdask-no-such-command") || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := RunCommand(cctx, nil, "sleep", "5"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the deadline's", err)
	}
}

// fakeGdask is the command TestSlurmLocal runs instead of gdask. As a
// shard (VERB ... --shard i/N --state-out DIR --shard-attempt K) it
// records its arguments in DIR/shard-i.argv, NUL-separated, then fails
// when DIR/fail-i exists and writes DIR/shard-i.ok otherwise. As the
// merge (merge DIR N) it writes DIR/merged once every shard-i.ok is there.
const fakeGdask = `#!/bin/bash
set -euo pipefail
if [[ $1 == merge ]]; then
	for ((i = 0; i < $3; i++)); do
		[[ -e $2/shard-$i.ok ]] || { echo "fake gdask: shard $i/$3 is missing" >&2; exit 1; }
	done
	echo merged >"$2/merged"
	echo "fake gdask: merged $3 shards"
	exit
fi
args=("$@")
n=${#args[@]}
shard=${args[n-5]} dir=${args[n-3]} attempt=${args[n-1]}
i=${shard%/*}
printf '%s\0' "$@" >"$dir/shard-$i.argv"
if [[ -e $dir/fail-$i ]]; then
	echo "fake gdask: shard $shard fails, as $dir/fail-$i asks" >&2
	exit 3
fi
echo "fake gdask: shard $shard attempt $attempt"
: >"$dir/shard-$i.ok"
`

// TestSlurmLocal runs a submission on a real Slurm cluster: one shard of
// four fails, so the merge waits for good; a resubmission of that shard
// alone, and the previous merge cancelled, end in a merge.
func TestSlurmLocal(t *testing.T) {
	slurmtest.Need(t)
	t0 := time.Now()
	root := t.TempDir()
	slurmtest.Start(t, filepath.Join(root, "cluster"))
	ctx := context.Background()
	// As on a site that cancels a job whose dependency can never be
	// satisfied: the merge must stay pending all the same.
	conf := os.Getenv("SLURM_CONF")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("DependencyParameters=kill_invalid_depend\n")
	if err := errors.Join(err, f.Close()); err != nil {
		t.Fatal(err)
	}
	if _, err := RunCommand(ctx, nil, "scontrol", "reconfigure"); err != nil {
		t.Fatal(err)
	}
	if out, err := RunCommand(ctx, nil, "scontrol", "show", "config"); err != nil || !regexp.MustCompile(`(?m)^DependencyParameters\s*=\s*kill_invalid_depend$`).Match(out) {
		t.Fatalf("kill_invalid_depend not in force: %v", err)
	}
	tUp := time.Since(t0)

	// The paths hold what sbatch and bash would cut or expand, so that
	// the real sbatch reads the #SBATCH lines and the real slurmd runs
	// the exec line.
	bin := filepath.Join(root, "bin dir")
	state := filepath.Join(root, "state 'it' $HOME")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	fake := filepath.Join(bin, "fake gdask")
	if err := os.WriteFile(fake, []byte(fakeGdask), 0o755); err != nil {
		t.Fatal(err)
	}
	const n, failing = 4, 2
	if err := os.WriteFile(filepath.Join(state, fmt.Sprintf("fail-%d", failing)), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	spec := SlurmSpec{
		Name:         "gdask-test",
		Shards:       n,
		MaxRunning:   n,
		Partition:    "debug",
		Time:         5 * time.Minute,
		MemoryLimit:  64 << 20,
		MemorySlack:  16 << 20,
		CPUs:         1,
		StateDir:     state,
		LogDir:       filepath.Join(root, `logs 100% #1 "q"`),
		ShardCommand: []string{fake, "groupby", "in put.csv", "--where", "x == \"$HOME\" or y == '`id`'", "a\nb"},
		MergeCommand: []string{fake, "merge", state, strconv.Itoa(n)},
		Extra:        []string{"--comment='gdask test'"},
	}
	scripts := filepath.Join(root, "scripts")
	first, err := SubmitSlurm(ctx, spec, scripts, RunCommand)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("submitted shards %s, merge %s", first.Array, first.Merge)

	// The array ends with every shard but one done.
	recs := slurmtest.Wait(t, first.Array, 20*time.Second, "ended", slurmtest.Ended)
	tEnded := time.Since(t0)
	states := map[string]string{}
	for _, r := range recs {
		states[r.ArrayTaskID] = r.State
	}
	for i := range n {
		want := "COMPLETED"
		if i == failing {
			want = "FAILED"
		}
		if got := states[strconv.Itoa(i)]; got != want {
			t.Errorf("shard %d: %s, want %s (all: %v)", i, got, want, states)
		}
		_, err := os.Stat(filepath.Join(state, fmt.Sprintf("shard-%d.ok", i)))
		if (err == nil) != (i != failing) {
			t.Errorf("shard %d: shard-%d.ok: %v", i, i, err)
		}
		argv, err := os.ReadFile(filepath.Join(state, fmt.Sprintf("shard-%d.argv", i)))
		want2 := slices.Concat(spec.ShardCommand[1:], []string{"--shard", fmt.Sprintf("%d/%d", i, n), "--state-out", state, "--shard-attempt", "0"})
		if got := splitNUL(argv); err != nil || !slices.Equal(got, want2) {
			t.Errorf("shard %d got arguments\n  %q (%v)\nwant\n  %q", i, got, err, want2)
		}
		log, err := os.ReadFile(filepath.Join(spec.LogDir, fmt.Sprintf("shard-%d.out", i)))
		if err != nil || !strings.Contains(string(log), fmt.Sprintf("shard %d/%d", i, n)) {
			t.Errorf("shard %d's log: %v\n%s", i, err, log)
		}
	}
	// The merge waits for good, and says why.
	slurmtest.Wait(t, first.Merge, 10*time.Second, "pending on a failed dependency", func(recs []slurmtest.Record) bool {
		if len(recs) != 1 || recs[0].State != "PENDING" {
			t.Fatalf("merge %s: %+v, want it pending", first.Merge, recs)
		}
		return recs[0].Reason == "DependencyNeverSatisfied"
	})
	tStuck := time.Since(t0)

	// Fix the shard, resubmit it alone, cancel the merge that waits on
	// the first array.
	if err := os.Remove(filepath.Join(state, fmt.Sprintf("fail-%d", failing))); err != nil {
		t.Fatal(err)
	}
	prev, ok, err := PreviousSlurmJobs(state)
	if err != nil || !ok || !reflect.DeepEqual(prev, first) {
		t.Fatalf("PreviousSlurmJobs = %+v, %v, %v; want %+v", prev, ok, err, first)
	}
	spec.Indices = []int{failing}
	second, err := SubmitSlurm(ctx, spec, scripts, RunCommand)
	if err != nil {
		t.Fatal(err)
	}
	if err := CancelSlurm(ctx, RunCommand, prev.Merge); err != nil {
		t.Fatal(err)
	}
	t.Logf("resubmitted shard %d as %s, merge %s; cancelled merge %s", failing, second.Array, second.Merge, prev.Merge)
	if !slices.Equal(second.Indices, []int{failing}) {
		t.Errorf("second submission's indices %v", second.Indices)
	}

	slurmtest.Wait(t, prev.Merge, 10*time.Second, "cancelled", func(recs []slurmtest.Record) bool {
		return len(recs) == 1 && recs[0].State == "CANCELLED"
	})
	recs = slurmtest.Wait(t, second.Merge, 20*time.Second, "ended", slurmtest.Ended)
	if len(recs) != 1 || recs[0].State != "COMPLETED" {
		t.Fatalf("merge %s: %+v, want COMPLETED", second.Merge, recs)
	}
	for _, r := range slurmtest.Show(t, second.Array) {
		if r.ArrayTaskID != strconv.Itoa(failing) || r.State != "COMPLETED" {
			t.Errorf("resubmitted array: %+v, want task %d COMPLETED", r, failing)
		}
	}
	if data, err := os.ReadFile(filepath.Join(state, "merged")); err != nil || string(data) != "merged\n" {
		t.Errorf("merged: %q, %v", data, err)
	}
	if log, err := os.ReadFile(filepath.Join(spec.LogDir, "merge.out")); err != nil || !strings.Contains(string(log), "merged 4 shards") {
		t.Errorf("merge log: %v\n%s", err, log)
	}
	t.Logf("cluster up after %v; shards slurmtest.Ended after %v, the merge stuck after %v; shard %d redone and merged after %v",
		tUp.Round(time.Millisecond), tEnded.Round(time.Millisecond), tStuck.Round(time.Millisecond), failing, time.Since(t0).Round(time.Millisecond))
}
