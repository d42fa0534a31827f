package cacheline

import (
	"testing"
	"unsafe"
)

// No two slices touch a common cache line, whatever their element size
// and length, and each has the length and room asked for.
func TestSliceOwnLines(t *testing.T) {
	type span struct{ first, last uintptr } // lines
	var spans []span
	add := func(p unsafe.Pointer, bytes int) {
		a := uintptr(p)
		spans = append(spans, span{a / Size, (a + uintptr(bytes) - 1) / Size})
	}
	for n := range 100 {
		b := Slice[bool](n, 0)
		add(unsafe.Pointer(unsafe.SliceData(b)), cap(b))
		f := Slice[[]byte](n, 8)
		add(unsafe.Pointer(unsafe.SliceData(f)), cap(f)*24)
		if len(b) != n || len(f) != n || cap(f) < 8 {
			t.Fatalf("n %d: lengths %d, %d, room %d", n, len(b), len(f), cap(f))
		}
	}
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if a.first <= b.last && b.first <= a.last {
				t.Fatalf("two slices share cache lines %#x-%#x and %#x-%#x", a.first, a.last, b.first, b.last)
			}
		}
	}
}
