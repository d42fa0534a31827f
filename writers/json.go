package writers

import (
	"bytes"
	"math"
	"strconv"
	"unicode/utf8"
)

// jsonWriter writes json (one array, one object per line) or, with lines
// set, ndjson (one object per line, no brackets). Keys follow column order;
// Int and Float columns become JSON numbers, nulls become null.
type jsonWriter struct {
	out
	lines bool
	enc   *jsonEncoder
}

func (w *jsonWriter) Begin(cols []Column) error {
	if err := w.begin(cols); err != nil {
		return err
	}
	w.enc = newJSONEncoder(w.cols, w.lines)
	return nil
}

func (w *jsonWriter) Row(fields [][]byte) error {
	if err := w.checkRow(fields); err != nil {
		return err
	}
	w.buf = w.enc.AppendRow(w.buf[:0], fields, nil)
	return w.WriteEncoded(w.buf, 1)
}

// WriteEncoded writes rows a jsonEncoder made: json rows each start with
// ",\n", which the first row of the array replaces with "[\n".
func (w *jsonWriter) WriteEncoded(rows []byte, n int64) error {
	if !w.lines && w.rows == 0 && n > 0 {
		if err := w.writeEncoded([]byte("[\n"), 0); err != nil {
			return err
		}
		rows = rows[2:]
	}
	return w.writeEncoded(rows, n)
}

func (w *jsonWriter) End() error {
	switch {
	case w.lines:
		return w.end(nil)
	case w.rows == 0:
		return w.end([]byte("[]\n"))
	}
	return w.end([]byte("\n]\n"))
}

// jsonEncoder encodes json objects: for ndjson each followed by "\n", for
// json each preceded by ",\n" (see jsonWriter.WriteEncoded).
type jsonEncoder struct {
	cols  []Column
	lines bool
	keys  [][]byte // keys[i] is `"name":`, with a leading comma for i > 0
}

func newJSONEncoder(cols []Column, lines bool) *jsonEncoder {
	e := &jsonEncoder{cols: cols, lines: lines, keys: make([][]byte, len(cols))}
	for i, c := range cols {
		var k []byte
		if i > 0 {
			k = append(k, ',')
		}
		k = appendJSONString(k, []byte(c.Name))
		e.keys[i] = append(k, ':')
	}
	return e
}

func (e *jsonEncoder) AppendRow(dst []byte, fields [][]byte, _ []bool) []byte {
	if !e.lines {
		dst = append(dst, ',', '\n')
	}
	dst = append(dst, '{')
	for i, f := range fields {
		dst = append(dst, e.keys[i]...)
		switch {
		case f == nil:
			dst = append(dst, "null"...)
		case e.cols[i].Type == String:
			dst = appendJSONString(dst, f)
		case e.cols[i].Type == Bool && (string(f) == "true" || string(f) == "false"):
			dst = append(dst, f...)
		case e.cols[i].Type == Bool:
			dst = appendJSONString(dst, f)
		default:
			dst = appendJSONNumber(dst, f)
		}
	}
	dst = append(dst, '}')
	if e.lines {
		dst = append(dst, '\n')
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quote, backslash and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped so the output is also valid JavaScript (as encoding/json).
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendJSONNumber appends the text f of an Int or Float column as a JSON
// value that never makes the document invalid:
//
//   - surrounding spaces are stripped; nothing left is null;
//   - valid JSON number syntax is kept as it is, unless its magnitude is
//     beyond float64 (1e400), which is an infinity;
//   - other numbers (+5, 1., .5, 007) are reformatted in shortest form;
//   - nan is null; inf and -inf are the strings "inf" and "-inf";
//   - anything else (abc, 0x10, 1_000) is written as a JSON string.
//
// Only the first case, the common one, runs without parsing. No case
// allocates except an out-of-range value, for which strconv builds an error.
func appendJSONNumber(dst, f []byte) []byte {
	t := bytes.TrimSpace(f)
	if len(t) == 0 {
		return append(dst, "null"...)
	}
	if ok, exp := isJSONNumber(t); ok {
		// Without an exponent, fewer than 300 characters cannot reach the
		// float64 limit of about 1.8e308.
		if !exp && len(t) < 300 {
			return append(dst, t...)
		}
		if v, _ := strconv.ParseFloat(string(t), 64); !math.IsInf(v, 0) {
			return append(dst, t...)
		}
		return appendInf(dst, t[0] == '-')
	}
	if isDecimalText(t) {
		v, err := strconv.ParseFloat(string(t), 64)
		if err == nil || math.IsInf(v, 0) {
			return appendFloat(dst, v)
		}
		return appendJSONString(dst, f)
	}
	neg := t[0] == '-'
	if t[0] == '-' || t[0] == '+' {
		t = t[1:]
	}
	switch {
	case asciiEqualFold(t, "nan"):
		return append(dst, "null"...)
	case asciiEqualFold(t, "inf"), asciiEqualFold(t, "infinity"):
		return appendInf(dst, neg)
	}
	return appendJSONString(dst, f)
}

// appendFloat appends v in shortest round-trip form: plain decimal when the
// decimal exponent is in [-6, 21), else exponent form (as encoding/json and
// JavaScript). Infinities become strings, NaN becomes null.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "null"...)
	case math.IsInf(v, 0):
		return appendInf(dst, v < 0)
	}
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// appendInf appends an infinity, which JSON cannot represent as a number.
func appendInf(dst []byte, neg bool) []byte {
	if neg {
		return append(dst, `"-inf"`...)
	}
	return append(dst, `"inf"`...)
}

// isJSONNumber reports whether t is exactly a JSON number
// (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) and whether it has an
// exponent.
func isJSONNumber(t []byte) (ok, exp bool) {
	i := 0
	if i < len(t) && t[i] == '-' {
		i++
	}
	switch {
	case i == len(t):
		return false, false
	case t[i] == '0':
		i++
	case '1' <= t[i] && t[i] <= '9':
		i = skipDigits(t, i+1)
	default:
		return false, false
	}
	if i < len(t) && t[i] == '.' {
		j := skipDigits(t, i+1)
		if j == i+1 {
			return false, false
		}
		i = j
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		exp = true
		i++
		if i < len(t) && (t[i] == '+' || t[i] == '-') {
			i++
		}
		j := skipDigits(t, i)
		if j == i {
			return false, false
		}
		i = j
	}
	return i == len(t), exp
}

func skipDigits(t []byte, i int) int {
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	return i
}

// isDecimalText reports whether t holds only the characters of a decimal
// number, so strconv.ParseFloat is not given hex, underscores or words
// (DESIGN §5: 0x10 and 1_000 are not numbers).
func isDecimalText(t []byte) bool {
	for _, c := range t {
		switch {
		case '0' <= c && c <= '9', c == '.', c == '+', c == '-', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether t equals the lower-case ASCII word s,
// ignoring case.
func asciiEqualFold(t []byte, s string) bool {
	if len(t) != len(s) {
		return false
	}
	for i := range len(t) {
		if t[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}
