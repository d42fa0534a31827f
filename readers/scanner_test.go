package readers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// scanTest is one dialect case, in the shape of encoding/csv's
// reader_test.go. Output holds the records returned before Error.
type scanTest struct {
	Name   string
	Input  string
	Output [][]string
	Lines  []int64     // Line() of each record, when given
	Error  *ParseError // Err, Line, Column; Expected and Found for ErrFieldCount

	Delimiter     byte // ',' when 0
	MaxRecordSize int  // DefaultMaxRecordSize when 0
	FieldCount    int  // SetFieldCount
}

var scanTests = []scanTest{
	// Line ends.
	{Name: "LF", Input: "a,b,c\nd,e,f\n", Output: [][]string{{"a", "b", "c"}, {"d", "e", "f"}}, Lines: []int64{1, 2}},
	{Name: "CRLF", Input: "a,b\r\nc,d\r\n", Output: [][]string{{"a", "b"}, {"c", "d"}}, Lines: []int64{1, 2}},
	{Name: "CROnly", Input: "a,b\rc,d\r", Output: [][]string{{"a", "b"}, {"c", "d"}}, Lines: []int64{1, 2}},
	{Name: "CROnlyNoFinal", Input: "a\rb", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 2}},
	{Name: "MixedEnds", Input: "a\nb\r\nc\rd\n", Output: [][]string{{"a"}, {"b"}, {"c"}, {"d"}}, Lines: []int64{1, 2, 3, 4}},
	{Name: "NoFinalNewline", Input: "a,b\nc,d", Output: [][]string{{"a", "b"}, {"c", "d"}}, Lines: []int64{1, 2}},
	{Name: "NoFinalNewlineQuoted", Input: "a\n\"c,d\"", Output: [][]string{{"a"}, {"c,d"}}},
	{Name: "Empty", Input: ""},
	{Name: "OnlyLF", Input: "\n"},
	{Name: "OnlyCRLF", Input: "\r\n\r\n"},
	{Name: "OnlyCR", Input: "\r\r"},

	// Blank lines are skipped but counted.
	{Name: "BlankAtStart", Input: "\n\na\n", Output: [][]string{{"a"}}, Lines: []int64{3}},
	{Name: "BlankAtEnd", Input: "a\n\n\n", Output: [][]string{{"a"}}, Lines: []int64{1}},
	{Name: "BlankInMiddle", Input: "a\n\n\nb\n", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 4}},
	{Name: "BlankCROnly", Input: "a\r\r\rb\r", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 4}},
	{Name: "BlankCRLF", Input: "\r\na\r\n\r\n\r\nb\r\n\r\n", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{2, 5}},
	{Name: "BlankMixed", Input: "\r\n\n\ra\n\r\r\nb", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{4, 7}},
	{Name: "CRThenCRLF", Input: "a\r\r\nb", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 3}},
	{Name: "LFThenCR", Input: "a\n\rb", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 3}},
	{Name: "SpaceLineIsARecord", Input: "a\n \nb", Output: [][]string{{"a"}, {" "}, {"b"}}},
	{Name: "QuotedEmptyLineIsARecord", Input: "\"\"\n\n\"\"", Output: [][]string{{""}, {""}}, Lines: []int64{1, 3}},

	// Quoted fields.
	{Name: "QuotedDelimiter", Input: "\"a,b\",c\n", Output: [][]string{{"a,b", "c"}}},
	{Name: "QuotedDelimiterOnly", Input: "\",\"", Output: [][]string{{","}}},
	{Name: "QuotedLF", Input: "\"a\nb\",c\nd,e\n", Output: [][]string{{"a\nb", "c"}, {"d", "e"}}, Lines: []int64{1, 3}},
	{Name: "QuotedCRLFKept", Input: "\"a\r\nb\",c\r\nd\r\n", Output: [][]string{{"a\r\nb", "c"}, {"d"}}, Lines: []int64{1, 3}},
	{Name: "QuotedCRKept", Input: "\"a\rb\"\rc\r", Output: [][]string{{"a\rb"}, {"c"}}, Lines: []int64{1, 3}},
	{Name: "QuotedManyBreaks", Input: "x,\"1\n2\r\n3\r4\",y\nz", Output: [][]string{{"x", "1\n2\r\n3\r4", "y"}, {"z"}}, Lines: []int64{1, 5}},
	{Name: "QuotedBlankLines", Input: "\"\n\n\r\n\r\r\"\nz\n", Output: [][]string{{"\n\n\r\n\r\r"}, {"z"}}, Lines: []int64{1, 7}},
	{Name: "TwoQuotedMultiline", Input: "\"a\nb\",\"c\nd\"\ne", Output: [][]string{{"a\nb", "c\nd"}, {"e"}}, Lines: []int64{1, 4}},
	{Name: "EscapedQuote", Input: "\"a\"\"b\",c\n", Output: [][]string{{"a\"b", "c"}}},
	{Name: "EscapedQuoteOnly", Input: "\"\"\"\"", Output: [][]string{{"\""}}},
	{Name: "EscapedQuotesEverywhere", Input: "\"\"\"a\"\"\",\"\"\"\"\"\"\n", Output: [][]string{{"\"a\"", "\"\""}}},
	{Name: "EscapedQuoteAndNewline", Input: "1,\"ha \n\"\"ha\"\" \nha\"\n3,4\n", Output: [][]string{{"1", "ha \n\"ha\" \nha"}, {"3", "4"}}, Lines: []int64{1, 4}},
	{Name: "QuotedEmpty", Input: "\"\",\"\"\n", Output: [][]string{{"", ""}}},
	{Name: "QuotedThenCRLFAtEOF", Input: "\"a\"\r\n", Output: [][]string{{"a"}}},
	{Name: "QuotedThenCR", Input: "\"a\"\r\"b\"", Output: [][]string{{"a"}, {"b"}}, Lines: []int64{1, 2}},
	{Name: "QuotedThenDelimiterAtEOF", Input: "\"a\",", Output: [][]string{{"a", ""}}},

	// Empty fields and delimiters.
	{Name: "EmptyFields", Input: ",,\n", Output: [][]string{{"", "", ""}}},
	{Name: "TrailingDelimiter", Input: "a,b,\n", Output: [][]string{{"a", "b", ""}}},
	{Name: "TrailingDelimiterEOF", Input: "a,", Output: [][]string{{"a", ""}}},
	{Name: "TrailingDelimiterCR", Input: "a,\rb,\r\n", Output: [][]string{{"a", ""}, {"b", ""}}},
	{Name: "LeadingDelimiter", Input: ",a\n", Output: [][]string{{"", "a"}}},
	{Name: "Tab", Delimiter: '\t', Input: "a\tb,c\t\"c\td\"\n", Output: [][]string{{"a", "b,c", "c\td"}}},
	{Name: "Semicolon", Delimiter: ';', Input: "a;b,c;\"d;e\"\r\n;\n", Output: [][]string{{"a", "b,c", "d;e"}, {"", ""}}},
	{Name: "Unicode", Input: "héllo,wörld,日本\n\U0001F600\n", Output: [][]string{{"héllo", "wörld", "日本"}, {"\U0001F600"}}},
	{Name: "NUL", Input: "a\x00b,c\n", Output: [][]string{{"a\x00b", "c"}}},
	{Name: "Spaces", Input: " a , b \n", Output: [][]string{{" a ", " b "}}},

	// A quote opens a quoted field only at a field start.
	{Name: "BareQuoteInField", Input: "a\"b,c\n", Output: [][]string{{"a\"b", "c"}}},
	{Name: "BareQuoteAtEnd", Input: "ab\"\n", Output: [][]string{{"ab\""}}},
	{Name: "BareDoubledQuote", Input: "a\"\"b,\"c\"\n", Output: [][]string{{"a\"\"b", "c"}}},
	{Name: "SpaceThenQuote", Input: " \"a\",b\n", Output: [][]string{{" \"a\"", "b"}}},
	{Name: "BareQuoteThenDelimiterInQuotes", Input: "a\"b,\"c,d\"\n", Output: [][]string{{"a\"b", "c,d"}}},

	// Errors.
	{Name: "TextAfterClosingQuote", Input: "\"a\"b\n", Error: &ParseError{Err: ErrBareQuote, Line: 1, Column: 1}},
	{Name: "SpaceAfterClosingQuote", Input: "\"a\" ,b\n", Error: &ParseError{Err: ErrBareQuote, Line: 1, Column: 1}},
	{Name: "TextAfterClosingQuoteField2", Input: "x\n1,\"a\"b,c\n", Output: [][]string{{"x"}}, Error: &ParseError{Err: ErrBareQuote, Line: 2, Column: 2}},
	{Name: "TextAfterMultilineQuote", Input: "\"a\nb\"c\n", Error: &ParseError{Err: ErrBareQuote, Line: 2, Column: 1}},
	{Name: "Unterminated", Input: "\"abc", Error: &ParseError{Err: ErrUnterminatedQuote, Line: 1, Column: 1}},
	{Name: "UnterminatedWithNewlines", Input: "a\nb\n\"c\nd\n", Output: [][]string{{"a"}, {"b"}}, Error: &ParseError{Err: ErrUnterminatedQuote, Line: 3, Column: 1}},
	{Name: "UnterminatedField2", Input: "a,\"b", Error: &ParseError{Err: ErrUnterminatedQuote, Line: 1, Column: 2}},
	{Name: "UnterminatedEscapedQuote", Input: "\"a\"\"", Error: &ParseError{Err: ErrUnterminatedQuote, Line: 1, Column: 1}},
	{Name: "UnterminatedAfterCROnly", Input: "a\rb\r\"c", Output: [][]string{{"a"}, {"b"}}, Error: &ParseError{Err: ErrUnterminatedQuote, Line: 3, Column: 1}},
	// The quote of field 2 opens on line 2: the error points there.
	{Name: "UnterminatedAfterMultilineField", Input: "\"a\nb\",\"c\nd\ne", Error: &ParseError{Err: ErrUnterminatedQuote, Line: 2, Column: 2}},
	{Name: "TooLarge", MaxRecordSize: 4, Input: "ab\nabcde\n", Output: [][]string{{"ab"}}, Error: &ParseError{Err: ErrRecordTooLarge, Line: 2, Column: 1}},
	{Name: "TooLargeQuoted", MaxRecordSize: 4, Input: "ab\n\"abcde\"\n", Output: [][]string{{"ab"}}, Error: &ParseError{Err: ErrRecordTooLarge, Line: 2, Column: 1}},
	{Name: "TooLargeRunawayQuote", MaxRecordSize: 8, Input: "a\n\"b\nc\nd\ne\nf\"\ng\n", Output: [][]string{{"a"}}, Error: &ParseError{Err: ErrRecordTooLarge, Line: 2, Column: 1}},
	{Name: "TooLargeNoFinalNewline", MaxRecordSize: 4, Input: "abcdefgh", Error: &ParseError{Err: ErrRecordTooLarge, Line: 1, Column: 1}},
	{Name: "AtMaxRecordSize", MaxRecordSize: 4, Input: "abcd\nab,c\r\n\"ab\"\r\"\"\"\"\n", Output: [][]string{{"abcd"}, {"ab", "c"}, {"ab"}, {"\""}}},
	{Name: "FieldCountFewer", FieldCount: 2, Input: "a,b\nc\n", Output: [][]string{{"a", "b"}}, Error: &ParseError{Err: ErrFieldCount, Line: 2, Column: 2, Expected: 2, Found: 1}},
	{Name: "FieldCountMore", FieldCount: 2, Input: "a,b\n\"x\ny\",b,c\n", Output: [][]string{{"a", "b"}}, Error: &ParseError{Err: ErrFieldCount, Line: 2, Column: 3, Expected: 2, Found: 3}},
	{Name: "FieldCountAfterMultiline", FieldCount: 2, Input: "\"a\nb\",c\r\rd\n", Output: [][]string{{"a\nb", "c"}}, Error: &ParseError{Err: ErrFieldCount, Line: 4, Column: 2, Expected: 2, Found: 1}},
	{Name: "FieldCountOK", FieldCount: 3, Input: "a,b,c\n,,\n\"\",\"\",\"\"\n", Output: [][]string{{"a", "b", "c"}, {"", "", ""}, {"", "", ""}}},
}

