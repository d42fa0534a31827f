package plan

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// The differential test evaluates random expressions over random batches
// with Program and with naive, a deliberately simple interpreter that walks
// expr's AST row by row over a map, and compares every row.

var diffSchema = Schema{
	{Name: "i", Type: Int},    // small ints
	{Name: "f", Type: Float},  // floats, some infinite
	{Name: "n", Type: Int},    // Int, delivered as Float in some batches
	{Name: "s", Type: String}, // short strings
	{Name: "t", Type: String},
	{Name: "z", Type: Null},  // no type: arrives as Null, Int or Float
	{Name: "big", Type: Int}, // int64 extremes, compared only
}

// naive evaluates n for one row. Values are nil (null), int64, float64,
// string or bool.
func naive(n ast.Node, row map[string]any) any {
	switch n := n.(type) {
	case *ast.NilNode:
		return nil
	case *ast.BoolNode:
		return n.Value
	case *ast.IntegerNode:
		return int64(n.Value)
	case *ast.FloatNode:
		return n.Value
	case *ast.StringNode:
		return n.Value
	case *ast.IdentifierNode:
		return row[n.Value]
	case *ast.UnaryNode:
		x := naive(n.Node, row)
		switch n.Operator {
		case "not", "!":
			if b, ok := x.(bool); ok {
				return !b
			}
			return nil
		case "+":
			return x
		}
		switch x := x.(type) {
		case int64:
			if x == math.MinInt64 {
				return -float64(x)
			}
			return -x
		case float64:
			return -x
		}
		return nil
	case *ast.BinaryNode:
		return naiveBinary(n, row)
	}
	panic(fmt.Sprintf("naive: %T", n))
}

func naiveBinary(n *ast.BinaryNode, row map[string]any) any {
	op := n.Operator
	l := naive(n.Left, row)
	switch op {
	case "and", "&&", "or", "||":
		r := naive(n.Right, row)
		lb, lok := l.(bool)
		rb, rok := r.(bool)
		if op == "and" || op == "&&" {
			if lok && !lb || rok && !rb {
				return false
			}
			if lok && rok {
				return true
			}
			return nil
		}
		if lok && lb || rok && rb {
			return true
		}
		if lok && rok {
			return false
		}
		return nil
	case "in":
		if l == nil {
			return nil
		}
		for _, el := range n.Right.(*ast.ArrayNode).Nodes {
			if naiveCompare("==", l, naive(el, row)) == true {
				return true
			}
		}
		return false
	}
	r := naive(n.Right, row)
	_, lnil := n.Left.(*ast.NilNode)
	_, rnil := n.Right.(*ast.NilNode)
	if (lnil || rnil) && (op == "==" || op == "!=") {
		return (l == nil && r == nil) == (op == "==")
	}
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
		return naiveCompare(op, l, r)
	case "contains", "startsWith", "endsWith":
		ls, lok := l.(string)
		rs, rok := r.(string)
		if !lok || !rok {
			return nil
		}
		switch op {
		case "contains":
			return strings.Contains(ls, rs)
		case "startsWith":
			return strings.HasPrefix(ls, rs)
		}
		return strings.HasSuffix(ls, rs)
	}
	// arithmetic
	li, lint := l.(int64)
	ri, rint := r.(int64)
	if lint && rint && op != "/" {
		switch op {
		case "%":
			if ri == 0 {
				return nil
			}
			return li % ri
		}
		exact := new(big.Int)
		switch op {
		case "+":
			exact.Add(big.NewInt(li), big.NewInt(ri))
		case "-":
			exact.Sub(big.NewInt(li), big.NewInt(ri))
		case "*":
			exact.Mul(big.NewInt(li), big.NewInt(ri))
		}
		if exact.IsInt64() {
			return exact.Int64()
		}
	}
	lf, lok := toFloat(l)
	rf, rok := toFloat(r)
	if !lok || !rok {
		return nil
	}
	var x float64
	switch op {
	case "+":
		x = lf + rf
	case "-":
		x = lf - rf
	case "*":
		x = lf * rf
	case "/":
		if rf == 0 {
			return nil
		}
		x = lf / rf
	case "%":
		if rf == 0 {
			return nil
		}
		x = math.Mod(lf, rf)
	}
	if math.IsNaN(x) {
		return nil
	}
	return x
}

