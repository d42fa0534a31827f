package cmd

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the tests below run gdask as a real process: the test
// binary re-executes itself with GDASK_TEST_MAIN=1.
func TestMain(m *testing.M) {
	if os.Getenv("GDASK_TEST_MAIN") == "1" {
		os.Exit(Main())
	}
	if os.Getenv("GDASK_TEST_RUSAGE") == "1" {
		os.Exit(launch(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// launch runs args as a child and prints its peak RSS in KiB as the last
// line of stderr. Linux carries a process's RSS high-water mark across
// exec, and Go starts children sharing the parent's memory map until they
// exec, so a child of the (large) test process would report the test's
// own peak: measuring through this small fresh process avoids that.
func launch(args []string) int {
	c := exec.Command(args[0], args[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := c.Run()
	if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintf(os.Stderr, "maxrss=%d\n", ru.Maxrss)
	}
	return exitCode(err)
}

func gdask(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(os.Args[0], args...)
	c.Env = append(os.Environ(), "GDASK_TEST_MAIN=1")
	return c
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// A reader that goes away (`gdask ... | head -1`) ends the run quietly
// with status 0, and soon: the work upstream stops.
func TestClosedStdoutPipe(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.csv")
	if out, err := gdask(t, "gen-data", data, "--rows", "200000").CombinedOutput(); err != nil {
		t.Fatalf("gen-data: %v: %s", err, out)
	}
	for _, args := range [][]string{
		{"gen-data", "-", "--rows", "100000000"},
		{"head", data, "-n", "200000"},
		{"tail", data, "-n", "200000", "-o", "ndjson"},
	} {
		t.Run(args[0], func(t *testing.T) {
			c := gdask(t, args...)
			var stderr bytes.Buffer
			c.Stderr = &stderr
			out, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || line == "" {
				t.Fatalf("first line: %q, %v", line, err)
			}
			out.Close()
			err = c.Wait()
			if code := exitCode(err); code != 0 || stderr.Len() != 0 {
				t.Fatalf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
			}
			// 100M rows would take many seconds to write: stopping early
			// shows the work upstream was cancelled.
			if args[0] == "gen-data" && time.Since(start) > 20*time.Second {
				t.Errorf("gen-data went on for %v after its reader left", time.Since(start))
			}
		})
	}
}

// SIGINT and SIGTERM stop the run with statuses 130 and 143 and one line.
func TestSignals(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		msg  string
	}{
		{syscall.SIGINT, 130, "gdask: interrupted by interrupt\n"},
		{syscall.SIGTERM, 143, "gdask: interrupted by terminated\n"},
	} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			c := gdask(t, "count", "-")
			in, err := c.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			c.Stderr = &stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			// Feed it until it is surely reading, then signal it.
			if _, err := io.WriteString(in, "a,b\n"+strings.Repeat("1,2\n", 1<<16)); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			if err := c.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- c.Wait() }()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				c.Process.Kill()
				t.Fatal("gdask did not stop within 10s of the signal")
			}
			if code := exitCode(err); code != tc.code || stderr.String() != tc.msg {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code, tc.msg)
			}
		})
	}
}

// Root reads every file whatever its mode, so the unreadable-file error
// is checked as user nobody, through setpriv.
func TestNoReadPermissionAsNobody(t *testing.T) {
	setpriv, dir, bin := asNobody(t, "testdata/script/noperm.txtar")
	secret := filepath.Join(dir, "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", bin, "head", secret)
	c.Env = []string{"GDASK_TEST_MAIN=1", "HOME=" + dir, "PATH=/usr/bin:/bin"}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	want := "gdask: cannot open " + secret + ": permission denied\n"
	if code := exitCode(err); code != 1 || stdout.Len() != 0 || stderr.String() != want {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout.String(), stderr.String(), want)
	}
}

// asNobody prepares a run as user nobody, for checks that root's
// permissions would defeat: it returns setpriv, a directory that nobody
// can enter (removed after the test) and a copy of the test binary in it. It
// skips the test unless run as root with setpriv installed; covered names
// the test that checks the same without root.
func asNobody(t *testing.T, covered string) (setpriv, dir, bin string) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("not root: " + covered + " covers this")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv not installed")
	}
	dir, err = os.MkdirTemp("", "gdask-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin = filepath.Join(dir, "gdask.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	return setpriv, dir, bin
}

