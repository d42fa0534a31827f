package plan

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
)

// Expr is a parsed, type-checked expression over a schema. It is immutable
// and safe to share between goroutines; Compile gives each goroutine its own
// Program.
type Expr struct {
	schema Schema
	root   *node
}

// ExprError is a syntax or type error in an expression given to Flag. Pos is
// a byte offset into Source; Error shows the expression with a caret under
// it:
//
//	invalid --where expression: unknown column "vlaue" (did you mean "value"?)
//	  vlaue > 500
//	  ^
type ExprError struct {
	Flag, Source string
	Pos          int
	Msg          string

	err   error // the cause, if any (an *UnknownColumnError)
	whole bool  // about the whole expression (a limit): no caret, one line
}

func (e *ExprError) Error() string {
	what := "invalid expression"
	if e.Flag != "" {
		what = "invalid " + e.Flag + " expression"
	}
	if e.whole {
		return what + ": " + e.Msg
	}
	line, col := caretLine(e.Source, e.Pos)
	return what + ": " + e.Msg + "\n  " + line + "\n  " + strings.Repeat(" ", col) + "^"
}

// Unwrap returns the cause: an *UnknownColumnError for an unknown column,
// else nil.
func (e *ExprError) Unwrap() error { return e.err }

// caretLine returns the line of src holding byte offset pos (tabs shown as
// spaces) and the caret's column in it, counted in runes.
func caretLine(src string, pos int) (string, int) {
	pos = max(0, min(pos, len(src)))
	start := strings.LastIndexByte(src[:pos], '\n') + 1
	end := strings.IndexByte(src[pos:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += pos
	}
	line := strings.ReplaceAll(src[start:end], "\t", " ")
	line = strings.TrimRight(line, "\r")
	return line, utf8.RuneCountInString(src[start:pos])
}

// ParseExpr parses and type-checks a predicate (the value of flag, "--where"
// or "--having", named in errors) over schema.
//
// The expression language (the syntax is expr-lang's; the meaning is SQL's):
//
//   - Literals: integers (42, 0x2a, 1_000), floats (2.5, 1e6), strings
//     ("a\tb" or 'ab', Go escapes; `raw` too), true, false, nil.
//   - Columns by name: value, value_mean, count. A column whose name is not
//     an identifier, or is a keyword (and, or, not, in, contains, if, ...),
//     is written $env["my col"]. a.b also names a column called "a.b".
//   - Comparisons == != < <= > >= between numbers, between strings (bytewise)
//     and between true/false values (== and != only). An int compared with a
//     float compares as floats; two ints compare exactly as int64. Comparing
//     a string with a number is an error.
//   - Arithmetic + - * / % and unary minus on numbers. / always gives a
//     float (7 / 2 is 3.5). int + - * int stays int; where a row overflows
//     int64 that row is computed in float, and the result of its whole batch
//     is float. % of two ints is an int with the sign of the dividend (as in
//     Go and C). x / 0 and x % 0 are null, and so is a result that is not a
//     number (inf - inf).
//   - Logic: and or not, also && || !, with SQL's three-valued logic: null
//     and false is false, null or true is true, not null is null.
//   - Lists: x in [1, 2, 3], s in ["a", "b"], x not in [...]: the list holds
//     literals of the same kind as x (nil is not allowed, test x == nil).
//   - Strings: s contains "x", s startsWith "x", s endsWith "x", and their
//     negations s not contains "x", ...
//   - Null: an empty field is null. x == nil and x != nil test for it and are
//     never null themselves. Any other comparison or operation with a null
//     operand is null, and a row is kept only where the predicate is true.
//   - A column of type null (no value seen when the schema was inferred)
//     fits any operation; at run time it takes the type of the values that
//     arrive, and where those do not fit the operation the result is null.
//
// Limits, each an error of one line: an expression is at most 1 MiB long,
// nests at most 1000 levels deep (each parenthesis, operator and sign is a
// level, so a chain a + b + c + ... holds at most 1000 terms; x in [...]
// takes lists of any length), and has at most 10,000 operators and
// operands, not counting the elements of lists.
//
// Not supported, with an error pointing at them: function calls (len(s)),
// matches (regular expressions), member access and indexing other than
// $env["..."], ?:, if/else, ??, .., ** and ^, let, pipes (|), maps and
// lists other than after in.
//
// The result must be true or false (bool).
func ParseExpr(src string, schema Schema, flag string) (*Expr, error) {
	e, err := parse(src, schema, flag)
	if err != nil {
		return nil, err
	}
	if e.root.typ != Bool {
		return nil, &ExprError{Flag: flag, Source: src, Pos: e.root.start,
			Msg: fmt.Sprintf("expression must be true or false, got %s", e.root.typ)}
	}
	return e, nil
}

// ParseValue parses and type-checks an expression of any type, such as
// the value of a derived column (select --with 'name = EXPR'). The
// language is ParseExpr's.
func ParseValue(src string, schema Schema, flag string) (*Expr, error) {
	return parse(src, schema, flag)
}

// parse parses and type-checks an expression of any type.
func parse(src string, schema Schema, flag string) (*Expr, error) {
	if len(src) > maxExprBytes {
		return nil, limitError(src, flag, fmt.Sprintf("longer than 1 MiB (%d bytes)", len(src)))
	}
	if strings.TrimSpace(src) == "" {
		return nil, &ExprError{Flag: flag, Source: src, Msg: "empty expression"}
	}
	if tooDeep(src) {
		return nil, depthError(src, flag)
	}
	// expr's default limit of 10,000 nodes is too low for long in lists.
	tree, err := parser.ParseWithConfig(src, &conf.Config{MaxNodes: 1 << 22})
	if err != nil {
		return nil, syntaxError(src, flag, err)
	}
	c := &checker{src: src, schema: schema, flag: flag}
	if !isASCII(src) {
		for i := range src {
			c.runeAt = append(c.runeAt, i)
		}
	}
	root, err := c.conv(tree.Node)
	if err != nil {
		return nil, err
	}
	return &Expr{schema: schema, root: root}, nil
}

var tokenRE = regexp.MustCompile(`^unexpected token (?:Identifier|Number|String|Bytes|Operator|Bracket)\((".*")\)$`)

// syntaxError converts an error of expr's parser.
func syntaxError(src, flag string, err error) error {
	var fe *file.Error
	if !errors.As(err, &fe) {
		return &ExprError{Flag: flag, Source: src, Msg: err.Error()}
	}
	pos, msg := byteOffset(src, fe.From), fe.Message
	switch {
	case msg == "unexpected token EOF" || msg == "unexpected end of expression":
		pos, msg = len(src), "unexpected end of expression"
	case tokenRE.MatchString(msg):
		msg = "unexpected " + tokenRE.FindStringSubmatch(msg)[1]
	case strings.Contains(msg, "value out of range"):
		msg = "number out of range"
	}
	return &ExprError{Flag: flag, Source: src, Pos: pos, Msg: msg}
}

// byteOffset converts expr's rune offset into a byte offset of src.
func byteOffset(src string, runes int) int {
	for i := range src {
		if runes <= 0 {
			return i
		}
		runes--
	}
	return len(src)
}

// opcode is the operation of a node.
type opcode uint8

const (
	opCol opcode = iota
	opConst
	opNeg
	opNot
	opAnd
	opOr
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opMod
	opIsNull
	opNotNull
	opIn
	opContains
	opStartsWith
	opEndsWith
)

var opNames = [...]string{
	opNeg: "-", opNot: "not", opAnd: "and", opOr: "or",
	opEq: "==", opNe: "!=", opLt: "<", opLe: "<=", opGt: ">", opGe: ">=",
	opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opMod: "%",
	opIsNull: "==", opNotNull: "!=", opIn: "in",
	opContains: "contains", opStartsWith: "startsWith", opEndsWith: "endsWith",
}

// value is a literal.
type value struct {
	typ Type // Null for nil
	b   bool
	i   int64
	f   float64 // also set, converted, for an Int
	s   string
}

func (v value) String() string {
	switch v.typ {
	case Bool:
		return strconv.FormatBool(v.b)
	case Int:
		return strconv.FormatInt(v.i, 10)
	case Float:
		s := strconv.FormatFloat(v.f, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0" // stays a float when parsed again
		}
		return s
	case String:
		return strconv.Quote(v.s)
	}
	return "nil"
}

// node is a type-checked expression tree. Nodes are immutable once built.
type node struct {
	op    opcode
	typ   Type
	pos   int // byte offset of the node's token (its operator) in the source
	start int // byte offset where the node's text starts
	l, r  *node
	col   int    // opCol: schema ordinal
	name  string // opCol: column name
	val   value  // opConst
	list  []value
}

func (n *node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opCol:
		b.WriteString(columnRef(n.name))
	case opConst:
		b.WriteString(n.val.String())
	case opNeg:
		b.WriteString("-")
		if n.l.op == opNeg || n.l.op == opConst && (n.l.val.i < 0 || n.l.val.f < 0) {
			b.WriteString("(")
			n.l.write(b)
			b.WriteString(")")
		} else {
			n.l.write(b)
		}
	case opNot:
		b.WriteString("not ")
		n.l.write(b)
	case opIsNull, opNotNull:
		b.WriteString("(")
		n.l.write(b)
		b.WriteString(" " + opNames[n.op] + " nil)")
	case opIn:
		b.WriteString("(")
		n.l.write(b)
		b.WriteString(" in [")
		for i, v := range n.list {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.String())
		}
		b.WriteString("])")
	default:
		b.WriteString("(")
		n.l.write(b)
		b.WriteString(" " + opNames[n.op] + " ")
		n.r.write(b)
		b.WriteString(")")
	}
}

