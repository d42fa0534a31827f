package writers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Type is a column's value type, used for JSON typing and table alignment.
type Type int

// Column value types.
const (
	String Type = iota
	Int
	Float
	Bool // true or false (an expression's result)
)

// Column is one output column.
type Column struct {
	Name string
	Type Type
}

// Writer writes one result table. Not safe for concurrent use.
type Writer interface {
	// Begin is called once, before any Row, with the output columns.
	Begin(cols []Column) error
	// Row writes one record. fields[i] is the text of column i (already
	// unquoted, as the data holds it); a nil slice means null. The writer
	// must not retain fields or their bytes after Row returns (callers
	// reuse the buffers).
	Row(fields [][]byte) error
	// WriteEncoded writes n rows that an Encoder of the writer's format and
	// columns appended to rows, in order. Only the streaming formats take
	// encoded rows (NewEncoder says which).
	WriteEncoded(rows []byte, n int64) error
	// End flushes everything; for json it closes the array. Must be called
	// once, also for zero rows.
	End() error
}

// Encoder appends rows of one streaming format (csv, tsv, json, ndjson)
// to a buffer, so that rows can be encoded on many goroutines and written
// in order by a Writer's WriteEncoded. Not safe for concurrent use: one
// per goroutine.
type Encoder interface {
	// AppendRow appends one row: fields as Writer.Row takes them; quoted,
	// when not nil, says which fields the input quoted (csv quotes them
	// again, so a row comes out as the input has it).
	AppendRow(dst []byte, fields [][]byte, quoted []bool) []byte
}

// RawEncoder is an Encoder that can also append a record that is already
// in its format, as the input has it (csv from a comma-separated input).
type RawEncoder interface {
	Encoder
	AppendRaw(dst, record []byte) []byte
}

// NewEncoder returns an Encoder of format for cols, or false for table,
// whose column widths need every row before the first is written.
func NewEncoder(format string, cols []Column) (Encoder, bool) {
	switch format {
	case "csv":
		return csvEncoder{ncols: len(cols)}, true
	case "tsv":
		return tsvEncoder{}, true
	case "json", "ndjson":
		return newJSONEncoder(cols, format == "ndjson"), true
	}
	return nil, false
}

// formats lists the output formats in the order Formats returns them.
var formats = [...]string{"table", "csv", "tsv", "json", "ndjson"}

// Formats returns the names New accepts: table, csv, tsv, json, ndjson.
func Formats() []string {
	return append([]string(nil), formats[:]...)
}

// Default returns the format used when none is given: table for a human at
// a terminal, csv for a pipe or a file.
func Default(stdoutIsTerminal bool) string {
	if stdoutIsTerminal {
		return "table"
	}
	return "csv"
}

// New returns a Writer of the named format writing to w. Output is buffered:
// nothing is guaranteed to reach w before End returns.
func New(format string, w io.Writer) (Writer, error) {
	switch format {
	case "table":
		return NewTable(w, ""), nil
	case "csv":
		return &csvWriter{out: newOut(w)}, nil
	case "tsv":
		return &tsvWriter{out: newOut(w)}, nil
	case "json":
		return &jsonWriter{out: newOut(w)}, nil
	case "ndjson":
		return &jsonWriter{out: newOut(w), lines: true}, nil
	}
	return nil, fmt.Errorf("unknown output format %q (want table, csv, tsv, json or ndjson)", format)
}

// bufferSize is the bufio.Writer size: large enough that a write system call
// carries many rows.
const bufferSize = 64 << 10

// out is the state every format shares: the buffered destination, a scratch
// buffer reused for every row, the columns and the call-order checks.
type out struct {
	dst   io.Writer
	bw    *bufio.Writer
	buf   []byte
	cols  []Column
	rows  int64
	state int // 0 before Begin, 1 between Begin and End, 2 after End
}

func newOut(w io.Writer) out {
	return out{dst: w, bw: bufio.NewWriterSize(w, bufferSize), buf: make([]byte, 0, 4096)}
}

var (
	errBeginTwice    = errors.New("cannot begin output: Begin already called")
	errRowBeforeOpen = errors.New("cannot write row: Begin not called or End already called")
	errEndTwice      = errors.New("cannot end output: End already called")
)

// begin records the columns; it copies them so the caller may reuse cols.
func (o *out) begin(cols []Column) error {
	if o.state != 0 {
		return errBeginTwice
	}
	o.state = 1
	o.cols = append([]Column(nil), cols...)
	return nil
}

// writeEncoded writes n encoded rows. Each write to the destination holds
// whole rows: rows that do not fit in the buffer flush it first, and rows
// longer than it go straight to the destination. So when a run fails in
// the middle of a streamed result, what came out ends at a row's end.
func (o *out) writeEncoded(rows []byte, n int64) error {
	if o.state != 1 {
		return errRowBeforeOpen
	}
	o.rows += n
	if len(rows) > o.bw.Available() {
		if err := o.bw.Flush(); err != nil {
			return fmt.Errorf("cannot write output: %w", err)
		}
		if len(rows) >= o.bw.Size() {
			if _, err := o.dst.Write(rows); err != nil {
				return fmt.Errorf("cannot write output: %w", err)
			}
			return nil
		}
	}
	return o.write(rows)
}

// checkRow validates the call order and the field count of a row.
func (o *out) checkRow(fields [][]byte) error {
	if o.state != 1 {
		return errRowBeforeOpen
	}
	if len(fields) != len(o.cols) {
		return fmt.Errorf("cannot write row %d: it has %d fields, want %d", o.rows+1, len(fields), len(o.cols))
	}
	return nil
}

// write hands b (usually o.buf) to the bufio.Writer.
func (o *out) write(b []byte) error {
	if _, err := o.bw.Write(b); err != nil {
		return fmt.Errorf("cannot write output: %w", err)
	}
	return nil
}

// end writes tail and flushes.
func (o *out) end(tail []byte) error {
	if o.state == 2 {
		return errEndTwice
	}
	if o.state == 0 {
		return errors.New("cannot end output: Begin not called")
	}
	o.state = 2
	if len(tail) > 0 {
		if err := o.write(tail); err != nil {
			return err
		}
	}
	if err := o.bw.Flush(); err != nil {
		return fmt.Errorf("cannot write output: %w", err)
	}
	return nil
}
