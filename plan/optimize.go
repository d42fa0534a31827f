package plan

import "slices"

// Optimize applies the rewrite rules, each a Transform over every node
// type, so a rule reaches through any node it does not rewrite:
//
//   - an exact nunique: nunique(c) counts the groups of an Aggregate by
//     the keys and c, which spills like any other; beside other aggregates
//     it is attached to theirs by key (Attach);
//   - order that nothing reads is not made: a Sort under a Count or an
//     Aggregate goes, and so does a Project under a Count;
//   - two sorts are one: a Sort over a Sort orders by its keys, then by
//     the keys of the one below (which its stable sort would keep);
//   - a count of distinct rows is a count of groups: Count over Distinct
//     counts the groups of an Aggregate by the distinct keys, with no
//     rows kept and no order restored;
//   - predicate pushdown: a Filter moves below a Sort and below a Project
//     whose columns it reads are passed through, merges with a Filter
//     below it, and ends in the Scan;
//   - projection folding: an Aggregate over a Project that only passes
//     columns through reads the Project's child instead;
//   - limit pushdown: a Limit over a Sort makes it a bounded top-N, and two
//     Limits become the smaller;
//   - projection pushdown: a Project keeps only the columns read above it,
//     and the Scan materialises only the columns the plan reads.
//
// Nodes are immutable: changed nodes are copies.
func Optimize(n Node) Node {
	n = Transform(n, exactNUnique)
	n = Transform(n, pushFilter)
	n = Transform(n, dropUnreadOrder)
	n = Transform(n, mergeSorts)
	n = Transform(n, countDistinct)
	n = Transform(n, foldProject)
	n = Transform(n, pushLimit)
	need := make([]bool, len(n.Schema()))
	for i := range need {
		need[i] = true
	}
	n, _ = prune(n, need)
	return n
}

// exactNUnique plans nunique(c) as a count of distinct pairs: an
// Aggregate by the keys and c (nulls a value like any other), then an
// Aggregate by the keys counting the non-null c of its groups. Both are
// hash aggregates that spill, so a group with millions of distinct values
// holds --memory-limit, where a set of values per group could not; a group
// whose c is all null still has its row, 0.
//
// An Aggregate of one nunique is that plan. With other aggregates, or
// several nunique, each nunique is its own such plan over a copy of the
// input, sorted by the keys, and an Attach zips them beside the others'
// Aggregate (sorted alike) by key; a Project puts the columns back in
// their order. That reads the input once per nunique more (a stream's
// first read keeps a copy for the others: see the engine). A nunique of a
// key of its own groupby (0 or 1 per group) keeps its set.
func exactNUnique(n Node) Node {
	a, ok := n.(*Aggregate)
	if !ok {
		return n
	}
	var nuniques, others []AggFunc
	for _, f := range a.Aggs {
		if f.Kind == AggNUnique && !slices.Contains(a.Keys, f.Col) {
			nuniques = append(nuniques, f)
		} else {
			others = append(others, f)
		}
	}
	switch {
	case len(nuniques) == 0:
		return n
	case len(nuniques) == 1 && len(others) == 0:
		return distinctPairs(a.Child, a.Keys, nuniques[0])
	}
	k := len(a.Keys)
	byKeys := make([]SortKey, k)
	for i := range byKeys {
		byKeys[i] = SortKey{Col: i}
	}
	if len(others) == 0 {
		others = []AggFunc{{Kind: AggCount, Col: -1, Name: freeName(a.Schema(), "rows")}}
	}
	main, err := NewAggregate(cloneTree(a.Child), a.Keys, others)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	parts := make([]Node, len(nuniques))
	for i, f := range nuniques {
		parts[i] = NewSort(distinctPairs(cloneTree(a.Child), a.Keys, f), byKeys)
	}
	att := NewAttach(NewSort(main, byKeys), parts, k)
	cols := make([]ProjCol, 0, len(a.Schema()))
	for i := range k {
		cols = append(cols, ProjCol{Name: a.Schema()[i].Name, Col: i})
	}
	for _, f := range a.Aggs {
		col := main.Schema().Index(f.Name)
		if i := slices.IndexFunc(nuniques, func(u AggFunc) bool { return u.Name == f.Name }); i >= 0 {
			col = len(main.Schema()) + i
		}
		cols = append(cols, ProjCol{Name: f.Name, Col: col})
	}
	p, err := NewProject(att, cols)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return p
}

// distinctPairs is nunique(f.Col) of child by keys: an Aggregate by the
// keys counting the non-null values of an Aggregate by the keys and the
// column.
func distinctPairs(child Node, keys []int, f AggFunc) Node {
	in := child.Schema()
	taken := Schema{in[f.Col]}
	for _, k := range keys {
		taken = append(taken, in[k])
	}
	pairs, err := NewAggregate(child, append(slices.Clone(keys), f.Col), []AggFunc{{Kind: AggCount, Col: -1, Name: freeName(taken, "rows")}})
	if err != nil {
		panic("BUG: " + err.Error())
	}
	outer := make([]int, len(keys))
	for i := range outer {
		outer[i] = i
	}
	out, err := NewAggregate(pairs, outer, []AggFunc{{Kind: AggCount, Col: len(keys), Name: f.Name}})
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return out
}

