package readers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/gdask/gdask/internal/cacheline"
	"github.com/gdask/gdask/internal/fsname"
	"io"
	"math/bits"
)

// DefaultBufferSize is the Scanner's read buffer. Records longer than it
// grow the buffer, up to the dialect's MaxRecordSize.
const DefaultBufferSize = 1 << 20

// Scanner reads CSV records from one partition or chunk without allocating
// per record: fields are slices of its buffer (a quoted field with doubled
// quotes is unescaped into a side buffer, so the record's own bytes stay as
// the input has them: see Raw), valid until the next call to Next.
//
// A Scanner stops before the first record that starts at or after its limit,
// even though the last record it returns may end past the limit; Offset then
// tells where it stopped, which is how the seam check between partitions is
// made.
type Scanner struct {
	r     io.Reader // nil when the whole input is in buf
	d     Dialect
	file  string
	buf   []byte
	pos   int   // next unread byte of buf
	end   int   // buf[:end] holds data
	base  int64 // input offset of buf[0]
	limit int64 // no record starting at or after this offset is returned
	eof   bool  // r has no more data
	line  int64 // line number of buf[pos]

	// Caches for the quote-free fast path: index in buf of the next '"' and
	// '\r' at or after some position, or end if none; -1 when unknown.
	// Only ever moved forward (fill resets them), so one that is not
	// behind s.pos is the next from s.pos.
	nextQuote, nextCR int

	fields  [][]byte
	fast    bool     // the current record was split on the fast path: no field is quoted
	dense   bool     // the last record held quotes or CRs: see parseRecord
	quoted  uint64   // on the slow path, bit i: field i < 64 of the current record was quoted
	quoted2 []uint64 // the same for fields from 64 on: bit i%64 of word i/64-1
	unesc   []byte   // unescaped quoted fields of the records since the last refill
	nfields int      // expected fields per record, 0 = unchecked
	refill  func()   // called before a refill moves the buffer's bytes (OnRefill)
	raw     [2]int   // the current record's bytes in buf, without its line end

	recOff     int64
	recLine    int64
	err        error
	bareQuotes int64 // quotes met inside unquoted fields
	// Each worker has one, made one after another: the pad keeps this
	// one's fields and the next one's off a common cache line, which two
	// cores would take from each other on every row (false sharing).
	_ [64]byte
}

// NewScanner scans r, which starts at input offset base on line startLine,
// and stops at the first record starting at or after limit (use -1 for no
// limit). file names the input in errors.
func NewScanner(r io.Reader, d Dialect, file string, base, limit int64, startLine int64) *Scanner {
	return newScanner(r, d, file, base, limit, startLine, bufferSize(d))
}

// newScanner is NewScanner with a read buffer of size bytes at first (it
// doubles for a longer record).
func newScanner(r io.Reader, d Dialect, file string, base, limit int64, startLine int64, size int) *Scanner {
	if limit < 0 {
		limit = 1<<63 - 1
	}
	return &Scanner{r: r, d: d, file: file, buf: make([]byte, size), base: base, limit: limit,
		line: startLine, nextQuote: -1, nextCR: -1, fields: cacheline.Slice[[]byte](0, 16)}
}

// bufferSize is the initial read buffer for d: big enough for a record of
// MaxRecordSize bytes and its CRLF when that is smaller than the default.
func bufferSize(d Dialect) int {
	size := DefaultBufferSize
	if d.MaxRecordSize > 0 && d.MaxRecordSize+2 < size {
		size = d.MaxRecordSize + 2
	}
	return size
}

// Reset makes s scan r as NewScanner(r, d, file, base, limit, startLine)
// would, with s's dialect and file name, reusing s's buffers. The field
// count check is turned off.
func (s *Scanner) Reset(r io.Reader, base, limit, startLine int64) {
	if limit < 0 {
		limit = 1<<63 - 1
	}
	buf := s.buf
	if s.r == nil { // buf is the caller's data of NewBytesScanner
		buf = make([]byte, bufferSize(s.d))
	}
	*s = Scanner{r: r, d: s.d, file: s.file, buf: buf, base: base, limit: limit,
		line: startLine, nextQuote: -1, nextCR: -1, fields: s.fields[:0], quoted2: s.quoted2[:0], unesc: s.unesc[:0]}
}

