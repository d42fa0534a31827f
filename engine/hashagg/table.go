package hashagg

import (
	"bytes"
	"encoding/binary"

	"github.com/gdask/gdask/engine/paged"
)

// groupTable maps encoded group keys to dense group numbers 0..n-1 with
// open addressing. Keys live in a paged arena, so a table is a few slices
// and pages, with no per-group allocation and no copying as it grows. Not
// safe for concurrent use: one per worker.
type groupTable struct {
	// slots are wide (two words each) while every key the table holds is
	// 8 bytes or fewer: the first word holds the hash's top 24 bits (a
	// tag), the key's length in the next 8 and group+1 in the low 32 (0 is
	// empty); the second holds the key itself (keyPrefix). Once the table
	// is far bigger than the cache, a probe then costs one miss, where a
	// group's key reference and its bytes took two more. The first longer
	// key makes them narrow (one word: the hash's top 32 bits and group+1,
	// the key compared in the arena), which keeps tables of long keys as
	// small as they were.
	wide   bool
	slots  []uint64
	mask   uint64
	hashes paged.Column[uint64] // per group
	keys   paged.Column[uint64] // per group: its key's reference in arena
	arena  paged.Arena
	// memo, in a worker's own table, maps the head of a key of 7 bytes or
	// fewer straight to its group, direct-mapped: a category found again
	// costs a multiply and one load, not a hash and a probe.
	memo []memoEntry
	sink uint64 // keeps touch's loads from being optimised away
}

// memoEntry is a key head and its group+1 (0: empty).
type memoEntry struct {
	head uint64
	g1   uint32
}

const memoBits = 12

// memoSlot is where head lives in the memo.
func memoSlot(head uint64) uint64 { return head * 0x9E3779B97F4A7C15 >> (64 - memoBits) }

// memoized returns key's group when the memo holds it.
func (t *groupTable) memoized(key []byte) (uint32, bool) {
	if len(key) > 7 || t.memo == nil {
		return 0, false
	}
	head := keyHead(key)
	e := t.memo[memoSlot(head)]
	return e.g1 - 1, e.g1 != 0 && e.head == head
}

// keyHead packs the first 7 bytes of key and, in the top byte, its length
// (up to 255): two keys of 7 bytes or fewer are equal when their heads are.
func keyHead(key []byte) uint64 {
	n := uint64(min(len(key), 255)) << 56
	if len(key) >= 8 {
		return binary.LittleEndian.Uint64(key)&(1<<56-1) | n
	}
	// Shifts in a register: bytes stored to memory and read back as one
	// word would stall the load.
	var h uint64
	for i := len(key) - 1; i >= 0; i-- {
		h = h<<8 | uint64(key[i])
	}
	return h | n
}

// CachedSlots is the most slot words a worker's own table has (32Ki wide
// slots or 64Ki narrow ones): their 512 KiB stay in a core's L2 cache.
// Past it, the table is looked up a batch at a time, or its groups move to
// the shared parts. A variable, so tests can send small inputs down the
// paths of big ones.
var CachedSlots = 1 << 16

func newGroupTable(withMemo bool) *groupTable {
	t := &groupTable{wide: true}
	if withMemo {
		t.memo = make([]memoEntry, 1<<memoBits)
	}
	t.resize(1 << 10)
	return t
}

func (t *groupTable) len() int { return t.hashes.Len() }

// size is the number of slots.
func (t *groupTable) size() int {
	if t.wide {
		return len(t.slots) / 2
	}
	return len(t.slots)
}

// hashOf returns group g's hash.
func (t *groupTable) hashOf(g uint32) uint64 { return *t.hashes.At(g) }

// key returns group g's key; valid until the next insert.
func (t *groupTable) key(g uint32) []byte { return t.arena.Get(*t.keys.At(g)) }

// wideMeta is the first word of a wide slot for a key of n bytes with
// hash h, but for the group in its low 32 bits.
func wideMeta(n int, h uint64) uint64 { return h&^(1<<40-1) | uint64(n)<<32 }

// keyPrefix is key's first 8 bytes, little-endian, zero-padded.
func keyPrefix(key []byte) uint64 {
	if len(key) >= 8 {
		return binary.LittleEndian.Uint64(key)
	}
	var p uint64
	for i := len(key) - 1; i >= 0; i-- {
		p = p<<8 | uint64(key[i])
	}
	return p
}

