package readers

import (
	"bytes"
	"strconv"
	"sync"
	"testing"
)

const benchSize = 16 << 20

// genData builds about size bytes of the gen-data file: a header and rows
// `i,cat_{i%100},{float(i%1000)}` such as `7,cat_7,7.0`.
func genData(size int, crlf bool) []byte {
	b := make([]byte, 0, size+64)
	b = append(b, "id,category,value\n"...)
	for i := 0; len(b) < size; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, ",cat_"...)
		b = strconv.AppendInt(b, int64(i%100), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(i%1000), 10)
		b = append(b, ".0"...)
		if crlf {
			b = append(b, '\r')
		}
		b = append(b, '\n')
	}
	return b
}

// genQuoted is gen-data with quoted fields: a quoted category, and a note
// with a delimiter and doubled quotes, holding a line break every tenth row.
func genQuoted(size int) []byte {
	b := make([]byte, 0, size+128)
	b = append(b, "id,category,note,value\n"...)
	for i := 0; len(b) < size; i++ {
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"cat_`...)
		b = strconv.AppendInt(b, int64(i%100), 10)
		b = append(b, `","say ""hi"", then`...)
		if i%10 == 0 {
			b = append(b, "\nbye"...)
		}
		b = append(b, `",`...)
		b = strconv.AppendInt(b, int64(i%1000), 10)
		b = append(b, ".0\n"...)
	}
	return b
}

var benchData = sync.OnceValues(func() (map[string][]byte, error) {
	return map[string][]byte{
		"plain":  genData(benchSize, false),
		"crlf":   genData(benchSize, true),
		"quoted": genQuoted(benchSize),
	}, nil
})

// scanCount scans all of r's records with s, reset to read data.
func scanCount(s *Scanner, r *bytes.Reader, data []byte) (int, error) {
	r.Reset(data)
	s.Reset(r, 0, -1, 1)
	n := 0
	for s.Next() {
		n += len(s.Fields())
	}
	return n, s.Err()
}

// BenchmarkScanner scans 16 MiB through a reused Scanner (Reset) so that the
// loop shows the scan alone: 0 allocs/op.
func BenchmarkScanner(b *testing.B) {
	data, _ := benchData()
	for _, name := range []string{"plain", "crlf", "quoted"} {
		b.Run(name, func(b *testing.B) {
			in := data[name]
			r := bytes.NewReader(in)
			s := NewScanner(r, DefaultDialect(), "bench.csv", 0, -1, 1)
			if _, err := scanCount(s, r, in); err != nil { // warm up the field slices
				b.Fatal(err)
			}
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := scanCount(s, r, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBytesScanner scans in place, as a chunk of a stream is scanned.
func BenchmarkBytesScanner(b *testing.B) {
	data, _ := benchData()
	in := data["plain"]
	buf := make([]byte, len(in))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, in)
		s := NewBytesScanner(buf, DefaultDialect(), "bench.csv", 0, 1)
		for s.Next() {
		}
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
	}
}

func BenchmarkParseNumber(b *testing.B) {
	in := [][]byte{[]byte("12345"), []byte("-7"), []byte("123.0"), []byte("1e-3"), []byte("cat_7")}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range in {
			ParseNumber(f)
		}
	}
}

// TestScannerNoAllocs: once its buffers have grown, a Scanner reset onto
// new input allocates nothing per record or field, on either path.
func TestScannerNoAllocs(t *testing.T) {
	for name, in := range map[string][]byte{
		"plain":  genData(256<<10, false),
		"crlf":   genData(256<<10, true),
		"quoted": genQuoted(256 << 10),
	} {
		r := bytes.NewReader(in)
		s := NewScanner(r, DefaultDialect(), "t.csv", 0, -1, 1)
		want, err := scanCount(s, r, in)
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(5, func() {
			if n, err := scanCount(s, r, in); err != nil || n != want {
				t.Fatalf("%s: %d fields, %v; want %d", name, n, err, want)
			}
		})
		if allocs != 0 {
			t.Fatalf("%s: %v allocations per scan", name, allocs)
		}
	}
}

// TestScannerReset: a reset scanner reads its new input from the given
// offset and line, and a bytes scanner reset onto a reader does not write
// into the caller's data.
func TestScannerReset(t *testing.T) {
	s := NewScanner(bytes.NewReader([]byte("a,b\n\"c\nd\"\n")), DefaultDialect(), "t.csv", 0, -1, 1)
	s.SetFieldCount(2)
	if _, err := scanRecords(s); err == nil {
		t.Fatal("want a field count error")
	}
	s.Reset(bytes.NewReader([]byte("x\n\"y\"\"\"\nz")), 100, 108, 7)
	got, err := scanRecords(s)
	if err != nil || !equalRecords(fieldsOf(got), [][]string{{"x"}, {"y\""}}) || got[1].Line != 8 || got[1].Off != 102 || s.Offset() != 108 {
		t.Fatalf("after Reset: %v, %v, offset %d", got, err, s.Offset())
	}
	data := []byte("\"q\"\"\"\n")
	bs := NewBytesScanner(data, DefaultDialect(), "t.csv", 0, 1)
	bs.Reset(bytes.NewReader([]byte("\"a\"\"b\"\n")), 0, -1, 1)
	if got, err := scanRecords(bs); err != nil || len(got) != 1 || got[0].Fields[0] != "a\"b" || string(data) != "\"q\"\"\"\n" {
		t.Fatalf("bytes scanner reset: %v, %v, data %q", got, err, data)
	}
}