// NewBytesScanner scans data in place, without copying it. data starts at
// input offset base on line startLine and is the whole input of this
// scanner.
func NewBytesScanner(data []byte, d Dialect, file string, base, startLine int64) *Scanner {
	return &Scanner{d: d, file: file, buf: data, end: len(data), base: base, limit: 1<<63 - 1,
		eof: true, line: startLine, nextQuote: -1, nextCR: -1}
}

// SetLimit makes the scanner stop before the first record that starts at
// or after limit (-1: no limit), as NewScanner's limit does.
func (s *Scanner) SetLimit(limit int64) {
	if limit < 0 {
		limit = 1<<63 - 1
	}
	s.limit = limit
}

// SetFieldCount makes Next report a ragged-row error for a record that does
// not have n fields. n == 0 turns the check off.
func (s *Scanner) SetFieldCount(n int) { s.nfields = n }

// Fields returns the fields of the current record. The slice is valid
// until the next call to Next; the bytes until the next call (or, with
// OnRefill, until the scanner next refills its buffer).
func (s *Scanner) Fields() [][]byte { return s.fields }

// OnRefill makes the scanner call fn before it next moves or overwrites
// the bytes of the records it has returned, which it does only to read
// more input. Until then the field bytes and Raw of every record returned
// since the last refill stay valid, so a caller that is done with them
// when fn returns (a batch of rows sent on) need not copy them. fn runs
// inside Next, on its goroutine.
func (s *Scanner) OnRefill(fn func()) { s.refill = fn }

// Raw returns the current record as the input holds it, without its line
// end: quotes, doubled quotes and line breaks inside quotes as they are.
// Valid until the next call to Next (with OnRefill, until the next
// refill).
func (s *Scanner) Raw() []byte { return s.buf[s.raw[0]:s.raw[1]] }

// Quoted reports whether field i of the current record was quoted.
func (s *Scanner) Quoted(i int) bool {
	if s.fast {
		return false
	}
	if i < 64 {
		return s.quoted&(1<<i) != 0
	}
	w := i>>6 - 1
	return w < len(s.quoted2) && s.quoted2[w]&(1<<(i&63)) != 0
}

// File returns the input's name, as errors give it.
func (s *Scanner) File() string { return s.file }

// Line returns the 1-based line on which the current record starts.
func (s *Scanner) Line() int64 { return s.recLine }

// RecordOffset returns the input offset of the current record.
func (s *Scanner) RecordOffset() int64 { return s.recOff }

// Offset returns the input offset of the next unread byte: after Next has
// returned false without error, where the scanner stopped.
func (s *Scanner) Offset() int64 { return s.base + int64(s.pos) }

// NextLine returns the line number at Offset.
func (s *Scanner) NextLine() int64 { return s.line }

// BareQuotes returns how many quotes stood inside unquoted fields so far.
// Such quotes are read as ordinary bytes, but they make quote parity
// disagree with the record structure, so splits near them cannot be trusted.
func (s *Scanner) BareQuotes() int64 { return s.bareQuotes }

// Err returns the first error met, nil at a clean end of input or limit.
func (s *Scanner) Err() error { return s.err }

const (
	recOK = iota
	recMore
	recErr
)

// Next advances to the next record, skipping blank lines. It returns false
// at the end of input, at the limit, or on error (see Err).
func (s *Scanner) Next() bool {
	if s.err != nil {
		return false
	}
	for {
		if s.base+int64(s.pos) >= s.limit {
			return false
		}
		if s.pos == s.end {
			if s.eof {
				return false
			}
			if !s.fill() {
				return false
			}
			continue
		}
		// Blank lines are not records.
		switch s.buf[s.pos] {
		case '\n':
			s.pos++
			s.line++
			continue
		case '\r':
			if s.pos+1 == s.end && !s.eof {
				if !s.fill() {
					return false
				}
				continue
			}
			s.pos++
			if s.pos < s.end && s.buf[s.pos] == '\n' {
				s.pos++
			}
			s.line++
			continue
		}
		switch s.parseRecord() {
		case recOK:
			if s.nfields > 0 && len(s.fields) != s.nfields {
				s.err = &ParseError{File: s.file, Line: s.recLine, Column: min(len(s.fields), s.nfields) + 1,
					Offset: s.recOff, Err: ErrFieldCount, Expected: s.nfields, Found: len(s.fields)}
				return false
			}
			return true
		case recErr:
			return false
		}
		// recMore: the record runs past the buffer. Its last byte may be
		// the CR of its CRLF.
		if s.end-s.pos > s.d.MaxRecordSize+1 {
			s.fail(ErrRecordTooLarge, 1)
			return false
		}
		if s.eof || !s.fill() {
			if s.err == nil {
				panic("BUG: scanner asked for more input at end of input")
			}
			return false
		}
	}
}

