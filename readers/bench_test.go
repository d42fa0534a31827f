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

// wideZones and wideNotes are the text columns of the wide schema (the
// benchgen tool's "wide" data set): three zone names of thirty hold a comma
// and are quoted.
var (
	wideZones = []string{
		"Upper East Side North", "Upper East Side South", "Midtown Center", "Midtown East",
		"Murray Hill", "Times Sq/Theatre District", "Union Sq", "East Village", "Clinton East",
		"Lincoln Square East", "Upper West Side South", "Penn Station/Madison Sq West",
		"Lenox Hill West", "Gramercy", "West Village", "JFK Airport", "LaGuardia Airport",
		"East Chelsea", "Yorkville West", "Lower East Side", "Williamsburg (North Side)",
		"Park Slope", "Astoria", "Long Island City/Hunters Point", "Harlem", "Financial District North",
		"TriBeCa/Civic Center", `"Flatiron, Midtown South"`, `"Newark Airport, NJ"`, `"Battery Park City, Lower Manhattan"`,
	}
	wideNotes = []string{
		"ok", "late pickup", "airport run", "rider left item", "toll paid", "short trip",
		"receipt emailed", "detour for construction", "shared ride", "wheelchair accessible",
	}
	widePay = []string{"card", "cash", "no_charge", "dispute", "unknown"}
)

// genWide builds about size bytes in the shape of the wide benchmark
// schema, trip_id,pickup_ts,vendor_id,passenger_count,trip_distance,
// pickup_zone,fare_amount,tip_amount,payment_type,note: a timestamp, small
// ints, two-decimal floats, some empty fields, a zone quoted in 10% of the
// rows and a note that is empty (60%), plain (25%), quoted with commas
// (10%) or quoted with doubled quotes (5%). About a quarter of the rows
// hold a quote. Deterministic: a fixed splitmix64 stream.
func genWide(size int) []byte {
	b := make([]byte, 0, size+256)
	b = append(b, "trip_id,pickup_ts,vendor_id,passenger_count,trip_distance,pickup_zone,fare_amount,tip_amount,payment_type,note\n"...)
	state := uint64(42)
	next := func(n uint64) uint64 {
		state += 0x9E3779B97F4A7C15
		z := state
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		return (z ^ (z >> 31)) % n
	}
	cents := func(b []byte, c uint64) []byte {
		b = strconv.AppendUint(b, c/100, 10)
		return append(b, '.', byte('0'+c%100/10), byte('0'+c%10))
	}
	two := func(b []byte, v uint64) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	for i := uint64(0); len(b) < size; i++ {
		b = strconv.AppendUint(b, i, 10)
		sec := i*3 + next(3)
		b = append(b, ",2024-"...)
		b = two(b, 1+sec/86400/28%12)
		b = append(b, '-')
		b = two(b, 1+sec/86400%28)
		b = append(b, ' ')
		b = two(b, sec/3600%24)
		b = append(b, ':')
		b = two(b, sec/60%60)
		b = append(b, ':')
		b = two(b, sec%60)
		b = append(b, ',')
		b = strconv.AppendUint(b, []uint64{1, 1, 1, 1, 1, 1, 2, 2, 2, 6}[next(10)], 10)
		b = append(b, ',')
		if next(100) >= 2 {
			b = strconv.AppendUint(b, next(7), 10)
		}
		b = append(b, ',')
		dist := next(1500)
		b = cents(b, dist)
		b = append(b, ',')
		b = append(b, wideZones[next(uint64(len(wideZones)))]...)
		b = append(b, ',')
		fare := 300 + dist*5/2 + next(200)
		b = cents(b, fare)
		b = append(b, ',')
		if next(100) >= 5 {
			b = cents(b, fare*next(31)/100)
		}
		b = append(b, ',')
		b = append(b, widePay[next(uint64(len(widePay)))]...)
		b = append(b, ',')
		note := wideNotes[next(uint64(len(wideNotes)))]
		switch r := next(100); {
		case r < 60:
		case r < 85:
			b = append(b, note...)
		case r < 95:
			b = append(b, '"')
			b = append(b, note...)
			b = append(b, ", "...)
			b = append(b, wideNotes[next(uint64(len(wideNotes)))]...)
			b = append(b, ", thanks\""...)
		default:
			b = append(b, `"rider said ""`...)
			b = append(b, note...)
			b = append(b, `"", tip `...)
			b = strconv.AppendUint(b, next(20), 10)
			b = append(b, `"""`...)
		}
		b = append(b, '\n')
	}
	return b
}

var benchData = sync.OnceValues(func() (map[string][]byte, error) {
	return map[string][]byte{
		"plain":  genData(benchSize, false),
		"crlf":   genData(benchSize, true),
		"quoted": genQuoted(benchSize),
		"wide":   genWide(benchSize),
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
	for _, name := range []string{"plain", "crlf", "quoted", "wide"} {
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
		"wide":   genWide(256 << 10),
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
