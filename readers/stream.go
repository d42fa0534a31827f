package readers

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/gdask/gdask/internal/fsname"
)

// Chunk is a record-aligned piece of a stream: Data holds whole records
// only. Offset and Line locate Data[0] in the decompressed stream.
type Chunk struct {
	Index  int
	Data   []byte
	Offset int64
	Line   int64
	Last   bool // no chunk follows
}

// Chunker cuts a stream (stdin, .gz, .zst) into record-aligned chunks of
// about size bytes so that a pool of workers can parse them in parallel
// (DESIGN §4). It tracks quote parity across the stream to tell whether a
// line end is inside a quoted field. It belongs to one goroutine.
type Chunker struct {
	r     io.Reader
	d     Dialect
	path  string
	size  int
	carry []byte // bytes read past the last cut
	off   int64  // stream offset of carry[0]
	line  int64  // line number of carry[0]
	eof   bool
	index int
}

// NewChunker reads r, which starts on line 1 at offset 0.
func NewChunker(r io.Reader, d Dialect, path string, size int) *Chunker {
	return &Chunker{r: r, d: d, path: path, size: size, line: 1}
}

// SkipBOM drops a UTF-8 BOM at the start of the stream.
func (c *Chunker) SkipBOM() error {
	if err := c.readAtLeast(3); err != nil {
		return err
	}
	if n := BOMLen(c.carry); n > 0 {
		c.carry = c.carry[n:]
		c.off += n
	}
	return nil
}

func (c *Chunker) readAtLeast(n int) error {
	for len(c.carry) < n && !c.eof {
		if err := c.read(max(n-len(c.carry), 64<<10)); err != nil {
			return err
		}
	}
	return nil
}

// read appends up to n more bytes of the stream to carry.
func (c *Chunker) read(n int) error {
	if cap(c.carry)-len(c.carry) < n {
		nb := make([]byte, len(c.carry), len(c.carry)+n)
		copy(nb, c.carry)
		c.carry = nb
	}
	for n > 0 && !c.eof {
		m, err := c.r.Read(c.carry[len(c.carry):cap(c.carry)])
		c.carry = c.carry[:len(c.carry)+m]
		n -= m
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return fmt.Errorf("cannot read %s: %w", fsname.Quote(c.path), fsname.Cause(err))
		}
	}
	return nil
}

// Next returns the next chunk, reusing buf's storage when it is big enough.
// It returns io.EOF after the last chunk. A chunk's Data is owned by the
// caller until it passes the storage back to Next.
func (c *Chunker) Next(buf []byte) (Chunk, error) {
	for {
		if len(c.carry) < c.size && !c.eof {
			if err := c.read(c.size - len(c.carry)); err != nil {
				return Chunk{}, err
			}
		}
		if len(c.carry) == 0 && c.eof {
			return Chunk{}, io.EOF
		}
		cut := len(c.carry)
		if !c.eof {
			cut = lastRecordEnd(c.carry)
		}
		if cut > 0 {
			return c.emit(buf, cut), nil
		}
		// No whole record yet: read more, within the record size bound
		// (the last byte may be the CR of the record's CRLF).
		if len(c.carry) > c.d.MaxRecordSize+1 {
			return Chunk{}, &ParseError{File: c.path, Line: c.line, Column: 1, Offset: c.off, Err: ErrRecordTooLarge}
		}
		if err := c.read(len(c.carry) + c.size); err != nil {
			return Chunk{}, err
		}
	}
}

func (c *Chunker) emit(buf []byte, cut int) Chunk {
	data := append(buf[:0], c.carry[:cut]...)
	ch := Chunk{Index: c.index, Data: data, Offset: c.off, Line: c.line}
	c.index++
	c.line += lineBreaks(data)
	c.off += int64(cut)
	rest := copy(c.carry, c.carry[cut:])
	c.carry = c.carry[:rest]
	ch.Last = c.eof && rest == 0
	return ch
}

// lastRecordEnd returns the offset just past the last line end in b that is
// outside quotes, taking b[0] as a record start; 0 if there is none. A CR
// as the last byte is not taken: its LF may follow.
func lastRecordEnd(b []byte) int {
	after := 0 // quotes after position i
	total := bytes.Count(b, []byte{'"'})
	for i := len(b) - 1; i >= 0; i-- {
		switch b[i] {
		case '"':
			after++
		case '\n':
			if (total-after)%2 == 0 {
				return i + 1
			}
		case '\r':
			if i+1 < len(b) && (total-after)%2 == 0 {
				return i + 1 // a lone CR; a CRLF was taken at its LF
			}
		}
	}
	return 0
}

// ErrAmbiguousSplit is reported when a chunk of a stream does not end on a
// record boundary: a quote inside an unquoted field made the quote parity
// disagree with the record structure.
var ErrAmbiguousSplit = errors.New("record boundaries are ambiguous: a quote inside an unquoted field; fix the quoting or raise --blocksize above the input size so it is read in one piece")

