package plan

import (
	"fmt"
	"math"
	"slices"
)

// Program evaluates a compiled Expr batch by batch. It owns scratch vectors,
// so one Program serves one goroutine at a time: compile one per worker.
//
// Evaluation dispatches on the Types of the vectors once per batch and then
// runs a typed loop over the rows; after the first batches have sized the
// scratch vectors it allocates nothing.
//
// An input column must arrive with its schema type, or as Null (all null);
// a numeric column may arrive as Int or Float in any batch, and a column of
// schema type Null as anything. Anything else is a broken invariant of the
// producer and panics.
type Program struct {
	root  evaluator
	isCol bool   // root is a bare column: Eval copies it into out
	out   Vector // Eval's result for a bare column
}

// evaluator is one compiled node.
type evaluator interface {
	// eval returns the node's value for the b.N rows of b: a vector of the
	// evaluator's own or one of b's, valid until the next call. Callers
	// never modify it. Null rows hold the zero value.
	eval(b *Batch) *Vector
}

// Compile returns a new Program for e.
func (e *Expr) Compile() *Program {
	root := compile(e.root)
	_, isCol := root.(*colEval)
	return &Program{root: root, isCol: isCol}
}

// Filter returns sel[:0] with the indexes of the rows of b for which the
// predicate is true appended (null counts as false). With cap(sel) >=
// b.N it allocates nothing.
func (p *Program) Filter(b *Batch, sel []int32) []int32 {
	n := b.N
	v := p.root.eval(b)
	sel = sel[:0]
	if v.Type != Bool {
		return sel // all null
	}
	if cap(sel) < n {
		sel = make([]int32, 0, max(n, BatchSize))
	}
	out := sel[:n]
	k := 0
	if ns := nullsOf(v, n); ns != nil {
		for i, t := range v.Bools[:n] {
			out[k] = int32(i)
			k += b2i(t && !ns[i])
		}
	} else {
		for i, t := range v.Bools[:n] {
			out[k] = int32(i)
			k += b2i(t)
		}
	}
	return sel[:k]
}

// Eval returns the expression's value for the rows of b: a vector of b.N
// rows owned by p, valid until the next call. Its Type is the Type of the
// Expr, except that an Int expression gives Float in a batch where an input
// arrives as Float or an operation overflows, and that a batch where the
// value is null throughout may give Null. String values may point into b's
// buffers.
func (p *Program) Eval(b *Batch) *Vector {
	v := p.root.eval(b)
	if p.isCol {
		copyVector(&p.out, v, b.N)
		return &p.out
	}
	return v
}

func compile(n *node) evaluator {
	switch n.op {
	case opCol:
		return &colEval{ord: n.col, name: n.name, typ: n.typ}
	case opConst:
		return newConstEval(n.val)
	case opNeg:
		return &negEval{x: compile(n.l), typ: n.typ}
	case opNot:
		return &notEval{x: compile(n.l)}
	case opAnd, opOr:
		return &logicEval{and: n.op == opAnd, l: compile(n.l), r: compile(n.r)}
	case opEq, opNe, opLt, opLe, opGt, opGe:
		l, r, op := n.l, n.r, n.op
		if l.op == opConst && r.op != opConst {
			l, r, op = r, l, flip(op)
		}
		e := &cmpEval{op: op, l: compile(l), r: compile(r)}
		if r.op == opConst && (r.typ.Numeric() || r.typ == String) {
			e.rc, e.hasRC = r.val, true
		}
		return e
	case opAdd, opSub, opMul, opDiv, opMod:
		return &arithEval{op: n.op, l: compile(n.l), r: compile(n.r), typ: n.typ}
	case opIsNull, opNotNull:
		return &nullTestEval{x: compile(n.l), not: n.op == opNotNull}
	case opIn:
		return newInEval(compile(n.l), n.list)
	case opContains, opStartsWith, opEndsWith:
		e := &strEval{op: n.op, l: compile(n.l), r: compile(n.r)}
		if n.r.op == opConst && n.r.typ == String {
			e.pat, e.hasPat = []byte(n.r.val.s), true
		}
		return e
	}
	panic(fmt.Sprintf("BUG: cannot compile %s", n))
}

