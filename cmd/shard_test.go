package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/gdask/gdask/cluster"
	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// runIn runs gdask in this process and returns its stdout, stderr and
// exit status.
func runIn(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), errb.String(), code
}

// shardInputs writes the inputs of the shard tests: two plain files whose
// fields hold quoted commas, quotes and line ends (LF and CRLF), and a
// .zst one, with columns k (few keys, some numbers written two ways), n
// (ints), v (floats, some empty) and s (text).
func shardInputs(t *testing.T, r *rand.Rand) []string {
	t.Helper()
	dir := t.TempDir()
	// "a" and `"a"` are one key; a csv output quotes the second as the
	// input did.
	keys := []string{"a", `"a"`, "b", `"c,d"`, `"e""f"`, "1", "01", "2.0", "", `"g` + "\n" + `h"`}
	file := func(rows int, crlf bool) []byte {
		var b bytes.Buffer
		b.WriteString("k,n,v,s\n")
		for i := range rows {
			v := fmt.Sprintf("%.3f", r.Float64()*100)
			if r.IntN(10) == 0 {
				v = ""
			}
			s := fmt.Sprintf("t%d", r.IntN(50))
			switch r.IntN(6) {
			case 0:
				s = fmt.Sprintf("\"x,%d\ny\"", i)
			case 1:
				s = fmt.Sprintf("\"q\"\"%d\"", r.IntN(9))
			case 2:
				s = fmt.Sprintf("\"t%d\"", r.IntN(50))
			}
			end := "\n"
			if crlf && i%3 == 0 {
				end = "\r\n"
			}
			fmt.Fprintf(&b, "%s,%d,%s,%s%s", keys[r.IntN(len(keys))], r.IntN(200)-20, v, s, end)
		}
		return b.Bytes()
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(file(700, false))
	zw.Close()
	return []string{write("a.csv", file(3000, true)), write("b.csv.zst", z.Bytes()), write("c.csv", file(2500, false))}
}

// smallUnits cuts the inputs of a test's shards into units of at least
// size bytes (1 MiB otherwise: one unit per test file).
func smallUnits(t *testing.T, size int64) {
	was := minUnitBlocksize
	minUnitBlocksize = size
	t.Cleanup(func() { minUnitBlocksize = was })
}

// TestShardInvariance: every shardable verb and a few chains, run as N
// shards by hand and merged, print the bytes the local run prints. The
// plain files are cut into many units, the first guess at line ends: some
// cuts fall inside quoted fields, and the shards make them exact.
func TestShardInvariance(t *testing.T) {
	smallUnits(t, 2<<10)
	paths := shardInputs(t, rand.New(rand.NewPCG(7, 8)))
	recut := 0 // the runs whose guessed cuts were made exact
	chains := [][]string{
		{"groupby", "--by", "k", "--count", "--sum", "v", "--mean", "n", "--min", "s", "--first", "v", "--last", "s"},
		{"groupby", "--by", "k,n", "--max", "v", "--nunique", "s", "--sort", "v_max:desc,k,n"},
		{"groupby", "--by", "k", "--nunique", "s,n", "--having", "s_nunique > 3"},
		{"count"},
		{"value-counts", "k"},
		{"value-counts", "k", "--normalize"},
		{"distinct", "--by", "k"},
		{"distinct", "--by", "k,s", "--keep", "last"},
		{"sort", "--by", "v:desc,n"},
		{"sort", "--by", "s", "--limit", "25"},
		{"filter", "--where", "n > 50"},
		{"select", "k,s", "--with", "w = n * 2 + v"},
		{"head", "-n", "37"},
		{"filter", "--where", "v > 10", "then", "groupby", "--by", "k", "--sum", "n", "then", "sort", "--by", "n_sum:desc", "then", "head", "-n", "4"},
		{"filter", "--where", "n % 3 == 0", "then", "count"},
		{"select", "k,v", "then", "distinct", "then", "sort", "--by", "v"},
		{"sort", "--by", "n", "then", "head", "-n", "5", "then", "groupby", "--by", "k", "--count"},
	}
	for _, chain := range chains {
		for _, format := range []string{"csv", "json"} {
			args := append(append([]string{chain[0]}, paths...), chain[1:]...)
			args = append(args, "-o", format, "--blocksize", "4KiB", "--workers", "3")
			local, stderr, code := runIn(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
			for _, n := range []int{1, 2, 3, 7} {
				dir := t.TempDir()
				for i := range n {
					if _, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state-out", dir)...); code != 0 {
						t.Fatalf("%v shard %d/%d: exit %d: %s", args, i, n, code, stderr)
					}
				}
				got, stderr, code := runIn(t, "merge", dir, "-o", format)
				if code != 0 {
					t.Fatalf("%v: merge of %d: exit %d: %s", args, n, code, stderr)
				}
				if got != local {
					t.Fatalf("%v: merge of %d shards differs from the local run:\n%.3000s\nlocal:\n%.3000s", args, n, got, local)
				}
				p, err := readPlanFile(dir)
				if err != nil {
					t.Fatal(err)
				}
				if p.Cuts == cutsRecords {
					recut++
				}
			}
		}
	}
	if recut == 0 {
		t.Fatal("no run's guessed cuts were wrong: the test cuts no quoted field")
	}
}

// TestShardGuessedCuts: a shard whose guessed start is inside a quoted
// field reads a tail of a record as a record, and may succeed. The shard
// before it finds its last unit ending inside that record and makes the
// cuts exact; merge --status then names the first shard's state as
// having read other bytes than the exact cuts give it, and the merge runs
// that shard again itself (its scheduler saw it succeed) before merging.
func TestShardGuessedCuts(t *testing.T) {
	smallUnits(t, 4<<10)
	var b strings.Builder
	b.WriteString("s,n\n")
	for b.Len() < 4<<10 {
		fmt.Fprintf(&b, "k%d,%d\n", b.Len()%7, b.Len()%100)
	}
	// The unit size is 4 KiB (the inputs are under 8*2*4 KiB), so the
	// first line end after byte 4 + 4096 is the guessed cut: the one in
	// this quoted field. The record's tail, `b",1`, has two fields.
	b.WriteString("\"" + strings.Repeat("a", 50) + "\nb\",1\n")
	for b.Len() < 7<<10 {
		fmt.Fprintf(&b, "k%d,%d\n", b.Len()%7, b.Len()%100)
	}
	path := filepath.Join(t.TempDir(), "q.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// An aggregate's shards read their units unordered, select's in
	// order: both scans must refuse a unit that ends inside a record.
	for _, chain := range [][]string{{"groupby", path, "--by", "s", "--sum", "n"}, {"select", path, "s,n"}} {
		t.Run(chain[0], func(t *testing.T) { guessedCuts(t, b.String(), chain) })
	}
}

// guessedCuts is TestShardGuessedCuts for one chain over data.
func guessedCuts(t *testing.T, data string, args []string) {
	local, stderr, code := runIn(t, args...)
	if code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	dir := t.TempDir()
	shard := func(i int) {
		t.Helper()
		if _, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/2", i), "--state-out", dir)...); code != 0 {
			t.Fatalf("shard %d/2: exit %d: %s", i, code, stderr)
		}
	}
	shard(1) // starts at `b",1`: reads it as a record, and succeeds
	p, _ := readPlanFile(dir)
	if p.Cuts != cutsLines || len(p.Units) != 2 || !strings.HasPrefix(data[p.Units[1].Start:], "b\",1\n") {
		t.Fatalf("guessed plan: %+v", p)
	}
	shard(0) // ends inside the quoted field: makes the cuts exact, runs again
	if p, _ = readPlanFile(dir); p.Cuts != cutsRecords || p.Units[1].Start != p.Units[0].End || !strings.HasPrefix(data[p.Units[1].Start-5:], "b\",1\n") {
		t.Fatalf("exact plan: %+v", p)
	}
	out, _, code := runIn(t, "merge", "--status", dir)
	want := "shard-0001-of-0002.state: read other parts of the inputs: 1 units"
	if code != 1 || !strings.Contains(out, "1 of 2 shards done") || !strings.Contains(out, want) {
		t.Fatalf("merge --status: exit %d:\n%s\nwant %q", code, out, want)
	}
	// merge --explain runs nothing, not even such a shard.
	state := filepath.Join(dir, "shard-0001-of-0002.state")
	before, _ := os.ReadFile(state)
	runIn(t, "merge", "--explain", dir)
	if after, _ := os.ReadFile(state); !bytes.Equal(after, before) {
		t.Fatal("merge --explain ran a shard again")
	}
	// merge --wait (the Kubernetes merge) takes such a shard as done,
	// rather than waiting for a run its scheduler will not make.
	waited := t.TempDir()
	for _, name := range []string{"plan.json", "shard-0000-of-0002.state", "shard-0001-of-0002.state"} {
		copyFile(t, filepath.Join(dir, name), filepath.Join(waited, name))
	}
	start := time.Now()
	if got, stderr, code := runIn(t, "merge", "--wait", "1m", waited); code != 0 || got != local || time.Since(start) > 30*time.Second {
		t.Fatalf("merge --wait: exit %d after %s: %s\n%s", code, time.Since(start), stderr, got)
	}
	got, stderr, code := runIn(t, "merge", dir)
	if code != 0 || got != local || stderr != "gdask: shard 1/2 ran on cuts made exact after it: running it again here\n" {
		t.Fatalf("merge: exit %d: %s\n%s\nlocal:\n%s", code, stderr, got, local)
	}
	if out, _, code := runIn(t, "merge", "--status", dir); code != 0 || !strings.Contains(out, "2 of 2 shards done") {
		t.Fatalf("merge --status after the merge: exit %d:\n%s", code, out)
	}
}

// TestShardGuessedCutsError: an error in a unit whose line is not known
// (guessed cuts count lines from the unit's start) is reported with its
// line in the file, from a run on exact cuts.
func TestShardGuessedCutsError(t *testing.T) {
	smallUnits(t, 1<<10)
	var b strings.Builder
	b.WriteString("s,n\n")
	line := 2
	for ; b.Len() < 6<<10; line++ {
		fmt.Fprintf(&b, "k%d,%d\n", line%7, line)
	}
	b.WriteString("k9,zz\n")
	for i := range 100 {
		fmt.Fprintf(&b, "k%d,%d\n", i%7, i)
	}
	path := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"groupby", path, "--by", "s", "--sum", "n", "--types", "n:int"}
	_, local, code := runIn(t, args...)
	want := fmt.Sprintf("bad.csv:%d:2: value \"zz\" in column \"n\" is not a number", line)
	if code != 1 || !strings.Contains(local, want) {
		t.Fatalf("local: exit %d: %s; want %s", code, local, want)
	}
	dir := t.TempDir()
	_, stderr, code := runIn(t, append(args, "--shard", "1/2", "--state-out", dir)...)
	if code != 1 || stderr != local {
		t.Fatalf("shard 1/2: exit %d: %s; want the local run's error: %s", code, stderr, local)
	}
	if p, _ := readPlanFile(dir); p.Cuts != cutsRecords {
		t.Fatalf("the shard's error left guessed cuts: %+v", p)
	}
}

