package readers

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadHeader: names are trimmed, empty names get column<i>, duplicates
// get _2, _3 suffixes that do not collide with real names; with NoHeader
// the first record stays data.
func TestReadHeader(t *testing.T) {
	f := func(in string, noHeader bool, want []string, dataStart, dataLine int64) {
		t.Helper()
		d := DefaultDialect()
		d.NoHeader = noHeader
		s := NewBytesScanner([]byte(in), d, "h.csv", 0, 1)
		h, err := ReadHeader(s, d, "h.csv")
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !slices.Equal(h.Names, want) || h.DataStart != dataStart || h.DataLine != dataLine {
			t.Fatalf("%q: %q data at %d line %d; want %q at %d line %d", in, h.Names, h.DataStart, h.DataLine, want, dataStart, dataLine)
		}
	}
	f("a,b,c\n1,2,3\n", false, []string{"a", "b", "c"}, 6, 2)
	f(" a ,\"b\nc\",\n1", false, []string{"a", "b\nc", "column2"}, 11, 3)
	f("a,a,a\n", false, []string{"a", "a_2", "a_3"}, 6, 2)
	f("a,a,a_2\n", false, []string{"a", "a_3", "a_2"}, 8, 2)
	f("\n\r\nx,y\r\n", false, []string{"x", "y"}, 8, 4)
	f("1,2\n3,4\n", true, []string{"column0", "column1"}, 0, 1)

	d := DefaultDialect()
	for _, in := range []string{"", "\n\n\r\n"} {
		if _, err := ReadHeader(NewBytesScanner([]byte(in), d, "h.csv", 0, 1), d, "h.csv"); err == nil || !strings.Contains(err.Error(), "no header") {
			t.Fatalf("%q: %v", in, err)
		}
	}
	if _, err := ReadHeader(NewBytesScanner([]byte("a,\xff\n"), d, "h.csv", 0, 1), d, "h.csv"); err == nil || !strings.Contains(err.Error(), "h.csv:1:2") {
		t.Fatalf("invalid UTF-8 header: %v", err)
	}
	if _, err := ReadHeader(NewBytesScanner([]byte("\"a\n"), d, "h.csv", 0, 1), d, "h.csv"); !IsParseError(err) {
		t.Fatalf("unterminated header: %v", err)
	}
}

// TestOpenFileScannerBOM: a UTF-8 BOM is stripped at byte 0 only, and
// offsets stay file offsets.
func TestOpenFileScannerBOM(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bom.csv")
	if err := os.WriteFile(path, []byte("\xef\xbb\xbfa,b\n\xef\xbb\xbf1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	in, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	d := DefaultDialect()
	s, err := OpenFileScanner(in, d)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(s, d, path)
	if err != nil || !slices.Equal(h.Names, []string{"a", "b"}) || h.DataStart != 7 {
		t.Fatalf("header %+v, %v", h, err)
	}
	recs, err := scanRecords(s)
	if err != nil || len(recs) != 1 || recs[0].Fields[0] != "\xef\xbb\xbf1" || recs[0].Off != 7 {
		t.Fatalf("records %v, %v", recs, err)
	}
}

// TestExpandLiteralFirst: a path that exists is that file, even when its
// name holds glob characters and another file matches it as a pattern;
// only a path that does not exist is expanded as a glob.
func TestExpandLiteralFirst(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"data[1].csv", "data1.csv", "data2.csv", "star*.csv", "starry.csv", "q?.csv", "qx.csv"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("a\n1\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{p("data[1].csv"), []string{p("data[1].csv")}},                // exists: itself, not data1.csv
		{p("data[12].csv"), []string{p("data1.csv"), p("data2.csv")}}, // missing: a glob
		{p("star*.csv"), []string{p("star*.csv")}},                    // exists: not starry.csv too
		{p("st*y.csv"), []string{p("starry.csv")}},
		{p("q?.csv"), []string{p("q?.csv")}}, // exists: not qx.csv too
		{p("data.csv"), []string{p("data.csv")}},
		{Stdin, []string{Stdin}},
	} {
		got, err := Expand([]string{tc.arg})
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
	if _, err := Expand([]string{p("none[0-9].csv")}); err == nil || !strings.Contains(err.Error(), "no files match") {
		t.Errorf("a glob that matches nothing: %v", err)
	}
}
