package readers

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"
)

// refRecord is one record as refScan reads it.
type refRecord struct {
	fields []string
	quoted []bool
	raw    string
	line   int64
	off    int64
}

// refResult is everything refScan says about an input.
type refResult struct {
	recs     []refRecord
	bare     int64 // quotes inside unquoted fields
	stop     int64 // Offset after the last record
	stopLine int64 // NextLine there
	err      *ParseError
}

// refScan reads data a byte at a time by the Scanner's rules, written as
// plainly as possible: RFC 4180 plus LF, CRLF and lone CR line ends, blank
// lines skipped, a quote opening a quoted field only at a field start, no
// record size bound, and no record starting at or after limit. It is the
// reference the Scanner's fast and slow paths are checked against.
func refScan(data []byte, delim byte, limit int64) refResult {
	var res refResult
	pos, line := 0, int64(1)
	isBreak := func(j int) bool { // data[j] ends a line (a CR of a CRLF does not)
		return data[j] == '\n' || data[j] == '\r' && (j+1 == len(data) || data[j+1] != '\n')
	}
	for int64(pos) < limit && pos < len(data) {
		switch data[pos] {
		case '\n':
			pos++
			line++
			continue
		case '\r':
			pos++
			if pos < len(data) && data[pos] == '\n' {
				pos++
			}
			line++
			continue
		}
		start := pos
		rec := refRecord{line: line, off: int64(start)}
		breaks := int64(0) // line breaks inside quoted fields so far
		i := start
		for {
			if i < len(data) && data[i] == '"' {
				var f []byte
				fieldBreaks := int64(0)
				j := i + 1
				for {
					if j == len(data) {
						res.err = &ParseError{Err: ErrUnterminatedQuote, Line: line + breaks, Column: len(rec.fields) + 1, Offset: int64(start)}
						return res
					}
					if data[j] == '"' {
						if j+1 < len(data) && data[j+1] == '"' {
							f = append(f, '"')
							j += 2
							continue
						}
						break
					}
					if isBreak(j) {
						fieldBreaks++
					}
					f = append(f, data[j])
					j++
				}
				breaks += fieldBreaks
				rec.fields = append(rec.fields, string(f))
				rec.quoted = append(rec.quoted, true)
				i = j + 1
				if i == len(data) || data[i] == '\n' || data[i] == '\r' {
					break
				}
				if data[i] == delim {
					i++
					continue
				}
				res.err = &ParseError{Err: ErrBareQuote, Line: line + breaks, Column: len(rec.fields), Offset: int64(start)}
				return res
			}
			j := i
			for j < len(data) && data[j] != delim && data[j] != '\n' && data[j] != '\r' {
				if data[j] == '"' {
					res.bare++
				}
				j++
			}
			rec.fields = append(rec.fields, string(data[i:j]))
			rec.quoted = append(rec.quoted, false)
			if j < len(data) && data[j] == delim {
				i = j + 1
				continue
			}
			i = j
			break
		}
		rec.raw = string(data[start:i])
		pos = i
		if pos < len(data) {
			pos++
			if data[pos-1] == '\r' && pos < len(data) && data[pos] == '\n' {
				pos++
			}
		}
		line += 1 + breaks
		res.recs = append(res.recs, rec)
	}
	res.stop, res.stopLine = int64(pos), line
	return res
}

// checkVsRef scans data in every way the Scanner can be fed (in place,
// whole, one byte and half a buffer at a time, and through buffers just big
// enough for the longest record, so that every byte falls at a buffer
// boundary) and checks each against refScan: fields, Quoted, Raw, Line,
// RecordOffset, the error and its position, where the scan stopped, and
// the bare quote count (exact in place; a record read again after more
// input came counts its bare quotes again, so elsewhere only whether there
// were any).
func checkVsRef(t *testing.T, data []byte, delim byte, limit int64) {
	t.Helper()
	d := DefaultDialect()
	d.Delimiter = delim
	d.MaxRecordSize = 4 << 10
	if len(data) > d.MaxRecordSize {
		return
	}
	ref := refScan(data, delim, limit)
	if limit < 0 {
		ref = refScan(data, delim, 1<<62)
	}
	type mode struct {
		name string
		s    *Scanner
	}
	var modes []mode
	if limit < 0 {
		modes = append(modes, mode{"bytes", NewBytesScanner(bytes.Clone(data), d, "t.csv", 0, 1)})
	}
	for _, r := range []struct {
		name string
		r    func() io.Reader
	}{
		{"reader", func() io.Reader { return bytes.NewReader(data) }},
		{"onebyte", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data)) }},
		{"half", func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) }},
	} {
		modes = append(modes, mode{r.name, NewScanner(r.r(), d, "t.csv", 0, limit, 1)})
		if ref.err != nil {
			continue // a bad record longer than a small buffer is too large first
		}
		longest := 1
		for i, rec := range ref.recs {
			end := ref.stop
			if i+1 < len(ref.recs) {
				end = ref.recs[i+1].off
			}
			longest = max(longest, int(end-rec.off))
		}
		for m := longest; m < longest+3; m++ {
			small := d
			small.MaxRecordSize = m
			modes = append(modes, mode{r.name + "-small", NewScanner(r.r(), small, "t.csv", 0, limit, 1)})
		}
	}
	for _, m := range modes {
		s := m.s
		n := 0
		for s.Next() {
			if n == len(ref.recs) {
				t.Fatalf("%s: %q: more than the %d records of the reference", m.name, data, n)
			}
			want := ref.recs[n]
			got := stringsOf(s.Fields())
			if !slices.Equal(got, want.fields) || string(s.Raw()) != want.raw || s.Line() != want.line || s.RecordOffset() != want.off {
				t.Fatalf("%s: %q: record %d is %q raw %q at line %d offset %d; want %q raw %q at line %d offset %d",
					m.name, data, n, got, s.Raw(), s.Line(), s.RecordOffset(), want.fields, want.raw, want.line, want.off)
			}
			for i, q := range want.quoted {
				if s.Quoted(i) != q {
					t.Fatalf("%s: %q: record %d field %d Quoted %v, want %v", m.name, data, n, i, s.Quoted(i), q)
				}
			}
			n++
		}
		if ref.err == nil {
			if s.Err() != nil || n != len(ref.recs) || s.Offset() != ref.stop || s.NextLine() != ref.stopLine {
				t.Fatalf("%s: %q: %d records, error %v, stop at %d line %d; want %d records, stop at %d line %d",
					m.name, data, n, s.Err(), s.Offset(), s.NextLine(), len(ref.recs), ref.stop, ref.stopLine)
			}
		} else {
			var pe *ParseError
			if !errors.As(s.Err(), &pe) || pe.Err != ref.err.Err || pe.Line != ref.err.Line || pe.Column != ref.err.Column || pe.Offset != ref.err.Offset || n != len(ref.recs) {
				t.Fatalf("%s: %q: %d records, error %#v; want %d records, error %#v", m.name, data, n, s.Err(), len(ref.recs), ref.err)
			}
		}
		if m.name == "bytes" && s.BareQuotes() != ref.bare || (s.BareQuotes() > 0) != (ref.bare > 0) {
			t.Fatalf("%s: %q: %d bare quotes, want %d", m.name, data, s.BareQuotes(), ref.bare)
		}
	}
}