// shardDir runs args as n shards into a new state directory.
func shardDir(t *testing.T, n int, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		if _, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state-out", dir)...); code != 0 {
			t.Fatalf("shard %d/%d: exit %d: %s", i, n, code, stderr)
		}
	}
	return dir
}

// TestMergeRefuses: a merge of a directory that is not whole names the
// shard and what is wrong with it, exits 1 and writes nothing, not even
// an --output file: a groupby's merge, which checks the bodies as it
// loads them whole before its first row (engine.MergeReadsWholeFirst),
// as a sort's, which checks them before it merges them.
func TestMergeRefuses(t *testing.T) {
	paths := shardInputs(t, rand.New(rand.NewPCG(9, 10)))
	args := append(append([]string{"groupby"}, paths...), "--by", "k", "--sum", "n", "--blocksize", "4KiB")
	sort := append(append([]string{"sort"}, paths...), "--by", "k", "--blocksize", "4KiB")
	for _, c := range []struct{ args, foreign []string }{
		{args, append(args[:len(args)-2:len(args)-2], "--where", "n > 0")},
		{sort, append(sort[:len(sort)-2:len(sort)-2], "--nulls", "first")},
	} {
		t.Run(c.args[0], func(t *testing.T) { testMergeRefuses(t, c.args, c.foreign) })
	}
	// A shard of another count, or of another plan, into the directory is
	// refused before it runs.
	dir := shardDir(t, 3, args...)
	if _, stderr, code := runIn(t, append(args, "--shard", "0/2", "--state-out", dir)...); code != 2 || !strings.Contains(stderr, "is for 3 shards") {
		t.Fatalf("another N: exit %d: %s", code, stderr)
	}
	if _, stderr, code := runIn(t, append(args, "--where", "n > 0", "--shard", "0/3", "--state-out", dir)...); code != 2 || !strings.Contains(stderr, "this plan is not the one in") {
		t.Fatalf("another plan: exit %d: %s", code, stderr)
	}
	// merge --status of a whole directory.
	out, _, code := runIn(t, "merge", "--status", dir)
	if code != 0 || !strings.Contains(out, "3 of 3 shards done") {
		t.Fatalf("merge --status: exit %d:\n%s", code, out)
	}
}

