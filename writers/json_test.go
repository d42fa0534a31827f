package writers

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

var mixed = []Column{{Name: "id", Type: Int}, {Name: "name"}, {Name: "value", Type: Float}}

func TestJSON(t *testing.T) {
	tests := []struct {
		Name   string
		Cols   []Column
		Rows   [][][]byte
		JSON   string
		NDJSON string
	}{{
		Name:   "ZeroRows",
		Cols:   mixed,
		JSON:   "[]\n",
		NDJSON: "",
	}, {
		Name:   "OneRow",
		Cols:   mixed,
		Rows:   [][][]byte{row("1", "x", "2.5")},
		JSON:   "[\n{\"id\":1,\"name\":\"x\",\"value\":2.5}\n]\n",
		NDJSON: "{\"id\":1,\"name\":\"x\",\"value\":2.5}\n",
	}, {
		Name: "TwoRows",
		Cols: []Column{{Name: "a", Type: Int}, {Name: "b"}},
		Rows: [][][]byte{row("1", "x"), row("2", "y")},
		JSON: "[\n{\"a\":1,\"b\":\"x\"},\n{\"a\":2,\"b\":\"y\"}\n]\n",
		NDJSON: "{\"a\":1,\"b\":\"x\"}\n" +
			"{\"a\":2,\"b\":\"y\"}\n",
	}, {
		Name:   "Nulls",
		Cols:   mixed,
		Rows:   [][][]byte{row(nil, nil, nil), row("", "", "")},
		JSON:   "[\n{\"id\":null,\"name\":null,\"value\":null},\n{\"id\":null,\"name\":\"\",\"value\":null}\n]\n",
		NDJSON: "{\"id\":null,\"name\":null,\"value\":null}\n{\"id\":null,\"name\":\"\",\"value\":null}\n",
	}, {
		Name:   "StringEscapes",
		Cols:   []Column{{Name: "s"}},
		Rows:   [][][]byte{row("q\"b\\n\nr\rt\tz\x00\x01\x1f\b\f\x7f")},
		JSON:   "[\n{\"s\":\"q\\\"b\\\\n\\nr\\rt\\tz\\u0000\\u0001\\u001f\\u0008\\u000c\x7f\"}\n]\n",
		NDJSON: "{\"s\":\"q\\\"b\\\\n\\nr\\rt\\tz\\u0000\\u0001\\u001f\\u0008\\u000c\x7f\"}\n",
	}, {
		Name:   "Unicode",
		Cols:   []Column{{Name: "s"}},
		Rows:   [][][]byte{row("héllo 日本 🙂"), row("a\u2028b\u2029c")},
		JSON:   "[\n{\"s\":\"héllo 日本 🙂\"},\n{\"s\":\"a\\u2028b\\u2029c\"}\n]\n",
		NDJSON: "{\"s\":\"héllo 日本 🙂\"}\n{\"s\":\"a\\u2028b\\u2029c\"}\n",
	}, {
		Name:   "InvalidUTF8",
		Cols:   []Column{{Name: "s"}},
		Rows:   [][][]byte{row("a\xffb\xc3"), row("\xe6\x97"), row("\xed\xa0\x80")},
		JSON:   "[\n{\"s\":\"a\\ufffdb\\ufffd\"},\n{\"s\":\"\\ufffd\\ufffd\"},\n{\"s\":\"\\ufffd\\ufffd\\ufffd\"}\n]\n",
		NDJSON: "{\"s\":\"a\\ufffdb\\ufffd\"}\n{\"s\":\"\\ufffd\\ufffd\"}\n{\"s\":\"\\ufffd\\ufffd\\ufffd\"}\n",
	}, {
		Name:   "KeysEscaped",
		Cols:   []Column{{Name: "a\"b"}, {Name: "c\nd", Type: Int}},
		Rows:   [][][]byte{row("x", "1")},
		JSON:   "[\n{\"a\\\"b\":\"x\",\"c\\nd\":1}\n]\n",
		NDJSON: "{\"a\\\"b\":\"x\",\"c\\nd\":1}\n",
	}, {
		Name:   "NotANumber",
		Cols:   []Column{{Name: "n", Type: Int}, {Name: "f", Type: Float}},
		Rows:   [][][]byte{row("abc", " nan "), row("inf", "-1e400")},
		JSON:   "[\n{\"n\":\"abc\",\"f\":null},\n{\"n\":\"inf\",\"f\":\"-inf\"}\n]\n",
		NDJSON: "{\"n\":\"abc\",\"f\":null}\n{\"n\":\"inf\",\"f\":\"-inf\"}\n",
	}}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			got := render(t, "json", tt.Cols, tt.Rows)
			if got != tt.JSON {
				t.Errorf("json:\ngot  %q\nwant %q", got, tt.JSON)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("json output is not valid JSON: %q", got)
			}
			var objs []map[string]any
			if err := json.Unmarshal([]byte(got), &objs); err != nil || len(objs) != len(tt.Rows) {
				t.Errorf("json output unmarshals to %d objects, error %v; want %d", len(objs), err, len(tt.Rows))
			}

			got = render(t, "ndjson", tt.Cols, tt.Rows)
			if got != tt.NDJSON {
				t.Errorf("ndjson:\ngot  %q\nwant %q", got, tt.NDJSON)
			}
			sc := bufio.NewScanner(strings.NewReader(got))
			n := 0
			for sc.Scan() {
				n++
				if !json.Valid(sc.Bytes()) {
					t.Errorf("ndjson line %d is not valid JSON: %q", n, sc.Text())
				}
			}
			if n != len(tt.Rows) {
				t.Errorf("ndjson has %d lines, want %d", n, len(tt.Rows))
			}
		})
	}
}