// fill moves the unread bytes to the front of the buffer and reads more,
// growing the buffer when one record fills it. It reports false on a read
// error (s.err set) or when nothing more could be read.
func (s *Scanner) fill() bool {
	if s.r == nil {
		s.eof = true
		return true
	}
	if s.refill != nil {
		s.refill()
	}
	s.unesc = s.unesc[:0]
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos, s.end = 0, n
	}
	if s.end == len(s.buf) {
		size := 2 * len(s.buf)
		if max := s.d.MaxRecordSize + 2; size > max {
			size = max
		}
		if size <= len(s.buf) {
			s.fail(ErrRecordTooLarge, 1)
			return false
		}
		nb := make([]byte, size)
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	s.nextQuote, s.nextCR = -1, -1
	start := s.end
	for s.end < len(s.buf) {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err == io.EOF {
			s.eof = true
			break
		}
		if err != nil {
			s.err = &readError{file: s.file, err: err}
			return false
		}
		// Reading past the limit is only ever needed to finish the last
		// record, so stop early there.
		if s.base+int64(s.end) >= s.limit && s.end > start {
			break
		}
	}
	return true
}

type readError struct {
	file string
	err  error
}

func (e *readError) Error() string {
	return "cannot read " + fsname.Quote(e.file) + ": " + fsname.Cause(e.err).Error()
}
func (e *readError) Unwrap() error { return e.err }

func (s *Scanner) fail(err error, column int) {
	s.err = &ParseError{File: s.file, Line: s.line, Column: column, Offset: s.base + int64(s.pos), Err: err}
}

func indexFrom(b []byte, from int, c byte) int {
	if i := bytes.IndexByte(b[from:], c); i >= 0 {
		return from + i
	}
	return len(b)
}

// parseRecord parses the record at s.pos. Lines without quotes, ending in
// LF, CRLF or a lone CR, are split in one pass that looks at eight bytes at
// a time (the fast path); at a quote, parseSlow takes over from the field
// that holds it.
//
// The fast path looks for delimiters and LF only, up to the next quote or
// CR, which IndexByte finds. That pays where quotes and CRs are rare; where
// the last record held some (s.dense), splitSlow looks for all four bytes
// at once instead, until a line without any comes.
func (s *Scanner) parseRecord() int {
	buf := s.buf[:s.end]
	i := s.pos
	var fields [][]byte
	var nl, next int // the record's end without and with its line end
	if s.dense {
		var fs int
		fields, nl, fs = splitSlow(s.fields[:0], buf, i, i, s.d.Delimiter)
		next = nl + 1
		switch {
		case nl == len(buf):
			if !s.eof {
				s.fields = fields[:0]
				return recMore
			}
			next = nl
		case buf[nl] == '\n':
			s.dense = false
		case buf[nl] == '\r':
			if next == len(buf) && !s.eof {
				s.fields = fields[:0]
				return recMore
			}
			if next < len(buf) && buf[next] == '\n' {
				next++
			}
		default:
			return s.parseSlow(i, fs, fields)
		}
		fields = append(fields, buf[fs:nl])
	} else {
		if s.nextQuote < i {
			s.nextQuote = indexFrom(buf, i, '"')
		}
		if s.nextCR < i {
			s.nextCR = indexFrom(buf, i, '\r')
		}
		special := min(s.nextQuote, s.nextCR)
		fields, nl = splitLine(s.fields[:0], buf[:special], i, s.d.Delimiter)
		next = nl + 1
		switch {
		case nl >= 0:
		case special == len(buf):
			if !s.eof {
				s.fields = fields[:0]
				return recMore
			}
			nl, next = len(buf), len(buf)
		case buf[special] == '\r':
			// The line ends at this CR, alone or as half of a CRLF; which
			// one is known once the byte after it is.
			if special+1 == len(buf) && !s.eof {
				s.fields = fields[:0]
				return recMore
			}
			nl, next = special, special+1
			if next < len(buf) && buf[next] == '\n' {
				next++
			}
			s.dense = true
		default:
			// A quote: parseSlow goes on from the field that holds it.
			last := len(fields) - 1
			return s.parseSlow(i, special-len(fields[last]), fields[:last])
		}
	}
	if nl-i > s.d.MaxRecordSize {
		s.fields = fields[:0]
		s.pos = i
		s.fail(ErrRecordTooLarge, 1)
		return recErr
	}
	s.fields = fields
	s.fast, s.raw[0], s.raw[1] = true, i, nl // not [2]int{...}: its copy through the stack stalls
	s.recOff, s.recLine = s.base+int64(i), s.line
	s.line++
	s.pos = next
	return recOK
}

