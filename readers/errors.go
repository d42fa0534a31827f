package readers

import (
	"errors"
	"fmt"

	"github.com/gdask/gdask/internal/fsname"
)

// Errors a Scanner reports inside a ParseError.
var (
	ErrUnterminatedQuote = errors.New("unterminated quoted field")
	ErrBareQuote         = errors.New("unexpected \" after a closing quote (double it to write a quote inside a quoted field)")
	ErrRecordTooLarge    = errors.New("record is larger than --max-record-size")
	ErrFieldCount        = errors.New("wrong number of fields")
)

// ParseError is a data error with its position, like encoding/csv's.
// Line is 1-based and counts physical lines; Column is the 1-based field.
type ParseError struct {
	File     string
	Line     int64
	Column   int
	Offset   int64 // byte offset of the record in the input
	Err      error
	Expected int // for ErrFieldCount
	Found    int
}

func (e *ParseError) Error() string {
	file := fsname.Quote(e.File)
	if e.File == "" {
		file = "<input>"
	}
	switch e.Err {
	case ErrFieldCount:
		return fmt.Sprintf("%s:%d: ragged row: expected %d fields, found %d", file, e.Line, e.Expected, e.Found)
	case ErrRecordTooLarge:
		return fmt.Sprintf("%s:%d: %v (record starting at byte %d; raise --max-record-size if it is real)", file, e.Line, e.Err, e.Offset)
	case ErrUnterminatedQuote:
		return fmt.Sprintf("%s:%d:%d: %v (the quote opened here is never closed)", file, e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", file, e.Line, e.Column, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }
