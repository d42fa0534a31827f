package readers

// Type is a column's inferred type. Types only widen:
// Null -> Int -> Float -> String.
type Type uint8

const (
	TypeNull   Type = iota // no value seen yet
	TypeInt                // every value an int64
	TypeFloat              // every value a number
	TypeString             // anything
)

func (t Type) String() string {
	return [...]string{"null", "int", "float", "string"}[t]
}

// Widen returns the narrowest type holding both t and a value of kind k.
func (t Type) Widen(k Kind) Type {
	var kt Type
	switch k {
	case KindNull:
		return t
	case KindInt:
		kt = TypeInt
	case KindFloat:
		kt = TypeFloat
	default:
		kt = TypeString
	}
	return max(t, kt)
}

// Inferrer infers column types from records, widening as it goes instead of
// failing on a later value that disagrees (the Dask "Mismatched dtypes"
// failure).
type Inferrer struct {
	d     *Dialect
	Types []Type
	Fixed []bool // columns whose type was declared (--types): never widened
	Rows  int64
}

// NewInferrer infers n columns under dialect d.
func NewInferrer(n int, d *Dialect) *Inferrer {
	return &Inferrer{d: d, Types: make([]Type, n), Fixed: make([]bool, n)}
}

// Declare fixes column i's type to t: the user said so, and the data that
// disagrees is an error where it is read, not a wider type.
func (in *Inferrer) Declare(i int, t Type) {
	in.Types[i], in.Fixed[i] = t, true
}

// Add widens the types with one record. It does not keep fields.
func (in *Inferrer) Add(fields [][]byte) {
	in.Rows++
	for i, f := range fields {
		if i >= len(in.Types) {
			break
		}
		if in.Types[i] == TypeString || in.Fixed[i] || in.d.IsNull(f) {
			continue
		}
		k, _, _ := ParseNumber(f)
		in.Types[i] = in.Types[i].Widen(k)
	}
}

// Merge widens in with the types other inferred.
func (in *Inferrer) Merge(other *Inferrer) {
	for i, t := range other.Types {
		if !in.Fixed[i] {
			in.Types[i] = max(in.Types[i], t)
		}
	}
	in.Rows += other.Rows
}