func (tt scanTest) dialect() Dialect {
	d := DefaultDialect()
	if tt.Delimiter != 0 {
		d.Delimiter = tt.Delimiter
	}
	if tt.MaxRecordSize != 0 {
		d.MaxRecordSize = tt.MaxRecordSize
	}
	return d
}

// scanModes are the ways a case is read: in place, and through readers that
// return little at a time.
var scanModes = []struct {
	name string
	new  func(input string, d Dialect) *Scanner
}{
	{"bytes", func(in string, d Dialect) *Scanner { return NewBytesScanner([]byte(in), d, "t.csv", 0, 1) }},
	{"reader", func(in string, d Dialect) *Scanner { return NewScanner(strings.NewReader(in), d, "t.csv", 0, -1, 1) }},
	{"onebyte", func(in string, d Dialect) *Scanner {
		return NewScanner(iotest.OneByteReader(strings.NewReader(in)), d, "t.csv", 0, -1, 1)
	}},
	{"half", func(in string, d Dialect) *Scanner {
		return NewScanner(iotest.HalfReader(strings.NewReader(in)), d, "t.csv", 0, -1, 1)
	}},
	{"dataerr", func(in string, d Dialect) *Scanner {
		return NewScanner(iotest.DataErrReader(strings.NewReader(in)), d, "t.csv", 0, -1, 1)
	}},
}

