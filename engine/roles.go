package engine

import (
	"github.com/gdask/gdask/plan"
)

// scanRoles is how the plan above a Scan reads its columns.
type scanRoles struct {
	numeric []bool // read as numbers: by an expression or an aggregate
	expr    []bool // read by an expression (whatever the type)
	order   []bool // sort keys: numbers where they are, text where they are not
	sums    []bool // read by sum, mean, std or var, which take only numbers
	text    []bool // read as text: group keys, and columns that reach the output or a sort as they are
	raw     bool   // rows reach the output whole and unchanged (filters, a sort): it writes the records as they are
	pos     bool   // rows are ordered by input position: an aggregate's first and last, a sort's ties
}

// reads is how a node's output columns are read from above.
type reads struct{ text, numeric, expr, sums, order []bool }

func newReads(n int) reads {
	return reads{make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)}
}

// rolesOf works out how the plan reads each scan's columns, from the root
// down: which output columns are read as text and as numbers, mapped
// through every node to the scan's. top is the root below its limits;
// rawOut says the output can write records as the input has them (csv
// from a comma-separated input).
func rolesOf(top plan.Node, rawOut bool) map[*plan.Scan]*scanRoles {
	rd := newReads(len(top.Schema()))
	raw := rawOut && rowsUnchanged(top)
	if _, ok := top.(*plan.Count); !ok && !raw {
		for i := range rd.text {
			rd.text[i] = true // the output's columns; raw rows need none
		}
	}
	w := &rolesWalk{roles: map[*plan.Scan]*scanRoles{}, raw: raw}
	w.walk(top, rd, false)
	return w.roles
}

// rolesWalk collects the roles of the plan's scans.
type rolesWalk struct {
	roles map[*plan.Scan]*scanRoles
	raw   bool
}

// rowsUnchanged reports whether the rows of n are a Scan's records as
// they are: a Scan under Filters, and a Sort or a Distinct of those.
func rowsUnchanged(n plan.Node) bool {
	switch c := n.(type) {
	case *plan.Sort:
		n = c.Child
	case *plan.Distinct:
		n = c.Child
	}
	return overScan(n, func(n plan.Node) bool { _, ok := n.(*plan.Filter); return ok })
}

// streamsFromScan reports whether n's rows come from a Scan through
// streaming nodes only, carrying their input positions.
func streamsFromScan(n plan.Node) bool {
	return overScan(n, func(n plan.Node) bool {
		switch n.(type) {
		case *plan.Filter, *plan.Project, *plan.Limit:
			return true
		}
		return false
	})
}

// overScan reports whether n is a Scan under nodes that through lets by.
func overScan(n plan.Node, through func(plan.Node) bool) bool {
	for {
		if _, ok := n.(*plan.Scan); ok {
			return true
		}
		if !through(n) {
			return false
		}
		n = n.Children()[0]
	}
}

// exprReads marks the columns an expression reads.
func (rd reads) exprReads(e *plan.Expr) {
	for _, c := range e.Columns() {
		rd.numeric[c], rd.expr[c] = true, true
	}
}

// walk marks what n's reads rd mean for the scans below n; pos says an
// operator above wants rows in input order (positions).
func (w *rolesWalk) walk(n plan.Node, rd reads, pos bool) {
	switch n := n.(type) {
	case *plan.Scan:
		if n.Pred != nil {
			rd.exprReads(n.Pred)
		}
		w.roles[n] = &scanRoles{numeric: rd.numeric, expr: rd.expr, sums: rd.sums, text: rd.text, order: rd.order, raw: w.raw, pos: pos}
	case *plan.Filter:
		rd.exprReads(n.Pred)
		w.walk(n.Child, rd, pos)
	case *plan.Sort:
		for _, k := range n.Keys {
			rd.order[k.Col], rd.text[k.Col] = true, true
		}
		// Ties keep input order.
		w.walk(n.Child, rd, pos || streamsFromScan(n.Child))
	case *plan.Distinct:
		for _, k := range n.KeyCols() {
			rd.order[k], rd.text[k] = true, true
		}
		// The first (or last) in input order, and the input order kept.
		w.walk(n.Child, rd, pos || streamsFromScan(n.Child))
	case *plan.Limit:
		w.walk(n.Child, rd, pos)
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
			c.order[j] = c.order[j] || rd.order[i]
		}
		w.walk(n.Child, c, pos)
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
				pos = true
			}
		}
		w.walk(n.Child, c, pos)
	case *plan.Count:
		w.walk(n.Child, newReads(len(n.Child.Schema())), false)
	default:
		for _, c := range n.Children() {
			all := newReads(len(c.Schema()))
			for i := range all.text {
				all.text[i] = true
			}
			w.walk(c, all, false)
		}
	}
}

// scanSpec decides what scan n materialises: of the columns the plan
// reads (n.Columns), numbers for those read as numbers whose type is
// numeric, text for strings, keys and columns that reach the output.
func (r *runner) scanSpec(n *plan.Scan) *scanSpec {
	roles := r.roles[n]
	spec := &scanSpec{input: n.Input, pred: n.Pred, skipBad: r.opts.SkipBadRows, pos: roles.pos}
	for _, c := range n.Materialised() {
		switch t := n.Input[c].Type; {
		case t == plan.Null && roles.sums[c]:
			spec.numeric = append(spec.numeric, c) // a sum takes only numbers
		case !roles.text[c] && !roles.numeric[c] && !roles.expr[c] && !roles.order[c]:
			// Not read: an output column of records that go out as
			// they are (raw).
		case t == plan.Null && (roles.expr[c] || roles.order[c]),
			t.Numeric() && roles.order[c] && !roles.numeric[c]:
			// Numbers while they are: a sort key whose type widens
			// part way orders bytewise, never fails.
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
		spec.raw = roles.raw
		// Which fields were quoted matters to csv output of the fields
		// themselves (a sort writes its cells quoted where needed).
		spec.quoted = r.out.Format == "csv" && !spec.raw && streamsFromScan(r.top)
	}
	return spec
}
