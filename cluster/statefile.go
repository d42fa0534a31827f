package cluster

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/writers"
)

// Version is the state file format version this package writes and reads.
// 2: an aggregate's groups are in hash partitions (engine/hashagg).
// 3: in segments in any order, its rows and key types after them.
// 4: in 1,024 partitions, not 256; a sorted row holds the text of an
// ascending text key once, in its order section (engine/sorter).
const Version = 4

// MaxShards is the largest shard count: shard numbers have four digits in
// file names, so names sort by shard and parse one way.
const MaxShards = 9999

// DefaultBlockSize is the block size of the body a Writer uses: large
// enough that a block's checksum and read cost nothing beside its bytes,
// small enough that a merge of many shards holds one block of each.
const DefaultBlockSize = 256 << 10

// The bounds of a body's block size a reader accepts.
const (
	MinBlockSize = 64
	MaxBlockSize = 16 << 20
)

const (
	magic        = "GDASKST\n"
	prologueLen  = 32
	headerFixed  = 80
	unitLen      = 20
	crcLen       = 4
	maxHeaderLen = 64 << 20 // some 3.3 million units
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Kind is what a body holds. The engine defines the bytes of each.
type Kind uint32

const (
	RowsInOrder     Kind = 1 // filter, select: the shard's output rows in input order
	SortedRun       Kind = 2 // sort: the shard's rows sorted
	AggregateStates Kind = 3 // groupby, value-counts, distinct: merged states
	Count           Kind = 4 // count
)

func (k Kind) String() string {
	switch k {
	case RowsInOrder:
		return "rows in order"
	case SortedRun:
		return "sorted run"
	case AggregateStates:
		return "aggregate states"
	case Count:
		return "count"
	}
	return "kind " + strconv.FormatUint(uint64(k), 10)
}

func (k Kind) valid() bool { return k >= RowsInOrder && k <= Count }

// Unit is a part of an input a shard read: bytes [Start, End) of the
// input at Input (its ordinal in the plan's inputs). A stream input, which
// one shard reads whole, is the unit {Input, 0, -1}.
type Unit struct {
	Input      int
	Start, End int64
}

func (u Unit) valid() bool {
	return u.Input >= 0 && uint64(u.Input) <= math.MaxUint32 && u.Start >= 0 &&
		(u.End >= u.Start || u.End == -1 && u.Start == 0)
}

// Header is what a state file says about itself (the package doc gives
// its bytes).
type Header struct {
	Version   int      // format version
	PlanHash  [32]byte // SHA-256 of the optimised plan's canonical text
	Shard     int      // i, from 0
	Shards    int      // N
	Kind      Kind     // what the body holds
	Units     []Unit   // the parts of the inputs the shard read
	RowsRead  int64
	BytesRead int64
	BodyLen   int64  // length of the body
	BodyCRC   uint32 // CRC-32C of the body
	BlockSize int    // the body's block size
}

// Name returns the base name of the state file of shard i of n.
func Name(i, n int) string { return fmt.Sprintf("shard-%04d-of-%04d.state", i, n) }

// Path returns the path of the state file of shard i of n in dir.
func Path(dir string, i, n int) string { return filepath.Join(dir, Name(i, n)) }

// ParseName returns the shard and count a state file's base name gives,
// and whether it is such a name: exactly what Name makes.
func ParseName(name string) (i, n int, ok bool) {
	const pre, mid, suf = "shard-", "-of-", ".state"
	if len(name) != len(pre)+4+len(mid)+4+len(suf) || name[:6] != pre || name[10:14] != mid || name[18:] != suf {
		return 0, 0, false
	}
	i, ok1 := digits4(name[6:10])
	n, ok2 := digits4(name[14:18])
	if !ok1 || !ok2 || n < 1 || i >= n {
		return 0, 0, false
	}
	return i, n, true
}

func digits4(s string) (int, bool) {
	v := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// framedLen is the length of a body of l bytes in blocks of b bytes, each
// followed by its checksum.
func framedLen(l int64, b int) int64 {
	blocks := (l + int64(b) - 1) / int64(b)
	return l + crcLen*blocks
}

func (h *Header) encodedLen() int { return headerFixed + unitLen*len(h.Units) }

// appendHeader appends the header's bytes to b.
func (h *Header) appendHeader(b []byte) []byte {
	le := binary.LittleEndian
	b = append(b, h.PlanHash[:]...)
	b = le.AppendUint32(b, uint32(h.Shard))
	b = le.AppendUint32(b, uint32(h.Shards))
	b = le.AppendUint32(b, uint32(h.Kind))
	b = le.AppendUint32(b, uint32(h.BlockSize))
	b = le.AppendUint64(b, uint64(h.RowsRead))
	b = le.AppendUint64(b, uint64(h.BytesRead))
	b = le.AppendUint64(b, uint64(h.BodyLen))
	b = le.AppendUint32(b, h.BodyCRC)
	b = le.AppendUint32(b, uint32(len(h.Units)))
	for _, u := range h.Units {
		b = le.AppendUint32(b, uint32(u.Input))
		b = le.AppendUint64(b, uint64(u.Start))
		b = le.AppendUint64(b, uint64(u.End))
	}
	return b
}

// decodeHeader reads the header's bytes and checks its fields, each alone
// and against the others; it returns why they do not hold, or "".
func decodeHeader(b []byte) (Header, string) {
	le := binary.LittleEndian
	var h Header
	if len(b) < headerFixed {
		return h, "header too short"
	}
	h.Version = Version
	copy(h.PlanHash[:], b)
	h.Shard = int(le.Uint32(b[32:]))
	h.Shards = int(le.Uint32(b[36:]))
	h.Kind = Kind(le.Uint32(b[40:]))
	h.BlockSize = int(le.Uint32(b[44:]))
	h.RowsRead = int64(le.Uint64(b[48:]))
	h.BytesRead = int64(le.Uint64(b[56:]))
	h.BodyLen = int64(le.Uint64(b[64:]))
	h.BodyCRC = le.Uint32(b[72:])
	units := int64(le.Uint32(b[76:]))
	switch {
	case h.Shards < 1 || h.Shards > MaxShards:
		return h, fmt.Sprintf("shard count %d out of range", h.Shards)
	case h.Shard < 0 || h.Shard >= h.Shards:
		return h, fmt.Sprintf("shard %d of %d", uint32(h.Shard), h.Shards)
	case !h.Kind.valid():
		return h, "unknown body " + h.Kind.String()
	case h.BlockSize < MinBlockSize || h.BlockSize > MaxBlockSize:
		return h, fmt.Sprintf("block size %d out of range", h.BlockSize)
	case h.RowsRead < 0:
		return h, fmt.Sprintf("%d rows read", h.RowsRead)
	case h.BytesRead < 0:
		return h, fmt.Sprintf("%d bytes read", h.BytesRead)
	case h.BodyLen < 0:
		return h, fmt.Sprintf("a body of %d bytes", h.BodyLen)
	case int64(len(b)) != headerFixed+unitLen*units:
		return h, fmt.Sprintf("header of %d bytes for %d units", len(b), units)
	}
	h.Units = make([]Unit, units)
	for k := range h.Units {
		u := b[headerFixed+unitLen*k:]
		h.Units[k] = Unit{Input: int(le.Uint32(u)), Start: int64(le.Uint64(u[4:])), End: int64(le.Uint64(u[12:]))}
		if !h.Units[k].valid() {
			return h, fmt.Sprintf("unit %d is bytes %d to %d", k, h.Units[k].Start, h.Units[k].End)
		}
	}
	return h, ""
}

// prologue returns the 32 bytes that start a file whose header, of hl
// bytes with checksum hcrc, starts at ho.
func prologue(hl int, ho int64, hcrc uint32) []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, prologueLen)
	b = append(b, magic...)
	b = le.AppendUint32(b, Version)
	b = le.AppendUint32(b, uint32(hl))
	b = le.AppendUint64(b, uint64(ho))
	b = le.AppendUint32(b, hcrc)
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// Writer writes a state file: Create, the body through Write, then Commit
// or Abort. Until Commit returns nil nothing is at the file's path but
// what was there before (a previous run of the shard, or nothing). A
// Writer is not safe for concurrent use; writers of different shards may
// share a directory.
type Writer struct {
	path string
	h    Header
	f    *writers.AtomicFile
	at   io.WriterAt
	buf  []byte // the block being filled, with room for its checksum
	crc  uint32 // running checksum of the body written
	n    int64  // body bytes written
	err  error  // the first error; every later call returns it
	done bool   // after Commit or Abort
}

// Create starts the state file of shard i of n of the plan whose hash is
// planHash, its body of the given kind, in dir, which must exist.
func Create(dir string, planHash [32]byte, i, n int, kind Kind) (*Writer, error) {
	return create(dir, planHash, i, n, kind, DefaultBlockSize)
}

func create(dir string, planHash [32]byte, i, n int, kind Kind, blockSize int) (*Writer, error) {
	switch {
	case n < 1 || n > MaxShards:
		return nil, fmt.Errorf("shard count %d: must be from 1 to %d", n, MaxShards)
	case i < 0 || i >= n:
		return nil, fmt.Errorf("shard %d of %d: must be from 0 to %d", i, n, n-1)
	case !kind.valid():
		return nil, fmt.Errorf("state file body: unknown %v", kind)
	case blockSize < MinBlockSize || blockSize > MaxBlockSize:
		return nil, fmt.Errorf("state file block size %d out of range", blockSize)
	}
	path := Path(dir, i, n)
	f, err := writers.CreateAtomic(path)
	if err != nil {
		return nil, err
	}
	at, ok := f.WriterAt()
	if !ok {
		f.Abort()
		return nil, fmt.Errorf("cannot create %s: not a regular file", fsname.Quote(path))
	}
	w := &Writer{
		path: path,
		h:    Header{Version: Version, PlanHash: planHash, Shard: i, Shards: n, Kind: kind, BlockSize: blockSize},
		f:    f,
		at:   at,
		buf:  make([]byte, 0, blockSize+crcLen),
	}
	// The prologue is zeros until Commit knows what it says.
	if _, err := f.Write(make([]byte, prologueLen)); err != nil {
		f.Abort()
		return nil, w.ioErr(err)
	}
	return w, nil
}

// Path returns the path the state file appears at on Commit.
func (w *Writer) Path() string { return w.path }

// Len returns the number of body bytes written so far.
func (w *Writer) Len() int64 { return w.n }

func (w *Writer) ioErr(err error) error {
	return fmt.Errorf("cannot write %s: %w", fsname.Quote(w.path), fsname.Cause(err))
}

// Write appends p to the body.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.done {
		return 0, fmt.Errorf("cannot write %s: already committed or aborted", fsname.Quote(w.path))
	}
	written := 0
	for len(p) > 0 {
		k := min(len(p), w.h.BlockSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		written += k
		w.n += int64(k)
		if len(w.buf) == w.h.BlockSize {
			if err := w.flush(); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// flush writes the block being filled and its running checksum.
func (w *Writer) flush() error {
	w.crc = crc32.Update(w.crc, castagnoli, w.buf)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, w.crc)
	if _, err := w.f.Write(w.buf); err != nil {
		w.err = w.ioErr(err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Commit ends the body, writes the header with what the shard read (the
// units it covered, rows and bytes read), syncs the file and renames it
// into place. On any error, the temp file is removed and nothing appears.
func (w *Writer) Commit(units []Unit, rowsRead, bytesRead int64) error {
	if w.done {
		return fmt.Errorf("cannot commit %s: already committed or aborted", fsname.Quote(w.path))
	}
	err := w.commit(units, rowsRead, bytesRead)
	if err != nil {
		w.f.Abort()
	}
	w.done = true
	return err
}

func (w *Writer) commit(units []Unit, rowsRead, bytesRead int64) error {
	if w.err != nil {
		return w.err
	}
	for k, u := range units {
		if !u.valid() {
			return fmt.Errorf("cannot commit %s: unit %d is input %d bytes %d to %d", fsname.Quote(w.path), k, u.Input, u.Start, u.End)
		}
	}
	if rowsRead < 0 || bytesRead < 0 {
		return fmt.Errorf("cannot commit %s: %d rows and %d bytes read", fsname.Quote(w.path), rowsRead, bytesRead)
	}
	if len(w.buf) > 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	h := &w.h
	h.Units = append([]Unit(nil), units...)
	h.RowsRead, h.BytesRead = rowsRead, bytesRead
	h.BodyLen, h.BodyCRC = w.n, w.crc
	if h.encodedLen() > maxHeaderLen {
		return fmt.Errorf("cannot commit %s: %d units is too many", fsname.Quote(w.path), len(units))
	}
	hb := h.appendHeader(make([]byte, 0, h.encodedLen()))
	if _, err := w.f.Write(hb); err != nil {
		return w.ioErr(err)
	}
	ho := prologueLen + framedLen(w.n, h.BlockSize)
	if _, err := w.at.WriteAt(prologue(len(hb), ho, crc32.Checksum(hb, castagnoli)), 0); err != nil {
		return w.ioErr(err)
	}
	return w.f.Commit()
}

// Abort removes the temp file; nothing appears at the path. It does
// nothing after Commit or Abort, so it can be deferred.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	return w.f.Abort()
}

// Reader reads a state file's body, checking each block before it gives
// out any of its bytes: a damaged or truncated body is an *Error, never a
// wrong byte. Header is the file's header, checked by its checksum.
type Reader struct {
	Header Header

	path    string
	f       *os.File
	ra      io.ReaderAt
	hint    string
	next    int64        // file offset of the next block
	block   int64        // index of the next block
	left    int64        // body bytes in the blocks not yet read
	crc     uint32       // running checksum up to the next block
	buf     []byte       // a block and its checksum, made on the first read that needs it
	sum     [crcLen]byte // a block's checksum, read apart from a block read in place (Read's alone)
	pending []byte       // checked bytes not yet returned
	err     error
}

// Open opens the state file at path and checks its prologue and header:
// a file that is not a state file, of another version, truncated, or
// whose prologue or header does not match its checksum is an *Error. The
// body is checked as it is read.
func Open(path string) (*Reader, error) {
	i, n, named := ParseName(filepath.Base(path))
	if !named {
		i, n = -1, 0
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, openErr(path, i, n, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Path: path, Shard: i, Shards: n, Kind: ErrNotState, Detail: "not a regular file", Hint: "remove it"}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, i, n, err)
	}
	fi, err = f.Stat()
	if err != nil {
		f.Close()
		return nil, openErr(path, i, n, err)
	}
	r, err := newReader(path, f, fi.Size(), i, n)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.f = f
	return r, nil
}

func openErr(path string, i, n int, err error) error {
	e := &Error{Path: path, Shard: i, Shards: n, Kind: ErrUnreadable, Err: err}
	if errors.Is(err, os.ErrNotExist) {
		e.Kind, e.Err = ErrMissing, nil
		e.Hint = "run shard " + shardName(i, n)
		if i < 0 {
			e.Hint = ""
		}
	}
	return e
}

// newReader reads and checks the prologue and header of the size bytes of
// ra. i and n are the shard the file's name says, or -1 and 0.
func newReader(path string, ra io.ReaderAt, size int64, i, n int) (*Reader, error) {
	bad := func(kind error, detail string) error {
		return &Error{Path: path, Shard: i, Shards: n, Kind: kind, Detail: detail, Hint: rerun(i, n)}
	}
	le := binary.LittleEndian
	var p [prologueLen]byte
	k, err := ra.ReadAt(p[:min(size, prologueLen)], 0)
	if err != nil && err != io.EOF {
		return nil, &Error{Path: path, Shard: i, Shards: n, Kind: ErrUnreadable, Err: err}
	}
	if int64(k) < min(size, prologueLen) {
		return nil, bad(ErrTruncated, fmt.Sprintf("the file shrank to %d bytes while it was read", k))
	}
	if size < prologueLen {
		// Too short to say anything but whether it starts like one.
		m := min(int(size), len(magic))
		if string(p[:m]) != magic[:m] {
			return nil, &Error{Path: path, Shard: i, Shards: n, Kind: ErrNotState, Hint: notStateHint(i, n)}
		}
		return nil, bad(ErrTruncated, fmt.Sprintf("%d bytes, shorter than the %d of a prologue", size, prologueLen))
	}
	if le.Uint32(p[28:]) != crc32.Checksum(p[:28], castagnoli) {
		if string(p[:8]) != magic {
			// A state file whose magic alone was damaged still checks
			// with the magic put back.
			var q [28]byte
			copy(q[:], p[:28])
			copy(q[:], magic)
			if le.Uint32(p[28:]) != crc32.Checksum(q[:], castagnoli) {
				return nil, &Error{Path: path, Shard: i, Shards: n, Kind: ErrNotState, Hint: notStateHint(i, n)}
			}
		}
		return nil, bad(ErrCorrupt, "the prologue does not match its checksum")
	}
	if string(p[:8]) != magic {
		return nil, bad(ErrCorrupt, "the prologue checks, but its magic is not gdask's")
	}
	if v := le.Uint32(p[8:]); v != Version {
		return nil, bad(ErrVersion, fmt.Sprintf("version %d, this gdask reads version %d", v, Version))
	}
	hl := int64(le.Uint32(p[12:]))
	ho := le.Uint64(p[16:])
	hcrc := le.Uint32(p[24:])
	if hl < headerFixed || hl > maxHeaderLen || ho < prologueLen || ho > math.MaxInt64-uint64(hl) {
		return nil, bad(ErrCorrupt, fmt.Sprintf("the prologue puts a header of %d bytes at byte %d", hl, ho))
	}
	want := int64(ho) + hl
	switch {
	case size < want:
		return nil, bad(ErrTruncated, fmt.Sprintf("%d bytes of %d", size, want))
	case size > want:
		return nil, bad(ErrCorrupt, fmt.Sprintf("%d bytes, %d more than its prologue says", size, size-want))
	}
	hb := make([]byte, hl)
	if k, err := ra.ReadAt(hb, int64(ho)); k < len(hb) {
		if err == io.EOF || err == nil {
			return nil, bad(ErrTruncated, "the file shrank while it was read")
		}
		return nil, &Error{Path: path, Shard: i, Shards: n, Kind: ErrUnreadable, Err: err}
	}
	if crc32.Checksum(hb, castagnoli) != hcrc {
		return nil, bad(ErrCorrupt, "the header does not match its checksum")
	}
	h, why := decodeHeader(hb)
	if why != "" {
		return nil, bad(ErrCorrupt, "the header checks, but: "+why)
	}
	if i < 0 {
		i, n = h.Shard, h.Shards
	}
	if got := prologueLen + framedLen(h.BodyLen, h.BlockSize); got != int64(ho) {
		return nil, bad(ErrCorrupt, fmt.Sprintf("a body of %d bytes ends at byte %d, the header starts at %d", h.BodyLen, got, ho))
	}
	if h.BodyLen == 0 && h.BodyCRC != 0 {
		return nil, bad(ErrCorrupt, "an empty body with a checksum")
	}
	return &Reader{
		Header: h,
		path:   path,
		ra:     ra,
		hint:   rerun(i, n),
		next:   prologueLen,
		left:   h.BodyLen,
	}, nil
}

func notStateHint(i, n int) string {
	if i < 0 {
		return ""
	}
	return "remove it and run shard " + shardName(i, n) + " again"
}

// bodyErr is the error for a block that does not check.
func (r *Reader) bodyErr(kind error, block int64, detail string) error {
	b := int64(r.Header.BlockSize)
	end := min((block+1)*b, r.Header.BodyLen)
	return &Error{Path: r.path, Shard: r.Header.Shard, Shards: r.Header.Shards, Kind: kind, Hint: r.hint,
		Detail: fmt.Sprintf("body block %d (body bytes %d to %d) %s", block, block*b, end, detail)}
}

// readBlock reads block k, which starts at file offset off and holds n
// body bytes, into buf (at least n+4 bytes), and checks it against the
// running checksum crc of the blocks before it. It returns the running
// checksum after it. A buf with room for the block but not its checksum
// (a bufio.Reader's buffer of the block size) takes the block, and the
// checksum is read apart: the block is read in place, not copied.
func (r *Reader) readBlock(buf []byte, k, off int64, n int, crc uint32) (uint32, error) {
	var sum []byte
	short := func(m, want int, err error) error {
		if m == want {
			return nil
		}
		if err == nil || err == io.EOF {
			return r.bodyErr(ErrTruncated, k, "is cut short: the file shrank after it was opened")
		}
		return &Error{Path: r.path, Shard: r.Header.Shard, Shards: r.Header.Shards, Kind: ErrUnreadable, Err: err}
	}
	if len(buf) >= n+crcLen {
		m, err := r.ra.ReadAt(buf[:n+crcLen], off)
		if err := short(m, n+crcLen, err); err != nil {
			return 0, err
		}
		sum = buf[n : n+crcLen]
	} else {
		m, err := r.ra.ReadAt(buf[:n], off)
		if err := short(m, n, err); err != nil {
			return 0, err
		}
		sum = r.sum[:]
		m, err = r.ra.ReadAt(sum, off+int64(n))
		if err := short(m, crcLen, err); err != nil {
			return 0, err
		}
	}
	crc = crc32.Update(crc, castagnoli, buf[:n])
	if binary.LittleEndian.Uint32(sum) != crc {
		return 0, r.bodyErr(ErrCorrupt, k, "does not match its checksum")
	}
	if int64(k+1)*int64(r.Header.BlockSize) >= r.Header.BodyLen && crc != r.Header.BodyCRC {
		return 0, r.bodyErr(ErrCorrupt, k, "ends the body with a checksum the header does not have")
	}
	return crc, nil
}

// nextBlock reads the next block into p if it has room for it, else into
// the Reader's buffer; it returns the block's bytes.
func (r *Reader) nextBlock(p []byte) ([]byte, error) {
	n := int(min(int64(r.Header.BlockSize), r.left))
	buf := p
	if len(p) < n {
		// Made here, not by Open: a Reader that checks a header only
		// (Status) reads no block.
		if r.buf == nil {
			r.buf = make([]byte, min(int64(r.Header.BlockSize), r.Header.BodyLen)+crcLen)
		}
		buf = r.buf
	}
	crc, err := r.readBlock(buf, r.block, r.next, n, r.crc)
	if err != nil {
		r.err = err
		return nil, err
	}
	r.crc = crc
	r.next += int64(n + crcLen)
	r.block++
	r.left -= int64(n)
	return buf[:n], nil
}

// Read reads the body. At its end it returns io.EOF; every byte it
// returned was checked.
func (r *Reader) Read(p []byte) (int, error) {
	if len(r.pending) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.left == 0 {
			return 0, io.EOF
		}
		if len(p) == 0 {
			return 0, nil
		}
		b, err := r.nextBlock(p)
		if err != nil {
			return 0, err
		}
		if len(b) > 0 && &b[0] == &p[0] {
			return len(b), nil // read in place
		}
		r.pending = b
	}
	n := copy(p, r.pending)
	r.pending = r.pending[n:]
	return n, nil
}

// ReadBodyAt reads len(p) bytes of the body from body offset off, from
// the same open file as Read, without the block checksums: it is for a
// reader that read those bytes through Read before and checks them again
// itself (a merge indexes its shards' states as it reads them, with a
// checksum of each piece, and reads the pieces again when it merges
// them). It is safe for concurrent use, and with Read.
func (r *Reader) ReadBodyAt(p []byte, off int64) (int, error) {
	if off < 0 || off > r.Header.BodyLen-int64(len(p)) {
		return 0, fmt.Errorf("%s: body bytes %d to %d of %d", fsname.Quote(r.path), off, off+int64(len(p)), r.Header.BodyLen)
	}
	b := int64(r.Header.BlockSize)
	done := 0
	for done < len(p) {
		k, in := off/b, off%b
		n := int(min(int64(len(p)-done), b-in))
		m, err := r.ra.ReadAt(p[done:done+n], prologueLen+k*(b+crcLen)+in)
		done += m
		if m < n {
			if err == nil || err == io.EOF {
				return done, r.bodyErr(ErrTruncated, k, "is cut short: the file shrank after it was opened")
			}
			return done, &Error{Path: r.path, Shard: r.Header.Shard, Shards: r.Header.Shards, Kind: ErrUnreadable, Err: err}
		}
		off += int64(n)
	}
	return done, nil
}

// WriteTo writes the rest of the body to w, a checked block at a time.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.pending) > 0 {
			n, err := w.Write(r.pending)
			total += int64(n)
			if err == nil && n < len(r.pending) {
				err = io.ErrShortWrite
			}
			r.pending = r.pending[n:]
			if err != nil {
				return total, err
			}
		}
		if r.err != nil {
			return total, r.err
		}
		if r.left == 0 {
			return total, nil
		}
		b, err := r.nextBlock(nil)
		if err != nil {
			return total, err
		}
		r.pending = b
	}
}

// Verify checks the whole body, from the first block to the last, without
// moving the Reader: a merge calls it on every shard before it writes any
// output. It reads the same open file as Read, so a state file renamed
// over this one meanwhile (a shard run again) does not come between the
// check and the read.
func (r *Reader) Verify() error {
	b := int64(r.Header.BlockSize)
	buf := make([]byte, min(b, r.Header.BodyLen)+crcLen)
	var crc uint32
	off := int64(prologueLen)
	for k, left := int64(0), r.Header.BodyLen; left > 0; k++ {
		n := int(min(b, left))
		var err error
		if crc, err = r.readBlock(buf, k, off, n, crc); err != nil {
			return err
		}
		off += int64(n + crcLen)
		left -= int64(n)
	}
	return nil
}

// Close closes the file.
func (r *Reader) Close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// Verify checks the state file at path whole, its body included, and
// returns its header.
func Verify(path string) (Header, error) {
	r, err := Open(path)
	if err != nil {
		return Header{}, err
	}
	defer r.Close()
	if err := r.Verify(); err != nil {
		return r.Header, err
	}
	return r.Header, nil
}

// shortHash is how messages show a plan hash: its first 8 bytes in hex.
func shortHash(h [32]byte) string { return hex.EncodeToString(h[:8]) }
