package plan

import "fmt"

// AggKind is an aggregate function. This file is the one registry of
// aggregates: their names, the order of their output columns and their
// result types. The engine's states (engine/agg) take their kinds from
// here.
type AggKind uint8

const (
	AggCount   AggKind = iota // rows per group, nulls included (Col -1); over a column, its non-null values
	AggSum                    // sum of the non-null values (0 when there are none)
	AggMean                   // sum / non-null count
	AggMin                    // smallest non-null value
	AggMax                    // largest non-null value
	AggStd                    // sample standard deviation (ddof=1)
	AggVar                    // sample variance (ddof=1)
	AggFirst                  // non-null value at the smallest input position
	AggLast                   // non-null value at the largest input position
	AggNUnique                // number of distinct non-null values

	NumAggKinds
)

var aggNames = [NumAggKinds]string{"count", "sum", "mean", "min", "max", "std", "var", "first", "last", "nunique"}

// ParseAggKind returns the AggKind named s ("count", "sum", "mean", "min",
// "max", "std", "var", "first", "last", "nunique").
func ParseAggKind(s string) (AggKind, bool) {
	for k, name := range aggNames {
		if name == s {
			return AggKind(k), true
		}
	}
	return 0, false
}

func (k AggKind) String() string {
	if k < NumAggKinds {
		return aggNames[k]
	}
	return fmt.Sprintf("AggKind(%d)", uint8(k))
}

// NumericOnly reports whether k needs numbers (sum, mean, std, var).
func (k AggKind) NumericOnly() bool {
	return k == AggSum || k == AggMean || k == AggStd || k == AggVar
}

// AggTypeError is an aggregate applied to a column whose type it cannot
// take, such as the mean of strings.
type AggTypeError struct {
	Kind   AggKind
	Type   Type
	Column string // "" when not known
}

func (e *AggTypeError) Error() string {
	what := "strings"
	if e.Type != String {
		what = e.Type.String() + " values"
	}
	if e.Column == "" {
		return fmt.Sprintf("cannot take the %s of %s", e.Kind, what)
	}
	return fmt.Sprintf("cannot take the %s of column %q: it holds %s", e.Kind, e.Column, what)
}

// ResultType is the output type of aggregate k over an input column of
// type in:
//
//   - count, nunique: Int;
//   - sum: Int for Int and Bool input, else Float;
//   - mean, std, var: Float;
//   - min, max, first, last: the input type.
//
// sum, mean, std and var of a String column are an *AggTypeError.
//
// A sum, min, max, first or last whose ResultType is Int can need Float
// after all, when a group's exact sum leaves int64 or the column turned out
// to hold non-integers; min, max, first and last over a Null column (no
// value in the type sample) take the type of the values that arrive. The
// engine reports the types it settled on with the result.
func (k AggKind) ResultType(in Type) (Type, error) {
	if k >= NumAggKinds {
		return Null, fmt.Errorf("unknown aggregate %v", k)
	}
	if k.NumericOnly() && in == String {
		return Null, &AggTypeError{Kind: k, Type: in}
	}
	switch k {
	case AggCount, AggNUnique:
		return Int, nil
	case AggSum:
		if in == Int || in == Bool {
			return Int, nil
		}
		return Float, nil
	case AggMean, AggStd, AggVar:
		return Float, nil
	}
	return in, nil
}

// ColumnResultType is ResultType for the named column: its *AggTypeError
// names the column (`cannot take the mean of column "x": it holds strings`).
func (k AggKind) ColumnResultType(column string, in Type) (Type, error) {
	t, err := k.ResultType(in)
	if te, ok := err.(*AggTypeError); ok {
		te.Column = column
	}
	return t, err
}
