package plan

// BatchSize is the most rows a Batch holds: large enough to amortise a call
// per batch, small enough that its vectors stay in cache.
const BatchSize = 1024

// Vector is one column of a Batch. Exactly one of the value slices is used,
// per Type; Nulls marks null rows (their value slot holds a zero value).
//
// A numeric column's Type may differ between batches: a column inferred
// Int is delivered as Float in a batch where some value is not an integer
// (types widen as the data demands). Evaluators dispatch on Type once per
// batch, never per row.
//
// Buffer lifetime: Strs hold views into the scanner's buffer and are valid
// only until the producer fills the next batch.
type Vector struct {
	Type   Type
	Nulls  []bool
	Bools  []bool
	Ints   []int64
	Floats []float64
	Strs   [][]byte
}

// Reset empties v for n rows of type t, reusing its storage.
func (v *Vector) Reset(t Type, n int) {
	v.Type = t
	v.Nulls = Grow(v.Nulls, n)
	clear(v.Nulls)
	switch t {
	case Bool:
		v.Bools = Grow(v.Bools, n)
	case Int:
		v.Ints = Grow(v.Ints, n)
	case Float:
		v.Floats = Grow(v.Floats, n)
	case String:
		v.Strs = Grow(v.Strs, n)
	}
}

// Grow returns s with length n, reusing its storage when it is big
// enough (the contents are not cleared).
func Grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, BatchSize))
	}
	return s[:n]
}

// Batch is up to BatchSize rows in columnar form. Cols is indexed by the
// ordinal of the column in the schema the batch was made for; columns the
// plan does not use are nil.
type Batch struct {
	N    int
	Cols []*Vector
}
