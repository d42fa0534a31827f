package writers

import (
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
)

var twoStrings = []Column{{Name: "a"}, {Name: "b"}}

func TestCSV(t *testing.T) {
	tests := []struct {
		Name   string
		Cols   []Column
		Rows   [][][]byte
		Output string
	}{{
		Name:   "ZeroRows",
		Cols:   twoStrings,
		Output: "a,b\n",
	}, {
		Name:   "Simple",
		Cols:   []Column{{Name: "id", Type: Int}, {Name: "category"}, {Name: "value", Type: Float}},
		Rows:   [][][]byte{row("1", "cat_1", "451.5"), row("2", "cat_2", "-0.25")},
		Output: "id,category,value\n1,cat_1,451.5\n2,cat_2,-0.25\n",
	}, {
		Name:   "NullAndEmpty",
		Cols:   twoStrings,
		Rows:   [][][]byte{row(nil, ""), row("", nil), row(nil, nil)},
		Output: "a,b\n,\n,\n,\n",
	}, {
		Name:   "Comma",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("x,y", ",")},
		Output: "a,b\n\"x,y\",\",\"\n",
	}, {
		Name:   "Quote",
		Cols:   twoStrings,
		Rows:   [][][]byte{row(`say "hi"`, `"`)},
		Output: "a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n",
	}, {
		Name:   "LF",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("line1\nline2", "x")},
		Output: "a,b\n\"line1\nline2\",x\n",
	}, {
		Name:   "CR",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("a\rb", "c\r\nd")},
		Output: "a,b\n\"a\rb\",\"c\r\nd\"\n",
	}, {
		Name:   "NoQuotesNeeded",
		Cols:   twoStrings,
		Rows:   [][][]byte{row(" leading space", "tab\there"), row(`back\slash`, "héllo; 日本")},
		Output: "a,b\n leading space,tab\there\nback\\slash,héllo; 日本\n",
	}, {
		Name:   "QuoteInsideField",
		Cols:   twoStrings,
		Rows:   [][][]byte{row(`a"b`, `""`)},
		Output: "a,b\n\"a\"\"b\",\"\"\"\"\"\"\n",
	}, {
		Name:   "HeaderQuoted",
		Cols:   []Column{{Name: "x,y"}, {Name: `q"`}},
		Output: "\"x,y\",\"q\"\"\"\n",
	}, {
		Name:   "OneEmptyColumn",
		Cols:   []Column{{Name: "a"}},
		Rows:   [][][]byte{row("1"), row(nil), row("")},
		Output: "a\n1\n\"\"\n\"\"\n",
	}}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got := render(t, "csv", tt.Cols, tt.Rows)
			if got != tt.Output {
				t.Fatalf("output:\ngot  %q\nwant %q", got, tt.Output)
			}
			// The output reads back with encoding/csv as the same values.
			recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
			if err != nil {
				t.Fatalf("encoding/csv cannot read the output: %v", err)
			}
			if len(recs) != len(tt.Rows)+1 {
				t.Fatalf("encoding/csv read %d records, want %d", len(recs), len(tt.Rows)+1)
			}
			for i, r := range tt.Rows {
				want := make([]string, len(r))
				for j, f := range r {
					// encoding/csv turns \r\n inside quotes into \n.
					want[j] = strings.ReplaceAll(string(f), "\r\n", "\n")
				}
				if !reflect.DeepEqual(recs[i+1], want) {
					t.Errorf("record %d reads back as %q, want %q", i+1, recs[i+1], want)
				}
			}
		})
	}
}

func TestTSV(t *testing.T) {
	tests := []struct {
		Name   string
		Cols   []Column
		Rows   [][][]byte
		Output string
	}{{
		Name:   "ZeroRows",
		Cols:   twoStrings,
		Output: "a\tb\n",
	}, {
		Name:   "Simple",
		Cols:   []Column{{Name: "id", Type: Int}, {Name: "name"}},
		Rows:   [][][]byte{row("1", "x, y"), row("2", `"q"`)},
		Output: "id\tname\n1\tx, y\n2\t\"q\"\n",
	}, {
		Name:   "Null",
		Cols:   twoStrings,
		Rows:   [][][]byte{row(nil, ""), row("x", nil)},
		Output: "a\tb\n\t\nx\t\n",
	}, {
		Name:   "Escapes",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("tab\there", "nl\ncr\rcrlf\r\n"), row(`back\slash`, `\t`)},
		Output: "a\tb\ntab\\there\tnl\\ncr\\rcrlf\\r\\n\nback\\\\slash\t\\\\t\n",
	}, {
		Name:   "OnlySpecials",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("\\", "\t\n")},
		Output: "a\tb\n\\\\\t\\t\\n\n",
	}, {
		Name:   "HeaderEscaped",
		Cols:   []Column{{Name: "a\tb"}, {Name: "c"}},
		Output: "a\\tb\tc\n",
	}, {
		Name:   "Unicode",
		Cols:   twoStrings,
		Rows:   [][][]byte{row("日本", "héllo")},
		Output: "a\tb\n日本\théllo\n",
	}}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got := render(t, "tsv", tt.Cols, tt.Rows)
			if got != tt.Output {
				t.Fatalf("output:\ngot  %q\nwant %q", got, tt.Output)
			}
		})
	}
}
