package plan

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// testSchema is the schema most tests use. n is an Int column that some
// batches deliver as Float; z has no type (no value seen).
var testSchema = Schema{
	{Name: "id", Type: Int},
	{Name: "value", Type: Float},
	{Name: "category", Type: String},
	{Name: "n", Type: Int},
	{Name: "z", Type: Null},
	{Name: "my col", Type: Int},
}

var havingSchema = Schema{
	{Name: "category", Type: String},
	{Name: "value_mean", Type: Float},
	{Name: "count", Type: Int},
}

// vec builds a vector of type t from values; nil is null.
func vec(t Type, xs ...any) *Vector {
	v := &Vector{}
	v.Reset(t, len(xs))
	for i, x := range xs {
		if x == nil {
			v.Nulls[i] = true
			continue
		}
		switch t {
		case Int:
			v.Ints[i] = int64(x.(int))
		case Float:
			v.Floats[i] = x.(float64)
		case String:
			v.Strs[i] = []byte(x.(string))
		case Bool:
			v.Bools[i] = x.(bool)
		case Null:
			panic("a Null vector holds only nil")
		}
	}
	return v
}

// batchOf makes a batch for testSchema-like schemas: cols by ordinal.
func batchOf(cols map[int]*Vector) *Batch {
	b := &Batch{N: -1}
	for i, v := range cols {
		for len(b.Cols) <= i {
			b.Cols = append(b.Cols, nil)
		}
		b.Cols[i] = v
		if b.N < 0 {
			b.N = len(v.Nulls)
		}
		if b.N != len(v.Nulls) {
			panic("columns of different lengths")
		}
	}
	return b
}

// rows returns v's values: nil for null, else int64, float64, string, bool.
func rows(v *Vector, n int) []any {
	out := make([]any, n)
	for i := range n {
		if v.Type == Null || len(v.Nulls) >= n && v.Nulls[i] {
			continue
		}
		switch v.Type {
		case Bool:
			out[i] = v.Bools[i]
		case Int:
			out[i] = v.Ints[i]
		case Float:
			out[i] = v.Floats[i]
		case String:
			out[i] = string(v.Strs[i])
		}
	}
	return out
}

func mustParse(t testing.TB, src string, s Schema) *Expr {
	t.Helper()
	e, err := parse(src, s, "--where")
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return e
}

