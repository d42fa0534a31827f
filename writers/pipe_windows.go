package writers

import (
	"errors"
	"syscall"
)

// errNoData is ERROR_NO_DATA, "the pipe is being closed", which the syscall
// package does not name.
const errNoData = syscall.Errno(232)

func isPlatformClosedPipe(err error) bool {
	return errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, errNoData)
}
