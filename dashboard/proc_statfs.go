//go:build linux || darwin

package dashboard

import (
	"os"
	"syscall"
)

// freeSpace is what an unprivileged user may still write in dir, or -1
// when it cannot be told.
func freeSpace(dir string) int64 {
	if dir == "" {
		dir = os.TempDir()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