// keywords are the words expr's lexer does not give as identifiers.
var keywords = map[string]bool{
	"true": true, "false": true, "nil": true, "not": true, "and": true, "or": true, "in": true,
	"matches": true, "contains": true, "startsWith": true, "endsWith": true,
	"let": true, "if": true, "else": true, "$env": true,
}

// columnRef writes a column name the way the parser reads it back.
func columnRef(name string) string {
	if isIdent(name) && !keywords[name] {
		return name
	}
	return "$env[" + strconv.Quote(name) + "]"
}

// isIdent mirrors expr's lexer: a letter, _ or $, then those or digits.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r == '$' || unicode.IsLetter(r)
		if !letter && (i == 0 || !unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}

// String returns the expression in canonical form, every binary operation
// in parentheses: (value_mean > 500). Parsing it gives the same expression.
func (e *Expr) String() string { return e.root.String() }

// Type is the type of the expression's value: Bool for predicates. A numeric
// type is the type of a batch's result when every input column arrives as
// its schema type; it is Float in a batch where an input arrives as Float or
// an int operation overflows.
func (e *Expr) Type() Type { return e.root.typ }

// Columns returns the schema ordinals the expression reads, sorted, unique.
func (e *Expr) Columns() []int {
	var cols []int
	var walk func(n *node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		if n.op == opCol {
			cols = append(cols, n.col)
		}
		walk(n.l)
		walk(n.r)
	}
	walk(e.root)
	slices.Sort(cols)
	return slices.Compact(cols)
}

