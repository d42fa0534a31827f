package writers

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// row builds a record for a test table: a string is a field, nil is null.
func row(fs ...any) [][]byte {
	r := make([][]byte, len(fs))
	for i, f := range fs {
		switch f := f.(type) {
		case nil:
		case string:
			r[i] = []byte(f)
		default:
			panic("row: want string or nil")
		}
	}
	return r
}

// render writes cols and rows in format and returns the output. Each field
// is passed in a scratch buffer that is overwritten right after Row returns,
// so a writer that keeps the caller's bytes produces wrong output.
func render(t *testing.T, format string, cols []Column, rows [][][]byte) string {
	t.Helper()
	var out bytes.Buffer
	w, err := New(format, &out)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Begin(cols); err != nil {
		t.Fatalf("Begin: %v", err)
	}
	scratch := make([]byte, 0, 256)
	fields := make([][]byte, len(cols))
	for _, r := range rows {
		scratch = scratch[:0]
		for i, f := range r {
			if f == nil {
				fields[i] = nil
				continue
			}
			start := len(scratch)
			scratch = append(scratch, f...)
			fields[i] = scratch[start:len(scratch):len(scratch)]
		}
		if err := w.Row(fields[:len(r)]); err != nil {
			t.Fatalf("Row: %v", err)
		}
		for i := range scratch {
			scratch[i] = 'X'
		}
	}
	if err := w.End(); err != nil {
		t.Fatalf("End: %v", err)
	}
	return out.String()
}

func TestNew(t *testing.T) {
	for _, f := range Formats() {
		if w, err := New(f, io.Discard); err != nil || w == nil {
			t.Errorf("New(%q) = %v, %v", f, w, err)
		}
	}
	_, err := New("xml", io.Discard)
	want := `unknown output format "xml" (want table, csv, tsv, json or ndjson)`
	if err == nil || err.Error() != want {
		t.Errorf("New(xml) error = %v, want %s", err, want)
	}
}

func TestFormats(t *testing.T) {
	want := []string{"table", "csv", "tsv", "json", "ndjson"}
	got := Formats()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Formats() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if Formats()[0] != "table" {
		t.Error("Formats returns a shared slice")
	}
}

func TestDefault(t *testing.T) {
	if got := Default(true); got != "table" {
		t.Errorf("Default(true) = %q, want table", got)
	}
	if got := Default(false); got != "csv" {
		t.Errorf("Default(false) = %q, want csv", got)
	}
}

func TestCallOrder(t *testing.T) {
	cols := []Column{{Name: "a"}, {Name: "b"}}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			w, _ := New(format, io.Discard)
			if err := w.Row(row("1", "2")); err == nil {
				t.Error("Row before Begin: no error")
			}
			if err := w.Begin(cols); err != nil {
				t.Fatal(err)
			}
			if err := w.Begin(cols); err == nil {
				t.Error("second Begin: no error")
			}
			err := w.Row(row("1", "2", "3"))
			if err == nil || err.Error() != "cannot write row 1: it has 3 fields, want 2" {
				t.Errorf("Row with 3 fields: error = %v", err)
			}
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
			if err := w.End(); err == nil {
				t.Error("second End: no error")
			}
			if err := w.Row(row("1", "2")); err == nil {
				t.Error("Row after End: no error")
			}
		})
	}
}

// failWriter fails every write.
type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriteError(t *testing.T) {
	cause := errors.New("disk full")
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			w, _ := New(format, failWriter{cause})
			if err := w.Begin([]Column{{Name: "a"}}); err != nil {
				t.Fatal(err) // buffered: nothing written yet
			}
			for range 10 {
				if err := w.Row(row(strings.Repeat("x", 1000))); err != nil {
					break
				}
			}
			err := w.End()
			if !errors.Is(err, cause) {
				t.Fatalf("End error = %v, want one wrapping %v", err, cause)
			}
			if want := "cannot write output: disk full"; err.Error() != want {
				t.Errorf("End error = %q, want %q", err, want)
			}
		})
	}
}

