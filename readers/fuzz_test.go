package readers

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// FuzzSplitInvariance: for RFC-4180 input (a serial parse succeeds and no
// quote stands inside an unquoted field), partitions cut anywhere parse to
// exactly the one-partition records, and every seam holds. cut places the
// first cut; workers (1-8) is the number of partitions tried, and the
// worker count of a real Split over the input repeated past a few blocks.
// For other input that parses, the seam check must catch every partitioning
// that disagrees with the serial parse.
func FuzzSplitInvariance(f *testing.F) {
	f.Add([]byte("a,b\n\"c\nd\",e\r\n\r\nf\rg\n"), uint16(5), uint8(2))
	f.Add([]byte("\"\"\"\n\"\"\",x\n\"\r\n\"\r\n\r\r\n"), uint16(3), uint8(3))
	f.Add([]byte("x\r\r\r\ny\n\n\r\n\"\n\n\n\""), uint16(9), uint8(7))
	f.Fuzz(checkSplitInvariance)
}

// checkSplitInvariance is the property of FuzzSplitInvariance.
func checkSplitInvariance(t *testing.T, data []byte, cut uint16, workers uint8) {
	d := smallDialect()
	if len(data) == 0 || len(data) > 1<<12 {
		return
	}
	serial, err := serialParse(data, d, 0, 1)
	if err != nil {
		return
	}
	size := int64(len(data))
	n := 1 + int(workers%8)
	cuts := make([]int64, n)
	step := size/int64(n) + 1
	for i := range cuts {
		cuts[i] = (int64(cut) + int64(i)*step) % (size + 1)
	}
	r := bytes.NewReader(data)
	if !rfcQuoting(data, d.Delimiter) {
		// A quote inside an unquoted field can mislead the parity; then the
		// seam check (or a parse error) must say so: partitions whose
		// seams all hold are never wrong.
		for _, cs := range [][]int64{cuts[:1], cuts} {
			if got, ok := tryPartitions(r, size, cutPartitions(t, r, data, 0, cs, 64<<10), d); ok {
				sameRecords(t, got, serial)
			}
		}
		return
	}
	parts := cutPartitions(t, r, data, 0, cuts[:1], 64<<10)
	sameRecords(t, scanPartitions(t, r, size, parts, d), serial)
	parts = cutPartitions(t, r, data, 0, cuts, 1+int(cut%5))
	sameRecords(t, scanPartitions(t, r, size, parts, d), serial)

	// Split proper needs blocks of at least MinBlocksize: repeat the
	// input (each copy ends with a line end, so each starts a record).
	var rep []byte
	for len(rep) < 3*MinBlocksize {
		rep = append(rep, data...)
		rep = append(rep, '\n')
	}
	repSerial, err := serialParse(rep, d, 0, 1)
	if err != nil {
		t.Fatalf("repeated input does not parse: %v", err)
	}
	bs := MinBlocksize + int64(cut)%MinBlocksize
	lay, err := Split(context.Background(), bytes.NewReader(rep), "fuzz", 0, int64(len(rep)), bs, n)
	if err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, lay.Partitions, 0, int64(len(rep)))
	sameRecords(t, scanPartitions(t, bytes.NewReader(rep), int64(len(rep)), lay.Partitions, d), repSerial)
	if lay.Plain(d.MaxRecordSize) && lay.PlainRecords() != int64(len(repSerial)) {
		t.Fatalf("Plain layout counts %d records, serial parse %d", lay.PlainRecords(), len(repSerial))
	}
}

// FuzzScannerVsEncodingCSV: where encoding/csv (FieldsPerRecord -1, strict
// quotes) accepts the input, the scanner gives the same records, once its
// documented differences are set aside: input with a CR that is not part
// of a CRLF is skipped (gdask ends a line there, encoding/csv keeps it as
// data), and a CRLF inside quotes, kept by gdask, is compared as LF.
func FuzzScannerVsEncodingCSV(f *testing.F) {
	f.Add([]byte("a,b\n\"c\nd\",e\r\n\r\n\"\"\"\"\n"))
	f.Add([]byte("x,\"a\r\nb\",\"\"\n\n,\n"))
	f.Add([]byte("\"a,b\",\"c\"\"d\"\r\n1,2\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > diffDialect().MaxRecordSize {
			return // a record could exceed the small dialect's bound
		}
		for i, c := range data {
			if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
				return
			}
		}
		r := csv.NewReader(bytes.NewReader(data))
		r.FieldsPerRecord = -1
		want, err := r.ReadAll()
		if err != nil {
			return
		}
		for _, d := range []Dialect{DefaultDialect(), diffDialect()} {
			recs, err := scanRecords(NewScanner(bytes.NewReader(data), d, "fuzz", 0, -1, 1))
			if err != nil {
				t.Fatalf("encoding/csv reads %q, the scanner fails: %v", data, err)
			}
			checkRaw(t, data, d)
			got := fieldsOf(recs)
			for _, rec := range got {
				for i := range rec {
					rec[i] = strings.ReplaceAll(rec[i], "\r\n", "\n")
				}
			}
			if !equalRecords(got, want) {
				t.Fatalf("%q:\ngot  %q\nwant %q", data, got, want)
			}
		}
	})
}

