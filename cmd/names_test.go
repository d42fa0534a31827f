package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// A file name holding a newline and an escape sequence (a file anyone can
// make, or download) is shown quoted and escaped in every message: each
// error stays one line, and no control byte reaches the terminal. Names
// that print are shown as they are (testdata/script/errors_input.txtar).
func TestFileNamesInMessages(t *testing.T) {
	const evil = "evil\nname\x1b]2J"
	q := func(name string) string {
		return `"` + strings.ReplaceAll(strings.ReplaceAll(name, "\n", `\n`), "\x1b", `\x1b`) + `"`
	}
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(evil+".csv", "a,b\n1,2\n3\n")
	write(evil+"-quote.csv", "a,b\n1,\"2\n")
	write(evil+"-value.csv", "a,b\n"+strings.Repeat("1,2\n", 1000)+"1,x\n") // x past the type sample
	write(evil+"-empty.csv", "")
	write(evil+"-header.csv", "a,b\n")
	write(evil+"-other.csv", "x,y\n1,2\n")
	write("plain.csv", "a,b\n1,2\n")
	if err := os.Mkdir(filepath.Join(dir, evil+"-dir"), 0o755); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string // the whole of stderr
	}{
		{[]string{"head", evil + ".csv"}, 1,
			"gdask: " + q(evil+".csv") + ":3: ragged row: expected 2 fields, found 1\n"},
		{[]string{"count", evil + "-quote.csv"}, 1,
			"gdask: " + q(evil+"-quote.csv") + ":2:2: unterminated quoted field (the quote opened here is never closed)\n"},
		{[]string{"groupby", evil + "-value.csv", "--by", "a", "--sum", "b", "--sample", "1KiB"}, 1,
			"gdask: " + q(evil+"-value.csv") + `:1002:2: value "x" in column "b" is not a number (--skip-bad-rows skips such rows and reports how many)` + "\n"},
		{[]string{"count", evil + "-missing.csv"}, 1,
			"gdask: cannot open " + q(evil+"-missing.csv") + ": no such file or directory\n"},
		{[]string{"count", evil + "-dir"}, 1,
			"gdask: cannot read " + q(evil+"-dir") + ": is a directory (give a file or a glob such as " + q(evil+"-dir/*.csv") + ")\n"},
		{[]string{"count", evil + "-empty.csv"}, 1,
			"gdask: cannot read " + q(evil+"-empty.csv") + ": file is empty\n"},
		{[]string{"count", "plain.csv", evil + "-other.csv"}, 1,
			"gdask: " + q(evil+"-other.csv") + `: header "x,y" differs from plain.csv's "a,b" (all inputs must have the same columns)` + "\n"},
		{[]string{"count", evil + "-header.csv"}, 0,
			"gdask: warning: " + q(evil+"-header.csv") + ": header only, no rows\n"},
		{[]string{"count", "plain.csv", "--output", evil + "-dir"}, 2,
			"gdask: invalid --output " + q(evil+"-dir") + ": is a directory\n"},
		{[]string{"count", "plain.csv", "--output", evil + "-nodir/out.csv"}, 2,
			"gdask: invalid --output " + q(evil+"-nodir/out.csv") + ": cannot create a file in " + q(evil+"-nodir") + ": no such file or directory\n"},
		{[]string{"gen-data", evil + "-nodir/out.csv", "--rows", "10"}, 1,
			"gdask: cannot create " + q(evil+"-nodir/out.csv") + ": no such file or directory\n"},
		{[]string{"version", evil + ".csv"}, 2,
			"gdask: version takes no arguments, got 1: " + q(evil+".csv") + "\n"},
		{[]string{"count", "plain.csv", "then", "head", evil + ".csv"}, 2,
			"gdask: then head takes no inputs (" + q(evil+".csv") + "): only the first verb of a chain names them\n"},
		{[]string{"count", "plain.csv", "--config", evil + ".yaml"}, 2,
			"gdask: cannot read config file " + q(evil+".yaml") + ": no such file or directory\n"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			c := gdask(t, tc.args...)
			c.Dir = dir
			c.Env = append(c.Env, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			code := exitCode(c.Run())
			got := stderr.String()
			if code != tc.code || got != tc.want {
				t.Errorf("%q: exit %d, stderr %q; want %d, %q", tc.args, code, got, tc.code, tc.want)
			}
			if !oneLine(got) {
				t.Errorf("%q: stderr %q is not one printable line", tc.args, got)
			}
		})
	}

	// What gdask prints as text for a person, not as data, shows names
	// quoted too: the info report and the plan.
	for _, args := range [][]string{
		{"info", evil + "-value.csv", "-o", "table"},
		{"count", evil + "-value.csv", "--explain"},
	} {
		c := gdask(t, args...)
		c.Dir = dir
		c.Env = append(c.Env, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if !strings.Contains(string(out), q(evil+"-value.csv")) || strings.ContainsAny(string(out), "\x1b") {
			t.Errorf("%q: output %q does not show the name quoted", args, out)
		}
	}
}

// oneLine reports whether s is one line of printable UTF-8 text ending in
// a newline.
func oneLine(s string) bool {
	if !utf8.ValidString(s) || !strings.HasSuffix(s, "\n") {
		return false
	}
	for _, r := range s[:len(s)-1] {
		if r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