// HOME is a directory the user cannot enter (sudo -u, containers that keep
// HOME=/root): the default config file cannot be read, which warns and goes
// on; named with --config, the same file is an error. Checked as user
// nobody, through setpriv, since root reads everything.
func TestUnreadableDefaultConfigAsNobody(t *testing.T) {
	setpriv, dir, bin := asNobody(t, "testdata/script/config_unreadable.txtar")
	data := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(data, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "root")
	cfg := filepath.Join(home, ".config", "gdask", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("workers: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		c := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)...)
		c.Env = []string{"GDASK_TEST_MAIN=1", "HOME=" + home, "PATH=/usr/bin:/bin"}
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		err := c.Run()
		return exitCode(err), stdout.String(), stderr.String()
	}
	code, stdout, stderr := run("count", data)
	want := "gdask: warning: cannot read config file " + cfg + ": permission denied (going on without it)\n"
	if code != 0 || stdout != "1\n" || stderr != want {
		t.Errorf("default config: exit %d, stdout %q, stderr %q; want 0, \"1\\n\", %q", code, stdout, stderr, want)
	}
	code, stdout, stderr = run("count", data, "--config", cfg)
	want = "gdask: cannot read config file " + cfg + ": permission denied\n"
	if code != 2 || stdout != "" || stderr != want {
		t.Errorf("--config: exit %d, stdout %q, stderr %q; want 2, nothing, %q", code, stdout, stderr, want)
	}
}

// head on a stdin that sends nothing stops at a signal too.
func TestSignalWhileReadBlocks(t *testing.T) {
	c := gdask(t, "head", "-")
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	c.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case err = <-done:
	case <-time.After(3 * signalGrace):
		c.Process.Kill()
		t.Fatal("gdask did not stop after SIGINT")
	}
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit %d, stderr %q; want 130", code, stderr.String())
	}
}

// Peak RSS of a groupby over 1,000,000 distinct keys under
// --memory-limit 64MB stays below the limit plus a fixed slack, and the
// answer is the unlimited run's. The slack, 16 MiB, covers what the engine
// does not budget: the binary's mapped text and data (~8 MiB touched),
// the Go runtime's own structures and goroutine stacks, and the heap the
// garbage collector lets grow past its soft limit before it catches up.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("aggregates 1.2M rows twice")
	}
	const limit, slack = 64_000_000, 16 << 20
	dir := t.TempDir()
	bin := buildGdask(t, dir)
	data := filepath.Join(dir, "keys.csv")
	if out, err := gdask(t, "gen-data", data, "--rows", "1200000", "--categories", "1000000").CombinedOutput(); err != nil {
		t.Fatalf("gen-data: %v: %s", err, out)
	}
	run := func(args ...string) ([]byte, int64) {
		var out bytes.Buffer
		rss := peakRSS(t, bin, &out, append([]string{"groupby", data, "--by", "category", "--count", "--sum", "value", "--max", "id", "-o", "csv", "--temp-dir", dir}, args...)...)
		return out.Bytes(), rss
	}
	want, _ := run()
	got, rss := run("--memory-limit", "64MB")
	if !bytes.Equal(got, want) {
		t.Fatalf("output under --memory-limit 64MB differs from the unlimited run (%d vs %d bytes)", len(got), len(want))
	}
	if rss > limit+slack {
		t.Fatalf("peak RSS %d MiB under --memory-limit 64MB, want at most %d MiB", rss>>20, (limit+slack)>>20)
	}
	t.Logf("peak RSS %.1f MiB under --memory-limit 64MB", float64(rss)/(1<<20))
	ents, _ := filepath.Glob(filepath.Join(dir, "gdask-[rs]*"))
	if len(ents) != 0 {
		t.Errorf("left behind in --temp-dir: %v", ents)
	}
}

