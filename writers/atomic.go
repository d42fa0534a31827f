package writers

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"

	"github.com/gdask/gdask/internal/fsname"
)

// AtomicFile is an output file that appears at its path only when Commit
// succeeds (DESIGN §6). Writes go to a temp file in the same directory, named
// .gdask-<base>-<random>.tmp; Commit syncs it and renames it over the path,
// Abort removes it. An error or an interrupt before Commit therefore leaves
// any existing file untouched; the command layer calls Abort on both.
//
// The file gets the permissions os.Create would give: those of the file it
// replaces, or 0666 less the umask for a new file.
//
// A path that names an existing non-regular file (/dev/null, /dev/stdout, a
// FIFO) cannot be replaced by a rename; it is opened and written directly,
// Commit closes it and TempName returns "".
//
// An AtomicFile is not safe for concurrent use.
type AtomicFile struct {
	// NoSync skips the fsync before the rename. The rename stays atomic
	// (readers see the old file or the whole new one), but after a crash
	// the new file may be empty: only for outputs that can be made again,
	// such as gen-data's, where the fsync of a gigabyte costs more than
	// the rest of the run.
	NoSync bool

	path   string // where the file appears on Commit
	f      *os.File
	tmp    string // temp file name; "" when writing directly
	closed bool   // after Commit or Abort
}

// maxTempBase bounds the part of the target's name copied into the temp
// name, so the temp name stays under the usual 255-byte limit.
const maxTempBase = 128

// CreateAtomic starts writing the file at path. Nothing is visible at path
// until Commit.
func CreateAtomic(path string) (*AtomicFile, error) {
	target, fi := resolve(path)
	var keepMode os.FileMode
	if fi != nil {
		switch {
		case fi.IsDir():
			return nil, fmt.Errorf("cannot create %s: is a directory", fsname.Quote(path))
		case !fi.Mode().IsRegular():
			f, err := os.OpenFile(target, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return nil, fmt.Errorf("cannot create %s: %w", fsname.Quote(path), fsname.Cause(err))
			}
			return &AtomicFile{path: target, f: f}, nil
		}
		keepMode = fi.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	f, err := createTemp(dir, ".gdask-"+truncateName(base, maxTempBase)+"-", ".tmp")
	if err != nil {
		// Name the file the user asked for; the temp name is ours.
		return nil, fmt.Errorf("cannot create %s: %w", fsname.Quote(path), fsname.Cause(err))
	}
	a := &AtomicFile{path: target, f: f, tmp: f.Name()}
	if fi != nil {
		if err := f.Chmod(keepMode); err != nil {
			a.Abort()
			return nil, fmt.Errorf("cannot set mode of %s: %w", fsname.Quote(a.tmp), fsname.Cause(err))
		}
	}
	return a, nil
}

// resolve returns where a write to path lands and what is there now (nil
// when nothing is): a symbolic link is written where it points, as
// os.Create would, and kept.
func resolve(path string) (target string, fi os.FileInfo) {
	fi, err := os.Stat(path)
	if err != nil {
		return path, nil
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real, fi
	}
	return path, fi
}

// CheckCreate reports whether CreateAtomic(path) can start writing, so a
// command can say so before any work instead of after it: path must not
// be a directory, and a file must be creatable beside it (one is made and
// removed at once). A path that names an existing device or FIFO passes:
// it is opened when written, and opening a FIFO now would wait for its
// reader. The error says why without naming path; the caller names it.
func CheckCreate(path string) error {
	target, fi := resolve(path)
	if fi != nil {
		switch {
		case fi.IsDir():
			return errors.New("is a directory")
		case !fi.Mode().IsRegular():
			return nil
		}
	}
	dir := filepath.Dir(target)
	f, err := createTemp(dir, ".gdask-check-", ".tmp")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", fsname.Quote(dir), fsname.Cause(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// createTemp is os.CreateTemp with the permissions of os.Create (0666 less
// the umask) instead of 0600: the file is renamed into place as the result.
func createTemp(dir, prefix, suffix string) (*os.File, error) {
	for range 10000 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, errors.New("too many temp files with the same name")
}

// truncateName cuts s to at most n bytes at a rune boundary.
func truncateName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Write writes to the temp file. An error names no file (the temp name
// means nothing to a user); the caller's message says what was written.
func (a *AtomicFile) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	return n, fsname.Cause(err)
}

// TempName returns the name of the temp file, or "" when the target is not a
// regular file and is written directly.
func (a *AtomicFile) TempName() string { return a.tmp }

// WriterAt gives positioned writes into the temp file, for writers that
// fill it in parallel. It reports false when the target is written
// directly (a device or FIFO), which cannot seek.
func (a *AtomicFile) WriterAt() (io.WriterAt, bool) {
	if a.tmp == "" {
		return nil, false
	}
	return a.f, true
}

// Commit syncs and closes the temp file and renames it over the target path.
// On failure the temp file is removed and the target is left as it was.
func (a *AtomicFile) Commit() error {
	if a.closed {
		return fmt.Errorf("cannot commit %s: already committed or aborted", fsname.Quote(a.path))
	}
	a.closed = true
	if a.tmp == "" {
		if err := a.f.Close(); err != nil {
			return fmt.Errorf("cannot close %s: %w", fsname.Quote(a.path), fsname.Cause(err))
		}
		return nil
	}
	if err := a.sync(); err != nil {
		a.f.Close()
		os.Remove(a.tmp)
		return fmt.Errorf("cannot sync %s: %w", fsname.Quote(a.tmp), fsname.Cause(err))
	}
	if err := a.f.Close(); err != nil {
		os.Remove(a.tmp)
		return fmt.Errorf("cannot close %s: %w", fsname.Quote(a.tmp), fsname.Cause(err))
	}
	if err := os.Rename(a.tmp, a.path); err != nil {
		os.Remove(a.tmp)
		return fmt.Errorf("cannot rename %s to %s: %w", fsname.Quote(a.tmp), fsname.Quote(a.path), fsname.Cause(err))
	}
	syncDir(filepath.Dir(a.path))
	return nil
}

// Abort closes and removes the temp file. It does nothing after Commit or a
// previous Abort, so it can be deferred unconditionally.
func (a *AtomicFile) Abort() error {
	if a.closed {
		return nil
	}
	a.closed = true
	cerr := a.f.Close()
	if a.tmp == "" {
		if cerr != nil {
			return fmt.Errorf("cannot close %s: %w", fsname.Quote(a.path), fsname.Cause(cerr))
		}
		return nil
	}
	if err := os.Remove(a.tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot remove %s: %w", fsname.Quote(a.tmp), fsname.Cause(err))
	}
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: some systems
// cannot open or sync a directory, and the rename has happened either way.
func (a *AtomicFile) sync() error {
	if a.NoSync {
		return nil
	}
	return a.f.Sync()
}

func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