// freeName is name, with underscores after it until no column of s has it.
func freeName(s Schema, name string) string {
	for s.Index(name) >= 0 {
		name += "_"
	}
	return name
}

// dropUnreadOrder removes a Sort below a Count or an Aggregate, and a
// Project below a Count: neither reads the order, and a count reads no
// column.
func dropUnreadOrder(n Node) Node {
	switch n := n.(type) {
	case *Count:
		child := n.Child
		for {
			switch c := child.(type) {
			case *Sort:
				child = c.Child
				continue
			case *Project:
				child = c.Child
				continue
			}
			break
		}
		if child != n.Child {
			return n.WithChildren(child)
		}
	case *Aggregate:
		if s, ok := n.Child.(*Sort); ok {
			return n.WithChildren(s.Child)
		}
	}
	return n
}

// mergeSorts makes a Sort over a full Sort one sort: the stable sort on
// top keeps the order below among its ties, which is ordering by the keys
// below after its own.
func mergeSorts(n Node) Node {
	s, ok := n.(*Sort)
	if !ok {
		return n
	}
	below, ok := s.Child.(*Sort)
	if !ok || below.TopN > 0 {
		return n
	}
	c := *s
	c.Child = below.Child
	c.Keys = append([]SortKey(nil), s.Keys...)
	for _, k := range below.Keys {
		if !slices.ContainsFunc(c.Keys, func(o SortKey) bool { return o.Col == k.Col }) {
			c.Keys = append(c.Keys, k)
		}
	}
	return &c
}

// countDistinct makes Count over Distinct a count of the Distinct's key
// groups.
func countDistinct(n Node) Node {
	c, ok := n.(*Count)
	if !ok {
		return n
	}
	d, ok := c.Child.(*Distinct)
	if !ok {
		return n
	}
	// Only the groups are counted: a key given twice (distinct --by g,g)
	// is one, and the count's name is one no key has.
	var keys []int
	var taken Schema
	for _, k := range d.KeyCols() {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
			taken = append(taken, d.Child.Schema()[k])
		}
	}
	a, err := NewAggregate(d.Child, keys, []AggFunc{{Kind: AggCount, Col: -1, Name: freeName(taken, "count")}})
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return c.WithChildren(a)
}

// pushFilter moves a Filter as far down as it can go.
func pushFilter(n Node) Node {
	f, ok := n.(*Filter)
	if !ok {
		return n
	}
	return pushPred(f.Child, f.Pred)
}

// pushPred returns child with the rows for which pred holds: pred goes
// below the nodes it commutes with.
func pushPred(child Node, pred *Expr) Node {
	switch c := child.(type) {
	case *Scan:
		s := *c
		s.Pred = And([]*Expr{c.Pred, pred})
		return &s
	case *Filter:
		return pushPred(c.Child, And([]*Expr{c.Pred, pred}))
	case *Sort:
		return c.WithChildren(pushPred(c.Child, pred))
	case *Project:
		below, ok := pred.Remap(c.Child.Schema(), func(col int) (int, bool) {
			if pc := c.Cols[col]; !pc.Derived() {
				return pc.Col, true
			}
			return 0, false
		})
		if ok {
			return c.WithChildren(pushPred(c.Child, below))
		}
	}
	return NewFilter(child, pred)
}

// foldProject points an Aggregate over a pass-through Project at the
// Project's child.
func foldProject(n Node) Node {
	a, ok := n.(*Aggregate)
	if !ok {
		return n
	}
	p, ok := a.Child.(*Project)
	if !ok || !p.Passthrough() {
		return n
	}
	c := *a
	c.Child = p.Child
	c.Keys = make([]int, len(a.Keys))
	for i, k := range a.Keys {
		c.Keys[i] = p.Cols[k].Col
	}
	c.Aggs = append([]AggFunc(nil), a.Aggs...)
	for i := range c.Aggs {
		if c.Aggs[i].Col >= 0 {
			c.Aggs[i].Col = p.Cols[c.Aggs[i].Col].Col
		}
	}
	return &c
}

// pushLimit turns a Limit over a Sort into a top-N of the sort (the Limit
// stays: the sort's top-N is a bound, the Limit the cut) and two Limits
// into one.
func pushLimit(n Node) Node {
	l, ok := n.(*Limit)
	if !ok {
		return n
	}
	switch c := l.Child.(type) {
	case *Sort:
		if c.TopN == 0 || l.N < c.TopN {
			s := *c
			s.TopN = max(l.N, 1) // top=0 means no bound; a limit of 0 keeps nothing anyway
			return l.WithChildren(&s)
		}
	case *Limit:
		return pushLimit(NewLimit(c.Child, min(l.N, c.N)))
	}
	return n
}