// head and tail hold --memory-limit whatever the rows they print: head
// streams them (a table keeps them in --temp-dir), tail keeps a file's as a
// byte range and a stream's in spill files. The input is several times the
// limit, and every row is printed.
func TestHeadTailMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("prints 6M rows five times")
	}
	const limit, slack, rows = 64_000_000, 16 << 20, 6_000_000
	dir := t.TempDir()
	bin := buildGdask(t, dir)
	plain, zst := filepath.Join(dir, "d.csv"), filepath.Join(dir, "d.csv.zst")
	for _, p := range []string{plain, zst} {
		if out, err := gdask(t, "gen-data", p, "--rows", strconv.Itoa(rows), "--categories", "1000000").CombinedOutput(); err != nil {
			t.Fatalf("gen-data: %v: %s", err, out)
		}
	}
	data, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 2*limit {
		t.Fatalf("the input is %d bytes, want well over the limit", len(data))
	}
	want := sha256.Sum256(data)
	n := strconv.Itoa(rows + 1)
	for _, args := range [][]string{
		{"head", plain, "-n", n, "-o", "csv"},
		{"head", plain, "-n", n, "-o", "table"},
		{"tail", plain, "-n", n, "-o", "csv"},
		{"tail", zst, "-n", n, "-o", "csv"},
		{"tail", zst, "-n", n, "-o", "table"},
	} {
		t.Run(strings.Join([]string{args[0], filepath.Base(args[1]), args[5]}, "_"), func(t *testing.T) {
			h := sha256.New()
			lines := &lineCounter{}
			rss := peakRSS(t, bin, io.MultiWriter(h, lines), append([]string{"--memory-limit", "64MB", "--workers", "2", "--temp-dir", dir}, args...)...)
			if rss > limit+slack {
				t.Errorf("peak RSS %d MiB under --memory-limit 64MB, want at most %d MiB", rss>>20, (limit+slack)>>20)
			}
			t.Logf("peak RSS %.1f MiB", float64(rss)/(1<<20))
			if args[5] == "csv" && !bytes.Equal(h.Sum(nil), want[:]) {
				t.Errorf("the output is not the input's %d rows", rows)
			}
			if args[5] == "table" && lines.n != rows+2 {
				t.Errorf("the table has %d lines, want %d", lines.n, rows+2)
			}
			ents, _ := filepath.Glob(filepath.Join(dir, "gdask-[rst]*"))
			if len(ents) != 0 {
				t.Errorf("left behind in --temp-dir: %v", ents)
			}
		})
	}
}

// sort, distinct, value-counts and groupby --nunique hold --memory-limit
// over an input ten times its size: the sort spills runs and merges them,
// distinct and value-counts spill through sorts and hash aggregates, and
// nunique counts distinct pairs through two spilling aggregates, for one
// group of 16M distinct values, for a thousand groups of 16,000, and
// beside a count.
func TestSortVerbsMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 400 MB five times under a 40 MB limit")
	}
	const limit, slack, rows = 40_000_000, 16 << 20, 16_000_000
	dir := t.TempDir()
	bin := buildGdask(t, dir)
	data := filepath.Join(dir, "d.csv")
	if out, err := gdask(t, "gen-data", data, "--rows", strconv.Itoa(rows), "--categories", "1000000").CombinedOutput(); err != nil {
		t.Fatalf("gen-data: %v: %s", err, out)
	}
	if st, err := os.Stat(data); err != nil || st.Size() < 10*limit {
		t.Fatalf("the input is not ten times the limit: %v %v", st, err)
	}
	var thousand strings.Builder
	thousand.WriteString("g,id_nunique\n")
	for g := range 1000 {
		fmt.Fprintf(&thousand, "%d,%d\n", g, rows/1000)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		lines int
		out   string // the whole output, when short
	}{
		{"sort", []string{"sort", data, "--by", "value,id"}, rows + 1, ""},
		{"distinct", []string{"distinct", data, "--by", "category"}, 1_000_001, ""},
		{"value-counts", []string{"value-counts", data, "category"}, 1_000_001, ""},
		{"nunique-one-group", []string{"select", data, "--with", "g = 1", "then", "groupby", "--by", "g", "--nunique", "id"}, 0, "g,id_nunique\n1,16000000\n"},
		{"nunique-1000-groups", []string{"select", data, "--with", "g = id % 1000", "then", "groupby", "--by", "g", "--nunique", "id"}, 0, thousand.String()},
		// Three aggregates (the count's, and the nunique's two) need 39 MiB
		// to run at all: 48MB, with the input still eight times that.
		{"nunique-beside-count", []string{"select", data, "--with", "g = 1", "then", "groupby", "--by", "g", "--count", "--nunique", "id", "--memory-limit", "48MB"}, 0, "g,count,id_nunique\n1,16000000,16000000\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit, flag := int64(limit), "40MB"
			if i := slices.Index(tc.args, "--memory-limit"); i >= 0 {
				flag = tc.args[i+1]
				limit, _ = strconv.ParseInt(strings.TrimSuffix(flag, "MB"), 10, 64)
				limit *= 1_000_000
			}
			args := slices.Clone(tc.args)
			if !slices.Contains(tc.args, "--memory-limit") {
				args = append(args, "--memory-limit", flag)
			}
			args = append(args, "--workers", "2", "--temp-dir", dir, "-o", "csv")
			var out bytes.Buffer
			lines := &lineCounter{}
			var stdout io.Writer = lines
			if tc.out != "" {
				stdout = &out
			}
			rss := peakRSS(t, bin, stdout, args...)
			if rss > limit+slack {
				t.Errorf("peak RSS %d MiB under --memory-limit %s, want at most %d MiB", rss>>20, flag, (limit+slack)>>20)
			}
			t.Logf("peak RSS %.1f MiB under --memory-limit %s", float64(rss)/(1<<20), flag)
			if tc.out != "" && out.String() != tc.out {
				t.Errorf("output %.200q, want %.200q", out.String(), tc.out)
			}
			if tc.out == "" && lines.n != tc.lines {
				t.Errorf("%d lines, want %d", lines.n, tc.lines)
			}
			ents, _ := filepath.Glob(filepath.Join(dir, "gdask-[rst]*"))
			if len(ents) != 0 {
				t.Errorf("left behind in --temp-dir: %v", ents)
			}
		})
	}
}