// splitLine appends to fields the fields of the line that starts at
// buf[i], and returns them with the index of the line's '\n', or -1 when
// buf ends first; the last field then runs to the end of buf. buf must hold
// no quote or CR from i on.
//
// It finds the delimiters and the newline eight bytes at a time: per word,
// one mask with the high bit of every byte equal to either, then one field
// per set bit. Gen-data lines hold 3 fields in about 22 bytes, where calling
// IndexByte per field cost more than the search itself.
func splitLine(fields [][]byte, buf []byte, i int, delim byte) ([][]byte, int) {
	const ones = 0x0101010101010101
	dw, nw := ones*uint64(delim), ones*uint64('\n')
	start := i
	p := i
	for ; p+8 <= len(buf); p += 8 {
		w := binary.LittleEndian.Uint64(buf[p:])
		m := zeroBytes(w^dw) | zeroBytes(w^nw)
		for m != 0 {
			b := p + bits.TrailingZeros64(m)>>3
			fields = append(fields, buf[start:b])
			if buf[b] == '\n' {
				return fields, b
			}
			start = b + 1
			m &= m - 1
		}
	}
	for ; p < len(buf); p++ {
		switch buf[p] {
		case delim:
			fields = append(fields, buf[start:p])
			start = p + 1
		case '\n':
			return append(fields, buf[start:p]), p
		}
	}
	return append(fields, buf[start:]), -1
}

// zeroBytes returns w with the high bit set in exactly the bytes that are
// zero (no false positives from borrows, unlike the shorter trick). The
// compiler turns zeroBytes(a) | zeroBytes(b) into one NOT of an AND.
func zeroBytes(w uint64) uint64 {
	const low7 = 0x7f7f7f7f7f7f7f7f
	return ^((w&low7 + low7) | w | low7)
}