// flip gives op with its operands swapped: 1 < x is x > 1.
func flip(op opcode) opcode {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// colEval is an input column: the batch's own vector.
type colEval struct {
	ord  int
	name string
	typ  Type
}

func (e *colEval) eval(b *Batch) *Vector {
	if e.ord >= len(b.Cols) || b.Cols[e.ord] == nil {
		if b.N == 0 {
			return &emptyVector
		}
		panic(fmt.Sprintf("BUG: column %q (#%d) is not in the batch", e.name, e.ord))
	}
	v := b.Cols[e.ord]
	if v.Type != e.typ && v.Type != Null && e.typ != Null && !(v.Type.Numeric() && e.typ.Numeric()) {
		panic(fmt.Sprintf("BUG: column %q is %s in the schema but %s in a batch", e.name, e.typ, v.Type))
	}
	return v
}

// emptyVector stands for a column an empty batch leaves out.
var emptyVector = Vector{Type: Null}

// constEval is a literal, spread over a vector once per batch length.
type constEval struct {
	val    value
	bytes  []byte
	out    Vector
	filled bool
}

func newConstEval(v value) *constEval {
	return &constEval{val: v, bytes: []byte(v.s)}
}

func (e *constEval) eval(b *Batch) *Vector {
	n := b.N
	if e.filled && len(e.out.Nulls) == n {
		return &e.out
	}
	e.out.Reset(e.val.typ, n)
	switch e.val.typ {
	case Null:
		fill(e.out.Nulls, true)
	case Bool:
		fill(e.out.Bools, e.val.b)
	case Int:
		fill(e.out.Ints, e.val.i)
	case Float:
		fill(e.out.Floats, e.val.f)
	case String:
		fill(e.out.Strs, e.bytes) // one shared value, never modified
	}
	e.filled = true
	return &e.out
}

// cmpEval is == != < <= > >=, with a fast path for a literal on the right.
type cmpEval struct {
	op    opcode
	l, r  evaluator
	rc    value
	hasRC bool
	out   Vector
}

func (e *cmpEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.l.eval(b)
	if e.hasRC {
		c := &e.rc
		out.Reset(Bool, n)
		switch {
		case a.Type == Int && c.typ == Int:
			cmpVC(e.op, a.Ints[:n], c.i, out.Bools)
		case a.Type == Int && c.typ == Float:
			cmpVCf(e.op, a.Ints[:n], c.f, out.Bools)
		case a.Type == Float && c.typ.Numeric():
			cmpVC(e.op, a.Floats[:n], c.f, out.Bools)
		case a.Type == String && c.typ == String:
			cmpSC(e.op, a.Strs[:n], c.s, out.Bools)
		default:
			return allNull(out, Bool, n)
		}
		return applyNulls(out, nullsOf(a, n), nil)
	}
	c := e.r.eval(b)
	out.Reset(Bool, n)
	switch {
	case a.Type == Int && c.Type == Int:
		cmpVV(e.op, a.Ints[:n], c.Ints[:n], out.Bools)
	case a.Type == Float && c.Type == Float:
		cmpVV(e.op, a.Floats[:n], c.Floats[:n], out.Bools)
	case a.Type == Int && c.Type == Float:
		cmpVVf(e.op, a.Ints[:n], c.Floats[:n], out.Bools)
	case a.Type == Float && c.Type == Int:
		cmpVVf(e.op, a.Floats[:n], c.Ints[:n], out.Bools)
	case a.Type == String && c.Type == String:
		cmpSS(e.op, a.Strs[:n], c.Strs[:n], out.Bools)
	case a.Type == Bool && c.Type == Bool && (e.op == opEq || e.op == opNe):
		cmpBB(e.op == opNe, a.Bools[:n], c.Bools[:n], out.Bools)
	default:
		return allNull(out, Bool, n)
	}
	return applyNulls(out, nullsOf(a, n), nullsOf(c, n))
}

// arithEval is + - * / %.
type arithEval struct {
	op   opcode
	l, r evaluator
	typ  Type
	out  Vector
}

func (e *arithEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a, c := e.l.eval(b), e.r.eval(b)
	marked := false // the kernel made rows null (x/0, NaN)
	switch {
	case a.Type == Int && c.Type == Int:
		x, y := a.Ints[:n], c.Ints[:n]
		switch e.op {
		case opDiv:
			out.Reset(Float, n)
			marked = floatArith(opDiv, x, y, out.Floats, out.Nulls)
		case opMod:
			out.Reset(Int, n)
			marked = modInt(x, y, out.Ints, out.Nulls)
		default:
			out.Reset(Int, n)
			if intArith(e.op, x, y, out.Ints) {
				out.Reset(Float, n)
				intArithFloat(e.op, x, y, out.Floats)
			}
		}
	case a.Type == Int && c.Type == Float:
		out.Reset(Float, n)
		marked = floatArith(e.op, a.Ints[:n], c.Floats[:n], out.Floats, out.Nulls)
	case a.Type == Float && c.Type == Int:
		out.Reset(Float, n)
		marked = floatArith(e.op, a.Floats[:n], c.Ints[:n], out.Floats, out.Nulls)
	case a.Type == Float && c.Type == Float:
		out.Reset(Float, n)
		marked = floatArith(e.op, a.Floats[:n], c.Floats[:n], out.Floats, out.Nulls)
	default:
		return allNull(out, e.typ, n)
	}
	an, cn := nullsOf(a, n), nullsOf(c, n)
	if an != nil || cn != nil || marked {
		orInto(out.Nulls, an)
		orInto(out.Nulls, cn)
		zeroNulls(out)
	}
	return out
}

// negEval is unary minus.
type negEval struct {
	x   evaluator
	typ Type
	out Vector
}

func (e *negEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.x.eval(b)
	switch a.Type {
	case Int:
		out.Reset(Int, n)
		if negInt(a.Ints[:n], out.Ints) {
			out.Reset(Float, n)
			for i, x := range a.Ints[:n] {
				out.Floats[i] = float64(-x) // exact for the rows that fit
				if x == math.MinInt64 {
					out.Floats[i] = -float64(x)
				}
			}
		}
	case Float:
		out.Reset(Float, n)
		for i, x := range a.Floats[:n] {
			out.Floats[i] = -x
		}
	default:
		return allNull(out, e.typ, n)
	}
	return applyNulls(out, nullsOf(a, n), nil)
}

// notEval is not.
type notEval struct {
	x   evaluator
	out Vector
}

func (e *notEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.x.eval(b)
	if a.Type != Bool {
		return allNull(out, Bool, n)
	}
	out.Reset(Bool, n)
	notBytes(out.Bools, a.Bools[:n])
	return applyNulls(out, nullsOf(a, n), nil)
}

// logicEval is and/or with three-valued logic. When the left side alone
// decides the batch (all false for and, all true for or), the right side
// is not evaluated.
type logicEval struct {
	and  bool
	l, r evaluator
	out  Vector
}

func (e *logicEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.l.eval(b)
	an := nullsOf(a, n)
	if a.Type == Bool && an == nil {
		if e.and && !anyTrue(a.Bools[:n]) || !e.and && allTrue(a.Bools[:n]) {
			return a
		}
	}
	c := e.r.eval(b)
	if a.Type != Bool || c.Type != Bool {
		return e.withNull(a, c, n)
	}
	cn := nullsOf(c, n)
	out.Reset(Bool, n)
	o, x, y := out.Bools, a.Bools[:n], c.Bools[:n]
	if e.and {
		andBytes(o, x, y)
	} else {
		orBytes(o, x, y)
	}
	if an == nil && cn == nil {
		return out
	}
	// Null slots hold false, so o is already right where the result is
	// null; what is left is to decide which rows are null.
	ns := out.Nulls
	for i := range o {
		xn, yn := at(an, i), at(cn, i)
		if e.and {
			// null unless a side is false
			ns[i] = (xn || yn) && (x[i] || xn) && (y[i] || yn)
		} else {
			ns[i] = (xn || yn) && !o[i]
		}
	}
	return out
}

// withNull combines a side that is not a bool vector (all null) with the
// other: null and false is false, null or true is true, else null.
func (e *logicEval) withNull(a, c *Vector, n int) *Vector {
	out := &e.out
	other := c
	if c.Type != Bool {
		other = a
	}
	allNull(out, Bool, n)
	if other.Type != Bool {
		return out
	}
	on := nullsOf(other, n)
	for i, v := range other.Bools[:n] {
		if at(on, i) {
			continue
		}
		if e.and && !v {
			out.Nulls[i] = false // false
		} else if !e.and && v {
			out.Nulls[i], out.Bools[i] = false, true
		}
	}
	return out
}

// nullTestEval is x == nil (or x != nil with not), never null itself.
type nullTestEval struct {
	x   evaluator
	not bool
	out Vector
}

func (e *nullTestEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.x.eval(b)
	out.Reset(Bool, n)
	switch {
	case a.Type == Null:
		fill(out.Bools, !e.not)
	case len(a.Nulls) < n:
		fill(out.Bools, e.not)
	case e.not:
		notBytes(out.Bools, a.Nulls[:n])
	default:
		copy(out.Bools, a.Nulls[:n])
	}
	return out
}

// inEval is x in [literals].
type inEval struct {
	x      evaluator
	ints   set[int64]   // Int elements, for Int rows: exact
	floats set[float64] // Float elements, for Int rows
	all    set[float64] // every number, for Float rows
	strs   strSet
	bools  [2]bool // which of false, true is listed
	out    Vector
}

func newInEval(x evaluator, list []value) *inEval {
	e := &inEval{x: x}
	var ints []int64
	var floats, all []float64
	var strs []string
	for _, v := range list {
		switch v.typ {
		case Int:
			ints = append(ints, v.i)
			all = append(all, v.f)
		case Float:
			floats = append(floats, v.f)
			all = append(all, v.f)
		case String:
			strs = append(strs, v.s)
		case Bool:
			e.bools[b2i(v.b)] = true
		}
	}
	e.ints, e.floats, e.all = newSet(ints), newSet(floats), newSet(all)
	e.strs = newStrSet(strs)
	return e
}

func (e *inEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.x.eval(b)
	out.Reset(Bool, n)
	o := out.Bools
	switch a.Type {
	case Int:
		if len(e.floats.list) == 0 {
			for i, x := range a.Ints[:n] {
				o[i] = e.ints.has(x)
			}
		} else {
			for i, x := range a.Ints[:n] {
				o[i] = e.ints.has(x) || e.floats.has(float64(x))
			}
		}
	case Float:
		for i, x := range a.Floats[:n] {
			o[i] = e.all.has(x)
		}
	case String:
		for i, s := range a.Strs[:n] {
			o[i] = e.strs.has(s)
		}
	case Bool:
		for i, x := range a.Bools[:n] {
			o[i] = e.bools[b2i(x)]
		}
	default:
		return allNull(out, Bool, n)
	}
	return applyNulls(out, nullsOf(a, n), nil)
}

// set is a small set of numbers: a list to scan, or a map when long.
type set[T int64 | float64] struct {
	list []T
	m    map[T]struct{}
}

func newSet[T int64 | float64](xs []T) set[T] {
	s := set[T]{list: slices.Compact(slices.Sorted(slices.Values(xs)))}
	if len(s.list) > 8 {
		s.m = make(map[T]struct{}, len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
	}
	return s
}

func (s *set[T]) has(x T) bool {
	if s.m != nil {
		_, ok := s.m[x]
		return ok
	}
	for _, y := range s.list {
		if x == y {
			return true
		}
	}
	return false
}

// strSet is a set of strings looked up with []byte keys without copying.
type strSet struct {
	list []string
	m    map[string]struct{}
}

func newStrSet(xs []string) strSet {
	s := strSet{list: slices.Compact(slices.Sorted(slices.Values(xs)))}
	if len(s.list) > 8 {
		s.m = make(map[string]struct{}, len(s.list))
		for _, x := range s.list {
			s.m[x] = struct{}{}
		}
	}
	return s
}

func (s *strSet) has(b []byte) bool {
	if s.m != nil {
		_, ok := s.m[string(b)] // no copy: the compiler looks up b in place
		return ok
	}
	for _, y := range s.list {
		if string(b) == y {
			return true
		}
	}
	return false
}

// strEval is contains, startsWith, endsWith.
type strEval struct {
	op     opcode
	l, r   evaluator
	pat    []byte
	hasPat bool
	out    Vector
}

func (e *strEval) eval(b *Batch) *Vector {
	n, out := b.N, &e.out
	a := e.l.eval(b)
	if a.Type != String {
		return allNull(out, Bool, n)
	}
	if e.hasPat {
		out.Reset(Bool, n)
		strVC(e.op, a.Strs[:n], e.pat, out.Bools)
		return applyNulls(out, nullsOf(a, n), nil)
	}
	c := e.r.eval(b)
	if c.Type != String {
		return allNull(out, Bool, n)
	}
	out.Reset(Bool, n)
	strVV(e.op, a.Strs[:n], c.Strs[:n], out.Bools)
	return applyNulls(out, nullsOf(a, n), nullsOf(c, n))
}

// copyVector copies n rows of src into dst, reusing dst's storage.
func copyVector(dst, src *Vector, n int) {
	dst.Reset(src.Type, n)
	switch src.Type {
	case Null:
		fill(dst.Nulls, true)
		return
	case Bool:
		copy(dst.Bools, src.Bools[:n])
	case Int:
		copy(dst.Ints, src.Ints[:n])
	case Float:
		copy(dst.Floats, src.Floats[:n])
	case String:
		copy(dst.Strs, src.Strs[:n])
	}
	if len(src.Nulls) >= n {
		copy(dst.Nulls, src.Nulls[:n])
	}
}
