//go:build unix

package spill

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has the given pid.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