// parseSlow finishes the record that starts at buf[start] from the field
// that starts at buf[fs], at or before the next quote; fields holds the
// fields before it, none of them quoted. It is the RFC 4180 state machine:
// a quote opens a quoted field only at the start of a field, elsewhere it
// is an ordinary byte (as most readers accept). Unquoted stretches are
// split by splitSlow up to the next LF, CR or quote; a quoted field ends at
// the first lone quote that findQuote finds, and its doubled quotes are
// collapsed into s.unesc as they are met, so the fields are final when the
// record ends.
func (s *Scanner) parseSlow(start, fs int, fields [][]byte) int {
	buf := s.buf[:s.end]
	delim := s.d.Delimiter
	quoted := uint64(0)
	// quoted2 and unesc stay in s: fewer live slices, fewer spills. unesc
	// keeps the fields of earlier records until the next refill (OnRefill).
	s.quoted2 = s.quoted2[:0]
	// p is the scan position in the field that starts at fs; stop is where
	// a stretch stops; end and next are the record's end without and with
	// its line end.
	p := fs
	var stop, end, next int
	mayBreak := false // a quoted field may hold a line break
	for {
		if p == fs && fs < len(buf) && buf[fs] == '"' {
			q, lb := findQuote(buf, fs+1)
			var f []byte
			if q >= 0 && q+1 < len(buf) && buf[q+1] != '"' {
				f = buf[fs+1 : q] // the usual quoted field: no doubled quote
			} else {
				var st int
				q, f, lb, st = s.quotedRest(buf, fs, q, lb)
				if st == recMore {
					return s.more(fields)
				}
				if st == recErr {
					s.pos = start
					b := lineBreaks(buf[start:fs]) // the line where this field opens
					s.line += b
					s.fail(ErrUnterminatedQuote, len(fields)+1)
					s.line -= b
					return recErr
				}
			}
			mayBreak = mayBreak || lb
			if n := len(fields); n < 64 {
				quoted |= 1 << n
			} else {
				s.quoted2 = setBit(s.quoted2, n-64)
			}
			fields = append(fields, f)
			stop = q + 1
			if stop < len(buf) && buf[stop] == delim {
				fs, p = stop+1, stop+1
				continue
			}
			if stop < len(buf) && buf[stop] != '\n' && buf[stop] != '\r' {
				s.pos = start
				b := lineBreaks(buf[start:q])
				s.line += b
				s.fail(ErrBareQuote, len(fields))
				s.line -= b
				return recErr
			}
		} else {
			fields, stop, fs = splitSlow(fields, buf, fs, p, delim)
			if stop < len(buf) && buf[stop] == '"' {
				// A quote opens a quoted field at the field's start, and
				// is an ordinary byte anywhere else.
				p = stop
				if stop != fs {
					s.bareQuotes++
					p++
				}
				continue
			}
			if stop == len(buf) && !s.eof {
				return s.more(fields)
			}
			fields = append(fields, buf[fs:stop])
		}
		// The record ends at stop: the end of the input, a LF, or a CR
		// alone or as half of a CRLF.
		end, next = stop, stop
		if stop < len(buf) {
			next++
			if buf[stop] == '\r' {
				if next == len(buf) && !s.eof {
					return s.more(fields)
				}
				if next < len(buf) && buf[next] == '\n' {
					next++
				}
			}
		}
		break
	}
	s.fields, s.quoted = fields, quoted
	if end-start > s.d.MaxRecordSize {
		s.pos = start
		s.fail(ErrRecordTooLarge, 1)
		return recErr
	}
	breaks := int64(0) // line breaks inside quoted fields: the only ones in the record
	if mayBreak {
		breaks = lineBreaks(buf[start:end])
	}
	s.fast, s.raw[0], s.raw[1] = false, start, end
	s.recOff, s.recLine = s.base+int64(start), s.line
	s.line += 1 + breaks
	s.pos = next
	s.dense = true
	return recOK
}

// quotedRest finishes the quoted field that opens at buf[fs], whose first
// quote after that is at q (-1 if none) with a line break before it if lb,
// when the quick look of parseSlow could not: the quote is doubled, last
// in the buffer, or missing. It returns the closing quote, the field with
// its doubled quotes collapsed (into s.unesc), whether a line break may
// stand in it, and recMore when the buffer ends first, recErr when the
// input does (unterminated).
func (s *Scanner) quotedRest(buf []byte, fs, q int, lb bool) (int, []byte, bool, int) {
	seg := -1   // where the field starts in s.unesc, once it has a doubled quote
	p := fs + 1 // the next run of the field to copy there
	for {
		if q < 0 {
			if !s.eof {
				return 0, nil, lb, recMore
			}
			return 0, nil, lb, recErr
		}
		if q+1 == len(buf) && !s.eof {
			return 0, nil, lb, recMore // doubled or closing: the next byte tells
		}
		if q+1 == len(buf) || buf[q+1] != '"' {
			break
		}
		if seg < 0 {
			seg = len(s.unesc)
		}
		s.unesc = appendRun(s.unesc, buf, p, q+1)
		p = q + 2
		var l bool
		q, l = findQuote(buf, p)
		lb = lb || l
	}
	if seg < 0 {
		return q, buf[fs+1 : q], lb, recOK
	}
	s.unesc = appendRun(s.unesc, buf, p, q)
	return q, s.unesc[seg:len(s.unesc):len(s.unesc)], lb, recOK
}