func TestScanner(t *testing.T) {
	for _, tt := range scanTests {
		t.Run(tt.Name, func(t *testing.T) {
			for _, m := range scanModes {
				s := m.new(tt.Input, tt.dialect())
				s.SetFieldCount(tt.FieldCount)
				checkScan(t, m.name, tt, s)
			}
			if tt.Error != nil || tt.MaxRecordSize != 0 {
				return
			}
			// Small buffers put every byte (quotes, CR, LF) at a buffer
			// boundary in turn: the buffer is MaxRecordSize+2 bytes.
			longest := longestRecord(t, tt)
			for m := longest; m < longest+12; m++ {
				d := tt.dialect()
				d.MaxRecordSize = m
				for _, r := range []io.Reader{
					iotest.OneByteReader(strings.NewReader(tt.Input)),
					iotest.HalfReader(strings.NewReader(tt.Input)),
				} {
					s := NewScanner(r, d, "t.csv", 0, -1, 1)
					s.SetFieldCount(tt.FieldCount)
					checkScan(t, "small-buffer", tt, s)
				}
			}
		})
	}
}

// longestRecord returns the longest record of a case in bytes, line end
// included.
func longestRecord(t *testing.T, tt scanTest) int {
	s := NewBytesScanner([]byte(tt.Input), tt.dialect(), "t.csv", 0, 1)
	n := 1
	for s.Next() {
		end := int64(len(tt.Input))
		if s.Offset() < end {
			end = s.Offset()
		}
		n = max(n, int(end-s.RecordOffset()))
	}
	if s.Err() != nil {
		t.Fatal(s.Err())
	}
	return n
}

