package plan

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestExprLimits: expressions nested or sized past the limits are one-line
// errors that say the limit, found without deep recursion (500,000
// parentheses overflowed the stack; 500,000 signs took gigabytes) and
// without memory that grows with the nesting.
func TestExprLimits(t *testing.T) {
	deep := fmt.Sprintf("invalid --where expression: nests deeper than %d levels (each parenthesis, operator and sign is one)", maxExprDepth)
	const n = 500_000
	tests := []struct {
		name, src, want string
		maxAlloc        uint64
	}{
		{"parentheses", strings.Repeat("(", n) + "value" + strings.Repeat(")", n) + " > 1", deep, 1 << 20},
		{"unclosed parentheses", strings.Repeat("(", n), deep, 1 << 20},
		{"brackets", "id in " + strings.Repeat("[", n), deep, 1 << 20},
		{"unary minus", strings.Repeat("-", n) + "value > 1", deep, 1 << 20},
		{"unary minus, spaced", strings.Repeat("- ", n) + "value > 1", deep, 1 << 20},
		{"not", strings.Repeat("not ", n/4) + "true", deep, 1 << 20},
		{"!", strings.Repeat("!", n) + "true", deep, 1 << 20},
		{"signs in parentheses", strings.Repeat("-(", n/2) + "value" + strings.Repeat(")", n/2) + " > 1", deep, 1 << 20},
		{"right-associative operator", strings.Repeat("value ** ", n/5) + "value > 1", deep, 1 << 20},
		{"conditional", strings.Repeat("id > 1 ? true : ", n/8) + "false", deep, 1 << 20},
		{"let", strings.Repeat("let x = 1; ", n/12) + "x > 1", deep, 1 << 20},
		{"nested calls", strings.Repeat("len(", n/3) + "id" + strings.Repeat(")", n/3), deep, 1 << 20},
		// Chains that expr's parser builds in a loop: as deep in the tree as
		// they are long, found by the checker before anything recurses over
		// them; the parser's tree is linear in the length.
		{"flat chain", strings.Repeat("value + ", 100_000) + "value > 1", deep, 64 << 20},
		{"flat chain of ors", strings.Repeat("id == 1 or ", 50_000) + "id == 2", deep, 64 << 20},
		{"flat chain of negations", strings.Repeat("-value + ", 100_000) + "1 > 0", deep, 64 << 20},
		{"chain over every precedence", strings.Repeat("value or value and value == value + value * -", n/25) + "value", deep, 64 << 20},
		{"comparison chain", strings.Repeat("value < ", 100_000) + "value", deep, 64 << 20},
		{"too long", strings.Repeat(" ", maxExprBytes) + "id > 1",
			fmt.Sprintf("invalid --where expression: longer than 1 MiB (%d bytes)", maxExprBytes+6), 1 << 20},
		{"too many nodes", balanced(14) + " > 1", // 32767 nodes, 16 deep
			"invalid --where expression: more than 10000 operators and operands", 64 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.src) > maxExprBytes && tt.name != "too long" {
				t.Fatalf("the test's expression is %d bytes, over the size limit", len(tt.src))
			}
			var err error
			alloc := allocated(func() { _, err = ParseExpr(tt.src, testSchema, "--where") })
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			var ee *ExprError
			if !errors.As(err, &ee) || ee.Flag != "--where" {
				t.Errorf("error %#v is not an *ExprError for --where", err)
			}
			if alloc > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", alloc, tt.maxAlloc)
			}
		})
	}
}

// TestExprJustUnderLimits: expressions at the limits compile and evaluate
// as they should.
func TestExprJustUnderLimits(t *testing.T) {
	batch := batchOf(map[int]*Vector{0: vec(Int, 1, 2, nil), 1: vec(Float, 1.5, -2.0, nil)})
	d := maxExprDepth
	// The tree of -x > 0 has the comparison, the signs, then x.
	signs := func(k int) string { return strings.Repeat("-", k) + "value" }
	chain := func(k int) string { return strings.Repeat("value + ", k-1) + "value" }
	cases := []struct {
		src  string
		want []any
	}{
		{strings.Repeat("(", d) + "value" + strings.Repeat(")", d) + " > 0", []any{true, false, nil}},
		{strings.Repeat("(", d-1) + "value > 0" + strings.Repeat(")", d-1), []any{true, false, nil}},
		{signs(d-2) + " > 0", []any{true, false, nil}}, // an even count
		{signs(d-3) + " > 0", []any{false, true, nil}}, // an odd one
		{strings.Repeat("not ", d-2) + "(value > 0)", []any{true, false, nil}},
		{chain(d-2) + fmt.Sprintf(" == value * %d", d-2), []any{true, true, nil}},
		{strings.Repeat("id < ", d/2-1) + "id", []any{false, false, nil}},
	}
	for _, c := range cases {
		e, err := ParseExpr(c.src, testSchema, "--where")
		if err != nil {
			t.Errorf("%.40s...: %v", c.src, err)
			continue
		}
		got := rows(e.Compile().Eval(batch), batch.N)
		if !slices.Equal(got, c.want) {
			t.Errorf("%.40s...: %v, want %v", c.src, got, c.want)
		}
	}
	// One more level is too deep.
	for _, src := range []string{
		strings.Repeat("(", d+1) + "value" + strings.Repeat(")", d+1) + " > 0",
		signs(d) + " > 0",
		chain(d) + " > 0",
	} {
		if _, err := ParseExpr(src, testSchema, "--where"); err == nil || !strings.Contains(err.Error(), "nests deeper than") {
			t.Errorf("%.40s...: %v, want the depth error", src, err)
		}
	}
	// Long lists do not count against the limits; a long expression up to
	// 1 MiB is fine.
	var b strings.Builder
	b.WriteString("id in [")
	for i := range 100_000 {
		fmt.Fprintf(&b, "%d, ", i*2)
	}
	b.WriteString("-1]")
	b.WriteString(strings.Repeat(" ", maxExprBytes-b.Len()))
	e, err := ParseExpr(b.String(), testSchema, "--where")
	if err != nil {
		t.Fatalf("a list of 100,000: %v", err)
	}
	if got := rows(e.Compile().Eval(batch), batch.N); !slices.Equal(got, []any{false, true, nil}) {
		t.Errorf("a list of 100,000: %v", got)
	}
	// So do operators and operands up to the count: 8191 and 2.
	if _, err := ParseExpr(balanced(12)+" > 1", testSchema, "--where"); err != nil {
		t.Errorf("8193 nodes: %v", err)
	}
}

// balanced returns a sum of 2^k terms, k levels deep: 2^(k+1)-1 nodes.
func balanced(k int) string {
	s := "value"
	for range k {
		s = "(" + s + " + " + s + ")"
	}
	return s
}
