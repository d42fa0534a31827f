package writers

import (
	"errors"
	"io"
	"syscall"
)

// IsClosedPipe reports whether err is, or wraps, the error of writing to a
// pipe whose reader has gone away (EPIPE, io.ErrClosedPipe, or the Windows
// equivalents), as in `gdask head big.csv | head -1`. The command layer then
// stops the work and ends quietly with status 0.
//
// Writing to a broken pipe on file descriptor 1 or 2 raises SIGPIPE, which
// kills a Go program before any error is seen unless the command layer has
// called signal.Ignore(syscall.SIGPIPE) or signal.Notify for it; other file
// descriptors get the EPIPE error directly.
func IsClosedPipe(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrClosedPipe) || isPlatformClosedPipe(err)
}