// find returns the group of key (with hash h), adding it when new.
func (t *groupTable) find(key []byte, h uint64) (g uint32, added bool) {
	if t.wide && len(key) > 8 {
		t.wide = false
		t.resize(t.size())
	}
	var i uint64
	if t.wide {
		meta, word := wideMeta(len(key), h), keyPrefix(key)
		for i = h & t.mask; ; i = (i + 1) & t.mask {
			s := t.slots[2*i]
			if s == 0 {
				break
			}
			if s&^(1<<32-1) == meta && t.slots[2*i+1] == word {
				return t.found(key, uint32(s)-1), false
			}
		}
		t.slots[2*i], t.slots[2*i+1] = meta|uint64(t.len()+1), word
	} else {
		tag := h &^ (1<<32 - 1)
		for i = h & t.mask; ; i = (i + 1) & t.mask {
			s := t.slots[i]
			if s == 0 {
				break
			}
			if s&^(1<<32-1) == tag && bytes.Equal(t.key(uint32(s)-1), key) {
				return t.found(key, uint32(s)-1), false
			}
		}
		t.slots[i] = tag | uint64(t.len()+1)
	}
	g = uint32(t.hashes.Len())
	t.hashes.Grow(int(g) + 1)
	t.keys.Grow(int(g) + 1)
	*t.hashes.At(g) = h
	*t.keys.At(g) = t.arena.Add(key)
	if uint64(g+1)*4 > uint64(t.size())*3 {
		t.resize(2 * t.size())
	}
	return g, true
}

// found notes in the memo that key, of 7 bytes or fewer, is group g.
func (t *groupTable) found(key []byte, g uint32) uint32 {
	if t.memo != nil && len(key) <= 7 {
		head := keyHead(key)
		t.memo[memoSlot(head)] = memoEntry{head, g + 1}
	}
	return g
}

// touch loads the slot each hash starts at, so that finds of these hashes
// that follow soon hit the cache. The loads are independent of each other,
// so their misses overlap.
func (t *groupTable) touch(hs []uint64) {
	var x uint64
	shift := 0
	if t.wide {
		shift = 1
	}
	for _, h := range hs {
		x += t.slots[(h&t.mask)<<shift]
	}
	t.sink = x
}

// resize makes n slots, wide or narrow as t.wide says, and puts every
// group in them, in group order: the hashes and the arena are read in
// order, and a wide slot's key length comes from the key's reference.
func (t *groupTable) resize(n int) {
	t.mask = uint64(n - 1)
	if !t.wide {
		t.slots = make([]uint64, n)
		for g := range uint32(t.len()) {
			h := t.hashOf(g)
			i := h & t.mask
			for t.slots[i] != 0 {
				i = (i + 1) & t.mask
			}
			t.slots[i] = h&^(1<<32-1) | uint64(g+1)
		}
		return
	}
	t.slots = make([]uint64, 2*n)
	for g := range uint32(t.len()) {
		h := t.hashOf(g)
		ref := *t.keys.At(g)
		i := h & t.mask
		for t.slots[2*i] != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[2*i], t.slots[2*i+1] = wideMeta(paged.RefLen(ref), h)|uint64(g+1), keyPrefix(t.arena.Get(ref))
	}
}

// memBytes is what the table holds.
func (t *groupTable) memBytes() int64 {
	return int64(cap(t.slots))*8 + t.hashes.MemBytes() + t.keys.MemBytes() + t.arena.MemBytes()
}

// clear empties the table, keeping its slot array: for a table that is
// about to take about as many groups again (the merge's, a partition
// after another).
func (t *groupTable) clear() {
	t.hashes.Reset()
	t.keys.Reset()
	t.arena.Reset()
	clear(t.memo)
	clear(t.slots)
}

// reset empties the table, keeping a small slot array.
func (t *groupTable) reset() {
	t.hashes.Reset()
	t.keys.Reset()
	t.arena.Reset()
	clear(t.memo)
	t.wide = true
	t.resize(1 << 10)
}

// Key encoding. One key column: the value's bytes as they are, and the
// empty key for null (an empty field is always null, so no value encodes
// empty); the worker can then look a field up without copying it. Several
// key columns: per column a flag byte (0 null, 1 value) and, for a value,
// its length as a uvarint and its bytes, so the encoding is unambiguous.

func appendKey(dst []byte, field []byte, null, multi bool) []byte {
	if !multi {
		if null {
			return dst
		}
		return append(dst, field...)
	}
	if null {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = appendUvarint(dst, uint64(len(field)))
	return append(dst, field...)
}

func appendUvarint(dst []byte, v uint64) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// splitKey decodes an encoded key into its fields (nil for null) and
// appends them to dst.
func splitKey(dst [][]byte, key []byte, n int) [][]byte {
	if n == 1 {
		if len(key) == 0 {
			return append(dst, nil)
		}
		return append(dst, key)
	}
	for range n {
		if key[0] == 0 {
			dst = append(dst, nil)
			key = key[1:]
			continue
		}
		key = key[1:]
		var l uint64
		var s uint
		for i, b := range key {
			l |= uint64(b&0x7f) << s
			if b < 0x80 {
				key = key[i+1:]
				break
			}
			s += 7
		}
		dst = append(dst, key[:l])
		key = key[l:]
	}
	return dst
}
