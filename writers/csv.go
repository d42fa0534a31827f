package writers

// csvWriter writes RFC 4180 CSV with "\n" line ends. A field is quoted only
// when it has to be, so rows of a plain input file come out byte for byte.
type csvWriter struct {
	out
}

// csvSpecial marks the bytes that force a CSV field into quotes.
var csvSpecial = [256]bool{',': true, '"': true, '\r': true, '\n': true}

func (w *csvWriter) Begin(cols []Column) error {
	if err := w.begin(cols); err != nil {
		return err
	}
	b := w.buf[:0]
	for i, c := range w.cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSVField(b, []byte(c.Name))
	}
	b = w.endRecord(b)
	w.buf = b
	return w.write(b)
}

func (w *csvWriter) Row(fields [][]byte) error {
	if err := w.checkRow(fields); err != nil {
		return err
	}
	w.buf = csvEncoder{ncols: len(w.cols)}.AppendRow(w.buf[:0], fields, nil)
	return w.writeEncoded(w.buf, 1)
}

func (w *csvWriter) WriteEncoded(rows []byte, n int64) error { return w.writeEncoded(rows, n) }

func (w *csvWriter) End() error { return w.end(nil) }

// endRecord ends a record. A record of one empty field would be a blank
// line, which readers skip, so it is written as "" to keep the row.
func (w *csvWriter) endRecord(b []byte) []byte {
	if len(b) == 0 && len(w.cols) == 1 {
		b = append(b, '"', '"')
	}
	return append(b, '\n')
}

// csvEncoder encodes csv rows.
type csvEncoder struct{ ncols int }

func (e csvEncoder) AppendRow(dst []byte, fields [][]byte, quoted []bool) []byte {
	start := len(dst)
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if quoted != nil && quoted[i] {
			dst = appendQuoted(dst, f)
		} else {
			dst = appendCSVField(dst, f)
		}
	}
	// A record of one empty field would be a blank line, which readers
	// skip: it is written as "" to keep the row.
	if len(dst) == start && e.ncols == 1 {
		dst = append(dst, '"', '"')
	}
	return append(dst, '\n')
}

// AppendRaw appends a comma-separated record as it is, with a "\n" end.
func (e csvEncoder) AppendRaw(dst, record []byte) []byte {
	dst = append(dst, record...)
	return append(dst, '\n')
}

// appendCSVField appends f, quoted and with inner quotes doubled only if it
// holds a comma, a quote, CR or LF.
func appendCSVField(dst, f []byte) []byte {
	quote := false
	for _, c := range f {
		if csvSpecial[c] {
			quote = true
			break
		}
	}
	if !quote {
		return append(dst, f...)
	}
	return appendQuoted(dst, f)
}

// appendQuoted appends f in quotes, inner quotes doubled.
func appendQuoted(dst, f []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i, c := range f {
		if c == '"' {
			dst = append(dst, f[start:i+1]...)
			dst = append(dst, '"')
			start = i + 1
		}
	}
	dst = append(dst, f[start:]...)
	return append(dst, '"')
}

// tsvWriter writes linear TSV (the Miller / PostgreSQL text convention):
// tab separated, "\n" line ends, and backslash, tab, LF and CR inside a
// field written as \\, \t, \n and \r. Null is the empty field.
type tsvWriter struct {
	out
}

// tsvSpecial marks the bytes that tsv escapes.
var tsvSpecial = [256]bool{'\\': true, '\t': true, '\n': true, '\r': true}

func (w *tsvWriter) Begin(cols []Column) error {
	if err := w.begin(cols); err != nil {
		return err
	}
	b := w.buf[:0]
	for i, c := range w.cols {
		if i > 0 {
			b = append(b, '\t')
		}
		b = appendTSVField(b, []byte(c.Name))
	}
	b = append(b, '\n')
	w.buf = b
	return w.write(b)
}

func (w *tsvWriter) Row(fields [][]byte) error {
	if err := w.checkRow(fields); err != nil {
		return err
	}
	w.buf = tsvEncoder{}.AppendRow(w.buf[:0], fields, nil)
	return w.writeEncoded(w.buf, 1)
}

func (w *tsvWriter) WriteEncoded(rows []byte, n int64) error { return w.writeEncoded(rows, n) }

func (w *tsvWriter) End() error { return w.end(nil) }

// tsvEncoder encodes tsv rows.
type tsvEncoder struct{}

func (tsvEncoder) AppendRow(dst []byte, fields [][]byte, _ []bool) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, '\t')
		}
		dst = appendTSVField(dst, f)
	}
	return append(dst, '\n')
}

// appendTSVField appends f with the linear TSV escapes.
func appendTSVField(dst, f []byte) []byte {
	start := 0
	for i, c := range f {
		if !tsvSpecial[c] {
			continue
		}
		dst = append(dst, f[start:i]...)
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		}
		start = i + 1
	}
	return append(dst, f[start:]...)
}
