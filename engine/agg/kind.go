package agg

import (
	"fmt"

	"github.com/gdask/gdask/plan"
)

// Kind is an aggregate function.
type Kind uint8

const (
	Count   Kind = iota // rows per group, nulls included
	Sum                 // sum of the non-null values (0 when there are none)
	Mean                // sum / non-null count
	Min                 // smallest non-null value
	Max                 // largest non-null value
	Std                 // sample standard deviation (ddof=1)
	Var                 // sample variance (ddof=1)
	First               // non-null value at the smallest input position
	Last                // non-null value at the largest input position
	NUnique             // number of distinct non-null values

	numKinds
)

var kindNames = [numKinds]string{"count", "sum", "mean", "min", "max", "std", "var", "first", "last", "nunique"}

// ParseKind returns the Kind named s ("count", "sum", "mean", "min", "max",
// "std", "var", "first", "last", "nunique").
func ParseKind(s string) (Kind, bool) {
	for k, name := range kindNames {
		if name == s {
			return Kind(k), true
		}
	}
	return 0, false
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// numericOnly reports whether k needs numbers (sum, mean, std, var).
func (k Kind) numericOnly() bool {
	return k == Sum || k == Mean || k == Std || k == Var
}

// TypeError is an aggregate applied to a column whose type it cannot take,
// such as the mean of strings.
type TypeError struct {
	Kind   Kind
	Type   plan.Type
	Column string // "" when not known
}

func (e *TypeError) Error() string {
	what := "strings"
	if e.Type != plan.String {
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
// sum, mean, std and var of a String column are a *TypeError.
//
// A sum, min, max, first or last whose ResultType is Int can need Float
// after all, when a group's exact sum leaves int64 or the column turned out
// to hold non-integers: see Widener. Min, max, first and last over a Null
// column report the type they need: see Typer.
func ResultType(k Kind, in plan.Type) (plan.Type, error) {
	if k >= numKinds {
		return plan.Null, fmt.Errorf("unknown aggregate %v", k)
	}
	if k.numericOnly() && in == plan.String {
		return plan.Null, &TypeError{Kind: k, Type: in}
	}
	switch k {
	case Count, NUnique:
		return plan.Int, nil
	case Sum:
		if in == plan.Int || in == plan.Bool {
			return plan.Int, nil
		}
		return plan.Float, nil
	case Mean, Std, Var:
		return plan.Float, nil
	}
	return in, nil
}

// ColumnResultType is ResultType for the named column: its *TypeError
// names the column (`cannot take the mean of column "x": it holds strings`).
func ColumnResultType(k Kind, column string, in plan.Type) (plan.Type, error) {
	t, err := ResultType(k, in)
	if te, ok := err.(*TypeError); ok {
		te.Column = column
	}
	return t, err
}