func TestParseExprErrors(t *testing.T) {
	tests := []struct {
		name, src string
		schema    Schema
		flag      string
		want      string
	}{
		{"unknown column with suggestion", "vlaue > 500", testSchema, "--where", `
invalid --where expression: unknown column "vlaue" (did you mean "value"?)
  vlaue > 500
  ^`},
		{"unknown column in having", "count > 2 and value_maen > 500", havingSchema, "--having", `
invalid --having expression: unknown column "value_maen" (did you mean "value_mean"?)
  count > 2 and value_maen > 500
                ^`},
		{"unknown column, nothing close", "price > 5", havingSchema, "--having", `
invalid --having expression: unknown column "price"; columns are: category, value_mean, count
  price > 5
  ^`},
		{"unknown $env column", `$env["my col"] > 1 and $env["nope at all"] > 2`, testSchema, "--where", `
invalid --where expression: unknown column "nope at all"; columns are: id, value, category, n, z, my col
  $env["my col"] > 1 and $env["nope at all"] > 2
                         ^`},
		{"string vs number", `category > 500`, testSchema, "--where", `
invalid --where expression: cannot compare category (string) with 500 (int)
  category > 500
           ^`},
		{"number vs string", `value == "cat_1" or id > 1`, testSchema, "--where", `
invalid --where expression: cannot compare value (float) with "cat_1" (string)
  value == "cat_1" or id > 1
        ^`},
		{"not a bool", "value * 2", testSchema, "--where", `
invalid --where expression: expression must be true or false, got float
  value * 2
  ^`},
		{"not a bool, int", "  count + 1", havingSchema, "--having", `
invalid --having expression: expression must be true or false, got int
    count + 1
    ^`},
		{"string result", "category", testSchema, "--where", `
invalid --where expression: expression must be true or false, got string
  category
  ^`},
		{"syntax: end of input", "value >", testSchema, "--where", `
invalid --where expression: unexpected end of expression
  value >
         ^`},
		{"syntax: token", "value > > 1", testSchema, "--where", `
invalid --where expression: unexpected ">"
  value > > 1
          ^`},
		{"syntax: unclosed string", `category == "cat`, testSchema, "--where", `
invalid --where expression: literal not terminated
  category == "cat
                  ^`},
		{"syntax: bad character", `value @ 1`, testSchema, "--where", `
invalid --where expression: unrecognized character: U+0040 '@'
  value @ 1
        ^`},
		{"empty", "  ", testSchema, "--where", `
invalid --where expression: empty expression
    
  ^`},
		{"function call", "len(category) > 3", testSchema, "--where", `
invalid --where expression: function call len() is not supported
  len(category) > 3
  ^`},
		{"user function call", "id > 1 and foo(id)", testSchema, "--where", `
invalid --where expression: function call foo() is not supported
  id > 1 and foo(id)
             ^`},
		{"matches", `category matches "^cat"`, testSchema, "--where", `
invalid --where expression: matches is not supported
  category matches "^cat"
           ^`},
		{"member access", `category.size > 1`, testSchema, "--where", `
invalid --where expression: member access and indexing are not supported (a column whose name is not an identifier is written $env["a.b"])
  category.size > 1
  ^`},
		{"ternary", `id > 1 ? true : false`, testSchema, "--where", `
invalid --where expression: the conditional operator ?: is not supported
  id > 1 ? true : false
  ^`},
		{"coalesce", `(id ?? 0) > 1`, testSchema, "--where", `
invalid --where expression: operator ?? is not supported
  (id ?? 0) > 1
      ^`},
		{"and on a number", `id and value > 1`, testSchema, "--where", `
invalid --where expression: and needs true or false on both sides, got int
  id and value > 1
  ^`},
		{"not binds tighter than >", `not id > 1`, testSchema, "--where", `
invalid --where expression: not needs true or false, got int
  not id > 1
      ^`},
		{"arithmetic on a string", `value + category > 1`, testSchema, "--where", `
invalid --where expression: + needs numbers, got string
  value + category > 1
          ^`},
		{"contains on a number", `id contains "1"`, testSchema, "--where", `
invalid --where expression: contains needs strings, got int
  id contains "1"
  ^`},
		{"in with a mixed list", `id in [1, "2"]`, testSchema, "--where", `
invalid --where expression: cannot compare id (int) with "2" (string)
  id in [1, "2"]
            ^`},
		{"in with nil", `category in ["a", nil]`, testSchema, "--where", `
invalid --where expression: nil is not allowed in a list: test category == nil
  category in ["a", nil]
                    ^`},
		{"in with a column", `id in [n]`, testSchema, "--where", `
invalid --where expression: a list after in may hold only literals
  id in [n]
         ^`},
		{"in without a list", `id in n`, testSchema, "--where", `
invalid --where expression: in needs a list of literals, as in x in [1, 2]
  id in n
        ^`},
		{"ordering bools", `(id > 1) < (id > 2)`, testSchema, "--where", `
invalid --where expression: < is not defined on true/false values
  (id > 1) < (id > 2)
           ^`},
		{"caret counts runes", `category == "héllo" and vlue > 1`, testSchema, "--where", `
invalid --where expression: unknown column "vlue" (did you mean "value"?)
  category == "héllo" and vlue > 1
                          ^`},
		{"caret on the right line", "id > 1 and\n\tvlue > 1", testSchema, "--where", `
invalid --where expression: unknown column "vlue" (did you mean "value"?)
   vlue > 1
   ^`},
		{"number too large", `id == 9223372036854775808`, testSchema, "--where", `
invalid --where expression: number out of range
  id == 9223372036854775808
                          ^`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ParseExpr(tt.src, tt.schema, tt.flag)
			if err == nil {
				t.Fatalf("ParseExpr(%q) = %s, want an error", tt.src, e)
			}
			want := strings.TrimPrefix(tt.want, "\n")
			if err.Error() != want {
				t.Errorf("ParseExpr(%q) error:\n%s\nwant:\n%s", tt.src, err, want)
			}
			var ee *ExprError
			if !errors.As(err, &ee) || ee.Flag != tt.flag || ee.Source != tt.src {
				t.Errorf("error %#v is not an *ExprError for %s %q", err, tt.flag, tt.src)
			}
		})
	}
}

func TestUnknownColumnUnwraps(t *testing.T) {
	_, err := ParseExpr("vlaue > 1", testSchema, "--where")
	var u *UnknownColumnError
	if !errors.As(err, &u) || u.Name != "vlaue" || u.Suggest != "value" {
		t.Fatalf("errors.As(%v, *UnknownColumnError) = %v", err, u)
	}
}

