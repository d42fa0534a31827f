package readers

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// record is a copy of one scanned record with its position.
type record struct {
	Fields []string
	Line   int64 // Scanner.Line
	Off    int64 // Scanner.RecordOffset
}

func (r record) String() string { return fmt.Sprintf("%d@%d%q", r.Line, r.Off, r.Fields) }

// scanRecords runs s to its end and returns copies of its records and
// s.Err().
func scanRecords(s *Scanner) ([]record, error) {
	var out []record
	for s.Next() {
		f := s.Fields()
		rec := record{Fields: make([]string, len(f)), Line: s.Line(), Off: s.RecordOffset()}
		for i, b := range f {
			rec.Fields[i] = string(b)
		}
		out = append(out, rec)
	}
	return out, s.Err()
}

// serialParse is the reference for every splitting test: one bytes scanner
// over data[base:], which starts at input offset base on line startLine.
// data is not modified.
func serialParse(data []byte, d Dialect, base, startLine int64) ([]record, error) {
	return scanRecords(NewBytesScanner(bytes.Clone(data[base:]), d, "serial", base, startLine))
}

func fieldsOf(recs []record) [][]string {
	out := make([][]string, len(recs))
	for i, r := range recs {
		out[i] = r.Fields
	}
	return out
}

// sameRecords compares fields and offsets (not lines: a partition scanner
// does not know its start line).
func sameRecords(t testing.TB, got, want []record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d\ngot:  %v\nwant: %v", len(got), len(want), got, want)
	}
	for i := range got {
		if !slices.Equal(got[i].Fields, want[i].Fields) || got[i].Off != want[i].Off {
			t.Fatalf("record %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

// scanPartitions parses each partition on its own, checks the seam (a
// partition scanner stops exactly at its End) and returns all records.
func scanPartitions(t testing.TB, r io.ReaderAt, size int64, parts []Partition, d Dialect) []record {
	t.Helper()
	var all []record
	for i, p := range parts {
		s := NewPartitionScanner(r, size, p, d, 0)
		recs, err := scanRecords(s)
		if err != nil {
			t.Fatalf("partition %d [%d,%d): %v", i, p.Start, p.End, err)
		}
		if s.Offset() != p.End {
			t.Fatalf("seam: partition %d [%d,%d) stopped at %d", i, p.Start, p.End, s.Offset())
		}
		for _, rec := range recs {
			if rec.Off < p.Start || rec.Off >= p.End {
				t.Fatalf("partition %d [%d,%d) returned a record at %d", i, p.Start, p.End, rec.Off)
			}
		}
		all = append(all, recs...)
	}
	return all
}

// tryPartitions parses each partition on its own like scanPartitions, but
// reports a failed seam or a parse error as ok == false instead of failing:
// that is how a caller finds that quote parity misled the splitter.
func tryPartitions(r io.ReaderAt, size int64, parts []Partition, d Dialect) (all []record, ok bool) {
	for _, p := range parts {
		s := NewPartitionScanner(r, size, p, d, 0)
		recs, err := scanRecords(s)
		if err != nil || s.Offset() != p.End {
			return nil, false
		}
		all = append(all, recs...)
	}
	return all, true
}

// cutPartitions builds partitions of [dataStart, size) of data (which r
// reads) the way Split does, but from arbitrary cut offsets (Split only cuts
// at multiples of a blocksize >= MinBlocksize): the parity of the quotes in
// [dataStart, cut) gives the quote state at the cut, and nextRecordStart
// moves the cut to the next record start.
func cutPartitions(t testing.TB, r io.ReaderAt, data []byte, dataStart int64, cuts []int64, window int) []Partition {
	t.Helper()
	size := int64(len(data))
	buf := make([]byte, window)
	cuts = slices.Sorted(slices.Values(cuts))
	var parts []Partition
	start := dataStart
	for _, cut := range cuts {
		if cut <= start || cut >= size {
			continue
		}
		parity := bytes.Count(data[dataStart:cut], []byte{'"'})
		at, _, err := nextRecordStart(r, cut, size, parity%2 == 1, buf)
		if err != nil {
			t.Fatal(err)
		}
		if at <= cut && at != size {
			t.Fatalf("nextRecordStart(%d) = %d, not after the cut", cut, at)
		}
		if at <= start || at >= size {
			continue
		}
		parts = append(parts, Partition{Path: "cut", Index: len(parts), Start: start, End: at})
		start = at
	}
	return append(parts, Partition{Path: "cut", Index: len(parts), Start: start, End: size})
}

// rfcQuoting reports whether every quote in data is part of a quoted field
// (opens at a field start, is doubled inside, or closes it): the condition
// under which quote parity equals the scanner's quote state. It does not
// check what follows a closing quote; a serial parse reports that.
func rfcQuoting(data []byte, delim byte) bool {
	fieldStart, inQuote := true, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inQuote:
			if c == '"' {
				if i+1 < len(data) && data[i+1] == '"' {
					i++
				} else {
					inQuote = false
				}
			}
		case c == '"':
			if !fieldStart {
				return false
			}
			inQuote, fieldStart = true, false
		case c == delim || c == '\n' || c == '\r':
			fieldStart = true
		default:
			fieldStart = false
		}
	}
	return true
}

// genOptions shapes a generated CSV.
type genOptions struct {
	records  int  // at least this many records
	minSize  int  // and at least this many bytes
	header   bool // a header line "id,name,note"
	quotes   bool // quoted fields with delimiters, line ends, escaped quotes
	ends     []string
	blanks   bool // blank lines between records (and at the start and end)
	noFinal  bool // maybe drop the final line end
	maxField int  // tokens per field
}

// genCSV writes RFC-4180-valid CSV (plus CR-only ends and blank lines)
// full of the cases that break naive splitting.
func genCSV(rng *rand.Rand, o genOptions) []byte {
	if len(o.ends) == 0 {
		o.ends = []string{"\n"}
	}
	if o.maxField == 0 {
		o.maxField = 8
	}
	var b bytes.Buffer
	if o.header {
		b.WriteString("id,name,note\n")
	}
	end := func() {
		b.WriteString(o.ends[rng.IntN(len(o.ends))])
		if o.blanks && rng.IntN(4) == 0 {
			for range 1 + rng.IntN(2) {
				b.WriteString(o.ends[rng.IntN(len(o.ends))])
			}
		}
	}
	if o.blanks && rng.IntN(3) == 0 {
		b.WriteString(o.ends[rng.IntN(len(o.ends))])
	}
	plain := []string{"a", "x", "7", "3.5", " ", "é", "日本", "-", "cat_1"}
	inQuotes := []string{",", "\n", "\r\n", "\r", `""`, "a", " ", "\n\n", "\r\n\r\n", "é"}
	for i := 0; i < o.records || b.Len() < o.minSize; i++ {
		if i > 0 {
			end()
		}
		nf := 1 + rng.IntN(4)
		for f := range nf {
			if f > 0 {
				b.WriteByte(',')
			}
			n := rng.IntN(o.maxField)
			if o.quotes && rng.IntN(3) == 0 {
				b.WriteByte('"')
				for range n {
					b.WriteString(inQuotes[rng.IntN(len(inQuotes))])
				}
				b.WriteByte('"')
				continue
			}
			for range n {
				b.WriteString(plain[rng.IntN(len(plain))])
			}
		}
	}
	if !o.noFinal || rng.IntN(2) == 0 {
		end()
	}
	return b.Bytes()
}

// dataStartOf returns where the data region of a generated file begins.
func dataStartOf(t testing.TB, data []byte, header bool) (int64, int64) {
	t.Helper()
	if !header {
		return 0, 1
	}
	s := NewBytesScanner(bytes.Clone(data), DefaultDialect(), "hdr", 0, 1)
	h, err := ReadHeader(s, DefaultDialect(), "hdr")
	if err != nil {
		t.Fatal(err)
	}
	return h.DataStart, h.DataLine
}

func quoteLines(b []byte) string {
	s := fmt.Sprintf("%q", b)
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return strings.TrimSpace(s)
}
