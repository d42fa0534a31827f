package spill

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestDirLifecycle(t *testing.T) {
	parent := t.TempDir()
	d, err := NewDir(nil, parent)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := filepath.Dir(d.Path()), parent; got != want {
		t.Errorf("Path() in %s, want %s", got, want)
	}
	if prefix := fmt.Sprintf("gdask-spill-%d-", os.Getpid()); !strings.HasPrefix(filepath.Base(d.Path()), prefix) {
		t.Errorf("Path() = %s, want a name starting %s", d.Path(), prefix)
	}
	fi, err := os.Stat(d.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Errorf("mode %v, want 0700", perm)
	}

	// A closed run, a run being written, a sorted run: Close removes all.
	writeRun(t, d, 2, 0, randEntries(rand.New(rand.NewPCG(1, 1)), 100))
	w, err := d.NewRun(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Add(1, []byte("k"), []byte("s"))
	s := d.NewSorter(64, bytes.Compare, nil)
	writeRuns(t, s, slices.Repeat([][]byte{[]byte("a row of some length")}, 100), 10, bytes.Compare)
	if des, _ := os.ReadDir(d.Path()); len(des) < 3 {
		t.Fatalf("%d files in the spill directory, want at least 3", len(des))
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, parent)
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.NewRun(1, 0); err == nil || !strings.Contains(err.Error(), d.Path()) {
		t.Errorf("NewRun after Close: %v", err)
	}
	w.Abort()
}

func TestRunAbort(t *testing.T) {
	d := newTestDir(t, nil)
	w, err := d.NewRun(3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range randEntries(rand.New(rand.NewPCG(2, 2)), 10000) {
		if err := w.Add(e.hash, e.key, e.state); err != nil {
			t.Fatal(err)
		}
	}
	w.Abort()
	assertEmpty(t, d.Path())
	if err := w.Add(1, nil, nil); err == nil {
		t.Error("Add after Abort: no error")
	}
	if _, err := w.Close(); err == nil {
		t.Error("Close after Abort: no error")
	}

	// Abort after a successful Close keeps the run.
	w, _ = d.NewRun(0, 0)
	w.Add(1, []byte("k"), nil)
	run, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if got := readPartition(t, run, 0); len(got) != 1 {
		t.Errorf("after Close and Abort: %d entries", len(got))
	}
}

// incompressible returns entries that s2 cannot shrink.
func incompressible(n int) []entry {
	r := rand.New(rand.NewPCG(11, 12))
	es := make([]entry, n)
	for i := range es {
		key, state := make([]byte, 20+r.IntN(40)), make([]byte, 16)
		for j := range key {
			key[j] = byte(r.Uint32())
		}
		for j := range state {
			state[j] = byte(r.Uint32())
		}
		es[i] = entry{r.Uint64(), key, state}
	}
	return es
}

func checkDiskFull(t *testing.T, d *Dir, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error from a full disk")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("errors.Is(%v, ENOSPC) = false", err)
	}
	want := "cannot write spill file in " + d.Path() + ": no space left on device (free space there or set --temp-dir)"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
}

func TestDiskFullRun(t *testing.T) {
	for _, limit := range []int64{0, 100, 64 << 10, 1 << 20} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			parent := t.TempDir()
			ffs := &FaultFS{Limit: limit}
			d, err := NewDir(ffs, parent)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			// One complete run first, to see that Dir.Close removes it too.
			writeRun(t, d, 0, 0, nil)
			w, err := d.NewRun(4, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range incompressible(100000) {
				if err = w.Add(e.hash, e.key, e.state); err != nil {
					break
				}
			}
			if err == nil {
				_, err = w.Close()
			}
			checkDiskFull(t, d, err)
			if ffs.Written() > limit {
				t.Errorf("FaultFS wrote %d bytes, over its limit %d", ffs.Written(), limit)
			}
			// The failed run is gone at once; the complete run stays.
			if des, _ := os.ReadDir(d.Path()); len(des) != 1 {
				t.Errorf("%d files after the failed run, want 1", len(des))
			}
			if _, err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("Close after the error: %v", err)
			}
			w.Abort()
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			assertEmpty(t, parent)
		})
	}
}

