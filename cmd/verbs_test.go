package cmd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/plan"
)

// parse runs a verb's command over args with a runF that keeps the
// options it was given, so flag parsing is tested without running
// anything (the triad's runF hook).
func parse[T any](t *testing.T, mk func(*App, func(*T) error) *cobra.Command, args ...string) (*T, error) {
	t.Helper()
	app := &App{IO: IOStreams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}}
	var got *T
	c := mk(app, func(o *T) error { got = o; return nil })
	c.SetArgs(args)
	c.SilenceErrors, c.SilenceUsage = true, true
	c.SetOut(&bytes.Buffer{})
	c.SetErr(&bytes.Buffer{})
	err := c.Execute()
	return got, err
}

func TestVerbFlags(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f.csv")
	if err := os.WriteFile(f, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	fo, err := parse(t, newFilterCmd, f, "--where", "a > 1")
	if err != nil || !reflect.DeepEqual(fo, &filterOptions{Paths: []string{f}, Where: "a > 1"}) {
		t.Errorf("filter: %+v, %v", fo, err)
	}
	if _, err := parse(t, newFilterCmd, f); err == nil || !strings.Contains(err.Error(), "filter needs --where") {
		t.Errorf("filter without --where: %v", err)
	}

	so, err := parse(t, newSelectCmd, f, "b,a", "--rename", "a:x", "--with", "y = a * 2", "--with", "z = b")
	want := &selectOptions{Paths: []string{f}, Cols: []string{"b", "a"}, Rename: []string{"a:x"}, With: []string{"y = a * 2", "z = b"}}
	if err != nil || !reflect.DeepEqual(so, want) {
		t.Errorf("select: %+v, %v", so, err)
	}
	// An argument that names an existing file is an input, not columns.
	so, err = parse(t, newSelectCmd, f, f, "--exclude", "a")
	if err != nil || !reflect.DeepEqual(so.Paths, []string{f, f}) || so.Cols != nil || !reflect.DeepEqual(so.Exclude, []string{"a"}) {
		t.Errorf("select --exclude: %+v, %v", so, err)
	}
	if _, err := parse(t, newSelectCmd, f); err == nil || !strings.Contains(err.Error(), "select needs the columns") {
		t.Errorf("select with no columns: %v", err)
	}
	if _, err := parse(t, newSelectCmd, f, "a", "--exclude", "b"); err == nil {
		t.Errorf("select with columns and --exclude: no error")
	}

	g, err := parse(t, newGroupByCmd, f, "--by", "a", "--count", "--mean", "b", "--max", "a,b", "--sort", "count:desc", "--limit", "3", "--having", "count > 1")
	wantG := &groupByOptions{Paths: []string{f}, By: []string{"a"}, Count: true,
		Aggs: []aggFlag{{plan.AggMean, "b"}, {plan.AggMax, "a"}, {plan.AggMax, "b"}},
		Sort: []string{"count:desc"}, Limit: 3, Having: "count > 1"}
	if err != nil || !reflect.DeepEqual(g, wantG) {
		t.Errorf("groupby: %+v, %v", g, err)
	}
	if _, err := parse(t, newGroupByCmd, f, "--by", "a", "--count", "--limit", "-2"); err == nil {
		t.Errorf("groupby --limit -2: no error")
	}

	h, err := parse(t, newHeadCmd, f, "-n", "7")
	if err != nil || !reflect.DeepEqual(h, &headOptions{Paths: []string{f}, N: 7}) {
		t.Errorf("head: %+v, %v", h, err)
	}
	c, err := parse(t, newCountCmd, f)
	if err != nil || !reflect.DeepEqual(c, &countOptions{Paths: []string{f}}) {
		t.Errorf("count: %+v, %v", c, err)
	}
}

// A chain's segments: global flags move to the first, wherever they stand;
// --explain analyze is one flag; then with nothing after it is an error.
func TestSplitChain(t *testing.T) {
	root := newRootCmd(&App{})
	first, later, err := splitChain(strings.Fields("filter f.csv --where x>1 then select a,b -o json --workers 3 then head -n 2 --explain analyze --progress=never"), root.PersistentFlags())
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Fields("filter f.csv --where x>1 -o json --workers 3 --explain=analyze --progress=never"); !reflect.DeepEqual(first, want) {
		t.Errorf("first %q, want %q", first, want)
	}
	if want := [][]string{{"select", "a,b"}, {"head", "-n", "2"}}; !reflect.DeepEqual(later, want) {
		t.Errorf("later %q, want %q", later, want)
	}
	for _, args := range []string{"count f.csv then", "count f.csv then then count"} {
		if _, _, err := splitChain(strings.Fields(args), root.PersistentFlags()); err == nil || !strings.Contains(err.Error(), "then needs a verb") {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// A later segment's verb must be one that chains, takes no inputs, and
// parses its own flags.
func TestLaterSteps(t *testing.T) {
	f := func(seg []string, want string) {
		t.Helper()
		app := &App{IO: IOStreams{Out: &bytes.Buffer{}, Err: &bytes.Buffer{}}, later: [][]string{seg}}
		steps, err := app.laterSteps(newRootCmd(app))
		var ue *usageError
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", seg, err)
		case want == "" && len(steps) != 1:
			t.Errorf("%q: %d steps", seg, len(steps))
		case want != "" && (err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want a usage error with %q", seg, err, want)
		}
	}
	f([]string{"select", "a,b"}, "")
	f([]string{"groupby", "--by", "k", "--count"}, "")
	f([]string{"head", "-n", "3"}, "")
	f([]string{"slect", "a"}, `unknown verb "slect" after then (did you mean "select"?)`)
	f([]string{"gen-data"}, "gen-data cannot follow then")
	f([]string{"head", "other.csv"}, "then head takes no inputs (other.csv)")
	f([]string{"filter", "--wher", "x"}, "then filter: unknown flag: --wher")
}
