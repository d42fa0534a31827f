package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An --output that cannot be created is a usage error (exit 2), reported
// before any input is read: the input here would fail as it is opened
// (its header is not UTF-8), so an input error would show that the
// destination was checked late, after the work. Nothing is created.
func TestOutputCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"bad.csv":  "a,b\xff\n1,2\n",
		"file.txt": "not a directory\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	verbs := [][]string{
		{"head", "bad.csv"},
		{"tail", "bad.csv"},
		{"info", "bad.csv"},
		{"count", "bad.csv"},
		{"filter", "bad.csv", "--where", "a > 1"},
		{"select", "bad.csv", "a"},
		{"groupby", "bad.csv", "--by", "a", "--count"},
		{"sort", "bad.csv", "--by", "a"},
		{"distinct", "bad.csv"},
		{"value-counts", "bad.csv", "a"},
		{"filter", "bad.csv", "--where", "a > 1", "then", "count"},
		{"count", "bad.csv", "--explain"},
		{"config"},
	}
	for _, out := range []struct{ path, why string }{
		{"missing/dir/out.csv", "cannot create a file in missing/dir: no such file or directory"},
		{"file.txt/out.csv", "cannot create a file in file.txt: not a directory"},
		{"adir", "is a directory"},
	} {
		for _, args := range verbs {
			args := append(append([]string{}, args...), "--output", out.path)
			c := gdask(t, args...)
			c.Dir = dir
			c.Env = append(c.Env, "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
			var stdout, stderr bytes.Buffer
			c.Stdout, c.Stderr = &stdout, &stderr
			code := exitCode(c.Run())
			want := "gdask: invalid --output " + out.path + ": " + out.why + "\n"
			if code != 2 || stdout.Len() != 0 || stderr.String() != want {
				t.Errorf("%s: exit %d, stdout %q, stderr %q; want 2, nothing, %q", strings.Join(args, " "), code, stdout.String(), stderr.String(), want)
			}
		}
	}
	var left []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, _ error) error {
		if rel, _ := filepath.Rel(dir, p); rel != "." && rel != "bad.csv" && rel != "file.txt" && rel != "adir" {
			left = append(left, rel)
		}
		return nil
	})
	if left != nil {
		t.Errorf("left behind: %q", left)
	}
}