// TestZeroColumns checks that an empty schema does not panic and writes
// valid output where the format has any.
func TestZeroColumns(t *testing.T) {
	want := map[string]string{
		"table":  "",
		"csv":    "\n\n",
		"tsv":    "\n\n",
		"json":   "[\n{}\n]\n",
		"ndjson": "{}\n",
	}
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			got := render(t, format, nil, [][][]byte{row()})
			if got != want[format] {
				t.Errorf("got %q, want %q", got, want[format])
			}
		})
	}
}

// Rows encoded in chunks by Encoders (as workers do) and written in order
// with WriteEncoded give what Row gives, in every streaming format, also
// for no rows; csv quotes again the fields the input quoted, and writes a
// raw record as it is.
func TestEncodedRowsEqualRows(t *testing.T) {
	cols := []Column{{Name: "s", Type: String}, {Name: "n", Type: Int}, {Name: "f", Type: Float}}
	rows := [][][]byte{row("a,b", "1", "1.5"), row(nil, "-2", nil), row(`q"`, "03", "1e3"), row("", "4", "2")}
	for _, format := range []string{"csv", "tsv", "json", "ndjson"} {
		for _, n := range []int{0, 1, len(rows)} {
			want := render(t, format, cols, rows[:n])
			var out bytes.Buffer
			w, err := New(format, &out)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Begin(cols); err != nil {
				t.Fatal(err)
			}
			for lo := 0; lo < n; lo += 2 {
				enc, ok := NewEncoder(format, cols)
				if !ok {
					t.Fatalf("%s: no encoder", format)
				}
				var b []byte
				hi := min(lo+2, n)
				for _, r := range rows[lo:hi] {
					b = enc.AppendRow(b, r, nil)
				}
				if err := w.WriteEncoded(b, int64(hi-lo)); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("%s, %d rows: encoded\n%s\nwant\n%s", format, n, out.String(), want)
			}
		}
	}
	if _, ok := NewEncoder("table", cols); ok {
		t.Error("table has an encoder")
	}
	enc, _ := NewEncoder("csv", cols)
	got := enc.AppendRow(nil, row("x", "1", "y"), []bool{true, false, true})
	if want := "\"x\",1,\"y\"\n"; string(got) != want {
		t.Errorf("quoted fields: %q, want %q", got, want)
	}
	got = enc.(RawEncoder).AppendRaw(nil, []byte(`"a""b",2,"c`+"\r\n"+`d"`))
	if want := "\"a\"\"b\",2,\"c\r\nd\"\n"; string(got) != want {
		t.Errorf("raw record: %q, want %q", got, want)
	}
}

// failAfter accepts writes until it has taken limit bytes, then fails.
type failAfter struct {
	got   bytes.Buffer
	limit int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.got.Len()+len(p) > f.limit {
		return 0, errors.New("disk full")
	}
	return f.got.Write(p)
}

// Encoded rows reach the destination in whole rows: when it fails, what
// it took ends at a row's end, whatever the sizes of the chunks.
func TestEncodedWritesWholeRows(t *testing.T) {
	cols := []Column{{Name: "s", Type: String}}
	enc, _ := NewEncoder("csv", cols)
	for _, chunkRows := range []int{1, 7, 3000, 20000} {
		dst := &failAfter{limit: 300 << 10}
		w, _ := New("csv", dst)
		w.Begin(cols)
		var err error
		for i := 0; err == nil && i < 100_000; i++ {
			var b []byte
			for r := range chunkRows {
				b = enc.AppendRow(b, row(strings.Repeat("x", 10+r%50)), nil)
			}
			err = w.WriteEncoded(b, int64(chunkRows))
		}
		if err == nil {
			err = w.End()
		}
		if err == nil {
			t.Fatalf("%d rows a chunk: no error", chunkRows)
		}
		if out := dst.got.Bytes(); len(out) > 0 && out[len(out)-1] != '\n' {
			t.Fatalf("%d rows a chunk: output ends inside a row: %q", chunkRows, out[len(out)-20:])
		}
	}
}
