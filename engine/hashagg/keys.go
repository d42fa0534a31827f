package hashagg

import (
	"math"
	"strconv"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// Numeric keys group by value, as pandas and DuckDB group them: "1",
// "01", "+1" and " 1" are one group of an int column, and "1", "1.0" and
// "1e0" one group of a float column. A column's type is known only at the
// end (a column typed int by the sample may widen to float, or to string,
// whose keys group by text), so the tables compare keys by their text, and
// hash them by value:
//
//   - every spelling of one number hashes alike, so all of them land in
//     the same shared part and the same spill partition;
//   - when the run is over and a key column's type is numeric, each table
//     that is about to emit folds its groups whose keys are equal values
//     into one (foldKeys), which only has work to do if some key was not
//     written as its value prints (a worker notes that as it makes the
//     group: keySpellings).
//
// A key column whose type is string (inferred, or declared with --types)
// is never parsed: its keys are hashed and grouped by their bytes.

// keyHasher hashes encoded keys (see appendKey) by value. Not safe for
// concurrent use: one per worker.
type keyHasher struct {
	seed    hashSeed
	numeric []bool // per key column: it may hold numbers
	any     bool   // some key column may hold numbers
	multi   bool
	buf     []byte // the key in value forms
	form    []byte // one field's value form
	fields  [][]byte
}

func newKeyHasher(seed hashSeed, keyTypes []plan.Type) keyHasher {
	h := keyHasher{seed: seed, numeric: make([]bool, len(keyTypes)), multi: len(keyTypes) > 1}
	for k, t := range keyTypes {
		h.numeric[k] = t != plan.String
		h.any = h.any || h.numeric[k]
	}
	return h
}

// hash returns the hash of an encoded key: equal for keys whose texts
// differ only in how their numbers are written.
func (h *keyHasher) hash(key []byte) uint64 {
	if !h.any {
		return hashBytes(h.seed, key)
	}
	if !h.multi {
		if plainInt(key) {
			return hashBytes(h.seed, key) // its own value's form
		}
		h.buf = appendValueForm(h.buf[:0], key)
		return hashBytes(h.seed, h.buf)
	}
	h.fields = splitKey(h.fields[:0], key, len(h.numeric))
	plain := true
	for k, f := range h.fields {
		if h.numeric[k] && f != nil && !plainInt(f) {
			plain = false
			break
		}
	}
	if plain {
		return hashBytes(h.seed, key)
	}
	h.buf = h.buf[:0]
	for k, f := range h.fields {
		if h.numeric[k] && f != nil {
			h.form = appendValueForm(h.form[:0], f)
			h.buf = appendKey(h.buf, h.form, len(h.form) == 0, true)
			continue
		}
		h.buf = appendKey(h.buf, f, f == nil, true)
	}
	return hashBytes(h.seed, h.buf)
}

// plainInt reports whether f is an integer of at most 15 digits written
// as strconv.AppendInt writes it: then f is its own value form.
func plainInt(f []byte) bool {
	if len(f) > 1 && f[0] == '-' {
		f = f[1:]
		if f[0] == '0' {
			return false // -0 is 0
		}
	}
	if len(f) == 0 || len(f) > 15 || f[0] == '0' && len(f) > 1 {
		return false
	}
	for _, c := range f {
		if c-'0' > 9 {
			return false
		}
	}
	return true
}

// appendValueForm appends a field's value form, which is equal for fields
// that may be equal values once the column's type is known: a whole
// number of magnitude at most 2^53 (an int, or a float such as 1.0 or
// -0.0) as its decimal digits; any other number (it may meet a float as
// large) as 0xff and its float64 bits; nan, which is null, as nothing, like
// the null key; a field that is not a number as it is.
func appendValueForm(dst, f []byte) []byte {
	kind, i, fl := readers.ParseNumber(f)
	switch kind {
	case readers.KindNull:
		return dst
	case readers.KindString:
		return append(dst, f...)
	case readers.KindInt:
		if i >= -1<<53 && i <= 1<<53 {
			return strconv.AppendInt(dst, i, 10)
		}
		fl = float64(i)
	}
	if fl == math.Trunc(fl) && math.Abs(fl) <= 1<<53 {
		return strconv.AppendInt(dst, int64(fl), 10)
	}
	b := math.Float64bits(fl)
	return append(dst, 0xff, byte(b>>56), byte(b>>48), byte(b>>40), byte(b>>32), byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

// keySpellings follows, per key column, the types of a worker's group keys
// and whether some key was not written as its value prints, which is when
// groups must be folded.
type keySpellings struct {
	kinds     []readers.Type // widened over the keys of the groups made
	respelled []bool         // per column: some number not written as its value prints
	text      int            // columns whose kind is string
	fields    [][]byte
	buf       []byte
}

// newKeySpellings starts each key column at the type the plan gives it
// (inferred from the sample, or declared).
func newKeySpellings(keyTypes []plan.Type) keySpellings {
	s := keySpellings{kinds: make([]readers.Type, len(keyTypes)), respelled: make([]bool, len(keyTypes))}
	for k, t := range keyTypes {
		switch t {
		case plan.Int:
			s.kinds[k] = readers.TypeInt
		case plan.Float:
			s.kinds[k] = readers.TypeFloat
		case plan.String:
			s.kinds[k] = readers.TypeString
			s.text++
		}
	}
	return s
}

// add notes the key of a new group.
func (s *keySpellings) add(key []byte) {
	if s.text == len(s.kinds) {
		return // every key column is text
	}
	s.fields = splitKey(s.fields[:0], key, len(s.kinds))
	for k, f := range s.fields {
		if f == nil || s.kinds[k] == readers.TypeString {
			continue
		}
		kind, i, _ := readers.ParseNumber(f)
		if s.kinds[k] = s.kinds[k].Widen(kind); s.kinds[k] == readers.TypeString {
			s.text++
			continue
		}
		if !s.respelled[k] && kind != readers.KindString {
			s.buf = strconv.AppendInt(s.buf[:0], i, 10)
			// A float, nan (a null), or an int written otherwise ("01",
			// "+1", " 1", "-0") folds into the group of its value.
			s.respelled[k] = kind != readers.KindInt || string(s.buf) != string(f)
		}
	}
}

// merge widens s with what o saw.
func (s *keySpellings) merge(o *keySpellings) {
	s.text = 0
	for k := range s.kinds {
		s.kinds[k] = max(s.kinds[k], o.kinds[k])
		s.respelled[k] = s.respelled[k] || o.respelled[k]
		if s.kinds[k] == readers.TypeString {
			s.text++
		}
	}
}

// types returns the key columns' final types (a column with no value
// seen is a string column) and whether groups must be folded.
func (s *keySpellings) types() ([]plan.Type, bool) {
	types := make([]plan.Type, len(s.kinds))
	fold := false
	for k, t := range s.kinds {
		types[k] = plan.FromReaders(t)
		if types[k] == plan.Null {
			types[k] = plan.String
		}
		fold = fold || types[k].Numeric() && s.respelled[k]
	}
	return types, fold
}

// keyFolder folds the groups of a table whose keys are equal values under
// the final key types into one group each. Not safe for concurrent use.
type keyFolder struct {
	agg      *plan.Aggregate
	seed     hashSeed
	keyTypes []plan.Type
	into     aggTable // the folded groups; reused from table to table
	fields   [][]byte
	key      []byte
	num      []byte
}

func newKeyFolder(a *plan.Aggregate, seed hashSeed, keyTypes []plan.Type) *keyFolder {
	return &keyFolder{agg: a, seed: seed, keyTypes: keyTypes}
}

// fold returns a table of t's groups with each numeric key written as its
// value prints, groups of equal keys merged. The table is valid until the
// next call; t is left as it was.
func (f *keyFolder) fold(t *aggTable) *aggTable {
	if f.into.table == nil {
		f.into = newAggTable(f.agg, false)
	} else {
		f.into.reset()
	}
	multi := len(f.keyTypes) > 1
	for g := range uint32(t.table.len()) {
		f.fields = splitKey(f.fields[:0], t.table.key(g), len(f.keyTypes))
		f.key = f.key[:0]
		for k, field := range f.fields {
			if field != nil && f.keyTypes[k].Numeric() {
				f.num = appendPrinted(f.num[:0], field, f.keyTypes[k])
				field = f.num
				if len(field) == 0 {
					field = nil // nan
				}
			}
			f.key = appendKey(f.key, field, field == nil, multi)
		}
		d, _ := f.into.find(f.key, hashBytes(f.seed, f.key))
		for i, a := range f.into.aggs {
			a.MergeGroup(d, t.aggs[i], g)
		}
	}
	return &f.into
}

// appendPrinted appends a number as a key column of type t prints it
// (nothing for nan): an int column's as its digits, a float column's as
// AppendFloat writes it, -0 as 0.
func appendPrinted(dst, field []byte, t plan.Type) []byte {
	kind, i, fl := readers.ParseNumber(field)
	switch {
	case kind == readers.KindNull:
		return dst
	case t == plan.Int && kind == readers.KindInt:
		return strconv.AppendInt(dst, i, 10)
	case kind == readers.KindInt:
		fl = float64(i)
	}
	if fl == 0 {
		fl = 0 // -0.0 is 0.0
	}
	return exec.AppendFloat(dst, fl)
}