func checkScan(t *testing.T, mode string, tt scanTest, s *Scanner) {
	t.Helper()
	recs, err := scanRecords(s)
	if got := fieldsOf(recs); !equalRecords(got, tt.Output) {
		t.Fatalf("%s: %q:\ngot  %q\nwant %q", mode, tt.Input, got, tt.Output)
	}
	if tt.Lines != nil {
		var lines []int64
		for _, r := range recs {
			lines = append(lines, r.Line)
		}
		if !slices.Equal(lines, tt.Lines) {
			t.Fatalf("%s: %q: lines %v, want %v", mode, tt.Input, lines, tt.Lines)
		}
	}
	if tt.Error == nil {
		if err != nil {
			t.Fatalf("%s: %q: unexpected error %v", mode, tt.Input, err)
		}
		if s.Offset() != int64(len(tt.Input)) {
			t.Fatalf("%s: %q: stopped at %d, want %d", mode, tt.Input, s.Offset(), len(tt.Input))
		}
		return
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("%s: %q: error %v, want a *ParseError", mode, tt.Input, err)
	}
	if !errors.Is(err, tt.Error.Err) || pe.Line != tt.Error.Line || pe.Column != tt.Error.Column || pe.File != "t.csv" {
		t.Fatalf("%s: %q: error %#v (%v), want %v at %d:%d", mode, tt.Input, pe, err, tt.Error.Err, tt.Error.Line, tt.Error.Column)
	}
	if tt.Error.Err == ErrFieldCount && (pe.Expected != tt.Error.Expected || pe.Found != tt.Error.Found) {
		t.Fatalf("%s: %q: expected/found %d/%d, want %d/%d", mode, tt.Input, pe.Expected, pe.Found, tt.Error.Expected, tt.Error.Found)
	}
	if s.Next() {
		t.Fatalf("%s: Next after an error returned true", mode)
	}
}