// appendRun appends buf[from:to] to dst. Runs between doubled quotes are
// short: one of up to eight bytes is copied as one word when dst has room
// for eight, rather than by a call to memmove.
func appendRun(dst, buf []byte, from, to int) []byte {
	n := len(dst)
	if to-from <= 8 && from+8 <= len(buf) && cap(dst)-n >= 8 {
		binary.LittleEndian.PutUint64(dst[n:n+8], binary.LittleEndian.Uint64(buf[from:]))
		return dst[:n+to-from]
	}
	return append(dst, buf[from:to]...)
}

// findQuote returns the index of the first quote in buf at or after q, or
// -1, and whether a LF or CR may stand before it. Quoted fields are mostly
// short: it looks at up to eight words itself, for quotes and line breaks
// in one pass as splitLine does, and only then (or after a word with a line
// break) calls IndexByte, and says a line break may stand in what that
// skipped.
func findQuote(buf []byte, q int) (int, bool) {
	const ones = 0x0101010101010101
	for range 8 {
		if q+8 > len(buf) {
			break
		}
		w := binary.LittleEndian.Uint64(buf[q:])
		m := zeroBytes(w ^ ones*'"')
		lb := zeroBytes(w^ones*'\n') | zeroBytes(w^ones*'\r')
		if m != 0 {
			return q + bits.TrailingZeros64(m)>>3, lb&(m&-m-1) != 0
		}
		if lb != 0 {
			break
		}
		q += 8
	}
	if k := bytes.IndexByte(buf[q:], '"'); k >= 0 {
		return q + k, true
	}
	return -1, true
}

// splitSlow appends to fields the fields of the unquoted stretch whose
// current field starts at buf[start], scanning from buf[p], up to the first
// LF, CR or quote, and returns them with the index of that byte (len(buf)
// if none) and the start of the field that holds it, which is not
// appended. Like splitLine it looks at eight bytes at a time, for four
// bytes instead of two: in a record with quotes, the stretches between
// quoted fields are short, and finding their end with IndexByte cost more.
func splitSlow(fields [][]byte, buf []byte, start, p int, delim byte) ([][]byte, int, int) {
	const ones = 0x0101010101010101
	dw := ones * uint64(delim)
	for ; p+8 <= len(buf); p += 8 {
		w := binary.LittleEndian.Uint64(buf[p:])
		m := zeroBytes(w^dw) | zeroBytes(w^ones*'\n') | zeroBytes(w^ones*'\r') | zeroBytes(w^ones*'"')
		for m != 0 {
			b := p + bits.TrailingZeros64(m)>>3
			if buf[b] != delim {
				return fields, b, start
			}
			fields = append(fields, buf[start:b])
			start = b + 1
			m &= m - 1
		}
	}
	for ; p < len(buf); p++ {
		switch buf[p] {
		case delim:
			fields = append(fields, buf[start:p])
			start = p + 1
		case '\n', '\r', '"':
			return fields, p, start
		}
	}
	return fields, len(buf), start
}

// more keeps the grown slices of a record that runs past the buffer, to
// be parsed again once more input is in.
func (s *Scanner) more(fields [][]byte) int {
	s.fields = fields[:0]
	return recMore
}

// setBit sets bit i of the bit set b, growing it as needed.
func setBit(b []uint64, i int) []uint64 {
	for len(b) <= i>>6 {
		b = append(b, 0)
	}
	b[i>>6] |= 1 << (i & 63)
	return b
}

// lineBreaks counts the line ends in b: LF, CRLF and lone CR.
func lineBreaks(b []byte) int64 {
	n := bytes.Count(b, nl)
	if bytes.IndexByte(b, '\r') >= 0 {
		n += bytes.Count(b, cr) - bytes.Count(b, crlf)
	}
	return int64(n)
}

var (
	nl   = []byte{'\n'}
	cr   = []byte{'\r'}
	crlf = []byte{'\r', '\n'}
)

// IsParseError reports whether err is a data error with a position.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}