// ReadHeader reads the stream's header record (call after SkipBOM, before
// Next). With NoHeader the first record stays for Next and only its width
// names the columns.
func (c *Chunker) ReadHeader() (Header, error) {
	for {
		cut := len(c.carry)
		if !c.eof {
			cut = lastRecordEnd(c.carry)
		}
		if cut > 0 || c.eof {
			if cut == 0 {
				return Header{}, fmt.Errorf("cannot read %s: input is empty", fsname.Quote(c.path))
			}
			data := append([]byte(nil), c.carry[:cut]...)
			s := NewBytesScanner(data, c.d, c.path, c.off, c.line)
			h, err := ReadHeader(s, c.d, c.path)
			if err != nil {
				return h, err
			}
			if !c.d.NoHeader {
				n := int(h.DataStart - c.off)
				c.carry = c.carry[n:]
				c.off, c.line = h.DataStart, h.DataLine
			}
			return h, nil
		}
		if len(c.carry) > c.d.MaxRecordSize+1 { // as in Next
			return Header{}, &ParseError{File: c.path, Line: c.line, Column: 1, Offset: c.off, Err: ErrRecordTooLarge}
		}
		if err := c.read(max(len(c.carry), 64<<10)); err != nil {
			return Header{}, err
		}
	}
}

// Empty reports whether the stream has no bytes left.
func (c *Chunker) Empty() (bool, error) {
	if err := c.readAtLeast(1); err != nil {
		return false, err
	}
	return len(c.carry) == 0, nil
}

// CountRecords counts the records of whole-record data (a chunk). Data with
// no quote, CR or blank line is counted by its line ends alone.
func CountRecords(data []byte, d Dialect, path string, base, line int64) (int64, error) {
	if len(data) == 0 {
		return 0, nil
	}
	if plainLines(data) && !tooLong(data, d.MaxRecordSize) {
		n := int64(bytes.Count(data, nl))
		if data[len(data)-1] != '\n' {
			n++
		}
		return n, nil
	}
	s := NewBytesScanner(data, d, path, base, line)
	var n int64
	for s.Next() {
		n++
	}
	return n, s.Err()
}

// RecordStart returns where record k (from 0) of whole-record data (a
// chunk) starts, as an index into data, and its line (data's first record
// is on line). Data with no quote, CR or blank line is searched by its
// line ends alone, from whichever end is nearer.
func RecordStart(data []byte, d Dialect, path string, base, line int64, k int64) (int, int64, error) {
	if k == 0 {
		return 0, line, nil
	}
	if plainLines(data) {
		at := 0
		nls := int64(bytes.Count(data, nl))
		if k <= nls/2 {
			for range k {
				at += bytes.IndexByte(data[at:], '\n') + 1
			}
			return at, line + k, nil
		}
		// Record k starts after line end k; from the end, that is line
		// end nls-k+1 (1-based), counted back.
		end := len(data)
		for range nls - k + 1 {
			end = bytes.LastIndexByte(data[:end], '\n')
		}
		return end + 1, line + k, nil
	}
	s := NewBytesScanner(data, d, path, base, line)
	for i := int64(0); i <= k; i++ {
		if !s.Next() {
			if err := s.Err(); err != nil {
				return 0, 0, err
			}
			return len(data), line, nil
		}
	}
	return int(s.RecordOffset() - base), s.Line(), nil
}

// plainLines reports whether data's records are its lines: no quote, CR
// or blank line.
func plainLines(data []byte) bool {
	return data[0] != '\n' && bytes.IndexByte(data, '"') < 0 && bytes.IndexByte(data, '\r') < 0 &&
		bytes.Index(data, []byte("\n\n")) < 0
}

// tooLong reports whether some line of data is longer than max: only then
// must the scanner see the data to report it.
func tooLong(data []byte, max int) bool {
	if len(data) <= max {
		return false
	}
	for len(data) > max {
		i := bytes.IndexByte(data, '\n')
		if i < 0 || i > max {
			return true
		}
		data = data[i+1:]
	}
	return false
}

// Peek returns at least n bytes of whole records from the front of the
// stream (fewer at its end) without consuming them: Next still returns
// them. The slice is valid until the next call to Next.
func (c *Chunker) Peek(n int) ([]byte, error) {
	for {
		cut := len(c.carry)
		if !c.eof {
			cut = lastRecordEnd(c.carry)
		}
		if c.eof || (cut >= n && cut > 0) {
			return c.carry[:cut], nil
		}
		if len(c.carry) > c.d.MaxRecordSize+n {
			return nil, &ParseError{File: c.path, Line: c.line, Column: 1, Offset: c.off, Err: ErrRecordTooLarge}
		}
		if err := c.read(max(n, 64<<10)); err != nil {
			return nil, err
		}
	}
}