func equalRecords(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// TestScannerPositions checks RecordOffset, Line and Offset on input that
// mixes every line end, blank lines and quoted line breaks.
func TestScannerPositions(t *testing.T) {
	in := "h\r\n\"a\nb\",c\r\r\n\"x\r\ny\"\rlast\n"
	s := NewBytesScanner([]byte(in), DefaultDialect(), "t.csv", 100, 10)
	want := []record{
		{Fields: []string{"h"}, Line: 10, Off: 100},
		{Fields: []string{"a\nb", "c"}, Line: 11, Off: 103},
		{Fields: []string{"x\r\ny"}, Line: 14, Off: 113},
		{Fields: []string{"last"}, Line: 16, Off: 120},
	}
	got, err := scanRecords(s)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b record) bool {
		return slices.Equal(a.Fields, b.Fields) && a.Line == b.Line && a.Off == b.Off
	}) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if s.Offset() != 100+int64(len(in)) || s.NextLine() != 17 {
		t.Fatalf("end at offset %d line %d", s.Offset(), s.NextLine())
	}
}

// TestScannerMaxRecordSizeBoundary: a record of exactly MaxRecordSize bytes
// (line end not counted) is accepted and one byte more is not, whatever the
// line end, the quoting, or how the input is read.
func TestScannerMaxRecordSizeBoundary(t *testing.T) {
	f := func(record, end string, max int, ok bool) {
		t.Helper()
		in := "x" + end + record + end + "y" + end
		d := DefaultDialect()
		d.MaxRecordSize = max
		for _, m := range scanModes {
			s := m.new(in, d)
			recs, err := scanRecords(s)
			if ok && (err != nil || len(recs) != 3) {
				t.Fatalf("%s: %q with max %d: %d records, error %v; want it accepted", m.name, in, max, len(recs), err)
			}
			if !ok && !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("%s: %q with max %d: %d records, error %v; want ErrRecordTooLarge", m.name, in, max, len(recs), err)
			}
		}
	}
	for _, end := range []string{"\n", "\r\n", "\r"} {
		f("abcdef", end, 6, true)
		f("abcdefg", end, 6, false)
		f("a,b,cd", end, 6, true)
		f("a,b,cde", end, 6, false)
		f(`"abcd"`, end, 6, true)
		f(`"abcde"`, end, 6, false)
		f(`"a""b"`, end, 6, true)
		f(`"a""bc"`, end, 6, false)
		f("\"a\nb\"", end, 5, true)
		f("\"a\nbc\"", end, 5, false)
	}
}

func TestScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("a,b\n"), iotest.ErrReader(boom))
	s := NewScanner(r, DefaultDialect(), "t.csv", 0, -1, 1)
	recs, err := scanRecords(s)
	if !errors.Is(err, boom) || IsParseError(err) || !strings.Contains(err.Error(), "t.csv") {
		t.Fatalf("error %v, want the read error naming the file", err)
	}
	if len(recs) > 1 {
		t.Fatalf("records %v", recs)
	}
}