// FuzzParseNumber: ParseNumber never panics, and its kinds agree with
// strconv on the text without surrounding spaces and tabs.
func FuzzParseNumber(f *testing.F) {
	for _, s := range []string{"7", " -12 ", "1.5e3", "nan", "-Inf", "1_000", "0x10", "9223372036854775808", ".5", "1.", "1e", "", "\t", "-0.0", "-0", "123456789012345678", "12345678901234567.8", "9007199254740993.0", "-45.25"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, i, fl := ParseNumber([]byte(s))
		if k, si, sf, ok := parseShort([]byte(s)); ok {
			gk, gi, gf := parseNumber([]byte(s))
			if k != gk || si != gi || math.Float64bits(sf) != math.Float64bits(gf) {
				t.Fatalf("%q: short path %v %d %v, general path %v %d %v", s, k, si, sf, gk, gi, gf)
			}
		}
		text := strings.Trim(s, " \t")
		pi, ierr := strconv.ParseInt(text, 10, 64)
		pf, ferr := strconv.ParseFloat(text, 64)
		numeric := text != "" && strings.Trim(text, "0123456789.eE+-") == ""
		switch kind {
		case KindInt:
			if ierr != nil || pi != i || fl != float64(i) {
				t.Fatalf("%q: int %d, strconv %d, %v", s, i, pi, ierr)
			}
		case KindFloat:
			if math.IsNaN(fl) {
				t.Fatalf("%q: NaN is a float, want null", s)
			}
			if !math.IsInf(fl, 0) && (!numeric || pf != fl || (ferr != nil && !isRange(ferr))) {
				t.Fatalf("%q: float %v, strconv %v, %v", s, fl, pf, ferr)
			}
			if math.IsInf(fl, 0) && (ferr != nil && !isRange(ferr) || pf != fl) {
				t.Fatalf("%q: %v, strconv %v, %v", s, fl, pf, ferr)
			}
			if ierr == nil {
				t.Fatalf("%q: an int64 (%d) classified as float", s, pi)
			}
		case KindNull:
			if text != "" && !slices.Contains([]string{"nan", "+nan", "-nan"}, strings.ToLower(text)) {
				t.Fatalf("%q: null", s)
			}
		case KindString:
			if ierr == nil || (ferr == nil || isRange(ferr)) && numeric {
				t.Fatalf("%q: a string, but strconv reads %d (%v) / %v (%v)", s, pi, ierr, pf, ferr)
			}
		default:
			t.Fatalf("%q: kind %d", s, kind)
		}
	})
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// checkRaw: every record's Raw is the input's bytes from the record's
// offset, ending at a line end or the end of the input, and reading it
// again alone gives the same fields.
func checkRaw(t *testing.T, data []byte, d Dialect) {
	t.Helper()
	s := NewScanner(bytes.NewReader(data), d, "fuzz", 0, -1, 1)
	for s.Next() {
		raw := s.Raw()
		off := s.RecordOffset()
		if !bytes.Equal(data[off:off+int64(len(raw))], raw) {
			t.Fatalf("%q: Raw %q is not the input at %d", data, raw, off)
		}
		if end := off + int64(len(raw)); end < int64(len(data)) && data[end] != '\n' && data[end] != '\r' {
			t.Fatalf("%q: Raw %q at %d is not followed by a line end", data, raw, off)
		}
		fields := slices.Clone(s.Fields())
		one, err := scanRecords(NewBytesScanner(bytes.Clone(raw), d, "raw", 0, 1))
		if err != nil || len(one) != 1 || !slices.Equal(one[0].Fields, stringsOf(fields)) {
			t.Fatalf("%q: Raw %q reads back as %v, %v; want %q", data, raw, one, err, fields)
		}
	}
}

func stringsOf(fields [][]byte) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = string(f)
	}
	return out
}
