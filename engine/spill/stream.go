package spill

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/klauspost/compress/s2"
)

const (
	// blockSize is the uncompressed size of an s2 block and the capacity of
	// each stream's record buffer in a writer.
	blockSize = 32 << 10
	// fileBufSize buffers the compressed output of a writer.
	fileBufSize = 64 << 10
	// readBufSize buffers the compressed input of a reader, and is the
	// initial size of its window of decompressed records.
	readBufSize = 32 << 10
	// readerMem is about what one open reader holds: the file buffer, the s2
	// reader's compressed and decompressed block and the record window.
	readerMem = readBufSize + blockSize*7/6 + blockSize + readBufSize + 1<<10
)

// extent is a byte range of a spill file.
type extent struct{ off, n int64 }

// stream is one s2 stream inside a spill file: a partition of a Run, or the
// single stream of a sorted run. Its bytes are the extents concatenated.
type stream struct {
	ext  []extent
	n    int64 // records
	size int64 // uncompressed bytes
}

// writer writes len(streams) interleaved s2 streams into one file. Records
// of stream p collect in bufs[p]; a full buffer is compressed as one s2 block
// (preceded by the 10-byte stream identifier, so any prefix of a stream's
// chunks is itself a valid stream) and appended to the file, and its extent
// recorded. Memory: len(streams) × blockSize of record buffers (allocated on
// first use), fileBufSize, the s2 writer's two block buffers (~2.2 × blockSize)
// and 16 bytes per flushed block for the extent list. A record longer than
// blockSize gets a buffer of its own size until it is flushed.
//
// A writer is used by one goroutine. After an error it has already closed and
// removed its file, and returns the same error from every method.
type writer struct {
	d       *Dir
	f       File
	sink    countingWriter
	bw      *bufio.Writer
	zw      *s2.Writer
	off     int64 // bytes handed to bw
	cur     int   // stream zw writes to
	bufs    [][]byte
	streams []stream
	err     error
	done    bool
}

func newWriter(d *Dir, prefix string, nstreams int) (*writer, error) {
	f, err := d.create(prefix)
	if err != nil {
		return nil, err
	}
	w := &writer{
		d:       d,
		f:       f,
		zw:      s2.NewWriter(nil, s2.WriterConcurrency(1), s2.WriterBlockSize(blockSize)),
		bufs:    make([][]byte, nstreams),
		streams: make([]stream, nstreams),
	}
	w.sink = countingWriter{f: f, d: d}
	w.bw = bufio.NewWriterSize(&w.sink, fileBufSize)
	return w, nil
}

// countingWriter adds what reaches the file to Dir.Bytes.
type countingWriter struct {
	f File
	d *Dir
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.d.bytes.Add(int64(n))
	return n, err
}

// Write is the destination of zw: it appends p to the file as part of
// stream w.cur.
func (w *writer) Write(p []byte) (int, error) {
	s := &w.streams[w.cur]
	if k := len(s.ext) - 1; k >= 0 && s.ext[k].off+s.ext[k].n == w.off {
		s.ext[k].n += int64(len(p))
	} else {
		s.ext = append(s.ext, extent{off: w.off, n: int64(len(p))})
	}
	n, err := w.bw.Write(p)
	w.off += int64(n)
	return n, err
}

// room makes space for a record of n bytes in stream p's buffer.
func (w *writer) room(p, n int) error {
	if w.err != nil {
		return w.err
	}
	b := w.bufs[p]
	if len(b)+n <= cap(b) {
		return nil
	}
	if len(b) > 0 {
		if err := w.flush(p); err != nil {
			return err
		}
		b = w.bufs[p]
	}
	if n > cap(b) {
		w.bufs[p] = make([]byte, 0, max(n, blockSize))
	}
	return nil
}

// flush compresses stream p's buffer into the file.
func (w *writer) flush(p int) error {
	w.cur = p
	w.zw.Reset(w)
	if err := w.zw.EncodeBuffer(w.bufs[p]); err != nil {
		return w.fail("write spill file", err)
	}
	if cap(w.bufs[p]) > blockSize {
		w.bufs[p] = nil // a long record's buffer
	} else {
		w.bufs[p] = w.bufs[p][:0]
	}
	return nil
}