// TestScannerCRLFInQuotesKept documents the one deliberate difference from
// encoding/csv: a CRLF inside a quoted field is kept as is, where
// encoding/csv turns it into LF.
func TestScannerCRLFInQuotesKept(t *testing.T) {
	in := "\"a\r\nb\",c\r\n"
	s := NewBytesScanner([]byte(in), DefaultDialect(), "t.csv", 0, 1)
	recs, err := scanRecords(s)
	if err != nil || len(recs) != 1 || recs[0].Fields[0] != "a\r\nb" {
		t.Fatalf("got %v, %v", recs, err)
	}
	ref, err := csv.NewReader(strings.NewReader(in)).ReadAll()
	if err != nil || ref[0][0] != "a\nb" {
		t.Fatalf("encoding/csv changed: %q, %v", ref, err)
	}
}

// randomRecords draws records from an alphabet chosen to need quoting.
func randomRecords(rng *rand.Rand, alphabet []string) [][]string {
	recs := make([][]string, rng.IntN(10))
	for i := range recs {
		rec := make([]string, 1+rng.IntN(5))
		for j := range rec {
			var b strings.Builder
			for range rng.IntN(7) {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			rec[j] = b.String()
		}
		recs[i] = rec
	}
	return recs
}

func writeCSV(t *testing.T, recs [][]string, crlf bool) string {
	t.Helper()
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.UseCRLF = crlf
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// diffDialect is the default dialect with a small MaxRecordSize, so that a
// reader-based scanner allocates a small buffer (random inputs stay far
// below it).
func diffDialect() Dialect {
	d := DefaultDialect()
	d.MaxRecordSize = 4 << 10
	return d
}

// scanAllStrings scans in in every mode, checks that they agree, and
// returns the records.
func scanAllStrings(t *testing.T, in string) [][]string {
	t.Helper()
	var first [][]string
	for i, m := range scanModes {
		recs, err := scanRecords(m.new(in, diffDialect()))
		if err != nil {
			t.Fatalf("%s: %q: %v", m.name, in, err)
		}
		got := fieldsOf(recs)
		if i == 0 {
			first = got
		} else if !equalRecords(got, first) {
			t.Fatalf("%q: %s gives %q, %s gives %q", in, m.name, got, scanModes[0].name, first)
		}
	}
	return first
}

// TestScannerVsEncodingCSV: random CSVs written by encoding/csv must scan to
// what encoding/csv reads back. Field values hold no CR here because
// encoding/csv turns a CRLF inside quotes into LF (and drops CR when
// writing with UseCRLF) where gdask keeps it; with UseCRLF the writer
// itself turns LF inside quotes into CRLF, which gdask keeps, so those are
// folded back to LF before comparing. Records made of one empty field are
// written as blank lines, which both readers skip.
func TestScannerVsEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", ",", "\"", "\n", " ", "x", "é", "日本", "\U0001F600"}
	for range 3000 {
		recs := randomRecords(rng, alphabet)
		for _, crlf := range []bool{false, true} {
			in := writeCSV(t, recs, crlf)
			r := csv.NewReader(strings.NewReader(in))
			r.FieldsPerRecord = -1
			want, err := r.ReadAll()
			if err != nil {
				t.Fatalf("encoding/csv: %q: %v", in, err)
			}
			for _, m := range scanModes {
				got, err := scanRecords(m.new(in, diffDialect()))
				if err != nil {
					t.Fatalf("%s: %q: %v", m.name, in, err)
				}
				gotf := fieldsOf(got)
				if crlf {
					for _, rec := range gotf {
						for i := range rec {
							rec[i] = strings.ReplaceAll(rec[i], "\r\n", "\n")
						}
					}
				}
				if !equalRecords(gotf, want) {
					t.Fatalf("%s, crlf=%v: %q:\ngot  %q\nwant %q", m.name, crlf, in, gotf, want)
				}
			}
		}
	}
}