func TestJSONNumber(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := string(appendJSONNumber([]byte("x"), []byte(in)))[1:]
		if got != want {
			t.Errorf("appendJSONNumber(%q) = %s, want %s", in, got, want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("appendJSONNumber(%q) = %s, not valid JSON", in, got)
		}
	}
	// valid JSON numbers are kept as they are, spaces stripped
	f("0", "0")
	f("-0", "-0")
	f("42", "42")
	f("-17", "-17")
	f(" 7.0 ", "7.0")
	f("\t3\t", "3")
	f("1.5e+3", "1.5e+3")
	f("2E-2", "2E-2")
	f("12345678901234567890123", "12345678901234567890123")
	f("1e308", "1e308")
	f("1e-400", "1e-400") // underflows to 0, still finite
	// other decimal notation is reformatted in shortest form
	f("+5", "5")
	f("1.", "1")
	f(".5", "0.5")
	f("-.5", "-0.5")
	f("007", "7")
	f("-007.50", "-7.5")
	f("+1e21", "1e+21")
	f("+1e20", "100000000000000000000")
	f("+0.000001", "0.000001")
	f("+0.0000001", "1e-7")
	f("+1.5e-10", "1.5e-10")
	f("01e400", `"inf"`)
	// infinities and NaN
	f("1e400", `"inf"`)
	f("-1e400", `"-inf"`)
	f("+1e400", `"inf"`)
	f(strings.Repeat("9", 400), `"inf"`)
	f("-"+strings.Repeat("9", 400), `"-inf"`)
	f("inf", `"inf"`)
	f("+Inf", `"inf"`)
	f("-inf", `"-inf"`)
	f("Infinity", `"inf"`)
	f("-INFINITY", `"-inf"`)
	f("nan", "null")
	f("NaN", "null")
	f("-nan", "null")
	// empty is null
	f("", "null")
	f("   ", "null")
	// not numbers: written as the string the data holds
	f("abc", `"abc"`)
	f(" abc ", `" abc "`)
	f("0x10", `"0x10"`)
	f("0x1p4", `"0x1p4"`)
	f("1_000", `"1_000"`)
	f("1,000", `"1,000"`)
	f("1e", `"1e"`)
	f("-", `"-"`)
	f(".", `"."`)
	f("+-5", `"+-5"`)
	f("- 5", `"- 5"`)
	f("infinit", `"infinit"`)
	f("nan1", `"nan1"`)
	f("\"1\"", `"\"1\""`)
}

func TestJSONString(t *testing.T) {
	// Every string decodes to what encoding/json's own encoding decodes to:
	// the same text, with each invalid UTF-8 byte as U+FFFD.
	for _, s := range []string{
		"", "plain", "\"", "\\", "\x00\x1f\x7f", "\n\r\t", "é日🙂", "\xff", "a\xc3", "\xf0\x9f\x99",
		"\u2028\u2029", "</script>&", "\ufffd",
	} {
		got := appendJSONString(nil, []byte(s))
		if !json.Valid(got) {
			t.Errorf("appendJSONString(%q) = %s, not valid JSON", s, got)
			continue
		}
		want, _ := json.Marshal(s)
		var a, b string
		json.Unmarshal(got, &a)
		json.Unmarshal(want, &b)
		if a != b {
			t.Errorf("appendJSONString(%q) decodes to %q, want %q", s, a, b)
		}
	}
}
