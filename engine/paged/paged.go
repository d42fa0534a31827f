package paged

import "unsafe"

const (
	pageBits = 13
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// Column holds one value of type T per group 0..Len()-1. The first page is
// a field of its own: a small table's values are all there, one load away.
//
// Pointers returned by At stay valid until Reset.
type Column[T any] struct {
	first []T   // page 0, at its full length; it doubles up to pageSize
	pages [][]T // pages 1, 2, ..., each of pageSize values
	n     int   // groups
	room  int   // values the pages hold; those from n on are zero
}

// Len is the number of groups.
func (c *Column[T]) Len() int { return c.n }

// At returns group g's value; g < Len().
func (c *Column[T]) At(g uint32) *T {
	if g < pageSize {
		return &c.first[g]
	}
	return &c.pages[g>>pageBits-1][g&pageMask]
}

// Grow makes room for groups [0,n) (never shrinking); new groups start
// zero.
func (c *Column[T]) Grow(n int) {
	if n <= c.room {
		c.n = max(c.n, n)
		return
	}
	if len(c.first) < pageSize {
		// The first page doubles while small. Values from n on are zero,
		// so the copy needs only those below n.
		grown := make([]T, min(pageSize, max(2*len(c.first), n, 16)))
		copy(grown, c.first[:c.n])
		c.first = grown
		c.room = len(grown)
	}
	for c.room < n {
		c.pages = append(c.pages, make([]T, pageSize))
		c.room += pageSize
	}
	c.n = n
}

// Reset drops every group. The pages are kept and filled again by Grow.
func (c *Column[T]) Reset() {
	clear(c.first[:min(c.n, len(c.first))])
	for p := 1; p<<pageBits < c.n; p++ {
		clear(c.pages[p-1][:min(pageSize, c.n-p<<pageBits)])
	}
	c.n = 0
}

// MemBytes is the memory of the pages in use. Pages kept by Reset and not
// yet used again are not counted: the groups that follow fill them before
// any new page is made, so what a column holds never exceeds the most it
// has had in use.
func (c *Column[T]) MemBytes() int64 {
	var zero T
	if c.n == 0 {
		return 0
	}
	used := (c.n + pageMask) >> pageBits
	elems := int64(len(c.first)) + int64(used-1)*pageSize
	return elems*int64(unsafe.Sizeof(zero)) + 24*int64(1+len(c.pages))
}

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	firstSize = 1 << 10
	lenMask   = 1<<chunkBits - 1 // also the length of a long string's reference
	longRef   = 1 << 63          // marks a long string's reference
)

// Arena holds byte strings in chunks of 1 MiB (the first one doubles up to
// that from 1 KiB), and strings of a chunk or more each in one of its own.
// Add returns a reference that holds a chunk index (top 24 bits), the
// offset in the chunk (20 bits) and the length (20 bits), so Get reads
// nothing but the string; a long string's reference has the top bit set
// and its index in long instead. The first chunk is a field of its own: a small table's keys are
// all there, one load away.
//
// Strings returned by Get stay valid until the next Add or Reset.
type Arena struct {
	first  []byte   // chunk 0
	chunks [][]byte // chunks 1, 2, ... (kept by Reset for reuse)
	cur    int      // the chunk being filled
	long   [][]byte // long strings, one each
}

// chunk returns chunk i.
func (a *Arena) chunk(i int) []byte {
	if i == 0 {
		return a.first
	}
	return a.chunks[i-1]
}

func (a *Arena) setChunk(i int, c []byte) {
	if i == 0 {
		a.first = c
	} else {
		a.chunks[i-1] = c
	}
}

// Add copies b into the arena.
func (a *Arena) Add(b []byte) uint64 {
	if len(b) >= lenMask {
		a.long = append(a.long, append([]byte(nil), b...))
		return longRef | uint64(len(a.long)-1)<<(2*chunkBits) | lenMask
	}
	c := a.chunk(a.cur)
	if cap(c)-len(c) < len(b) {
		switch {
		case a.cur == 0 && len(c)+len(b) <= chunkSize:
			// The first chunk doubles while small: references stay valid,
			// as they hold offsets.
			grown := make([]byte, len(c), min(max(2*cap(c), len(c)+len(b), firstSize), chunkSize))
			copy(grown, c)
			c = grown
		default:
			a.cur++
			if a.cur > len(a.chunks) {
				a.chunks = append(a.chunks, make([]byte, 0, chunkSize))
			}
			c = a.chunk(a.cur)[:0]
		}
	}
	ref := uint64(a.cur)<<(2*chunkBits) | uint64(len(c))<<chunkBits | uint64(len(b))
	a.setChunk(a.cur, append(c, b...))
	return ref
}

// RefLen is the length of the string of ref, read from the reference
// alone; a string of lenMask bytes or more (kept apart) reports lenMask.
func RefLen(ref uint64) int { return int(ref & lenMask) }

// Get returns the string of a reference Add returned.
func (a *Arena) Get(ref uint64) []byte {
	n := ref & lenMask
	off := ref >> chunkBits & lenMask
	if ref < 1<<(2*chunkBits) { // in the first chunk
		return a.first[off : off+n : off+n]
	}
	if ref&longRef != 0 {
		return a.long[ref&^longRef>>(2*chunkBits)]
	}
	return a.chunks[ref>>(2*chunkBits)-1][off : off+n : off+n]
}

// Reset drops every string. The chunks are kept and filled again by Add.
func (a *Arena) Reset() {
	a.cur = 0
	a.first = a.first[:0]
	clear(a.long)
	a.long = a.long[:0]
}

// MemBytes is the memory of the chunks in use (see Column.MemBytes).
func (a *Arena) MemBytes() int64 {
	n := int64(cap(a.first))
	for _, c := range a.chunks[:min(a.cur, len(a.chunks))] {
		n += int64(cap(c))
	}
	for _, c := range a.long {
		n += int64(cap(c))
	}
	return n + 24*int64(1+len(a.chunks)+len(a.long))
}
