// Package hugepage makes the engine's large buffers, which it fills
// whole (a sort run's keys and rows), in memory the kernel may back with
// transparent huge pages.
//
// Touching fresh memory costs a page fault per 4 KiB page. On some
// machines (virtual ones above all) a fault costs 10 µs: 400 MiB of sort
// runs then cost a second of faults, more than sorting them. A 2 MiB
// huge page is one fault. Linux gives the Go heap huge pages only when
// the system's policy is "always"; under the common "madvise" policy a
// range must ask for them (MADV_HUGEPAGE), which the Go runtime does not
// do for its heap. Make asks for the 2 MiB-aligned pages inside a large
// slice it allocates, and only those: the slice is filled whole, so its
// huge pages hold nothing it would not have touched anyway.
//
// It is a hint: the memory is the Go heap's, collected as any other; the
// advice changes neither its contents nor its lifetime, and where it is
// refused or means nothing (another system, a policy of "never") the
// slice is the one make returns.
package hugepage

import "unsafe"

// Size is the huge page size Make aligns to (x86-64's and arm64's
// usual one).
const Size = 2 << 20

// Min is the least slice Make advises: a smaller one holds at most one
// aligned huge page, and the advice would split the heap's mapping for
// little.
const Min = 4 << 20

// Make returns make([]T, n, capacity), with the aligned huge pages
// inside its backing array advised as above when it is at least Min
// bytes.
func Make[T any](n, capacity int) []T {
	s := make([]T, n, max(n, capacity))
	var zero T
	size := uintptr(cap(s)) * unsafe.Sizeof(zero)
	if size >= Min {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
		lo := (start + Size - 1) &^ (Size - 1)
		hi := (start + size) &^ (Size - 1)
		if hi > lo {
			advise(lo, hi-lo)
		}
	}
	return s
}
