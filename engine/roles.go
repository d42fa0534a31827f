package engine

import (
	"github.com/gdask/gdask/plan"
)

// scanRoles is how the plan above a Scan reads its columns.
type scanRoles struct {
	numeric []bool // read as numbers: by an expression, an aggregate, a sort
	expr    []bool // read by an expression or a sort (whatever the type)
	sums    []bool // read by sum, mean, std or var, which take only numbers
	text    []bool // read as text: group keys, and columns that reach the output or a sort as they are
	raw     bool   // rows reach the output whole and unchanged: only filters between
	pos     bool   // an aggregate orders rows by input position (first, last)
}

// reads is how a node's output columns are read from above.
type reads struct{ text, numeric, expr, sums []bool }

func newReads(n int) reads {
	return reads{make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)}
}

// rolesOf works out how the plan reads its scan's columns, from the root
// down: which output columns are read as text and as numbers, mapped
// through every node to the scan's. top is the root below its limits.
func rolesOf(top plan.Node) *scanRoles {
	rd := newReads(len(top.Schema()))
	if _, ok := top.(*plan.Count); !ok {
		for i := range rd.text {
			rd.text[i] = true
		}
	}
	r := &scanRoles{raw: onlyFilters(top)}
	r.walk(top, rd)
	return r
}

// onlyFilters reports whether n is a Scan under nothing but Filters.
func onlyFilters(n plan.Node) bool {
	for {
		switch c := n.(type) {
		case *plan.Scan:
			return true
		case *plan.Filter:
			n = c.Child
		default:
			return false
		}
	}
}

// exprReads marks the columns an expression reads.
func (rd reads) exprReads(e *plan.Expr) {
	for _, c := range e.Columns() {
		rd.numeric[c], rd.expr[c] = true, true
	}
}

func (r *scanRoles) walk(n plan.Node, rd reads) {
	switch n := n.(type) {
	case *plan.Scan:
		if n.Pred != nil {
			rd.exprReads(n.Pred)
		}
		r.numeric, r.expr, r.sums, r.text = rd.numeric, rd.expr, rd.sums, rd.text
	case *plan.Filter:
		rd.exprReads(n.Pred)
		r.walk(n.Child, rd)
	case *plan.Sort:
		for _, k := range n.Keys {
			rd.numeric[k.Col], rd.expr[k.Col] = true, true
		}
		r.walk(n.Child, rd)
	case *plan.Limit:
		r.walk(n.Child, rd)
	case *plan.Project:
		c := newReads(len(n.Child.Schema()))
		for i, pc := range n.Cols {
			if pc.Derived() {
				c.exprReads(pc.Expr)
				continue
			}
			j := pc.Col
			c.text[j] = c.text[j] || rd.text[i]
			c.numeric[j] = c.numeric[j] || rd.numeric[i]
			c.expr[j] = c.expr[j] || rd.expr[i]
			c.sums[j] = c.sums[j] || rd.sums[i]
		}
		r.walk(n.Child, c)
	case *plan.Aggregate:
		c := newReads(len(n.Child.Schema()))
		for _, k := range n.Keys {
			c.text[k] = true // keys are grouped by their text
		}
		for _, f := range n.Aggs {
			if f.Col >= 0 {
				c.numeric[f.Col] = true
				c.sums[f.Col] = c.sums[f.Col] || f.Kind.NumericOnly()
			}
			if f.Kind == plan.AggFirst || f.Kind == plan.AggLast {
				r.pos = true
			}
		}
		r.walk(n.Child, c)
	case *plan.Count:
		r.walk(n.Child, newReads(len(n.Child.Schema())))
	default:
		for _, c := range n.Children() {
			r.walk(c, newReads(len(c.Schema())))
		}
	}
}

// scanSpec decides what scan n materialises: of the columns the plan
// reads (n.Columns), numbers for those read as numbers whose type is
// numeric, text for strings, keys and columns that reach the output.
func (r *runner) scanSpec(n *plan.Scan) *scanSpec {
	roles := r.roles
	spec := &scanSpec{input: n.Input, pred: n.Pred, skipBad: r.opts.SkipBadRows, pos: roles.pos}
	for _, c := range n.Materialised() {
		switch t := n.Input[c].Type; {
		case t == plan.Null && roles.sums[c]:
			spec.numeric = append(spec.numeric, c) // a sum takes only numbers
		case t == plan.Null && roles.expr[c]:
			spec.text = append(spec.text, c)
			spec.dynamic = append(spec.dynamic, c)
		case !t.Numeric():
			spec.text = append(spec.text, c)
		default:
			if roles.numeric[c] || !roles.text[c] {
				spec.numeric = append(spec.numeric, c)
			}
			if roles.text[c] {
				spec.text = append(spec.text, c)
			}
		}
	}
	if r.out != nil {
		spec.quoted = r.out.Format == "csv"
		spec.raw = roles.raw && r.out.Format == "csv" && r.ds.cfg.Dialect.Delimiter == ','
	}
	return spec
}
