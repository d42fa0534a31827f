package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"unsafe"
)

// Make returns what make would: the length and room asked for, zeroed,
// for small and large slices alike.
func TestMakeIsMake(t *testing.T) {
	for _, c := range []struct{ n, capacity int }{{0, 0}, {0, 10}, {5, 3}, {1 << 20, 1 << 20}, {0, 3 << 20}} {
		s := Make[uint32](c.n, c.capacity)
		if len(s) != c.n || cap(s) != max(c.n, c.capacity) {
			t.Errorf("Make(%d, %d): len %d cap %d", c.n, c.capacity, len(s), cap(s))
		}
		for i, v := range s[:cap(s)] {
			if v != 0 {
				t.Fatalf("Make(%d, %d): element %d is %d", c.n, c.capacity, i, v)
			}
		}
	}
}

// On Linux with transparent huge pages, the aligned pages inside a large
// slice are advised: /proc/self/smaps shows the mapping that holds them
// with the hg flag, which the Go heap's mappings have only when advised.
func TestMakeAdvises(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux alone")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages on this kernel")
	}
	big := Make[byte](0, 16<<20)
	start := uintptr(unsafe.Pointer(unsafe.SliceData(big)))
	for _, p := range []uintptr{(start + Size - 1) &^ (Size - 1), (start + 16<<20 - Size) &^ (Size - 1)} {
		if !advised(t, p) {
			t.Errorf("the huge page at %#x of a 16 MiB slice at %#x is not advised", p, start)
		}
	}
	runtime.KeepAlive(big)
}

// advised reports whether the mapping holding addr has the hg flag.
func advised(t *testing.T, addr uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var from, to uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &from, &to); n == 2 && strings.Contains(line, " ") {
			in = from <= addr && addr < to
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.Contains(line+" ", " hg ")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}