// Remap returns the expression over schema to, in which every column the
// expression reads, ordinal c of its own schema, is ordinal col(c) of to.
// It reports false when col does not map one of them.
func (e *Expr) Remap(to Schema, col func(c int) (int, bool)) (*Expr, bool) {
	var walk func(n *node) (*node, bool)
	walk = func(n *node) (*node, bool) {
		if n == nil {
			return nil, true
		}
		c := *n
		if n.op == opCol {
			i, ok := col(n.col)
			if !ok {
				return nil, false
			}
			c.col, c.name = i, to[i].Name
			return &c, true
		}
		var ok bool
		if c.l, ok = walk(n.l); !ok {
			return nil, false
		}
		if c.r, ok = walk(n.r); !ok {
			return nil, false
		}
		return &c, true
	}
	root, ok := walk(e.root)
	if !ok {
		return nil, false
	}
	return &Expr{schema: to, root: root}, true
}

// Conjuncts splits the expression at its top-level ands: a and (b and c)
// gives a, b, c. An expression without a top-level and gives itself.
func (e *Expr) Conjuncts() []*Expr {
	var out []*Expr
	var split func(n *node)
	split = func(n *node) {
		if n.op == opAnd {
			split(n.l)
			split(n.r)
			return
		}
		out = append(out, &Expr{schema: e.schema, root: n})
	}
	split(e.root)
	return out
}

