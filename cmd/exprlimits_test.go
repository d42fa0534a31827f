package cmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An expression nested or sized past plan's limits is a usage error: exit
// status 2 and one line naming the flag and the limit, before any data is
// read, for every flag that takes an expression. Such expressions are too
// long for one argument on the command line (128 KiB), so they run
// in-process; one that fits runs as a process too.
func TestExpressionLimits(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	dir := t.TempDir()
	f := filepath.Join(dir, "f.csv")
	if err := os.WriteFile(f, []byte("a,b\n1,2\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 500_000
	deep := "nests deeper than 1000 levels (each parenthesis, operator and sign is one)"
	parens := strings.Repeat("(", n) + "a" + strings.Repeat(")", n) + " > 1"
	signs := strings.Repeat("-", n) + "a > 1"
	chain := strings.Repeat("a + ", 100_000) + "a"
	long := strings.Repeat(" ", 1<<20) + "a > 1"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"filter parentheses", []string{"filter", f, "--where", parens}, "invalid --where expression: " + deep},
		{"filter signs", []string{"filter", f, "--where", signs}, "invalid --where expression: " + deep},
		{"filter too long", []string{"filter", f, "--where", long}, "invalid --where expression: longer than 1 MiB (1048581 bytes)"},
		{"groupby where", []string{"groupby", f, "--by", "a", "--sum", "b", "--where", signs}, "invalid --where expression: " + deep},
		{"groupby having", []string{"groupby", f, "--by", "a", "--sum", "b", "--having", parens}, "invalid --having expression: " + deep},
		{"select with", []string{"select", f, "a", "--with", "c = " + chain}, "invalid --with c expression: " + deep},
		{"chain", []string{"head", f, "then", "filter", "--where", signs}, "invalid --where expression: " + deep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, Err: &errOut}, tc.args)
			if want := "gdask: " + tc.want + "\n"; code != exitUsage || out.Len() != 0 || errOut.String() != want {
				t.Errorf("exit %d, stdout %q, stderr %.300q; want %d, nothing, %q", code, out.String(), errOut.String(), exitUsage, want)
			}
		})
	}

	// As a process, with 50,000 parentheses in one argument.
	c := gdask(t, "filter", f, "--where", strings.Repeat("(", 50_000)+"a"+strings.Repeat(")", 50_000)+" > 1")
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if want := "gdask: invalid --where expression: " + deep + "\n"; exitCode(err) != exitUsage || stdout.Len() != 0 || stderr.String() != want {
		t.Errorf("exit %d (%v), stdout %q, stderr %.300q; want 2, nothing, %q", exitCode(err), err, stdout.String(), stderr.String(), want)
	}

	// Just inside the limit, the filter runs.
	c = gdask(t, "filter", f, "--where", strings.Repeat("(", 999)+"a"+strings.Repeat(")", 999)+" > 1")
	stdout.Reset()
	stderr.Reset()
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil || stdout.String() != "a,b\n3,4\n" {
		t.Errorf("999 parentheses: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}