func toFloat(x any) (float64, bool) {
	switch x := x.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func naiveCompare(op string, l, r any) any {
	var c int
	switch {
	case l == nil || r == nil:
		return nil
	case isInt(l) && isInt(r):
		c = cmpOrdered(l.(int64), r.(int64))
	case isNum(l) && isNum(r):
		lf, _ := toFloat(l)
		rf, _ := toFloat(r)
		c = cmpOrdered(lf, rf)
	case isStr(l) && isStr(r):
		c = strings.Compare(l.(string), r.(string))
	case isBool(l) && isBool(r):
		if op != "==" && op != "!=" {
			return nil
		}
		if l == r {
			c = 0
		} else {
			c = 1
		}
	default:
		return nil // a column of type null holding values of another kind
	}
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func isInt(x any) bool  { _, ok := x.(int64); return ok }
func isNum(x any) bool  { _, ok := toFloat(x); return ok }
func isStr(x any) bool  { _, ok := x.(string); return ok }
func isBool(x any) bool { _, ok := x.(bool); return ok }

// gen writes random expressions. Ints stay small so that no arithmetic
// overflows (overflow widens a whole batch to float, which a row-by-row
// interpreter does not model; TestEvalDivisionAndOverflow covers it).
type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) boolean(d int) string {
	if d <= 0 {
		return g.num(0) + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.num(0)
	}
	switch g.r.IntN(14) {
	case 0, 1:
		return g.num(d-1) + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.num(d-1)
	case 2:
		return g.str() + " " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " + g.str()
	case 3, 4:
		return "(" + g.boolean(d-1) + ") " + g.pick("and", "or", "&&", "||") + " (" + g.boolean(d-1) + ")"
	case 5:
		return g.pick("not ", "!") + "(" + g.boolean(d-1) + ")"
	case 6:
		return g.pick(g.num(d-1), g.str(), "("+g.boolean(d-1)+")") + " " + g.pick("==", "!=") + " nil"
	case 7:
		xs := make([]string, 1+g.r.IntN(10))
		for i := range xs {
			xs[i] = g.numLit()
		}
		return g.pick("i", "f", "n", "z") + g.pick(" in ", " not in ") + "[" + strings.Join(xs, ", ") + "]"
	case 8:
		xs := make([]string, g.r.IntN(11))
		for i := range xs {
			xs[i] = g.strLit()
		}
		return g.pick("s", "t") + g.pick(" in ", " not in ") + "[" + strings.Join(xs, ", ") + "]"
	case 9:
		return g.str() + g.pick(" ", " not ") + g.pick("contains", "startsWith", "endsWith") + " " + g.str()
	case 10:
		return "(" + g.boolean(d-1) + ") " + g.pick("==", "!=") + " (" + g.boolean(d-1) + ")"
	case 11:
		return "big " + g.pick("==", "!=", "<", "<=", ">", ">=") + " " +
			g.pick("9007199254740993", "9007199254740992", "9223372036854775807", "-9223372036854775807", "0", "9007199254740992.0", "1e19", "i", "f")
	case 12:
		return "big" + g.pick(" in ", " not in ") + "[9007199254740993, -1, 9223372036854775807]"
	}
	return g.pick("true", "false", "nil", "z", "z > 1")
}

func (g gen) num(d int) string {
	if d <= 0 || g.r.IntN(3) == 0 {
		return g.pick("i", "f", "n", "z", g.numLit(), "i", "n", "f")
	}
	switch g.r.IntN(6) {
	case 0:
		return "-" + g.num(d-1)
	case 1:
		return "(" + g.num(d-1) + ")"
	}
	return "(" + g.num(d-1) + " " + g.pick("+", "-", "*", "/", "%") + " " + g.num(d-1) + ")"
}

func (g gen) numLit() string {
	return g.pick("0", "1", "2", "-3", "7", "0.5", "2.0", "-1.5", "1e3", "12")
}

func (g gen) str() string { return g.pick("s", "t", g.strLit(), "s", "t") }
func (g gen) strLit() string {
	return strconv.Quote(g.pick("", "a", "b", "ab", "ba", "abc", "é"))
}

// randomBatch makes a batch over diffSchema, and its rows for naive.
func randomBatch(r *rand.Rand, n int) (*Batch, []map[string]any) {
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = map[string]any{}
	}
	nullRate := []float64{0, 0.2, 0.9}[r.IntN(3)]
	col := func(name string, t Type, val func() any) *Vector {
		v := &Vector{}
		v.Reset(t, n)
		for i := range n {
			if t == Null || r.Float64() < nullRate {
				v.Nulls[i] = true
				continue
			}
			x := val()
			rows[i][name] = x
			switch t {
			case Int:
				v.Ints[i] = x.(int64)
			case Float:
				v.Floats[i] = x.(float64)
			case String:
				v.Strs[i] = []byte(x.(string))
			}
		}
		return v
	}
	smallInt := func() any { return int64(r.IntN(21) - 10) }
	someFloat := func() any {
		return []float64{0, 0.5, -1.5, 2, 3.25, 1e3, math.Inf(1), math.Inf(-1), -0.0, 7}[r.IntN(10)]
	}
	someStr := func() any { return []string{"", "a", "b", "ab", "ba", "abc", "é", "bé"}[r.IntN(8)] }
	nType, zType := Int, []Type{Null, Int, Float}[r.IntN(3)]
	nVal, zVal := smallInt, smallInt
	if r.IntN(2) == 0 {
		nType, nVal = Float, func() any { return float64(r.IntN(9)-4) / 2 }
	}
	if zType == Float {
		zVal = someFloat
	}
	b := &Batch{N: n, Cols: []*Vector{
		col("i", Int, smallInt),
		col("f", Float, someFloat),
		col("n", nType, nVal),
		col("s", String, someStr),
		col("t", String, someStr),
		col("z", zType, zVal),
		col("big", Int, func() any {
			return []int64{9007199254740993, 9007199254740992, math.MaxInt64, math.MinInt64, -1, 0}[r.IntN(6)]
		}),
	}}
	return b, rows
}

func TestEvalDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	g := gen{r}
	checked := 0
	for iter := range 3000 {
		var src string
		if iter%3 == 0 {
			src = g.num(3)
		} else {
			src = g.boolean(3)
		}
		e, err := parse(src, diffSchema, "--where")
		if err != nil {
			t.Fatalf("%s: %v", src, err) // the generator writes only well-typed expressions
		}
		tree, err := parser.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		// The canonical form means the same.
		canon, err := parser.Parse(e.String())
		if err != nil {
			t.Fatalf("%s: String() %s does not parse: %v", src, e, err)
		}
		p := e.Compile()
		sel := make([]int32, 0, 16)
		for range 4 { // one Program over several batches
			b, rows := randomBatch(r, r.IntN(12))
			got := rowsOf(p.Eval(b), b.N)
			var want []int32
			for i, row := range rows {
				w, wc := naive(tree.Node, row), naive(canon.Node, row)
				if !sameValue(got[i], w) || !sameValue(wc, w) {
					t.Fatalf("%s\nrow %d %v:\ngot %s, naive %s, naive on %s: %s",
						src, i, row, fmtRows(got[i:i+1]), fmtRows([]any{w}), e, fmtRows([]any{wc}))
				}
				if w == true {
					want = append(want, int32(i))
				}
			}
			if e.Type() == Bool {
				sel = p.Filter(b, sel)
				if fmt.Sprint(sel) != fmt.Sprint(want) && len(sel)+len(want) > 0 {
					t.Fatalf("%s: Filter = %v, want %v", src, sel, want)
				}
			}
			checked += b.N
		}
	}
	if checked < 10000 {
		t.Errorf("only %d rows checked", checked)
	}
}

// rowsOf is rows, for any vector Type (Eval may give Null for a batch).
func rowsOf(v *Vector, n int) []any { return rows(v, n) }

// sameValue compares a Program value with a naive one: the same kind of
// value, and for floats the same bits but for the sign of zero... which is
// also compared.
func sameValue(got, want any) bool {
	if gf, ok := got.(float64); ok {
		wf, ok := want.(float64)
		return ok && (gf == wf && math.Signbit(gf) == math.Signbit(wf))
	}
	return got == want
}
