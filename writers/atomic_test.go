package writers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// dirNames returns the names in dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAtomicCommitNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	a, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	tmp := a.TempName()
	if filepath.Dir(tmp) != dir {
		t.Errorf("temp file %s is not in the target directory %s", tmp, dir)
	}
	if base := filepath.Base(tmp); !strings.HasPrefix(base, ".gdask-out.csv-") || !strings.HasSuffix(base, ".tmp") {
		t.Errorf("temp name %q, want .gdask-out.csv-*.tmp", base)
	}
	if _, err := io.WriteString(a, "a,b\n1,2\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("target exists before Commit (stat error %v)", err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "a,b\n1,2\n" {
		t.Errorf("content %q", got)
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "out.csv" {
		t.Errorf("directory holds %q, want only out.csv", names)
	}
	// The mode is the one os.Create gives a new file (0666 less the umask).
	ref := filepath.Join(t.TempDir(), "ref")
	f, err := os.Create(ref)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	fiRef, _ := os.Stat(ref)
	fi, _ := os.Stat(path)
	if fi.Mode() != fiRef.Mode() {
		t.Errorf("mode %v, want %v as os.Create gives", fi.Mode(), fiRef.Mode())
	}
	// Abort after Commit does nothing.
	if err := a.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if got := readFile(t, path); got != "a,b\n1,2\n" {
		t.Errorf("Abort after Commit changed the file: %q", got)
	}
	if err := a.Commit(); err == nil {
		t.Error("second Commit: no error")
	}
}

func TestAtomicCommitReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(path, []byte("old contents\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o640) // whatever the umask
	a, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "new\n")
	if got := readFile(t, path); got != "old contents\n" {
		t.Errorf("target changed before Commit: %q", got)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "new\n" {
		t.Errorf("content %q, want new", got)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v, want the replaced file's 0640", fi.Mode().Perm())
		}
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only out.csv", names)
	}
}

func TestAtomicAbort(t *testing.T) {
	tests := []struct {
		Name     string
		Existing bool
	}{
		{"ExistingFile", true},
		{"NoFile", false},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "result.json")
			if tt.Existing {
				if err := os.WriteFile(path, []byte("keep me\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			a, err := CreateAtomic(path)
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(a, "partial output")
			if err := a.Abort(); err != nil {
				t.Fatal(err)
			}
			if err := a.Abort(); err != nil {
				t.Errorf("second Abort: %v", err)
			}
			if err := a.Commit(); err == nil {
				t.Error("Commit after Abort: no error")
			}
			if _, err := a.Write([]byte("x")); err == nil {
				t.Error("Write after Abort: no error")
			}
			names := dirNames(t, dir)
			if tt.Existing {
				if got := readFile(t, path); got != "keep me\n" {
					t.Errorf("existing file changed: %q", got)
				}
				if len(names) != 1 || names[0] != "result.json" {
					t.Errorf("directory holds %q, want only result.json", names)
				}
			} else if len(names) != 0 {
				t.Errorf("directory holds %q, want nothing", names)
			}
		})
	}
}

func TestAtomicWithWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.json")
	a, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Abort()
	w, _ := New("json", a)
	w.Begin([]Column{{Name: "n", Type: Int}})
	w.Row(row("1"))
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "[\n{\"n\":1}\n]\n" {
		t.Errorf("content %q", got)
	}
}

func TestAtomicRelativePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	a, err := CreateAtomic("rel.csv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "x\n")
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "rel.csv")); got != "x\n" {
		t.Errorf("content %q", got)
	}
}

func TestAtomicLongName(t *testing.T) {
	dir := t.TempDir()
	name := strings.Repeat("é", 120) + ".csv" // 244 bytes: fits, but not with a prefix
	path := filepath.Join(dir, name)
	a, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(filepath.Base(a.TempName())); n > 255 {
		t.Errorf("temp name is %d bytes", n)
	}
	io.WriteString(a, "x\n")
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path); got != "x\n" {
		t.Errorf("content %q", got)
	}
}

func TestAtomicErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateAtomic(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("CreateAtomic(dir) error = %v, want is a directory", err)
	}
	missing := filepath.Join(dir, "missing", "out.csv")
	_, err := CreateAtomic(missing)
	if err == nil || err.Error() != "cannot create "+missing+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CreateAtomic in a missing directory: error = %v", err)
	}
}

// CheckCreate says ahead of a run what CreateAtomic would say after it,
// and leaves nothing behind.
func TestCheckCreate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.txt")
	if err := os.WriteFile(file, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{filepath.Join(dir, "out.csv"), ""},
		{file, ""}, // replaced on commit
		{os.DevNull, ""},
		{dir, "is a directory"},
		{filepath.Join(dir, "missing", "out.csv"), "cannot create a file in " + filepath.Join(dir, "missing") + ": no such file or directory"},
		{filepath.Join(file, "out.csv"), "cannot create a file in " + file + ": not a directory"},
	} {
		err := CheckCreate(tc.path)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("CheckCreate(%s) = %v, want %q", tc.path, err, tc.want)
		}
	}
	if err := CheckCreate(filepath.Join(dir, "missing", "out.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckCreate in a missing directory: %v does not match fs.ErrNotExist", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("CheckCreate left %v in %s (%v)", entries, dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "out.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("CheckCreate made the file: %v", err)
	}
}

func TestAtomicSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on windows")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real.csv")
	link := filepath.Join(dir, "link.csv")
	os.WriteFile(real, []byte("old\n"), 0o644)
	if err := os.Symlink("real.csv", link); err != nil {
		t.Fatal(err)
	}
	a, err := CreateAtomic(link)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(a, "new\n")
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced (lstat %v, %v)", fi, err)
	}
	if got := readFile(t, real); got != "new\n" {
		t.Errorf("link target holds %q, want new", got)
	}
}

func TestAtomicDevice(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/null")
	}
	a, err := CreateAtomic(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	if a.TempName() != "" {
		t.Errorf("TempName() = %q, want \"\" for a device", a.TempName())
	}
	if _, err := io.WriteString(a, "discarded\n"); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(os.DevNull); err != nil || fi.Mode()&os.ModeDevice == 0 {
		t.Fatalf("%s is no longer a device: %v, %v", os.DevNull, fi, err)
	}
}