// addEntry appends uvarint(len(key)) key uvarint(len(state)) state hash
// (8 bytes, little endian) to stream p.
func (w *writer) addEntry(p int, hash uint64, key, state []byte) error {
	n := uvarintLen(len(key)) + len(key) + uvarintLen(len(state)) + len(state) + 8
	if err := w.room(p, n); err != nil {
		return err
	}
	b := w.bufs[p]
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(state)))
	b = append(b, state...)
	w.bufs[p] = binary.LittleEndian.AppendUint64(b, hash)
	w.streams[p].n++
	w.streams[p].size += int64(n)
	return nil
}

// addRow appends uvarint(len(row)) row to stream 0.
func (w *writer) addRow(row []byte) error {
	n := uvarintLen(len(row)) + len(row)
	if err := w.room(0, n); err != nil {
		return err
	}
	b := binary.AppendUvarint(w.bufs[0], uint64(len(row)))
	w.bufs[0] = append(b, row...)
	w.streams[0].n++
	w.streams[0].size += int64(n)
	return nil
}

// close flushes every stream and closes the file; on error the file is
// removed. The buffers are released either way.
func (w *writer) close() error {
	if w.err != nil {
		return w.err
	}
	for p := range w.bufs {
		if len(w.bufs[p]) > 0 {
			if err := w.flush(p); err != nil {
				return err
			}
		}
	}
	if err := w.bw.Flush(); err != nil {
		return w.fail("write spill file", err)
	}
	w.done = true
	err := w.f.Close()
	w.release()
	if err != nil {
		w.d.fs.Remove(w.f.Name())
		w.err = newError("write spill file", w.d.path, err)
		return w.err
	}
	w.err = errAborted
	return nil
}

// fail records err, then closes and removes the file.
func (w *writer) fail(verb string, err error) error {
	w.err = newError(verb, w.d.path, err)
	w.abort()
	return w.err
}

// abort closes and removes the file unless close succeeded.
func (w *writer) abort() {
	if w.err == nil && !w.done {
		w.err = errAborted
	}
	if !w.done {
		w.done = true
		w.f.Close()
		w.d.fs.Remove(w.f.Name())
	}
	w.release()
}

func (w *writer) release() {
	w.bufs, w.bw, w.zw = nil, nil, nil
}

func uvarintLen(n int) int { return (bits.Len64(uint64(n)|1) + 6) / 7 }

// reader parses the records of one stream. Records are sliced out of a window
// of decompressed bytes (readBufSize, grown to the longest record), so a
// record stays valid until the next call. Memory: about readerMem.
type reader struct {
	d    *Dir
	f    File // nil for an empty stream
	src  extentReader
	zr   *s2.Reader
	buf  []byte
	r, w int
	eof  bool
	left int64 // uncompressed bytes of records not yet returned
	err  error
}

// openStream opens stream s of the file name in d.
func openStream(d *Dir, name string, s *stream) (*reader, error) {
	rd := &reader{d: d, left: s.size}
	if s.size == 0 {
		return rd, nil
	}
	f, err := d.fs.Open(name)
	if err != nil {
		return nil, newError("open spill file", d.path, err)
	}
	rd.f = f
	rd.src = extentReader{f: f, ext: s.ext}
	rd.zr = s2.NewReader(bufio.NewReaderSize(&rd.src, readBufSize), s2.ReaderMaxBlockSize(blockSize))
	rd.buf = make([]byte, readBufSize)
	return rd, nil
}