// buildGdask builds the gdask binary into dir: memory is measured on the
// real binary, since the test binary maps several MiB more.
func buildGdask(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "gdask")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/gdask/gdask").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	return bin
}

// peakRSS runs bin with args, its stdout to stdout, through launch, and
// returns its peak RSS in bytes; a failed run ends the test.
func peakRSS(t *testing.T, bin string, stdout io.Writer, args ...string) int64 {
	t.Helper()
	c := exec.Command(os.Args[0], append([]string{bin}, args...)...)
	c.Env = append(os.Environ(), "GDASK_TEST_RUSAGE=1")
	var stderr bytes.Buffer
	c.Stdout, c.Stderr = stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("%v: %v: %s", args, err, stderr.String())
	}
	var kib int64
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if _, err := fmt.Sscanf(lines[len(lines)-1], "maxrss=%d", &kib); err != nil {
		t.Fatalf("no maxrss in %q", stderr.String())
	}
	return kib << 10 // Linux reports KiB
}

// lineCounter counts the line ends written to it.
type lineCounter struct{ n int }

func (l *lineCounter) Write(p []byte) (int, error) {
	l.n += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

// SIGINT during a groupby that spills stops the workers, removes the spill
// directory and exits 130.
func TestSignalWhileSpilling(t *testing.T) {
	if testing.Short() {
		t.Skip("aggregates 1.2M rows")
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "keys.csv")
	if out, err := gdask(t, "gen-data", data, "--rows", "1200000", "--categories", "1000000").CombinedOutput(); err != nil {
		t.Fatalf("gen-data: %v: %s", err, out)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	c := gdask(t, "groupby", data, "--by", "category", "--count", "--nunique", "value", "--memory-limit", "40MB", "--temp-dir", tmp, "--workers", "1")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until it has spilled, then interrupt it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(tmp, "gdask-spill-*", "*")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			c.Process.Kill()
			t.Fatal("no spill file appeared")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Process.Signal(syscall.SIGINT)
	err := c.Wait()
	if code := exitCode(err); code != 130 {
		t.Fatalf("exit %d, stderr %q; want 130", code, stderr.String())
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "*")); len(m) != 0 {
		t.Fatalf("left in --temp-dir after SIGINT: %v", m)
	}
}

// filter and select stream: over a file ten times --memory-limit 40MB,
// peak RSS stays under the limit plus the slack TestMemoryBound justifies,
// and every row comes out.
func TestStreamMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 400 MB file")
	}
	const limit, slack = 40_000_000, 16 << 20
	dir := t.TempDir()
	bin := buildGdask(t, dir)
	data := filepath.Join(dir, "big.csv")
	if out, err := gdask(t, "gen-data", data, "--rows", "19000000").CombinedOutput(); err != nil {
		t.Fatalf("gen-data: %v: %s", err, out)
	}
	if st, err := os.Stat(data); err != nil || st.Size() < 10*limit {
		t.Fatalf("data: %v, %v: want at least ten times the limit", st, err)
	}
	for _, args := range [][]string{
		{"filter", data, "--where", "value >= 0"},
		{"select", data, "value,id", "--with", "twice = value * 2"},
	} {
		lines := &lineCounter{}
		rss := peakRSS(t, bin, lines, append(args, "--memory-limit", "40MB", "-o", "csv")...)
		if lines.n != 19000000+1 {
			t.Fatalf("%s: %d lines, want %d", args[0], lines.n, 19000000+1)
		}
		if rss > limit+slack {
			t.Fatalf("%s: peak RSS %d MiB under --memory-limit 40MB, want at most %d MiB", args[0], rss>>20, (limit+slack)>>20)
		} else {
			t.Logf("%s: peak RSS %.1f MiB under --memory-limit 40MB", args[0], float64(rss)/(1<<20))
		}
	}
}
