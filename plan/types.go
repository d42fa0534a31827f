package plan

import (
	"fmt"
	"strings"

	"github.com/gdask/gdask/readers"
)

// Type is the type of a column or an expression.
type Type uint8

const (
	Null   Type = iota // no value seen: every value null
	Bool               // expression results only
	Int                // int64
	Float              // float64
	String             // bytes
)

func (t Type) String() string {
	return [...]string{"null", "bool", "int", "float", "string"}[t]
}

// Numeric reports whether t is Int or Float.
func (t Type) Numeric() bool { return t == Int || t == Float }

// FromReaders converts an inferred input type.
func FromReaders(t readers.Type) Type {
	switch t {
	case readers.TypeInt:
		return Int
	case readers.TypeFloat:
		return Float
	case readers.TypeString:
		return String
	}
	return Null
}

// Column is one named, typed column.
type Column struct {
	Name     string
	Type     Type
	Declared bool // the type was declared (--types), not inferred
}

// Schema is the ordered columns a node produces.
type Schema []Column

// Index returns the ordinal of the named column, or -1.
func (s Schema) Index(name string) int {
	for i, c := range s {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the column names in order.
func (s Schema) Names() []string {
	out := make([]string, len(s))
	for i, c := range s {
		out[i] = c.Name
	}
	return out
}

func (s Schema) String() string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = c.Name + ":" + c.Type.String()
	}
	return strings.Join(parts, ", ")
}

// UnknownColumnError names a column the schema does not have, lists the
// columns it has and suggests the closest name.
type UnknownColumnError struct {
	Name    string
	Have    []string
	Suggest string // "" when nothing is close
	Where   string // which flag or expression named it
}

func (e *UnknownColumnError) Error() string {
	msg := fmt.Sprintf("unknown column %q", e.Name)
	if e.Where != "" {
		msg += " in " + e.Where
	}
	if e.Suggest != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", e.Suggest)
	}
	return msg + "; columns are: " + strings.Join(e.Have, ", ")
}

// Lookup returns the ordinal of name or an UnknownColumnError.
func (s Schema) Lookup(name, where string) (int, error) {
	if i := s.Index(name); i >= 0 {
		return i, nil
	}
	return -1, &UnknownColumnError{Name: name, Have: s.Names(), Suggest: closest(name, s.Names()), Where: where}
}

// closest returns the candidate within a small edit distance of name.
func closest(name string, candidates []string) string {
	best, bestD := "", len(name)/2+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(name), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