// And returns the conjunction of es, which must share a schema: nil for
// none, the expression itself for one. Nil entries are skipped.
func And(es []*Expr) *Expr {
	var out *Expr
	for _, e := range es {
		if e == nil {
			continue
		}
		if out == nil {
			out = e
			continue
		}
		out = &Expr{schema: out.schema, root: &node{op: opAnd, typ: Bool, l: out.root, r: e.root,
			pos: out.root.pos, start: out.root.start}}
	}
	return out
}

// checker converts expr's AST into type-checked nodes.
type checker struct {
	src    string
	schema Schema
	flag   string
	runeAt []int // byte offset of each rune, unless src is ASCII
	depth  int   // conv calls under way
	nodes  int   // nodes made, list elements not counted
}

func (c *checker) errorf(pos int, format string, args ...any) error {
	return &ExprError{Flag: c.flag, Source: c.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// at returns the byte offset of n: expr's locations count runes.
func (c *checker) at(n ast.Node) int {
	r := n.Location().From
	switch {
	case c.runeAt == nil:
		return max(0, min(r, len(c.src)))
	case r < 0:
		return 0
	case r < len(c.runeAt):
		return c.runeAt[r]
	}
	return len(c.src)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// conv converts an AST node. It recurses once per level of the tree, so
// the depth is checked here: a chain a + b + c + ..., which expr's parser
// builds in a loop, is as deep as it is long.
func (c *checker) conv(an ast.Node) (*node, error) {
	if c.depth >= maxExprDepth {
		return nil, depthError(c.src, c.flag)
	}
	if c.nodes >= maxExprNodes {
		return nil, limitError(c.src, c.flag, fmt.Sprintf("more than %d operators and operands", maxExprNodes))
	}
	c.depth++
	c.nodes++
	defer func() { c.depth-- }()
	pos := c.at(an)
	switch an := an.(type) {
	case *ast.NilNode:
		return constNode(value{typ: Null}, pos), nil
	case *ast.BoolNode:
		return constNode(value{typ: Bool, b: an.Value}, pos), nil
	case *ast.IntegerNode:
		return constNode(value{typ: Int, i: int64(an.Value), f: float64(an.Value)}, pos), nil
	case *ast.FloatNode:
		return constNode(value{typ: Float, f: an.Value}, pos), nil
	case *ast.StringNode:
		return constNode(value{typ: String, s: an.Value}, pos), nil
	case *ast.BytesNode:
		return constNode(value{typ: String, s: string(an.Value)}, pos), nil
	case *ast.IdentifierNode:
		if an.Value == "$env" {
			return nil, c.errorf(pos, `$env must be indexed: $env["column name"]`)
		}
		return c.column(an.Value, pos)
	case *ast.MemberNode:
		return c.member(an, pos)
	case *ast.UnaryNode:
		return c.unary(an, pos)
	case *ast.BinaryNode:
		return c.binary(an, pos)
	case *ast.BuiltinNode:
		return nil, c.errorf(pos, "function call %s() is not supported", an.Name)
	case *ast.CallNode:
		if id, ok := an.Callee.(*ast.IdentifierNode); ok {
			return nil, c.errorf(pos, "function call %s() is not supported", id.Value)
		}
		return nil, c.errorf(pos, "method calls are not supported")
	case *ast.ArrayNode:
		return nil, c.errorf(pos, "a list is only allowed after in, as in x in [1, 2]")
	case *ast.MapNode:
		return nil, c.errorf(pos, "maps are not supported")
	case *ast.SliceNode:
		return nil, c.errorf(pos, "slices are not supported")
	case *ast.ChainNode:
		return nil, c.errorf(pos, "?. is not supported")
	case *ast.ConditionalNode:
		if an.Ternary {
			return nil, c.errorf(c.start(an.Cond), "the conditional operator ?: is not supported")
		}
		return nil, c.errorf(pos, "if/else is not supported")
	case *ast.VariableDeclaratorNode:
		return nil, c.errorf(pos, "let is not supported")
	case *ast.SequenceNode:
		return nil, c.errorf(pos, "several expressions separated by ; are not supported")
	}
	return nil, c.errorf(pos, "%s is not supported", an)
}

// start returns where an AST node's text starts: a loop, as the chain of
// left operands may be long.
func (c *checker) start(an ast.Node) int {
	for {
		switch n := an.(type) {
		case *ast.BinaryNode:
			an = n.Left
			continue
		case *ast.MemberNode:
			an = n.Node
			continue
		case *ast.ConditionalNode:
			if n.Ternary {
				an = n.Cond
				continue
			}
		}
		return c.at(an)
	}
}

func constNode(v value, pos int) *node {
	return &node{op: opConst, typ: v.typ, val: v, pos: pos, start: pos}
}

func (c *checker) column(name string, pos int) (*node, error) {
	i, err := c.schema.Lookup(name, "")
	if err != nil {
		var u *UnknownColumnError
		if !errors.As(err, &u) {
			return nil, err
		}
		msg := fmt.Sprintf("unknown column %q", name)
		switch {
		case u.Suggest != "":
			msg += fmt.Sprintf(" (did you mean %s?)", strconv.Quote(u.Suggest))
		case len(u.Have) == 0:
			msg += "; there are no columns"
		default:
			msg += "; columns are: " + strings.Join(u.Have, ", ")
		}
		return nil, &ExprError{Flag: c.flag, Source: c.src, Pos: pos, Msg: msg, err: err}
	}
	return &node{op: opCol, typ: c.schema[i].Type, col: i, name: name, pos: pos, start: pos}, nil
}

// member accepts $env["name"], $env.name and a.b naming a column "a.b".
func (c *checker) member(an *ast.MemberNode, pos int) (*node, error) {
	start := c.start(an)
	if id, ok := an.Node.(*ast.IdentifierNode); ok && id.Value == "$env" && !an.Method {
		if s, ok := an.Property.(*ast.StringNode); ok {
			return c.column(s.Value, start)
		}
		return nil, c.errorf(c.at(an.Property), `$env takes a column name in quotes: $env["column name"]`)
	}
	if name, ok := dotted(an); ok && c.schema.Index(name) >= 0 {
		return c.column(name, start)
	}
	return nil, c.errorf(start, `member access and indexing are not supported (a column whose name is not an identifier is written $env["a.b"])`)
}

// dotted returns a.b.c for a chain of property accesses (a loop, linear in
// the chain's length, which expr's parser does not bound).
func dotted(n ast.Node) (string, bool) {
	var names []string
	for {
		switch m := n.(type) {
		case *ast.IdentifierNode:
			names = append(names, m.Value)
			slices.Reverse(names)
			return strings.Join(names, "."), true
		case *ast.MemberNode:
			s, ok := m.Property.(*ast.StringNode)
			if !ok || m.Method || m.Optional {
				return "", false
			}
			names = append(names, s.Value)
			n = m.Node
		default:
			return "", false
		}
	}
}

func (c *checker) unary(an *ast.UnaryNode, pos int) (*node, error) {
	x, err := c.conv(an.Node)
	if err != nil {
		return nil, err
	}
	switch an.Operator {
	case "-", "+":
		if x.typ != Null && !x.typ.Numeric() {
			return nil, c.errorf(pos, "unary %s needs a number, got %s", an.Operator, x.typ)
		}
		if an.Operator == "+" {
			x.start = pos
			return x, nil
		}
		if x.op == opConst && x.typ == Int && x.val.i != -x.val.i {
			return constNode(value{typ: Int, i: -x.val.i, f: float64(-x.val.i)}, pos), nil
		}
		if x.op == opConst && x.typ == Float {
			return constNode(value{typ: Float, f: -x.val.f}, pos), nil
		}
		return &node{op: opNeg, typ: x.typ, l: x, pos: pos, start: pos}, nil
	case "not", "!":
		if x.typ != Null && x.typ != Bool {
			return nil, c.errorf(x.start, "not needs true or false, got %s", x.typ)
		}
		return &node{op: opNot, typ: Bool, l: x, pos: pos, start: pos}, nil
	}
	return nil, c.errorf(pos, "unary %s is not supported", an.Operator)
}

var binaryOps = map[string]opcode{
	"and": opAnd, "&&": opAnd, "or": opOr, "||": opOr,
	"==": opEq, "!=": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe,
	"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "%": opMod,
	"in": opIn, "contains": opContains, "startsWith": opStartsWith, "endsWith": opEndsWith,
}

func (c *checker) binary(an *ast.BinaryNode, pos int) (*node, error) {
	op, ok := binaryOps[an.Operator]
	if !ok {
		if an.Operator == "matches" {
			return nil, c.errorf(pos, "matches is not supported")
		}
		return nil, c.errorf(pos, "operator %s is not supported", an.Operator)
	}
	l, err := c.conv(an.Left)
	if err != nil {
		return nil, err
	}
	if op == opIn {
		return c.in(an, l, pos)
	}
	r, err := c.conv(an.Right)
	if err != nil {
		return nil, err
	}
	n := &node{op: op, l: l, r: r, pos: pos, start: l.start}
	switch op {
	case opAnd, opOr:
		for _, x := range []*node{l, r} {
			if x.typ != Null && x.typ != Bool {
				return nil, c.errorf(x.start, "%s needs true or false on both sides, got %s", opNames[op], x.typ)
			}
		}
		n.typ = Bool
	case opEq, opNe:
		if isNil(r) || isNil(l) {
			x := l
			if isNil(l) {
				x = r
			}
			n.op, n.l, n.r = opIsNull, x, nil
			if op == opNe {
				n.op = opNotNull
			}
		} else if !comparable(l.typ, r.typ) {
			return nil, c.errorf(pos, "cannot compare %s (%s) with %s (%s)", l, l.typ, r, r.typ)
		}
		n.typ = Bool
	case opLt, opLe, opGt, opGe:
		if !comparable(l.typ, r.typ) {
			return nil, c.errorf(pos, "cannot compare %s (%s) with %s (%s)", l, l.typ, r, r.typ)
		}
		if l.typ == Bool || r.typ == Bool {
			return nil, c.errorf(pos, "%s is not defined on true/false values", an.Operator)
		}
		n.typ = Bool
	case opAdd, opSub, opMul, opDiv, opMod:
		for _, x := range []*node{l, r} {
			if x.typ != Null && !x.typ.Numeric() {
				return nil, c.errorf(x.start, "%s needs numbers, got %s", an.Operator, x.typ)
			}
		}
		switch {
		case op == opDiv || l.typ == Float || r.typ == Float:
			n.typ = Float
		case l.typ == Int || r.typ == Int:
			n.typ = Int
		default:
			n.typ = Null
		}
	case opContains, opStartsWith, opEndsWith:
		for _, x := range []*node{l, r} {
			if x.typ != Null && x.typ != String {
				return nil, c.errorf(x.start, "%s needs strings, got %s", an.Operator, x.typ)
			}
		}
		n.typ = Bool
	}
	return n, nil
}

func isNil(n *node) bool { return n.op == opConst && n.typ == Null }

// comparable reports whether values of types a and b can be compared: both
// numbers, both strings, both bools, or one of them null.
func comparable(a, b Type) bool {
	return a == Null || b == Null || a == b || a.Numeric() && b.Numeric()
}

func (c *checker) in(an *ast.BinaryNode, l *node, pos int) (*node, error) {
	arr, ok := an.Right.(*ast.ArrayNode)
	if !ok {
		return nil, c.errorf(c.start(an.Right), "in needs a list of literals, as in x in [1, 2]")
	}
	n := &node{op: opIn, typ: Bool, l: l, pos: pos, start: l.start}
	want := l.typ
	for _, el := range arr.Nodes {
		c.nodes-- // an element is a value of the list, not a node to evaluate
		x, err := c.conv(el)
		if err != nil {
			return nil, err
		}
		switch {
		case x.op != opConst:
			return nil, c.errorf(x.start, "a list after in may hold only literals")
		case x.typ == Null:
			return nil, c.errorf(x.start, "nil is not allowed in a list: test %s == nil", l)
		case !comparable(want, x.typ):
			return nil, c.errorf(x.start, "cannot compare %s (%s) with %s (%s)", l, l.typ, x, x.typ)
		case want == Null:
			want = x.typ
		}
		n.list = append(n.list, x.val)
	}
	return n, nil
}
