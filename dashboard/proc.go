package dashboard

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// residentMemory is the process's resident set size: what the operating
// system counts against a memory limit. Where /proc is missing it is the
// memory the Go runtime has mapped, which bounds it from above.
func residentMemory() int64 {
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseInt(f[1], 10, 64); err == nil {
				return pages * int64(os.Getpagesize())
			}
		}
	}
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}