// testMergeRefuses spoils a directory of 3 shards of args in each way,
// one of them with a shard of foreign, another plan.
func testMergeRefuses(t *testing.T, args, foreign []string) {
	state := func(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("shard-%04d-of-0003.state", i)) }
	cases := []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{"missing", func(t *testing.T, dir string) { os.Remove(state(dir, 1)) }, "shard-0001-of-0003.state: missing"},
		{"foreign", func(t *testing.T, dir string) {
			other := shardDir(t, 3, foreign...)
			copyFile(t, state(other, 2), state(dir, 2))
		}, "shard-0002-of-0003.state: written for another plan"},
		{"truncated", func(t *testing.T, dir string) {
			st, _ := os.Stat(state(dir, 0))
			os.Truncate(state(dir, 0), st.Size()-5)
		}, "shard-0000-of-0003.state: truncated"},
		{"bit flipped", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(state(dir, 1))
			b[40] ^= 0x10 // in the body
			os.WriteFile(state(dir, 1), b, 0o644)
		}, "shard-0001-of-0003.state: corrupt"},
		{"another N", func(t *testing.T, dir string) {
			os.Remove(state(dir, 2))
			other := shardDir(t, 2, args...)
			copyFile(t, filepath.Join(other, "shard-0001-of-0002.state"), filepath.Join(dir, "shard-0001-of-0002.state"))
		}, "shard-0002-of-0003.state: missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := shardDir(t, 3, args...)
			c.spoil(t, dir)
			outFile := filepath.Join(t.TempDir(), "out.csv")
			stdout, stderr, code := runIn(t, "merge", dir, "--output", outFile)
			if code != 1 || stdout != "" || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, no output, one line with %q", code, stdout, stderr, c.want)
			}
			if _, err := os.Stat(outFile); err == nil {
				t.Fatal("a failed merge left its --output file")
			}
			status, _, code := runIn(t, "merge", "--status", dir)
			if code != 1 || !strings.Contains(status, "of 3 shards done") {
				t.Fatalf("merge --status: exit %d:\n%s", code, status)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// kubeletExpand expands $(VAR) in s from env as the kubelet expands a
// container's command and args: $$ is $, $(NAME) of a defined NAME its
// value, anything else as it is.
func kubeletExpand(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '(':
			if end := strings.IndexByte(s[i:], ')'); end > 0 {
				if v, ok := env[s[i+2:i+end]]; ok {
					b.WriteString(v)
					i += end
					continue
				}
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestK8sWiring runs the container command lines `submit k8s --dry-run`
// prints, as the pods would run them (JOB_COMPLETION_INDEX 0 to N-1, the
// merge waiting beside them), and compares the merge's answer with a
// local run's.
func TestK8sWiring(t *testing.T) {
	paths := shardInputs(t, rand.New(rand.NewPCG(11, 12)))
	mount := t.TempDir()
	chain := append(append([]string{"filter"}, paths...), "--where", "n > 3", "then", "groupby", "--by", "k", "--mean", "v", "--blocksize", "4KiB")
	mergePoll = 20 * time.Millisecond
	const n = 3
	yaml, stderr, code := runIn(t, append([]string{"submit", "k8s", "--dry-run", "--image", "gdask", "--volume", "data:" + mount, "--shards", fmt.Sprint(n), "--"}, chain...)...)
	if code != 0 {
		t.Fatalf("submit k8s --dry-run: exit %d: %s", code, stderr)
	}
	shard, merge, err := cluster.K8sCommands([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if shard[0] != "gdask" || merge[0] != "gdask" {
		t.Fatalf("commands %q, %q: want gdask", shard[0], merge[0])
	}
	done := make(chan struct{})
	var mergeOut, mergeErr string
	var mergeCode int
	go func() {
		// The merge starts with the shards and waits for them.
		defer close(done)
		args := make([]string, len(merge)-1)
		for i, a := range merge[1:] {
			args[i] = kubeletExpand(a, nil)
		}
		mergeOut, mergeErr, mergeCode = runIn(t, args...)
	}()
	for i := range n {
		env := map[string]string{"JOB_COMPLETION_INDEX": fmt.Sprint(i), "GDASK_SHARD_ATTEMPT": "0"}
		args := make([]string, len(shard)-1)
		for k, a := range shard[1:] {
			args[k] = kubeletExpand(a, env)
		}
		if _, stderr, code := runIn(t, args...); code != 0 {
			t.Fatalf("shard %d: %q: exit %d: %s", i, args, code, stderr)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the merge Job still waits 30 s after every shard ran: the shards did not write shards 0 to N-1")
	}
	if mergeCode != 0 || mergeOut != "" {
		t.Fatalf("merge: exit %d, stdout %q: %s", mergeCode, mergeOut, mergeErr)
	}
	local, _, _ := runIn(t, append(chain, "-o", "csv")...)
	var result string
	filepath.WalkDir(mount, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.Name() == "result.csv" {
			b, _ := os.ReadFile(p)
			result = string(b)
		}
		return nil
	})
	if result != local || local == "" {
		t.Fatalf("the merge Job's result.csv differs from a local run's:\n%s\nlocal:\n%s", result, local)
	}
}

// TestShardsAtOnce: shards started together agree on one plan.json, made
// by one of them, and merge to the local answer.
func TestShardsAtOnce(t *testing.T) {
	smallUnits(t, 2<<10) // guessed cuts inside quoted fields: shards make them exact at once
	paths := shardInputs(t, rand.New(rand.NewPCG(13, 14)))
	args := append(append([]string{"sort"}, paths...), "--by", "n,k", "--blocksize", "4KiB")
	dir := t.TempDir()
	const n = 5
	codes := make(chan string, n)
	for i := range n {
		go func() {
			_, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state-out", dir)...)
			codes <- fmt.Sprintf("%d %s", code, stderr)
		}()
	}
	for range n {
		if c := <-codes; c != "0 " {
			t.Fatalf("a shard: exit %s", c)
		}
	}
	local, _, _ := runIn(t, args...)
	got, stderr, code := runIn(t, "merge", dir)
	if code != 0 || got != local {
		t.Fatalf("merge: exit %d %s; differs from the local run: %v", code, stderr, got != local)
	}
	if _, err := os.Stat(filepath.Join(dir, ".plan.lock")); err == nil {
		t.Fatal("the plan lock was left behind")
	}
	if p, err := readPlanFile(dir); err != nil || p.Cuts != cutsRecords {
		t.Fatalf("no shard found a guessed cut wrong (%v): the test cuts no quoted field", err)
	}
}

// TestShardFailureRecord: a shard that fails leaves no state but a
// failure record of its attempt; merge --status shows its error, and
// merge --wait fails at once when the last attempt's record is there.
func TestShardFailureRecord(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("k,n\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "k%d,%d\n", i%7, i)
	}
	b.WriteString("k1,oops\n") // in the last shard's share
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "st")
	args := []string{"groupby", in, "--by", "k", "--sum", "n", "--types", "n:int", "--blocksize", "4KiB"}
	for i := range 3 {
		for attempt := range 2 {
			_, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/3", i), "--state-out", st, "--shard-attempt", fmt.Sprint(attempt))...)
			if want := map[bool]int{true: 1, false: 0}[i == 2]; code != want {
				t.Fatalf("shard %d/3 attempt %d: exit %d, want %d: %s", i, attempt, code, want, stderr)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(st, "shard-0002-of-0003.state")); err == nil {
		t.Fatal("a failed shard left its state file")
	}
	status, _, code := runIn(t, "merge", "--status", st)
	if code != 1 || !strings.Contains(status, "failed: ") || !strings.Contains(status, `"oops"`) {
		t.Fatalf("merge --status: exit %d:\n%s", code, status)
	}
	start := time.Now()
	_, stderr, code := runIn(t, "merge", st, "--wait", "1m", "--wait-shards", "3", "--wait-attempts", "2")
	if code != 1 || !strings.Contains(stderr, "shard 2/3 failed for good (attempt 2 of 2)") || time.Since(start) > 20*time.Second {
		t.Fatalf("merge --wait: exit %d after %v: %s", code, time.Since(start), stderr)
	}
	// With one attempt left, the merge waits for it, and ends at --wait.
	_, stderr, code = runIn(t, "merge", st, "--wait", "300ms", "--wait-shards", "3", "--wait-attempts", "3")
	if code != 1 || !strings.Contains(stderr, "shards not done after --wait 300ms: 2/3") {
		t.Fatalf("merge --wait with an attempt left: exit %d: %s", code, stderr)
	}
}

// TestPlanInputSchema: a shard or merge types its columns as plan.json
// says, when the names and the declared types agree with its own.
func TestPlanInputSchema(t *testing.T) {
	p := &planFile{Columns: []planColumn{{"k", "string"}, {"n", "int"}, {"v", "float"}, {"e", "null"}}}
	untyped := plan.Schema{{Name: "k", Type: plan.String}, {Name: "n", Type: plan.Int, Declared: true}, {Name: "v", Type: plan.String}, {Name: "e", Type: plan.String}}
	got, ok := p.inputSchema(untyped)
	want := plan.Schema{{Name: "k", Type: plan.String}, {Name: "n", Type: plan.Int, Declared: true}, {Name: "v", Type: plan.Float}, {Name: "e", Type: plan.Null}}
	if !ok || !slices.Equal(got, want) {
		t.Fatalf("inputSchema = %v, %v; want %v", got, ok, want)
	}
	if untyped[2].Type != plan.String {
		t.Fatal("inputSchema changed its argument")
	}
	for name, s := range map[string]plan.Schema{
		"another name":          {untyped[0], untyped[1], {Name: "w", Type: plan.String}, untyped[3]},
		"another declared type": {untyped[0], {Name: "n", Type: plan.Float, Declared: true}, untyped[2], untyped[3]},
		"fewer columns":         untyped[:3],
	} {
		if _, ok := p.inputSchema(s); ok {
			t.Errorf("%s: taken", name)
		}
	}
	bad := &planFile{Columns: []planColumn{{"k", "text"}, {"n", "int"}, {"v", "float"}, {"e", "null"}}}
	if _, ok := bad.inputSchema(untyped); ok {
		t.Error("an unknown type name: taken")
	}
}

// TestPlanLock: the plan lock keeps others waiting while it is held and
// touched; one left untouched past planLockStale is taken over, and its
// old holder's unlock then leaves the new holder's lock alone.
func TestPlanLock(t *testing.T) {
	dir := t.TempDir()
	lock := filepath.Join(dir, ".plan.lock")
	defer func(stale, touch time.Duration) { planLockStale, planLockTouch = stale, touch }(planLockStale, planLockTouch)
	planLockStale, planLockTouch = time.Second, 50*time.Millisecond // a loaded machine may delay a touch

	unlockA, err := lockPlan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	// Held and touched: another process waits past planLockStale.
	ctx, cancel := context.WithTimeout(context.Background(), 2*planLockStale)
	if _, err := lockPlan(ctx, dir); err == nil {
		t.Fatal("a second holder took a lock that was held and touched")
	}
	cancel()
	unlockA()
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("unlock left the lock")
	}

	// Untouched (its holder died, or stopped): taken over.
	planLockTouch = time.Hour
	unlockA, err = lockPlan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := lockPlan(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	unlockA() // the old holder, late: not its lock any more
	if _, err := os.Stat(lock); err != nil {
		t.Fatal("the old holder's unlock removed the new holder's lock")
	}
	unlockB()
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("unlock left the lock")
	}
}

// TestGuessMayCause: the errors after which a shard on guessed cuts makes
// them exact and runs again, and those it reports as they are.
func TestGuessMayCause(t *testing.T) {
	pathErr := &fs.PathError{Op: "read", Path: "a.csv", Err: errors.New("input/output error")}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("a.csv: the unit [0, 9) ends inside a record: %w", engine.ErrUnitMismatch), true},
		{&readers.ParseError{File: "a.csv", Line: 3, Column: 2, Err: readers.ErrFieldCount}, true},
		{fmt.Errorf("wrapped: %w", &engine.ValueError{File: "a.csv", Line: 3, Column: 2, Name: "n", Value: "x"}), true},
		{pathErr, false},
		{context.Canceled, false},
		{errors.New("memory limit"), false},
	} {
		if got := guessMayCause(c.err); got != c.want {
			t.Errorf("guessMayCause(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
