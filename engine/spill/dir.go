package spill

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/internal/fsname"
)

// dirPrefix starts the name of every spill directory; the creating
// process's pid follows, then "-" and MkdirTemp's random suffix.
const dirPrefix = "gdask-spill-"

// Dir is one run's private spill directory. All methods are safe for
// concurrent use; Close may be called from a signal handler's goroutine while
// workers still write, which then fail with an error.
type Dir struct {
	fs    FS
	path  string
	seq   atomic.Uint64
	bytes atomic.Int64

	mu     sync.RWMutex // held for reading while creating a file, for writing by Close
	closed bool
}

// NewDir creates a private directory (mode 0700, named
// gdask-spill-<pid>-<random>) in parent, the system temp dir when parent is
// empty. fs is OSFS() when nil.
func NewDir(fsys FS, parent string) (*Dir, error) {
	if fsys == nil {
		fsys = OSFS()
	}
	if parent == "" {
		parent = os.TempDir()
	}
	path, err := fsys.MkdirTemp(parent, fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, newError("create spill directory", parent, err)
	}
	return &Dir{fs: fsys, path: path}, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Bytes returns the bytes written to spill files so far (compressed, never
// decreasing), for progress reports.
func (d *Dir) Bytes() int64 { return d.bytes.Load() }

// Close removes the directory and everything in it. It is idempotent; later
// attempts to create files in d fail.
func (d *Dir) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	if err := d.fs.RemoveAll(d.path); err != nil {
		return newErrorAt("cannot remove spill directory "+fsname.Quote(d.path), err)
	}
	return nil
}

// create creates a new file in d whose name starts with prefix.
func (d *Dir) create(prefix string) (File, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, newError("create spill file", d.path, errClosed)
	}
	name := filepath.Join(d.path, fmt.Sprintf("%s-%06d.spill", prefix, d.seq.Add(1)))
	f, err := d.fs.Create(name)
	if err != nil {
		return nil, newError("create spill file", d.path, err)
	}
	return f, nil
}

// SweepStale removes the spill directories in parent (the system temp dir
// when empty) left by gdask processes that no longer exist, such as runs
// killed with SIGKILL. It never touches the directory of a live process
// (including this one) or anything not named gdask-spill-<pid>-*. On
// systems without a cheap liveness check (Windows) it removes nothing.
//
// A process is gone when signal 0 to its pid fails with ESRCH. Runs in other
// pid namespaces sharing parent can look gone: give such containers their
// own --temp-dir.
func SweepStale(fsys FS, parent string) (removed int, err error) {
	if fsys == nil {
		fsys = OSFS()
	}
	if parent == "" {
		parent = os.TempDir()
	}
	entries, err := fsys.ReadDir(parent)
	if err != nil {
		return 0, newError("read temp directory", parent, err)
	}
	var errs []error
	for _, e := range entries {
		pid, ok := stalePid(e.Name())
		if !ok || !e.IsDir() || pid == os.Getpid() || !processGone(pid) {
			continue
		}
		if err := fsys.RemoveAll(filepath.Join(parent, e.Name())); err != nil {
			errs = append(errs, newError("remove stale spill directory", parent, err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// stalePid parses the pid out of a gdask-spill-<pid>-<suffix> name.
func stalePid(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, dirPrefix)
	if !ok {
		return 0, false
	}
	digits, suffix, ok := strings.Cut(rest, "-")
	if !ok || suffix == "" || digits == "" || strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}