// randomCSV draws an input from pieces chosen to put quotes, doubled
// quotes, CR, LF and delimiters at every position of a record and of an
// eight-byte word, in fields long and short.
func randomCSV(rng *rand.Rand) []byte {
	pieces := []string{"a", "bc", "defghijkl", "mnopqrstuvwxyz0123", ",", ",", ";", "\"", "\"\"", "\n", "\r", "\r\n", " ", "é"}
	var b []byte
	for range rng.IntN(40) {
		if rng.IntN(6) == 0 { // a well-formed quoted field
			b = append(b, '"')
			for range rng.IntN(6) {
				p := pieces[rng.IntN(len(pieces))]
				if p == "\"" {
					p = "\"\""
				}
				b = append(b, p...)
			}
			b = append(b, '"')
			continue
		}
		b = append(b, pieces[rng.IntN(len(pieces))]...)
	}
	return b
}

// TestScannerVsReference checks the Scanner against refScan on random
// inputs, well-formed or not, with both delimiters the pieces hold and with
// limits.
func TestScannerVsReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 4000
	if testing.Short() {
		n = 500
	}
	for range n {
		data := randomCSV(rng)
		checkVsRef(t, data, ',', -1)
		checkVsRef(t, data, ';', -1)
		checkVsRef(t, data, ',', rng.Int64N(int64(len(data))+2))
	}
	for _, in := range []string{
		"", "\"", "\"\"", "a\r", "\r\n", "\"a\"\r", "a,\"b\"\"\r\n\"\r\n", "x\"y\",\"z\n", "\"a\"b", "\"a\nb\"c",
		"abcdefgh\r\nabcdefghijklmnop,\"q\"\r\"r\"\"s\",t\"u\rv",
	} {
		checkVsRef(t, []byte(in), ',', -1)
	}
	for range 20 { // more fields than one word of quoted bits
		var b []byte
		for range 2 {
			for f := range 150 {
				if f > 0 {
					b = append(b, ',')
				}
				if rng.IntN(3) == 0 {
					b = append(b, "\"q\"\"\""...)
				} else {
					b = append(b, 'x')
				}
			}
			b = append(b, '\n')
		}
		checkVsRef(t, b, ',', -1)
	}
	for range 50 {
		o := genOptions{records: 20, quotes: true, ends: []string{"\n", "\r\n", "\r"}, blanks: true, noFinal: true}
		checkVsRef(t, genCSV(rng, o), ',', -1)
	}
	checkVsRef(t, genWide(3<<10), ',', -1)
	checkVsRef(t, genQuoted(3<<10), ',', -1)
	checkVsRef(t, genData(3<<10, true), ',', -1)
}

// FuzzScannerVsReference: on any input, the Scanner, however it is fed,
// reads what refScan reads.
func FuzzScannerVsReference(f *testing.F) {
	f.Add([]byte("a,b\n\"c\nd\",e\r\n\r\nf\rg\n"), uint16(0))
	f.Add([]byte("x,\"a\"\"b\",c\r\n\"q\"r\n"), uint16(7))
	f.Add([]byte("abcdefgh,ijklmnop\r\nqrstuvwx,\"yz\",\"\"\"\"\r1\"2,3"), uint16(20))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		checkVsRef(t, data, ',', -1)
		checkVsRef(t, data, ',', int64(limit))
	})
}