// ensure makes k bytes available in buf[r:w]; it returns false at the end of
// the stream or on error.
func (rd *reader) ensure(k int) bool {
	for rd.w-rd.r < k {
		if rd.eof || rd.err != nil {
			return false
		}
		if len(rd.buf)-rd.r < k {
			if k > len(rd.buf) {
				nb := make([]byte, max(k, 2*len(rd.buf)))
				copy(nb, rd.buf[rd.r:rd.w])
				rd.buf = nb
			} else {
				copy(rd.buf, rd.buf[rd.r:rd.w])
			}
			rd.w -= rd.r
			rd.r = 0
		}
		n, err := rd.zr.Read(rd.buf[rd.w:])
		rd.w += n
		if err == io.EOF {
			rd.eof = true
		} else if err != nil {
			rd.err = newError("read spill file", rd.d.path, err)
		}
	}
	return true
}

// uvarint decodes the uvarint at buf[r+pos:], returning its value and
// length, or length 0 on error.
func (rd *reader) uvarint(pos int) (uint64, int) {
	for {
		v, n := binary.Uvarint(rd.buf[rd.r+pos : rd.w])
		if n > 0 {
			return v, n
		}
		if n < 0 || !rd.ensure(rd.w-rd.r+1) {
			rd.corrupt()
			return 0, 0
		}
	}
}

// corrupt records errCorrupt unless an I/O error explains the problem.
func (rd *reader) corrupt() {
	if rd.err == nil {
		rd.err = newError("read spill file", rd.d.path, errCorrupt)
	}
}

// record makes the record of length end available, checking it against
// what is left of the stream.
func (rd *reader) record(end uint64) bool {
	if end > uint64(rd.left) || !rd.ensure(int(end)) {
		rd.corrupt()
		return false
	}
	return true
}

// nextEntry returns the next record written by addEntry.
func (rd *reader) nextEntry() (hash uint64, key, state []byte, ok bool) {
	if rd.left == 0 || rd.err != nil {
		return 0, nil, nil, false
	}
	klen, n1 := rd.uvarint(0)
	if n1 == 0 || !rd.record(uint64(n1)+min(klen, uint64(rd.left))+1) {
		return 0, nil, nil, false
	}
	pos := n1 + int(klen)
	slen, n2 := rd.uvarint(pos)
	if n2 == 0 {
		return 0, nil, nil, false
	}
	end := uint64(pos+n2) + min(slen, uint64(rd.left)) + 8
	if !rd.record(end) {
		return 0, nil, nil, false
	}
	b := rd.buf[rd.r : rd.r+int(end)]
	key = b[n1:pos:pos]
	state = b[pos+n2 : len(b)-8 : len(b)-8]
	hash = binary.LittleEndian.Uint64(b[len(b)-8:])
	rd.r += len(b)
	rd.left -= int64(len(b))
	return hash, key, state, true
}

// nextRow returns the next record written by addRow.
func (rd *reader) nextRow() ([]byte, bool) {
	if rd.left == 0 || rd.err != nil {
		return nil, false
	}
	n, k := rd.uvarint(0)
	if k == 0 {
		return nil, false
	}
	end := uint64(k) + min(n, uint64(rd.left))
	if !rd.record(end) {
		return nil, false
	}
	row := rd.buf[rd.r+k : rd.r+int(end) : rd.r+int(end)]
	rd.r += int(end)
	rd.left -= int64(end)
	return row, true
}

func (rd *reader) close() error {
	rd.buf, rd.zr, rd.r, rd.w, rd.left = nil, nil, 0, 0, 0
	if rd.f == nil {
		return nil
	}
	f := rd.f
	rd.f = nil
	if err := f.Close(); err != nil {
		return newError("close spill file", rd.d.path, err)
	}
	return nil
}

// extentReader reads a list of extents of f in order.
type extentReader struct {
	f   io.ReaderAt
	ext []extent
	off int64 // into ext[0]
}

func (e *extentReader) Read(p []byte) (int, error) {
	if len(e.ext) == 0 {
		return 0, io.EOF
	}
	x := e.ext[0]
	if rest := x.n - e.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := e.f.ReadAt(p, x.off+e.off)
	e.off += int64(n)
	if e.off == x.n {
		e.ext, e.off = e.ext[1:], 0
	}
	if n == len(p) {
		return n, nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // the file is shorter than written
	}
	return n, err
}