func TestExprString(t *testing.T) {
	tests := []struct{ src, want string }{
		{"value_mean > 500", "(value_mean > 500)"},
		{"value_mean>500.0", "(value_mean > 500.0)"},
		{"count >= 2 && value_mean < 1e6", "((count >= 2) and (value_mean < 1e+06))"},
		{"count > 1 || !(count < 5)", "((count > 1) or not (count < 5))"},
		{"a and b or c", "(((count > 1) and (count > 2)) or (count > 3))"},
		{"count > -5", "(count > -5)"},
		{"-count > 5", "(-count > 5)"},
		{"-(-count) > 5", "(-(-count) > 5)"},
		{"- -count > 5", "(-(-count) > 5)"},
		{"-(count + 1) > 5", "(-(count + 1) > 5)"},
		{"+count > 5", "(count > 5)"},
		{"count - -5 > 0", "((count - -5) > 0)"},
		{"1 + 2 * count > 3", "((1 + (2 * count)) > 3)"},
		{"(1 + 2) * count > 3", "(((1 + 2) * count) > 3)"},
		{"count % 2 == 0", "((count % 2) == 0)"},
		{"category == 'cat_7'", `(category == "cat_7")`},
		{`category == "tab\there \"q\""`, `(category == "tab\there \"q\"")`},
		{"category == `raw`", `(category == "raw")`},
		{"category in ['a', 'b']", `(category in ["a", "b"])`},
		{"category not in ['a']", `not (category in ["a"])`},
		{"count in [1, -2, 3.5]", "(count in [1, -2, 3.5])"},
		{"category not contains 'x'", `not (category contains "x")`},
		{"category startsWith 'x' and category endsWith 'y'", `((category startsWith "x") and (category endsWith "y"))`},
		{"count == nil", "(count == nil)"},
		{"nil != count", "(count != nil)"},
		{"(count > 1) == true", "((count > 1) == true)"},
		{"$env['value_mean'] > 1", "(value_mean > 1)"},
		{"$env.count > 1", "(count > 1)"},
		{`$env["weird col"] > 1`, `($env["weird col"] > 1)`},
		{`$env["in"] > 1`, `($env["in"] > 1)`},
		{`a.b > 1`, `($env["a.b"] > 1)`},
		{"count > 1 /* comment */", "(count > 1)"},
	}
	schema := append(slices.Clone(havingSchema), Column{Name: "weird col", Type: Int},
		Column{Name: "in", Type: Int}, Column{Name: "a.b", Type: Int})
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			src := strings.NewReplacer("a and b or c", "count > 1 and count > 2 or count > 3").Replace(tt.src)
			e, err := ParseExpr(src, schema, "--having")
			if err != nil {
				t.Fatal(err)
			}
			if got := e.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			again, err := ParseExpr(e.String(), schema, "--having")
			if err != nil {
				t.Fatalf("String() does not parse again: %v", err)
			}
			if again.String() != e.String() {
				t.Errorf("round trip: %s, then %s", e, again)
			}
		})
	}
}

