package spill

import (
	"fmt"
)

// MaxBits is the most radix bits a Run may split on (256 partitions).
const MaxBits = 8

// RunWriter writes one spilled hash table as a Run: each entry goes to the
// partition given by bits [shift, shift+bits) of its hash. All partitions
// share one file; each is its own s2 stream of records
//
//	uvarint(len(key)) key uvarint(len(state)) state hash(8 bytes, little endian)
//
// Memory: at most 2^bits × 32 KiB of partition buffers (each allocated when
// its partition gets its first entry) plus about 140 KiB fixed, plus 16 bytes
// per 32 KiB flushed; an entry longer than 32 KiB holds a buffer of its own
// size until it is written. Add does not allocate in the steady state.
//
// A RunWriter is used by one goroutine. After any error its file is already
// removed and every later call returns the same error.
type RunWriter struct {
	w     *writer
	bits  uint
	shift uint
	mask  uint64
}

// NewRun starts a Run split on hash bits [shift, shift+bits); bits is at most
// MaxBits and shift+bits at most 64. Bits 0 gives a single partition.
func (d *Dir) NewRun(bits, shift uint) (*RunWriter, error) {
	if bits > MaxBits || shift+bits > 64 {
		return nil, fmt.Errorf("cannot create spill run: bits %d at shift %d (want bits <= %d, shift+bits <= 64)", bits, shift, MaxBits)
	}
	w, err := newWriter(d, "run", 1<<bits)
	if err != nil {
		return nil, err
	}
	return &RunWriter{w: w, bits: bits, shift: shift, mask: 1<<bits - 1}, nil
}

// Add appends an entry to its partition. Entries may come in any order; a
// partition keeps the order they were added in. Add copies key and state.
func (w *RunWriter) Add(hash uint64, key, state []byte) error {
	return w.w.addEntry(int(hash>>w.shift&w.mask), hash, key, state)
}

// Close flushes every partition and closes the file, returning the Run. On
// error the file is removed.
func (w *RunWriter) Close() (*Run, error) {
	if err := w.w.close(); err != nil {
		return nil, err
	}
	return &Run{d: w.w.d, name: w.w.f.Name(), bits: w.bits, shift: w.shift, parts: w.w.streams}, nil
}

// Abort closes and removes the file, unless Close succeeded, so
// `defer w.Abort()` is right on every path. Later calls return an error.
func (w *RunWriter) Abort() { w.w.abort() }

// Run is a closed spill run: its metadata is in memory, its entries in one
// file. A partition too big to merge in memory is split again by reading it
// into a new Run with shift Shift()+Bits(). Len, Size, Bits and Shift are safe for concurrent use, and so is Open
// (each Reader is used by one goroutine); Remove must not race with Open or
// with open Readers' Next.
type Run struct {
	d     *Dir
	name  string
	bits  uint
	shift uint
	parts []stream
}

// Bits returns how many hash bits split the run.
func (r *Run) Bits() uint { return r.bits }

// Shift returns the lowest hash bit that splits the run.
func (r *Run) Shift() uint { return r.shift }

// Partitions returns 1 << Bits().
func (r *Run) Partitions() int { return len(r.parts) }

// Len returns the entries in partition p.
func (r *Run) Len(p int) int64 { return r.parts[p].n }

// Size returns the uncompressed bytes of partition p: the sum over its
// entries of len(key) + len(state) + 8 + the two uvarint lengths.
func (r *Run) Size(p int) int64 { return r.parts[p].size }

// Open returns a Reader of partition p. An empty partition opens no file.
func (r *Run) Open(p int) (*Reader, error) {
	rd, err := openStream(r.d, r.name, &r.parts[p])
	if err != nil {
		return nil, err
	}
	return &Reader{rd: rd}, nil
}

// Remove deletes the run's file. It is idempotent.
func (r *Run) Remove() error {
	if r.name == "" {
		return nil
	}
	err := r.d.fs.Remove(r.name)
	r.name = ""
	if err != nil && !isNotExist(err) {
		return newError("remove spill file", r.d.path, err)
	}
	return nil
}

// Reader iterates the entries of one partition of a Run in the order they
// were added. It holds about 135 KiB (more while an entry is longer than
// 32 KiB) and an open file, and does not allocate per entry. One goroutine
// at a time.
type Reader struct {
	rd         *reader
	hash       uint64
	key, state []byte
}

// Next advances to the next entry; it returns false at the end or on error.
func (rd *Reader) Next() bool {
	var ok bool
	rd.hash, rd.key, rd.state, ok = rd.rd.nextEntry()
	return ok
}

// Entry returns the current entry. key and state point into the Reader's
// buffer: they are valid until the next call to Next or Close and must not be
// modified.
func (rd *Reader) Entry() (hash uint64, key, state []byte) { return rd.hash, rd.key, rd.state }

// Err returns the error that stopped Next, if any.
func (rd *Reader) Err() error { return rd.rd.err }

// Close releases the Reader's file and buffers.
func (rd *Reader) Close() error { return rd.rd.close() }