// TestScannerRoundTrip: with CRLF in the alphabet, the scanner must give
// back exactly the fields encoding/csv.Writer wrote (CRLF inside quotes
// kept), except the blank lines the writer makes of one-empty-field records.
// With UseCRLF the writer drops CR and writes LF as CRLF inside quotes.
func TestScannerRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", ",", "\"", "\n", "\r\n", " ", "x", "é", "\U0001F600"}
	for range 3000 {
		recs := randomRecords(rng, alphabet)
		for _, crlf := range []bool{false, true} {
			in := writeCSV(t, recs, crlf)
			var want [][]string
			for _, rec := range recs {
				if len(rec) == 1 && rec[0] == "" {
					continue
				}
				if crlf {
					rec = slices.Clone(rec)
					for i, f := range rec {
						rec[i] = strings.ReplaceAll(strings.ReplaceAll(f, "\r", ""), "\n", "\r\n")
					}
				}
				want = append(want, rec)
			}
			got := scanAllStrings(t, in)
			if !equalRecords(got, want) {
				t.Fatalf("crlf=%v: %q:\ngot  %q\nwant %q", crlf, in, got, want)
			}
		}
	}
}

// TestScannerBufferBoundaries scans long inputs through buffers of many
// sizes so that quotes, doubled quotes, CR and LF fall at every buffer
// boundary, and compares with the in-place scan.
func TestScannerBufferBoundaries(t *testing.T) {
	var b bytes.Buffer
	for i := range 200 {
		switch i % 5 {
		case 0:
			b.WriteString("\"a\"\"b\",c\r\n")
		case 1:
			b.WriteString("\"x\r\ny\",\"\"\r")
		case 2:
			b.WriteString("p,q\"r,\"s\nt\"\n\n")
		case 3:
			b.WriteString("\"\"\"\",\r\n\r\n")
		case 4:
			b.WriteString("12,\"\",é\r")
		}
	}
	in := b.String()
	want, err := scanRecords(NewBytesScanner([]byte(in), DefaultDialect(), "t.csv", 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	for max := 14; max < 40; max++ {
		d := DefaultDialect()
		d.MaxRecordSize = max
		for _, r := range []io.Reader{
			strings.NewReader(in),
			iotest.OneByteReader(strings.NewReader(in)),
			iotest.HalfReader(strings.NewReader(in)),
		} {
			got, err := scanRecords(NewScanner(r, d, "t.csv", 0, -1, 1))
			if err != nil {
				t.Fatalf("max %d: %v", max, err)
			}
			if !slices.EqualFunc(got, want, func(a, b record) bool {
				return slices.Equal(a.Fields, b.Fields) && a.Line == b.Line && a.Off == b.Off
			}) {
				t.Fatalf("max %d: records differ:\ngot  %v\nwant %v", max, got, want)
			}
		}
	}
}

// TestScannerLimit: a scanner with a limit returns the record that starts
// before it, even when it ends past it, and stops at the next record start.
func TestScannerLimit(t *testing.T) {
	in := "a,b\n\"c\nd\",e\n\nf\n"
	f := func(limit int64, want [][]string, stop int64) {
		t.Helper()
		for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
			s := NewScanner(r, DefaultDialect(), "t.csv", 0, limit, 1)
			recs, err := scanRecords(s)
			if err != nil || !equalRecords(fieldsOf(recs), want) || s.Offset() != stop {
				t.Fatalf("limit %d: got %q stop %d err %v; want %q stop %d", limit, fieldsOf(recs), s.Offset(), err, want, stop)
			}
		}
	}
	f(0, nil, 0)
	f(1, [][]string{{"a", "b"}}, 4)
	f(4, [][]string{{"a", "b"}}, 4)
	f(5, [][]string{{"a", "b"}, {"c\nd", "e"}}, 12)
	f(12, [][]string{{"a", "b"}, {"c\nd", "e"}}, 12)
	f(13, [][]string{{"a", "b"}, {"c\nd", "e"}}, 13) // the blank line is skipped
	f(14, [][]string{{"a", "b"}, {"c\nd", "e"}, {"f"}}, 15)
	f(-1, [][]string{{"a", "b"}, {"c\nd", "e"}, {"f"}}, 15)
}

// Raw is the record as the input holds it, without its line end, and
// Quoted tells which fields were quoted; neither changes with doubled
// quotes, which are collapsed outside the record's bytes.
func TestScannerRawAndQuoted(t *testing.T) {
	f := func(in string, raws []string, quoted [][]bool) {
		t.Helper()
		for _, bufSize := range []int{0, 3} {
			var s *Scanner
			if bufSize == 0 {
				s = NewBytesScanner([]byte(in), DefaultDialect(), "t.csv", 0, 1)
			} else {
				d := DefaultDialect()
				d.MaxRecordSize = 64
				s = NewScanner(&oneByteReader{strings.NewReader(in)}, d, "t.csv", 0, -1, 1)
			}
			i := 0
			for s.Next() {
				if i >= len(raws) {
					t.Fatalf("%q: more than %d records", in, len(raws))
				}
				if got := string(s.Raw()); got != raws[i] {
					t.Fatalf("%q: record %d Raw %q, want %q", in, i, got, raws[i])
				}
				for j, q := range quoted[i] {
					if s.Quoted(j) != q {
						t.Fatalf("%q: record %d field %d Quoted %v, want %v", in, i, j, s.Quoted(j), q)
					}
				}
				i++
			}
			if s.Err() != nil || i != len(raws) {
				t.Fatalf("%q: %d records, %v", in, i, s.Err())
			}
		}
	}
	f("a,b\nc,d", []string{"a,b", "c,d"}, [][]bool{{false, false}, {false, false}})
	f("\"a\"\"b\",c\r\n\"x\ny\",\"\"\n", []string{"\"a\"\"b\",c", "\"x\ny\",\"\""}, [][]bool{{true, false}, {true, true}})
	f("\"q\"\"\",\"r\"\"\"\"s\"\rz", []string{"\"q\"\"\",\"r\"\"\"\"s\"", "z"}, [][]bool{{true, true}, {false}})
	f("a\"b,c\n", []string{"a\"b,c"}, [][]bool{{false, false}})
}

// oneByteReader returns one byte per Read, so records cross every buffer
// boundary.
type oneByteReader struct{ r *strings.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// With OnRefill, the fields and Raw of every record since the last refill
// stay as they were until the hook runs, doubled quotes included; the
// hook runs before each refill.
func TestScannerOnRefill(t *testing.T) {
	var in strings.Builder
	var want [][]string
	for i := range 3000 {
		rec := []string{strconv.Itoa(i), fmt.Sprintf("q\"%d\"", i%7), "x"}
		want = append(want, rec)
		fmt.Fprintf(&in, "%s,\"%s\",%s\n", rec[0], strings.ReplaceAll(rec[1], `"`, `""`), rec[2])
	}
	d := DefaultDialect()
	d.MaxRecordSize = 64 // a small buffer: many refills
	s := NewScanner(strings.NewReader(in.String()), d, "t.csv", 0, -1, 1)
	type kept struct {
		fields [][]byte
		raw    []byte
		i      int
	}
	var held []kept
	check := func() {
		for _, k := range held {
			for j, f := range k.fields {
				if string(f) != want[k.i][j] {
					t.Fatalf("record %d field %d changed to %q before the refill", k.i, j, f)
				}
			}
			if !strings.HasPrefix(string(k.raw), want[k.i][0]+",") {
				t.Fatalf("record %d raw changed to %q", k.i, k.raw)
			}
		}
		held = held[:0]
	}
	refills := 0
	s.OnRefill(func() { refills++; check() })
	i := 0
	for s.Next() {
		held = append(held, kept{slices.Clone(s.Fields()), s.Raw(), i})
		i++
	}
	check()
	if s.Err() != nil || i != len(want) || refills < 10 {
		t.Fatalf("%d records, %d refills, %v", i, refills, s.Err())
	}
}
