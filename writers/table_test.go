package writers

import (
	"strconv"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	tests := []struct {
		Name   string
		Cols   []Column
		Rows   [][][]byte
		Output string
	}{{
		Name: "ZeroRows",
		Cols: mixed,
		Output: "" +
			"id  name  value\n" +
			"--  ----  -----\n",
	}, {
		Name: "Aligned",
		Cols: []Column{{Name: "category"}, {Name: "n", Type: Int}, {Name: "value_mean", Type: Float}},
		Rows: [][][]byte{row("cat_51", "20000", "501.25"), row("cat_9", "7", "459")},
		Output: "" +
			"category      n  value_mean\n" +
			"--------  -----  ----------\n" +
			"cat_51    20000      501.25\n" +
			"cat_9         7         459\n",
	}, {
		Name: "NullIsEmpty",
		Cols: []Column{{Name: "a", Type: Int}, {Name: "b"}, {Name: "c"}},
		Rows: [][][]byte{row(nil, nil, "x"), row("10", "yy", nil)},
		Output: "" +
			" a  b   c\n" +
			"--  --  -\n" +
			"        x\n" +
			"10  yy\n",
	}, {
		Name: "NoTrailingSpaces",
		Cols: []Column{{Name: "name"}, {Name: "note"}},
		Rows: [][][]byte{row("a", ""), row("longer", "x  ")},
		Output: "" +
			"name    note\n" +
			"------  ----\n" +
			"a\n" +
			"longer  x\n",
	}, {
		Name: "UnicodeWidthInRunes",
		Cols: []Column{{Name: "s"}, {Name: "n", Type: Int}},
		Rows: [][][]byte{row("héllo", "1"), row("日本", "22"), row("🙂", "3")},
		Output: "" +
			"s       n\n" +
			"-----  --\n" +
			"héllo   1\n" +
			"日本     22\n" +
			"🙂       3\n",
	}, {
		Name: "ControlCharsEscaped",
		Cols: []Column{{Name: "s"}, {Name: "t"}},
		Rows: [][][]byte{row("a\nb", "c\r\nd"), row("tab\there", "\x01\x7f\u0085")},
		Output: "" +
			"s          t\n" +
			"---------  --------------\n" +
			"a\\nb       c\\r\\nd\n" +
			"tab\\there  \\x01\\x7f\\u0085\n",
	}, {
		Name: "InvalidUTF8",
		Cols: []Column{{Name: "s"}, {Name: "t"}},
		Rows: [][][]byte{row("a\xffb", "x")},
		Output: "" +
			"s    t\n" +
			"---  -\n" +
			"a\uFFFDb  x\n",
	}, {
		Name: "HeaderWiderThanData",
		Cols: []Column{{Name: "a_long_name", Type: Float}, {Name: "x"}},
		Rows: [][][]byte{row("1.5", "")},
		Output: "" +
			"a_long_name  x\n" +
			"-----------  -\n" +
			"        1.5\n",
	}, {
		Name: "EmptyHeader",
		Cols: []Column{{Name: ""}, {Name: "", Type: Int}},
		Rows: [][][]byte{row("", "")},
		Output: "" +
			"\n" +
			"-  -\n" +
			"\n",
	}}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got := render(t, "table", tt.Cols, tt.Rows)
			if got != tt.Output {
				t.Fatalf("output:\ngot\n%s\nwant\n%s\n(got %q)", got, tt.Output, got)
			}
			for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if strings.HasSuffix(line, " ") {
					t.Errorf("line %d has trailing spaces: %q", i+1, line)
				}
			}
		})
	}
}

func TestDisplayWidth(t *testing.T) {
	for _, s := range []string{"", "abc", "héllo", "日本", "a\nb\r\t", "\x00\x7f", "\u0085\u009f", "\xff\xfe", "🙂x"} {
		shown := appendDisplay(nil, []byte(s))
		if got, want := displayWidth([]byte(s)), len([]rune(string(shown))); got != want {
			t.Errorf("displayWidth(%q) = %d, but %q has %d runes", s, got, shown, want)
		}
	}
}

// A table longer than tableMem keeps its later rows in a temp file: the
// output is the same as a table held wholly in memory.
func TestTableSpillsLongTables(t *testing.T) {
	cols := []Column{{Name: "id", Type: Int}, {Name: "name"}, {Name: "note"}}
	var rows [][][]byte
	for i := range 2000 {
		name := strings.Repeat("é", i%7) + "x\n\t" + strings.Repeat("w", i%13)
		note := ""
		if i%5 != 0 {
			note = strings.Repeat("n", i%31)
		}
		rows = append(rows, [][]byte{[]byte(strconv.Itoa(i * 37)), []byte(name), []byte(note)})
	}
	write := func() string {
		var b strings.Builder
		w := NewTable(&b, t.TempDir())
		if err := w.Begin(cols); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if err := w.Row(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	want := write()
	defer func(m int) { tableMem = m }(tableMem)
	for _, m := range []int{0, 1, 100, 5000} {
		tableMem = m
		if got := write(); got != want {
			t.Fatalf("tableMem %d: the table differs from the one held in memory", m)
		}
	}
	if n := strings.Count(want, "\n"); n != len(rows)+2 {
		t.Fatalf("%d lines, want %d", n, len(rows)+2)
	}
}
