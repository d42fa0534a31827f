package agg

import (
	"errors"
	"fmt"

	"github.com/gdask/gdask/plan"
)

// Agg holds one aggregate's states for groups 0..Len()-1, column-wise.
// Not safe for concurrent use.
type Agg interface {
	// Kind is the aggregate function.
	Kind() Kind
	// Len is the number of groups.
	Len() int
	// Grow makes room for groups [0,n): groups from Len() on start empty.
	// It never shrinks; growing one group at a time is amortised O(1).
	Grow(n int)
	// Update folds rows into groups: row i of v (i < len(groups)) goes to
	// groups[i], which must be < Len(). pos[i] is the row's position in the
	// input, a total order packed by the caller (file index, byte offset);
	// only First and Last read it (others accept nil). Null rows are skipped,
	// except by Count, which counts every row and ignores v (may be nil).
	//
	// A numeric column may arrive as Int or Float vectors batch by batch,
	// and a Null vector (every row null) may arrive for any column. Sum,
	// mean, std and var, and min, max, first and last over a numeric or
	// Bool column, panic on a String vector: the caller turns a value that
	// is not a number into a data error first. Over a Null column, min,
	// max, first and last take numbers or strings (see Typer).
	//
	// Buffer lifetime: v.Strs need only be valid during the call; the Agg
	// copies the bytes it keeps.
	Update(groups []uint32, v *plan.Vector, pos []uint64)
	// MergeGroup folds group src of other (same Kind, same input type) into
	// group dst of the receiver. It is commutative, and associative in its
	// results.
	MergeGroup(dst uint32, other Agg, src uint32)
	// AppendState appends group g's state to dst in a compact, portable,
	// self-delimiting encoding whose first byte is the format version (see
	// state.go). It is the spill format and the format of partial results
	// sent between machines.
	AppendState(dst []byte, g uint32) []byte
	// MergeState folds one encoded state (as AppendState wrote it, by an
	// Agg of the same Kind) into group g and returns the bytes after it.
	// Corrupt or truncated input is an error wrapping ErrCorrupt, and
	// leaves group g unchanged.
	MergeState(g uint32, src []byte) (rest []byte, err error)
	// Result writes group g's final value into row `row` of out, which the
	// caller has Reset to the ResultType (or to Float, see Widener). Null
	// results (the mean, min, max, first or last of no values, the variance
	// of fewer than two) set out.Nulls[row]. Any numeric result may also be
	// written into a Float vector: float64() of the Int result equals what
	// Result writes there. String results (min, max, first, last of a
	// String column) are views of the Agg's arena, valid until the Agg is
	// next changed (Update, a merge, Reset).
	Result(g uint32, out *plan.Vector, row int)
	// MemBytes is the memory the states hold (pages in use, slices by
	// capacity, arenas, hash tables), for the memory budget.
	MemBytes() int64
	// Reset drops every group, keeping storage where cheap.
	Reset()
}

// Widener is implemented by the aggregates whose result can need Float
// although ResultType said Int: sum over Int or Bool input (a group's exact
// sum leaves int64, or a group took a value that is not an integer: a
// non-integer, an infinity, or a number beyond int64), and min, max, first
// and last over Int or Bool input (a group's result is such a value). Over
// Null input, min, max, first and last implement Typer as well.
//
// Widened reports whether some group's result needs Float. After the last
// Update and merge, and before Result, the engine asks it and, if true,
// Resets the whole output column to plan.Float, so a column has one type.
// When groups are split across several Aggs (radix partitions of a spill),
// the column is Float if any of them is Widened; an Int result already
// written converts exactly as float64(v).
//
// Whether a value counts as an integer depends on its value only, never on
// the type of the batch that carried it (a batch of an Int column is Float
// when any of its values is not an integer, so 3 and 3.0 look alike): the
// answer is the same for every partitioning.
type Widener interface {
	Widened() bool
}

// ErrCorrupt is wrapped by MergeState's errors for state bytes that are
// truncated, of another version or kind, or otherwise invalid.
var ErrCorrupt = errors.New("corrupt aggregate state")

type corruptError struct {
	kind Kind
	why  string
}

func (e *corruptError) Error() string {
	return "cannot decode " + e.kind.String() + " state: " + e.why
}

func (e *corruptError) Unwrap() error { return ErrCorrupt }

// New returns an empty Agg of kind k over an input column of type in.
// It panics when k.ResultType(in) is an error: the planner checks first.
func New(k Kind, in plan.Type) Agg {
	if _, err := k.ResultType(in); err != nil {
		panic("BUG: agg.New: " + err.Error())
	}
	switch k {
	case Count:
		return &countAgg{}
	case Sum, Mean:
		return &sumAgg{kind: k, in: in}
	case Std, Var:
		return &varAgg{kind: k, in: in}
	case Min, Max, First, Last:
		switch in {
		case plan.String:
			return &pickStr{kind: k}
		case plan.Null:
			return newPickNull(k)
		}
		return &pickNum{kind: k, in: in}
	case NUnique:
		return newNUnique(in)
	}
	panic(fmt.Sprintf("BUG: agg.New: kind %v", k))
}

func mismatch(a Agg, other Agg) string {
	return fmt.Sprintf("BUG: agg: cannot merge %T (%v) into %T (%v)", other, other.Kind(), a, a.Kind())
}

func badVector(k Kind, t plan.Type) string {
	return fmt.Sprintf("BUG: agg: %v cannot take a %v vector: the caller must reject values that are not numbers", k, t)
}