func TestDiskFullSorter(t *testing.T) {
	parent := t.TempDir()
	d, err := NewDir(&FaultFS{Limit: 200 << 10}, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s := d.NewSorter(16<<10, bytes.Compare, nil)
	es := incompressible(100000)
	for i := 0; i < len(es) && err == nil; i += 1000 {
		err = s.WriteRun(func(yield func([]byte) bool) {
			for _, e := range es[i : i+1000] {
				if !yield(e.key) {
					return
				}
			}
		})
	}
	checkDiskFull(t, d, err)
	assertEmpty(t, d.Path())
	if _, err := s.Sort(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Sort after the error: %v", err)
	}
	d.Close()
	assertEmpty(t, parent)

	// Disk full in a merge pass rather than in Add.
	parent = t.TempDir()
	ffs := &FaultFS{Limit: 1 << 30}
	d, err = NewDir(ffs, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s = d.NewSorter(4<<10, bytes.Compare, nil)
	var rows [][]byte
	for _, e := range incompressible(20000) {
		rows = append(rows, e.key)
	}
	writeRuns(t, s, rows, 200, bytes.Compare)
	ffs.mu.Lock()
	ffs.Limit = ffs.written + 100<<10
	ffs.mu.Unlock()
	_, err = s.Sort()
	checkDiskFull(t, d, err)
	assertEmpty(t, d.Path())
	d.Close()
	assertEmpty(t, parent)
}

func TestNewDirError(t *testing.T) {
	// The exact text, from an injected permission error.
	_, err := NewDir(denyFS{OSFS()}, "/x")
	want := "cannot create spill directory in /x: permission denied (set --temp-dir to a writable directory)"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("errors.Is(%v, fs.ErrPermission) = false", err)
	}

	// A real unwritable directory.
	if os.Geteuid() == 0 {
		t.Skip("root can write anywhere")
	}
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o500); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(parent, 0o700)
	_, err = NewDir(nil, parent)
	want = "cannot create spill directory in " + parent + ": permission denied (set --temp-dir to a writable directory)"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// denyFS fails MkdirTemp as os.MkdirTemp does in a read-only directory.
type denyFS struct{ FS }

func (denyFS) MkdirTemp(dir, pattern string) (string, error) {
	return "", &fs.PathError{Op: "mkdirtemp", Path: filepath.Join(dir, pattern), Err: syscall.EACCES}
}

func TestSweepStale(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	dead := cmd.Process.Pid
	parent := t.TempDir()
	mk := func(name string) {
		if err := os.Mkdir(filepath.Join(parent, name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(parent, name, "run-000001.spill"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	stale := fmt.Sprintf("gdask-spill-%d-123", dead)
	mk(stale)
	keep := []string{
		fmt.Sprintf("gdask-spill-%d-456", os.Getpid()),
		fmt.Sprintf("gdask-spill-%d-", dead),   // no suffix: not ours
		fmt.Sprintf("gdask-spill-+%d-1", dead), // not digits
		"gdask-spill-0-1",
		"other-dir",
	}
	for _, name := range keep {
		mk(name)
	}
	file := fmt.Sprintf("gdask-spill-%d-789", dead) // a file, not a directory
	if err := os.WriteFile(filepath.Join(parent, file), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, file)

	removed, err := SweepStale(nil, parent)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 1 {
		t.Errorf("removed %d, want 1", removed)
	}
	if _, err := os.Stat(filepath.Join(parent, stale)); !os.IsNotExist(err) {
		t.Errorf("%s still there (%v)", stale, err)
	}
	for _, name := range keep {
		if _, err := os.Stat(filepath.Join(parent, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
