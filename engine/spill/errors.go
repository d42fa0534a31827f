package spill

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"github.com/klauspost/compress/s2"

	"github.com/gdask/gdask/internal/fsname"
)

// errCorrupt is the cause when a spill file does not hold what was written.
var errCorrupt = errors.New("corrupt or truncated spill data")

// errClosed is the cause when a Dir is used after Close.
var errClosed = errors.New("spill directory was already removed")

// errAborted is returned by a writer or Sorter used after Close or Abort.
var errAborted = errors.New("spill: writer used after Close or Abort")

// ioError is a one-line error naming what failed where and what helps; it
// unwraps to the cause (a syscall.Errno for OS errors).
type ioError struct {
	what string // "cannot write spill file in /tmp/gdask-spill-1-2"
	err  error
	hint string
}

func (e *ioError) Error() string { return e.what + ": " + e.err.Error() + " (" + e.hint + ")" }
func (e *ioError) Unwrap() error { return e.err }

// newError builds the error for "cannot <verb> in <dir>". The path inside an
// *os.PathError is dropped: the message names the directory, and the file
// names inside it mean nothing to a user.
func newError(verb, dir string, err error) error {
	return newErrorAt("cannot "+verb+" in "+fsname.Quote(dir), err)
}

// newErrorAt builds the error for what failed, "cannot <verb> <object>".
func newErrorAt(what string, err error) error {
	var ioe *ioError
	if errors.As(err, &ioe) {
		return err
	}
	var pe *fs.PathError
	var le *os.LinkError
	var se *os.SyscallError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	case errors.As(err, &se):
		err = se.Err
	}
	return &ioError{what: what, err: err, hint: hint(err)}
}

func hint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "free space there or set --temp-dir"
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return "set --temp-dir to a writable directory"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "raise the open-file limit (ulimit -n) or the memory limit"
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return "set --temp-dir to an existing directory that no other program cleans while gdask runs"
	case errors.Is(err, errClosed):
		return "the run was stopped"
	case errors.Is(err, errCorrupt), errors.Is(err, s2.ErrCorrupt), errors.Is(err, s2.ErrCRC), errors.Is(err, s2.ErrUnsupported):
		return "the spill files were changed while gdask ran; run again"
	default:
		return "set --temp-dir to another directory"
	}
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