// prune drops what nothing above reads: a Project's columns that no node
// above it reads, and the Scan's columns (Columns: only those the plan
// reads). need says which of n's output columns its parent reads. It
// returns the new node and where each of n's output columns went (nil:
// where it was; -1: dropped), so the parent can point at them.
func prune(n Node, need []bool) (Node, []int) {
	switch n := n.(type) {
	case *Scan:
		cols := append([]bool(nil), need...)
		if n.Pred != nil {
			mark(cols, n.Pred.Columns())
		}
		s := *n
		s.Columns = []int{} // none read: a count
		for i, u := range cols {
			if u {
				s.Columns = append(s.Columns, i)
			}
		}
		if len(s.Columns) == len(n.Input) {
			s.Columns = nil
		}
		return &s, nil
	case *Filter:
		cols := append([]bool(nil), need...)
		mark(cols, n.Pred.Columns())
		child, m := prune(n.Child, cols)
		return &Filter{Child: child, Pred: remapExpr(n.Pred, child.Schema(), m)}, m
	case *Project:
		cn := len(n.Child.Schema())
		cols := make([]bool, cn)
		for i, c := range n.Cols {
			switch {
			case !need[i]:
			case c.Derived():
				mark(cols, c.Expr.Columns())
			default:
				cols[c.Col] = true
			}
		}
		child, cm := prune(n.Child, cols)
		var kept []ProjCol
		where := make([]int, len(n.Cols))
		for i, c := range n.Cols {
			where[i] = -1
			if !need[i] {
				continue
			}
			if c.Derived() {
				c.Expr = remapExpr(c.Expr, child.Schema(), cm)
			} else {
				c.Col = movedTo(cm, c.Col)
			}
			where[i] = len(kept)
			kept = append(kept, c)
		}
		p, err := NewProject(child, kept)
		if err != nil {
			panic("BUG: " + err.Error())
		}
		if len(kept) == len(n.Cols) {
			where = nil
		}
		return p, where
	case *Aggregate:
		cols := make([]bool, len(n.Child.Schema()))
		mark(cols, n.Keys)
		for _, f := range n.Aggs {
			if f.Col >= 0 {
				cols[f.Col] = true
			}
		}
		child, cm := prune(n.Child, cols)
		c := *n
		c.Child = child
		c.Keys = make([]int, len(n.Keys))
		for i, k := range n.Keys {
			c.Keys[i] = movedTo(cm, k)
		}
		c.Aggs = append([]AggFunc(nil), n.Aggs...)
		for i := range c.Aggs {
			if c.Aggs[i].Col >= 0 {
				c.Aggs[i].Col = movedTo(cm, c.Aggs[i].Col)
			}
		}
		return &c, nil
	case *Sort:
		cols := append([]bool(nil), need...)
		for _, k := range n.Keys {
			cols[k.Col] = true
		}
		child, m := prune(n.Child, cols)
		c := *n
		c.Child = child
		c.Keys = append([]SortKey(nil), n.Keys...)
		for i := range c.Keys {
			c.Keys[i].Col = movedTo(m, c.Keys[i].Col)
		}
		return &c, m
	case *Limit:
		child, m := prune(n.Child, need)
		return n.WithChildren(child), m
	case *Distinct:
		cols := append([]bool(nil), need...)
		mark(cols, n.KeyCols())
		child, m := prune(n.Child, cols)
		c := *n
		c.Child = child
		if n.Keys != nil {
			c.Keys = make([]int, len(n.Keys))
			for i, k := range n.Keys {
				c.Keys[i] = movedTo(m, k)
			}
		}
		return &c, m
	case *Normalize:
		cols := append([]bool(nil), need...)
		cols[n.Col] = true
		child, m := prune(n.Child, cols)
		c := *n
		c.Child, c.Col = child, movedTo(m, n.Col)
		return &c, m
	case *Count:
		child, _ := prune(n.Child, make([]bool, len(n.Child.Schema())))
		return n.WithChildren(child), nil
	case *Attach:
		// Every column of every child is read (keys to zip, the parts'
		// last columns, the main's to pass on): nothing below moves.
		children := n.Children()
		for i, c := range children {
			all := make([]bool, len(c.Schema()))
			for j := range all {
				all[j] = true
			}
			children[i], _ = prune(c, all)
		}
		return n.WithChildren(children...), nil
	}
	panic("BUG: prune does not know " + n.String())
}

func mark(set []bool, cols []int) {
	for _, c := range cols {
		set[c] = true
	}
}

// movedTo is where column c went (m nil: nowhere else).
func movedTo(m []int, c int) int {
	if m == nil {
		return c
	}
	if m[c] < 0 {
		panic("BUG: a column read above was pruned")
	}
	return m[c]
}

// remapExpr points e at its columns' new places in schema to.
func remapExpr(e *Expr, to Schema, m []int) *Expr {
	if m == nil {
		return e
	}
	r, ok := e.Remap(to, func(c int) (int, bool) { return m[c], m[c] >= 0 })
	if !ok {
		panic("BUG: an expression reads a pruned column")
	}
	return r
}