func TestExprColumns(t *testing.T) {
	tests := []struct {
		src  string
		want []int
	}{
		{"value > 500", []int{1}},
		{`category == "a" and value > id * 2 or value < 0`, []int{0, 1, 2}},
		{`$env["my col"] == nil`, []int{5}},
		{"1 < 2", nil},
		{"n in [1, 2] and z > n", []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := ParseExpr(tt.src, testSchema, "--where")
			if err != nil {
				t.Fatal(err)
			}
			if got := e.Columns(); !slices.Equal(got, tt.want) {
				t.Errorf("Columns() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConjunctsAnd(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"value > 1", []string{"(value > 1)"}},
		{"value > 1 and id < 2 && category == 'a'", []string{"(value > 1)", "(id < 2)", `(category == "a")`}},
		{"value > 1 and (id < 2 or id > 5)", []string{"(value > 1)", "((id < 2) or (id > 5))"}},
		{"value > 1 and (id < 2 and id > 5)", []string{"(value > 1)", "(id < 2)", "(id > 5)"}},
		{"not (value > 1 and id < 2)", []string{"not ((value > 1) and (id < 2))"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e, err := ParseExpr(tt.src, testSchema, "--where")
			if err != nil {
				t.Fatal(err)
			}
			cs := e.Conjuncts()
			var got []string
			for _, c := range cs {
				got = append(got, c.String())
				if c.Type() != Bool {
					t.Errorf("conjunct %s has type %s", c, c.Type())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Conjuncts() = %q, want %q", got, tt.want)
			}
			// And of the conjuncts selects the same rows as the whole.
			back := And(cs)
			if len(cs) == 1 && back != cs[0] {
				t.Errorf("And of one is not that one")
			}
			b := batchOf(map[int]*Vector{
				0: vec(Int, 1, 3, nil, 7, 1),
				1: vec(Float, 2.0, 0.5, 3.0, nil, 1.5),
				2: vec(String, "a", "a", "b", "a", nil),
			})
			want := e.Compile().Filter(b, nil)
			if got := back.Compile().Filter(b, nil); !slices.Equal(got, want) {
				t.Errorf("And(Conjuncts()) selects %v, the expression %v", got, want)
			}
			if !slices.Equal(back.Columns(), e.Columns()) {
				t.Errorf("And(Conjuncts()).Columns() = %v, want %v", back.Columns(), e.Columns())
			}
		})
	}
	if And(nil) != nil {
		t.Error("And(nil) != nil")
	}
	a, b := mustParse(t, "id > 1", testSchema), mustParse(t, "value < 2", testSchema)
	if got := And([]*Expr{nil, a, nil, b}).String(); got != "((id > 1) and (value < 2))" {
		t.Errorf("And skipping nils = %s", got)
	}
}

// evalCase is an expression evaluated over one batch.
type evalCase struct {
	src  string
	want []any
}

func runEval(t *testing.T, schema Schema, b *Batch, tests []evalCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			e := mustParse(t, tt.src, schema)
			p := e.Compile()
			for range 2 { // the second run reuses the scratch vectors
				got := rows(p.Eval(b), b.N)
				if !equalRows(got, tt.want) {
					t.Fatalf("%s = %v, want %v", tt.src, fmtRows(got), fmtRows(tt.want))
				}
			}
			if e.Type() == Bool {
				var want []int32
				for i, w := range tt.want {
					if w == true {
						want = append(want, int32(i))
					}
				}
				if got := p.Filter(b, make([]int32, 3)); !slices.Equal(got, want) {
					t.Errorf("Filter = %v, want %v", got, want)
				}
			}
		})
	}
}

// equalRows compares exactly, types included (int64 1 is not float64 1).
func equalRows(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if x, ok := a[i].(float64); ok {
			if y, ok := b[i].(float64); !ok || x != y || math.Signbit(x) != math.Signbit(y) {
				return false
			}
			continue
		}
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fmtRows(xs []any) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%T(%v)", x, x)
		if x == nil {
			parts[i] = "null"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func TestEvalIntAndFloatBatches(t *testing.T) {
	// n is Int in the schema; the same expressions run over a batch where
	// it arrives as Int and one where it arrives as Float.
	intBatch := batchOf(map[int]*Vector{3: vec(Int, 1, 2, 3, nil, -7)})
	floatBatch := batchOf(map[int]*Vector{3: vec(Float, 1.0, 2.5, 3.0, nil, -7.0)})
	prog := mustParse(t, "n * 2 > 4", testSchema).Compile()
	t.Run("one program, both kinds of batch", func(t *testing.T) {
		for i := range 3 {
			if got := prog.Filter(intBatch, nil); !slices.Equal(got, []int32{2}) {
				t.Fatalf("round %d, int batch: %v", i, got)
			}
			if got := prog.Filter(floatBatch, nil); !slices.Equal(got, []int32{1, 2}) {
				t.Fatalf("round %d, float batch: %v", i, got)
			}
		}
	})
	runEval(t, testSchema, intBatch, []evalCase{
		{"n + 1", []any{int64(2), int64(3), int64(4), nil, int64(-6)}},
		{"n * n - 1", []any{int64(0), int64(3), int64(8), nil, int64(48)}},
		{"n / 2", []any{0.5, 1.0, 1.5, nil, -3.5}},
		{"n % 2", []any{int64(1), int64(0), int64(1), nil, int64(-1)}},
		{"n + 0.5", []any{1.5, 2.5, 3.5, nil, -6.5}},
		{"-n", []any{int64(-1), int64(-2), int64(-3), nil, int64(7)}},
		{"n > 2", []any{false, false, true, nil, false}},
		{"n > 2.5", []any{false, false, true, nil, false}},
		{"2 < n", []any{false, false, true, nil, false}},
		{"n == 2.0", []any{false, true, false, nil, false}},
		{"n in [2, 3]", []any{false, true, true, nil, false}},
		{"n in [2.0, 2.5]", []any{false, true, false, nil, false}},
	})
	runEval(t, testSchema, floatBatch, []evalCase{
		{"n + 1", []any{2.0, 3.5, 4.0, nil, -6.0}},
		{"n / 2", []any{0.5, 1.25, 1.5, nil, -3.5}},
		{"n % 2", []any{1.0, 0.5, 1.0, nil, -1.0}},
		{"-n", []any{-1.0, -2.5, -3.0, nil, 7.0}},
		{"n > 2", []any{false, true, true, nil, false}},
		{"n in [2, 3]", []any{false, false, true, nil, false}},
		{"n in [2.5]", []any{false, true, false, nil, false}},
	})
	// Int against Float columns, in both orders.
	mixed := batchOf(map[int]*Vector{0: vec(Int, 1, 2, 3), 1: vec(Float, 1.5, 2.0, 2.5)})
	runEval(t, testSchema, mixed, []evalCase{
		{"id < value", []any{true, false, false}},
		{"value <= id", []any{false, true, true}},
		{"id == value", []any{false, true, false}},
		{"id + value", []any{2.5, 4.0, 5.5}},
		{"value - id", []any{0.5, 0.0, -0.5}},
		{"id * value", []any{1.5, 4.0, 7.5}},
		{"value % id", []any{0.5, 0.0, 2.5}},
	})
}

func TestEvalNulls(t *testing.T) {
	// x and y take every combination of true (1), false (-1) and null.
	x := vec(Int, 1, 1, 1, -1, -1, -1, nil, nil, nil)
	y := vec(Int, 1, -1, nil, 1, -1, nil, 1, -1, nil)
	b := batchOf(map[int]*Vector{0: x, 3: y})
	T, F := true, false
	runEval(t, testSchema, b, []evalCase{
		{"id > 0 and n > 0", []any{T, F, nil, F, F, F, nil, F, nil}},
		{"id > 0 && n > 0", []any{T, F, nil, F, F, F, nil, F, nil}},
		{"id > 0 or n > 0", []any{T, T, T, T, F, nil, T, nil, nil}},
		{"id > 0 || n > 0", []any{T, T, T, T, F, nil, T, nil, nil}},
		{"not (id > 0)", []any{F, F, F, T, T, T, nil, nil, nil}},
		{"!(id > 0)", []any{F, F, F, T, T, T, nil, nil, nil}},
		{"not (id > 0 and n > 0)", []any{F, T, nil, T, T, T, nil, T, nil}},
		{"id > 0 and nil", []any{nil, nil, nil, F, F, F, nil, nil, nil}},
		{"nil or n > 0", []any{T, nil, nil, T, nil, nil, T, nil, nil}},
		{"id == nil", []any{F, F, F, F, F, F, T, T, T}},
		{"id != nil", []any{T, T, T, T, T, T, F, F, F}},
		{"nil == nil", []any{T, T, T, T, T, T, T, T, T}},
		{"(id > 0 and n > 0) == nil", []any{F, F, T, F, F, F, T, F, T}},
		{"id == n", []any{T, F, nil, F, T, nil, nil, nil, nil}},
		{"id != n", []any{F, T, nil, T, F, nil, nil, nil, nil}},
		{"id > nil", []any{nil, nil, nil, nil, nil, nil, nil, nil, nil}},
		{"(id > 0) == (n > 0)", []any{T, F, nil, F, T, nil, nil, nil, nil}},
		{"(id > 0) != true", []any{F, F, F, T, T, T, nil, nil, nil}},
		{"id + n", []any{int64(2), int64(0), nil, int64(0), int64(-2), nil, nil, nil, nil}},
		{"id - n", []any{int64(0), int64(2), nil, int64(-2), int64(0), nil, nil, nil, nil}},
		{"id * n", []any{int64(1), int64(-1), nil, int64(-1), int64(1), nil, nil, nil, nil}},
		{"id / n", []any{1.0, -1.0, nil, -1.0, 1.0, nil, nil, nil, nil}},
		{"id % n", []any{int64(0), int64(0), nil, int64(0), int64(0), nil, nil, nil, nil}},
		{"-id", []any{int64(-1), int64(-1), int64(-1), int64(1), int64(1), int64(1), nil, nil, nil}},
		{"id in [1]", []any{T, T, T, F, F, F, nil, nil, nil}},
		{"id not in [1]", []any{F, F, F, T, T, T, nil, nil, nil}},
		{"id + nil", []any{nil, nil, nil, nil, nil, nil, nil, nil, nil}},
	})
	// z, of type null, arrives as a Null vector; the predicate still runs.
	bz := batchOf(map[int]*Vector{0: vec(Int, 1, 2), 4: {Type: Null, Nulls: []bool{true, true}}})
	runEval(t, testSchema, bz, []evalCase{
		{"z > 1 or id > 1", []any{nil, true}},
		{"z == nil and id > 1", []any{false, true}},
		{"z != nil", []any{false, false}},
		{"z + id", []any{nil, nil}},
		{"z contains 'a'", []any{nil, nil}},
		{"z in [1, 2]", []any{nil, nil}},
		{"not (z == 1)", []any{nil, nil}},
	})
	// z arriving with values takes their type; strings do not fit a number.
	bz = batchOf(map[int]*Vector{0: vec(Int, 1, 2), 4: vec(String, "a", nil)})
	runEval(t, testSchema, bz, []evalCase{
		{"z > 1", []any{nil, nil}},
		{"z == 'a'", []any{true, nil}},
		{"z == nil", []any{false, true}},
		{"z + 1", []any{nil, nil}},
	})
	// A producer may leave Nulls empty: no row is null.
	bare := &Batch{N: 3, Cols: []*Vector{{Type: Int, Ints: []int64{1, 2, 3}}, {Type: Float, Floats: []float64{1, 5, 2}}}}
	runEval(t, testSchema, bare, []evalCase{
		{"id == nil", []any{F, F, F}},
		{"id != nil", []any{T, T, T}},
		{"id < value and not (id + 1 > 3)", []any{F, T, F}},
	})
	// strings
	bs := batchOf(map[int]*Vector{2: vec(String, "cat_1", nil, ""), 0: vec(Int, 1, 2, 3)})
	runEval(t, testSchema, bs, []evalCase{
		{"category == 'cat_1'", []any{T, nil, F}},
		{"category != 'cat_1'", []any{F, nil, T}},
		{"category contains 'at'", []any{T, nil, F}},
		{"category in ['', 'x']", []any{F, nil, T}},
		{"category == nil or id == 3", []any{F, T, T}},
	})
}

func TestEvalDivisionAndOverflow(t *testing.T) {
	b := batchOf(map[int]*Vector{
		0: vec(Int, 7, -7, 7, 0, math.MinInt64, math.MaxInt64),
		3: vec(Int, 2, 2, 0, 0, -1, 1),
		1: vec(Float, 2.0, 0.0, math.Inf(1), 0.5, -1.0, 1.0),
	})
	runEval(t, testSchema, b, []evalCase{
		{"id / n", []any{3.5, -3.5, nil, nil, 9.223372036854775808e18, 9.223372036854775807e18}},
		{"id % n", []any{int64(1), int64(-1), nil, nil, int64(0), int64(0)}},
		{"id % -3", []any{int64(1), int64(-1), int64(1), int64(0), int64(-2), int64(1)}},
		{"value / value", []any{1.0, nil, nil, 1.0, 1.0, 1.0}},
		{"value - value", []any{0.0, 0.0, nil, 0.0, 0.0, 0.0}},               // inf - inf is not a number: null
		{"id % value", []any{1.0, nil, 7.0, 0.0, math.Copysign(0, -1), 0.0}}, // sign of the dividend
		{"id / 0.0", []any{nil, nil, nil, nil, nil, nil}},
		{"value * 2", []any{4.0, 0.0, math.Inf(1), 1.0, -2.0, 2.0}},
	})
	// An overflowing row is computed in float, and its batch becomes float;
	// rows that fit keep their exact value.
	runEval(t, testSchema, b, []evalCase{
		{"id + n", []any{9.0, -5.0, 7.0, 0.0, float64(math.MinInt64) - 1, float64(math.MaxInt64) + 1}},
		{"id - n", []any{int64(5), int64(-9), int64(7), int64(0), int64(math.MinInt64 + 1), int64(math.MaxInt64 - 1)}},
		{"id * n", []any{14.0, -14.0, 0.0, 0.0, -float64(math.MinInt64), float64(math.MaxInt64)}},
		{"-id", []any{-7.0, 7.0, -7.0, 0.0, 9.223372036854775808e18, -9.223372036854775807e18}},
		{"id * n > 0", []any{true, false, false, false, true, true}},
	})
	// Without overflow the batch stays int, exactly.
	small := batchOf(map[int]*Vector{0: vec(Int, math.MaxInt64-1, math.MinInt64+1), 3: vec(Int, 1, -1)})
	runEval(t, testSchema, small, []evalCase{
		{"id + n", []any{int64(math.MaxInt64), int64(math.MinInt64)}},
		{"id * n", []any{int64(math.MaxInt64 - 1), int64(math.MaxInt64)}},
		{"id - n - n", []any{int64(math.MaxInt64 - 3), int64(math.MinInt64 + 3)}},
		{"id + n == 9223372036854775807", []any{true, false}},
	})
	// Multiplication overflow edges.
	mul := batchOf(map[int]*Vector{0: vec(Int, math.MinInt64, -1, 1<<32, 1<<31, -(1 << 32)), 3: vec(Int, 1, math.MinInt64, 1<<31, 1<<32-1, 1<<31)})
	runEval(t, testSchema, mul, []evalCase{
		{"id * n", []any{float64(math.MinInt64), -float64(math.MinInt64), float64(1 << 63), float64(1<<63 - 1<<31), float64(math.MinInt64)}},
		{"id - n", []any{float64(math.MinInt64) - 1, float64(math.MaxInt64), float64(1 << 31), float64(-(1 << 31) + 1), float64(-(1 << 32) - 1<<31)}},
	})
}

func TestEvalIntExtremes(t *testing.T) {
	// 2^53+1 is not a float64: ints compare exactly, as int64.
	ids := vec(Int, 9007199254740993, 9007199254740992, math.MaxInt64, math.MinInt64, nil)
	b := batchOf(map[int]*Vector{0: ids})
	runEval(t, testSchema, b, []evalCase{
		{"id == 9007199254740993", []any{true, false, false, false, nil}},
		{"id > 9007199254740992", []any{true, false, true, false, nil}},
		{"id != 9007199254740993", []any{false, true, true, true, nil}},
		{"id == 9223372036854775807", []any{false, false, true, false, nil}},
		{"id == -9223372036854775807 - 1", []any{false, false, false, true, nil}},
		{"id <= -9223372036854775807", []any{false, false, false, true, nil}},
		{"id in [9007199254740993, 5]", []any{true, false, false, false, nil}},
		{"id in [1, 2, 3, 4, 5, 6, 7, 8, 9, 9007199254740993]", []any{true, false, false, false, nil}},
		// against a float the int is converted: 2^53+1 becomes 2^53
		{"id == 9007199254740992.0", []any{true, true, false, false, nil}},
	})
	// The same column delivered as Float compares as float.
	fb := batchOf(map[int]*Vector{0: vec(Float, 9007199254740992.0, 1.5, nil)})
	runEval(t, testSchema, fb, []evalCase{
		{"id == 9007199254740993", []any{true, false, nil}},
		{"id > 1", []any{true, true, nil}},
	})
}

func TestEvalStrings(t *testing.T) {
	b := batchOf(map[int]*Vector{2: vec(String, "cat_7", "cat_70", "dog", "", "Cat_7", "ünï", nil)})
	T, F := true, false
	runEval(t, testSchema, b, []evalCase{
		{`category == "cat_7"`, []any{T, F, F, F, F, F, nil}},
		{`"cat_7" == category`, []any{T, F, F, F, F, F, nil}},
		{`category < "cat_70"`, []any{T, F, F, T, T, F, nil}},
		{`category >= "d"`, []any{F, F, T, F, F, T, nil}},
		{`"d" > category`, []any{T, T, F, T, T, F, nil}},
		{`category contains "at"`, []any{T, T, F, F, T, F, nil}},
		{`category contains ""`, []any{T, T, T, T, T, T, nil}},
		{`category not contains "at"`, []any{F, F, T, T, F, T, nil}},
		{`category startsWith "cat"`, []any{T, T, F, F, F, F, nil}},
		{`category endsWith "7"`, []any{T, F, F, F, T, F, nil}},
		{`category endsWith "ï"`, []any{F, F, F, F, F, T, nil}},
		{`category in ["dog", "cat_7"]`, []any{T, F, T, F, F, F, nil}},
		{`category not in ["dog", "cat_7"]`, []any{F, T, F, T, T, T, nil}},
		{`category in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "dog", ""]`, []any{F, F, T, T, F, F, nil}},
		{`category == category`, []any{T, T, T, T, T, T, nil}},
		{`category contains category`, []any{T, T, T, T, T, T, nil}},
		{`category startsWith "cat" == (category < "d")`, []any{T, T, T, F, F, T, nil}},
	})
}

func TestEvalBareColumnAndConstants(t *testing.T) {
	v := vec(Int, 1, nil, 3)
	b := batchOf(map[int]*Vector{0: v})
	p := mustParse(t, "id", testSchema).Compile()
	got := p.Eval(b)
	if got == v {
		t.Error("Eval of a bare column returned the batch's own vector")
	}
	if r := rows(got, 3); !equalRows(r, []any{int64(1), nil, int64(3)}) {
		t.Errorf("Eval(id) = %v", fmtRows(r))
	}
	// Constants follow the batch length.
	p = mustParse(t, "1 < 2", testSchema).Compile()
	for _, n := range []int{3, 1, 5} {
		b := batchOf(map[int]*Vector{0: vec(Int, make([]any, n)...)})
		if got := p.Filter(b, nil); len(got) != n {
			t.Errorf("1 < 2 over %d rows selects %v", n, got)
		}
	}
}

func TestEvalLongList(t *testing.T) {
	var b strings.Builder
	b.WriteString("id in [")
	for i := range 50000 {
		fmt.Fprintf(&b, "%d, ", i*2)
	}
	b.WriteString("-1]")
	e, err := ParseExpr(b.String(), testSchema, "--where")
	if err != nil {
		t.Fatal(err)
	}
	batch := batchOf(map[int]*Vector{0: vec(Int, 0, 1, 99998, 99999, -1, nil)})
	if got := e.Compile().Filter(batch, nil); !slices.Equal(got, []int32{0, 2, 4}) {
		t.Errorf("Filter = %v", got)
	}
	// An empty batch may leave columns out.
	if got := e.Compile().Filter(&Batch{}, nil); len(got) != 0 {
		t.Errorf("Filter of an empty batch = %v", got)
	}
}

func TestEvalBadBatchPanics(t *testing.T) {
	p := mustParse(t, "value > 1", testSchema).Compile()
	for name, b := range map[string]*Batch{
		"missing column": {N: 1, Cols: []*Vector{vec(Int, 1)}},
		"wrong type":     batchOf(map[int]*Vector{1: vec(String, "x")}),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "BUG: ") {
					t.Errorf("recovered %v, want a BUG panic", r)
				}
			}()
			p.Filter(b, nil)
		})
	}
}

