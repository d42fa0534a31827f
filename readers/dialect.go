package readers

import "fmt"

// DefaultMaxRecordSize bounds one record (DESIGN §6): a runaway quote cannot
// make gdask read a whole file into memory.
const DefaultMaxRecordSize = 16 << 20

// Dialect is the CSV dialect of an input (DESIGN §5).
type Dialect struct {
	Delimiter     byte     // field separator, ',' by default
	NoHeader      bool     // the first record is data, columns are named column0, column1, ...
	Nulls         []string // tokens read as null besides the empty field
	MaxRecordSize int      // longest record accepted, in bytes
}

// DefaultDialect is RFC 4180 with a header line.
func DefaultDialect() Dialect {
	return Dialect{Delimiter: ',', MaxRecordSize: DefaultMaxRecordSize}
}

// Validate reports a dialect that cannot be scanned.
func (d Dialect) Validate() error {
	switch d.Delimiter {
	case '"', '\r', '\n', 0:
		return fmt.Errorf("invalid delimiter %q: pick a character other than quote, newline or NUL", d.Delimiter)
	}
	if d.MaxRecordSize < 1 {
		return fmt.Errorf("invalid --max-record-size %d: must be at least 1 byte", d.MaxRecordSize)
	}
	return nil
}

// IsNull reports whether a field's text is null under the dialect: empty,
// or equal to one of the --null tokens.
func (d *Dialect) IsNull(field []byte) bool {
	if len(field) == 0 {
		return true
	}
	for _, t := range d.Nulls {
		if string(field) == t { // no allocation: the compiler compares in place
			return true
		}
	}
	return false
}
