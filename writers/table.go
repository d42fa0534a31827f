package writers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"unicode/utf8"

	"github.com/gdask/gdask/internal/fsname"
)

// tableWriter writes an aligned table for a human at a terminal: a header,
// a rule of dashes under each column, then the rows. Columns are separated
// by two spaces; Int, Float and Bool columns are right-aligned, String columns
// left-aligned; widths count runes. Control characters are shown escaped so
// every row stays on one line, and null is shown as an empty cell.
//
// Widths are known only after the last row, so rows are kept until End:
// the first tableMem bytes of cells in memory, the rest in an unlinked
// temp file in tempDir, so a long table holds bounded memory.
type tableWriter struct {
	out
	tempDir string
	data    []byte   // the bytes of the cells in memory, back to back
	ends    []uint32 // ends[k] is where cell k ends in data
	widths  []int    // display width of each column
	file    *os.File
	fw      *bufio.Writer // cells after the first tableMem bytes: uvarint length, bytes
	varint  [binary.MaxVarintLen64]byte
}

// tableMem is how many bytes of cells a table holds in memory.
var tableMem = 1 << 20 // a variable so tests can make tables spill

// NewTable returns a table writer whose rows past the first MiB wait
// in a temp file in tempDir ("": the system's) until End.
func NewTable(w io.Writer, tempDir string) Writer {
	return &tableWriter{out: newOut(w), tempDir: tempDir}
}

func (w *tableWriter) Begin(cols []Column) error {
	if err := w.begin(cols); err != nil {
		return err
	}
	w.widths = make([]int, len(w.cols))
	for i, c := range w.cols {
		w.widths[i] = max(1, displayWidth([]byte(c.Name)))
	}
	return nil
}

func (w *tableWriter) Row(fields [][]byte) error {
	if err := w.checkRow(fields); err != nil {
		return err
	}
	for i, f := range fields {
		if n := displayWidth(f); n > w.widths[i] {
			w.widths[i] = n
		}
	}
	w.rows++
	if w.file == nil && len(w.data) < tableMem {
		for _, f := range fields {
			w.data = append(w.data, f...)
			w.ends = append(w.ends, uint32(len(w.data)))
		}
		return nil
	}
	if w.file == nil {
		f, err := os.CreateTemp(w.tempDir, "gdask-table-*")
		if err != nil {
			return w.fail("cannot hold the table's rows in", err)
		}
		os.Remove(f.Name()) // unlinked: gone with the process whatever happens
		w.file, w.fw = f, bufio.NewWriterSize(f, bufferSize)
	}
	for _, f := range fields {
		n := binary.PutUvarint(w.varint[:], uint64(len(f)))
		w.fw.Write(w.varint[:n])
		if _, err := w.fw.Write(f); err != nil {
			return w.fail("cannot hold the table's rows in", err)
		}
	}
	return nil
}

// fail is an error of the table's temp file: it names the directory, not
// the unlinked file.
func (w *tableWriter) fail(what string, err error) error {
	dir := w.tempDir
	if dir == "" {
		dir = os.TempDir()
	}
	return fmt.Errorf("%s %s: %w (set --temp-dir, or use -o csv)", what, fsname.Quote(dir), fsname.Cause(err))
}

// WriteEncoded is not for tables: their widths need every row first.
func (w *tableWriter) WriteEncoded([]byte, int64) error {
	return errors.New("BUG: the table format takes rows, not encoded rows")
}

