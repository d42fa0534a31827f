package writers

import (
	"fmt"
	"io"
	"testing"
)

// benchRows is a small table like the seed's output: id, category, value,
// and a free-text column that sometimes needs quoting or escaping.
func benchRows() ([]Column, [][][]byte, int64) {
	cols := []Column{
		{Name: "id", Type: Int},
		{Name: "category"},
		{Name: "value", Type: Float},
		{Name: "comment"},
	}
	comments := []string{"plain text", "with, comma", `with "quotes"`, "", "héllo wörld"}
	var rows [][][]byte
	var n int64
	for i := range 1024 {
		r := row(
			fmt.Sprint(i*7919),
			fmt.Sprintf("cat_%d", i%100),
			fmt.Sprintf("%.4f", float64(i)*1.37),
			comments[i%len(comments)],
		)
		if i%10 == 3 {
			r[2] = nil
		}
		rows = append(rows, r)
		for _, f := range r {
			n += int64(len(f)) + 1
		}
	}
	return cols, rows, n / int64(len(rows))
}

// benchWriter measures one Row per op.
func benchWriter(b *testing.B, format string) {
	cols, rows, perRow := benchRows()
	w, err := New(format, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Begin(cols); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(perRow)
	i := 0
	for b.Loop() {
		if err := w.Row(rows[i%len(rows)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	if err := w.End(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCSVWriter(b *testing.B)    { benchWriter(b, "csv") }
func BenchmarkTSVWriter(b *testing.B)    { benchWriter(b, "tsv") }
func BenchmarkJSONWriter(b *testing.B)   { benchWriter(b, "json") }
func BenchmarkNDJSONWriter(b *testing.B) { benchWriter(b, "ndjson") }