func benchBatch(n int) *Batch {
	value, category := &Vector{}, &Vector{}
	value.Reset(Float, n)
	category.Reset(String, n)
	names := make([][]byte, 100)
	for i := range names {
		names[i] = fmt.Appendf(nil, "cat_%d", i)
	}
	for i := range n {
		value.Floats[i] = float64((i * 7919) % 1000)
		category.Strs[i] = names[(i*31)%100]
	}
	return &Batch{N: n, Cols: []*Vector{nil, value, category}}
}

func TestFilterAllocs(t *testing.T) {
	b := benchBatch(BatchSize)
	intBatch := batchOf(map[int]*Vector{0: vec(Int, 1, 2, nil), 1: vec(Float, 1.0, nil, 3.0), 2: vec(String, "a", "b", nil), 3: vec(Int, 1, 2, 3)})
	floatBatch := batchOf(map[int]*Vector{0: vec(Float, 1.0, 2.5, nil), 1: vec(Float, 1.0, nil, 3.0), 2: vec(String, "a", "b", nil), 3: vec(Int, 1, 2, 3)})
	for _, src := range []string{
		`value > 500 and category == "cat_7"`,
		`value > 500 or category in ["cat_7", "cat_8"] or not (category contains "9")`,
	} {
		p := mustParse(t, src, testSchema).Compile()
		sel := make([]int32, 0, BatchSize)
		p.Filter(b, sel)
		if a := testing.AllocsPerRun(100, func() { sel = p.Filter(b, sel) }); a != 0 {
			t.Errorf("Filter(%s) allocates %v per batch", src, a)
		}
	}
	// Every operator, with nulls, batches alternating Int and Float.
	src := `(id * 2 + n - 1 > value / 2 or id % 3 == 1 or -id < 0) and category startsWith "a" or id in [1, 2] or id == nil`
	p := mustParse(t, src, testSchema).Compile()
	sel := make([]int32, 0, BatchSize)
	p.Filter(intBatch, sel)
	p.Filter(floatBatch, sel)
	if a := testing.AllocsPerRun(100, func() {
		sel = p.Filter(intBatch, sel)
		sel = p.Filter(floatBatch, sel)
	}); a != 0 {
		t.Errorf("Filter(%s) allocates %v per batch", src, a)
	}
}

// BenchmarkFilter reports rows/s for a typical --where over Float and
// String vectors.
func BenchmarkFilter(b *testing.B) {
	batch := benchBatch(BatchSize)
	for _, src := range []string{
		`value > 500 and category == "cat_7"`,
		`value > 500`,
		`category == "cat_7"`,
		`category in ["cat_7", "cat_17", "cat_27"] or value * 2 < 10`,
	} {
		b.Run(src, func(b *testing.B) {
			p := mustParse(b, src, testSchema).Compile()
			sel := make([]int32, 0, BatchSize)
			b.ReportAllocs()
			for b.Loop() {
				sel = p.Filter(batch, sel)
			}
			b.ReportMetric(float64(b.N)*float64(batch.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
