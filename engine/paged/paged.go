// Package paged holds per-group data of hash tables in fixed-size pages
// that never move: a Column of values and an Arena of byte strings.
//
// A slice grown by append copies everything it holds at every growth and
// leaves the old array to the collector. With millions of groups that was
// a third of a groupby's time, and the long copies, which cannot be
// preempted, stalled the collector besides. Paged storage grows without
// copying (only the first page, while small, doubles) and leaves no garbage.
//
// Neither type is safe for concurrent use.
package paged

import (
	"encoding/binary"
	"unsafe"
)

const (
	pageBits = 13
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// Column holds one value of type T per group 0..Len()-1.
//
// Pointers returned by At stay valid until Reset.
type Column[T any] struct {
	pages [][]T // every page at its full length
	n     int   // groups
	room  int   // values the pages hold; those from n on are zero
}

// Len is the number of groups.
func (c *Column[T]) Len() int { return c.n }

// At returns group g's value; g < Len().
func (c *Column[T]) At(g uint32) *T { return &c.pages[g>>pageBits][g&pageMask] }

// Grow makes room for groups [0,n) (never shrinking); new groups start
// zero.
func (c *Column[T]) Grow(n int) {
	if n <= c.room {
		c.n = max(c.n, n)
		return
	}
	for c.room < n {
		if len(c.pages) == 0 || len(c.pages[0]) < pageSize {
			// The first page doubles while small. Values between n and
			// room are zero, so the copy needs only those below n.
			var first []T
			if len(c.pages) > 0 {
				first = c.pages[0]
			} else {
				c.pages = append(c.pages, nil)
			}
			grown := make([]T, min(pageSize, max(2*len(first), n, 16)))
			copy(grown, first[:c.n])
			c.pages[0] = grown
			c.room = len(grown)
			continue
		}
		c.pages = append(c.pages, make([]T, pageSize))
		c.room += pageSize
	}
	c.n = n
}

// Reset drops every group. The pages are kept and filled again by Grow.
func (c *Column[T]) Reset() {
	for p := 0; p<<pageBits < c.n; p++ {
		clear(c.pages[p][:min(pageSize, c.n-p<<pageBits)])
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
	elems := int64(len(c.pages[0])) + int64(used-1)*pageSize
	return elems*int64(unsafe.Sizeof(zero)) + 24*int64(len(c.pages))
}

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	firstSize = 1 << 10
)

// Arena holds byte strings in chunks. Add returns a reference, a chunk
// index and an offset, where the string is stored after its length as a
// uvarint; a string longer than a chunk gets a chunk of its own.
//
// Strings returned by Get stay valid until the next Add or Reset.
type Arena struct {
	chunks [][]byte
	cur    int // the chunk being filled
}

// Add copies b into the arena.
func (a *Arena) Add(b []byte) uint64 {
	need := len(b) + binary.MaxVarintLen64
	if len(a.chunks) == 0 {
		a.chunks = append(a.chunks, make([]byte, 0, max(firstSize, need)))
	}
	c := a.chunks[a.cur]
	if cap(c)-len(c) < need {
		switch {
		case a.cur == 0 && cap(c) < chunkSize:
			// The first chunk doubles while small: references stay valid,
			// as they hold offsets.
			grown := make([]byte, len(c), max(min(2*cap(c), chunkSize), len(c)+need))
			copy(grown, c)
			c = grown
		default:
			a.cur++
			if a.cur == len(a.chunks) {
				a.chunks = append(a.chunks, nil)
			}
			c = a.chunks[a.cur][:0]
			if cap(c) < need {
				c = make([]byte, 0, max(chunkSize, need))
			}
		}
	}
	ref := uint64(a.cur)<<32 | uint64(len(c))
	c = binary.AppendUvarint(c, uint64(len(b)))
	a.chunks[a.cur] = append(c, b...)
	return ref
}

// Get returns the string of a reference Add returned.
func (a *Arena) Get(ref uint64) []byte {
	c := a.chunks[ref>>32][uint32(ref):]
	if n := int(c[0]); n < 0x80 {
		return c[1 : 1+n : 1+n]
	}
	n, k := binary.Uvarint(c)
	return c[k : k+int(n) : k+int(n)]
}

// Reset drops every string. The chunks are kept and filled again by Add.
func (a *Arena) Reset() {
	a.cur = 0
	if len(a.chunks) > 0 {
		a.chunks[0] = a.chunks[0][:0]
	}
}

// MemBytes is the memory of the chunks in use (see Column.MemBytes).
func (a *Arena) MemBytes() int64 {
	var n int64
	for _, c := range a.chunks[:min(a.cur+1, len(a.chunks))] {
		n += int64(cap(c))
	}
	return n + 24*int64(len(a.chunks))
}