func (w *tableWriter) End() error {
	if w.file != nil {
		defer w.file.Close()
	}
	if w.state != 1 {
		return w.end(nil)
	}
	if len(w.cols) > 0 {
		b := w.buf[:0]
		for i, c := range w.cols {
			b = w.appendCell(b, i, []byte(c.Name))
		}
		if err := w.writeLine(b); err != nil {
			return err
		}
		b = b[:0]
		for i, n := range w.widths {
			if i > 0 {
				b = append(b, ' ', ' ')
			}
			for range n {
				b = append(b, '-')
			}
		}
		if err := w.writeLine(b); err != nil {
			return err
		}
		start := uint32(0)
		for r := 0; r < len(w.ends); r += len(w.cols) {
			b = b[:0]
			for i, end := range w.ends[r : r+len(w.cols)] {
				b = w.appendCell(b, i, w.data[start:end])
				start = end
			}
			if err := w.writeLine(b); err != nil {
				return err
			}
		}
		w.data, w.ends = nil, nil
		if w.file != nil {
			var err error
			if b, err = w.spilledRows(b); err != nil {
				return err
			}
		}
		w.buf = b
	}
	w.data, w.ends = nil, nil
	return w.end(nil)
}

// spilledRows writes the rows held in the temp file; b is scratch.
func (w *tableWriter) spilledRows(b []byte) ([]byte, error) {
	fail := func(err error) ([]byte, error) {
		return b, w.fail("cannot read back the table's rows from", err)
	}
	if err := w.fw.Flush(); err != nil {
		return fail(err)
	}
	if _, err := w.file.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	br := bufio.NewReaderSize(w.file, bufferSize)
	var cell []byte
	for {
		b = b[:0]
		for i := range w.cols {
			n, err := binary.ReadUvarint(br)
			if err == io.EOF && i == 0 {
				return b, nil
			}
			if err != nil {
				return fail(err)
			}
			cell = slices.Grow(cell[:0], int(n))[:n]
			if _, err := io.ReadFull(br, cell); err != nil {
				return fail(err)
			}
			b = w.appendCell(b, i, cell)
		}
		if err := w.writeLine(b); err != nil {
			return b, err
		}
	}
}

// appendCell appends the separator before column i and the cell f, padded to
// the column's width on the side its type aligns to.
func (w *tableWriter) appendCell(b []byte, i int, f []byte) []byte {
	if i > 0 {
		b = append(b, ' ', ' ')
	}
	pad := w.widths[i] - displayWidth(f)
	right := w.cols[i].Type != String
	if right {
		b = appendSpaces(b, pad)
	}
	b = appendDisplay(b, f)
	if !right {
		b = appendSpaces(b, pad)
	}
	return b
}

// writeLine writes b without its trailing spaces, then a newline.
func (w *tableWriter) writeLine(b []byte) error {
	n := len(b)
	for n > 0 && b[n-1] == ' ' {
		n--
	}
	return w.write(append(b[:n], '\n'))
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// displayWidth is the number of runes appendDisplay writes for f.
func displayWidth(f []byte) int {
	n := 0
	for i := 0; i < len(f); {
		c := f[i]
		if c < utf8.RuneSelf {
			n += asciiWidth(c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(f[i:])
		if isC1(r) {
			n += 6 // \u0085
		} else {
			n++ // invalid bytes show as U+FFFD
		}
		i += size
	}
	return n
}

func asciiWidth(c byte) int {
	switch {
	case c == '\n' || c == '\r' || c == '\t':
		return 2
	case c < 0x20 || c == 0x7f:
		return 4 // \x01
	}
	return 1
}

// isC1 reports whether r is a C1 control character (U+0080 to U+009F),
// which terminals may act on.
func isC1(r rune) bool { return 0x80 <= r && r <= 0x9f }

// appendDisplay appends f for a terminal: \n, \r and \t escaped, other
// control characters as \xHH or \uHHHH, invalid UTF-8 as U+FFFD.
func appendDisplay(dst, f []byte) []byte {
	start := 0
	for i := 0; i < len(f); {
		c := f[i]
		if c < utf8.RuneSelf {
			if asciiWidth(c) == 1 {
				i++
				continue
			}
			dst = append(dst, f[start:i]...)
			switch c {
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'x', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(f[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, f[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
		case isC1(r):
			dst = append(dst, f[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[r>>4], hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(dst, f[start:]...)
}
