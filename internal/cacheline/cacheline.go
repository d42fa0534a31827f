// Package cacheline allocates the small buffers that a worker writes on
// every row so that they hold cache lines of their own.
//
// Two workers' buffers that the allocator put side by side can share a
// 64-byte cache line; each write by one core then takes the line from the
// other, and a loop that costs nanoseconds a row waits tens.
package cacheline

import "unsafe"

// Size is the cache line size this package pads to.
const Size = 64

// Slice returns a slice of n zero Ts with room for at least capacity.
// Its backing array has a line's worth of unused elements before and
// after it, so every cache line it touches is its own.
func Slice[T any](n, capacity int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if size == 0 {
		return make([]T, n)
	}
	c := max(n, capacity, 1)
	pad := (Size + size - 1) / size
	block := make([]T, pad+c+pad)
	return block[pad : pad+n : pad+c]
}
