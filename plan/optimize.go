package plan

import "slices"

// Optimize applies the rewrite rules: predicate pushdown (a Filter right
// above a Scan moves into it), limit pushdown (a Limit above a Sort becomes
// the sort's top-N) and projection pushdown (a Project below an Aggregate
// folds into the aggregate's column references, and the Scan materialises
// only the columns the plan above it uses). Nodes are immutable: changed
// nodes are copies.
func Optimize(n Node) Node {
	n = foldProjects(n)
	n = pushDown(n)
	cols := map[int]bool{}
	used(n, cols)
	return project(n, cols)
}

// foldProjects removes each Project right below an Aggregate: the
// aggregate refers to the Project's child's columns instead, and the
// columns it does not use are pruned from the scan by project below.
func foldProjects(n Node) Node {
	switch n := n.(type) {
	case *Aggregate:
		p, ok := n.Child.(*Project)
		if !ok {
			return n
		}
		c := *n
		c.Child = p.Child
		c.Keys = make([]int, len(n.Keys))
		for i, k := range n.Keys {
			c.Keys[i] = p.Cols[k]
		}
		c.Aggs = slices.Clone(n.Aggs)
		for i := range c.Aggs {
			if c.Aggs[i].Col >= 0 {
				c.Aggs[i].Col = p.Cols[c.Aggs[i].Col]
			}
		}
		return &c
	case *Filter:
		return &Filter{Child: foldProjects(n.Child), Pred: n.Pred}
	case *Sort:
		c := *n
		c.Child = foldProjects(n.Child)
		return &c
	case *Limit:
		return &Limit{Child: foldProjects(n.Child), N: n.N}
	}
	return n
}

func pushDown(n Node) Node {
	switch n := n.(type) {
	case *Filter:
		child := pushDown(n.Child)
		if s, ok := child.(*Scan); ok {
			c := *s
			if c.Pred == nil {
				c.Pred = n.Pred
			} else {
				c.Pred = And([]*Expr{c.Pred, n.Pred})
			}
			return &c
		}
		return &Filter{Child: child, Pred: n.Pred}
	case *Limit:
		child := pushDown(n.Child)
		if s, ok := child.(*Sort); ok {
			c := *s
			if c.TopN == 0 || n.N < c.TopN {
				c.TopN = n.N
			}
			return &Limit{Child: &c, N: n.N}
		}
		return &Limit{Child: child, N: n.N}
	case *Sort:
		c := *n
		c.Child = pushDown(n.Child)
		return &c
	case *Aggregate:
		c := *n
		c.Child = pushDown(n.Child)
		return &c
	}
	return n
}

// used collects the input columns the nodes above a Scan refer to. Only
// nodes over the Scan's schema contribute (those below an Aggregate).
func used(n Node, cols map[int]bool) {
	switch n := n.(type) {
	case *Scan:
		if n.Pred != nil {
			for _, c := range n.Pred.Columns() {
				cols[c] = true
			}
		}
	case *Filter:
		if isInput(n.Child) {
			for _, c := range n.Pred.Columns() {
				cols[c] = true
			}
		}
		used(n.Child, cols)
	case *Aggregate:
		for _, k := range n.Keys {
			cols[k] = true
		}
		for _, f := range n.Aggs {
			if f.Col >= 0 {
				cols[f.Col] = true
			}
		}
		used(n.Child, cols)
	default:
		for _, c := range n.Children() {
			used(c, cols)
		}
	}
}

// isInput reports whether n's schema is the Scan's (no Aggregate between).
func isInput(n Node) bool {
	switch n := n.(type) {
	case *Scan:
		return true
	case *Filter:
		return isInput(n.Child)
	}
	return false
}

func project(n Node, cols map[int]bool) Node {
	switch n := n.(type) {
	case *Scan:
		c := *n
		c.Columns = nil
		for i := range n.Input {
			if cols[i] {
				c.Columns = append(c.Columns, i)
			}
		}
		if len(c.Columns) == len(n.Input) {
			c.Columns = nil
		}
		return &c
	case *Filter:
		return &Filter{Child: project(n.Child, cols), Pred: n.Pred}
	case *Aggregate:
		c := *n
		c.Child = project(n.Child, cols)
		return &c
	case *Sort:
		c := *n
		c.Child = project(n.Child, cols)
		return &c
	case *Limit:
		return &Limit{Child: project(n.Child, cols), N: n.N}
	}
	return n
}

// ScanOf returns the Scan at the bottom of n.
func ScanOf(n Node) *Scan {
	for {
		if s, ok := n.(*Scan); ok {
			return s
		}
		ch := n.Children()
		if len(ch) == 0 {
			return nil
		}
		n = ch[0]
	}
}

// Materialised returns the input ordinals a Scan reads.
func (s *Scan) Materialised() []int {
	if s.Columns != nil {
		return slices.Clone(s.Columns)
	}
	out := make([]int, len(s.Input))
	for i := range out {
		out[i] = i
	}
	return out
}
