package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gdask/gdask/internal/fsname"
)

// Node is an immutable logical plan node.
type Node interface {
	Children() []Node
	// WithChildren returns a copy of the node over children, which must be
	// as many as Children returns and produce the same schemas.
	WithChildren(children ...Node) Node
	Schema() Schema
	String() string // one line describing the node itself, for Explain
}

var (
	_ Node = (*Scan)(nil)
	_ Node = (*Filter)(nil)
	_ Node = (*Project)(nil)
	_ Node = (*Aggregate)(nil)
	_ Node = (*Sort)(nil)
	_ Node = (*Limit)(nil)
	_ Node = (*Count)(nil)
	_ Node = (*Distinct)(nil)
	_ Node = (*Normalize)(nil)
)

// Transform rewrites the tree bottom-up: each node's children first, then
// fn on the node over its rewritten children. fn returns its argument when
// it has nothing to change. Nodes that do not change are not copied.
func Transform(n Node, fn func(Node) Node) Node {
	ch := n.Children()
	if len(ch) > 0 {
		out := make([]Node, len(ch))
		changed := false
		for i, c := range ch {
			out[i] = Transform(c, fn)
			changed = changed || out[i] != c
		}
		if changed {
			n = n.WithChildren(out...)
		}
	}
	return fn(n)
}

// Walk calls fn on n and every node below it, parents first.
func Walk(n Node, fn func(Node)) {
	fn(n)
	for _, c := range n.Children() {
		Walk(c, fn)
	}
}

func oneChild(n Node, children []Node) Node {
	if len(children) != 1 {
		panic(fmt.Sprintf("BUG: %T takes one child, got %d", n, len(children)))
	}
	return children[0]
}

// Scan reads the inputs. Columns lists the input ordinals materialised
// (nil: all; empty: none, the rows are only counted); Pred is a predicate
// pushed into the scan (nil: none).
type Scan struct {
	Paths   []string
	Input   Schema // every column of the inputs
	Columns []int
	Pred    *Expr
}

// NewScan scans paths whose header and inferred types are input.
func NewScan(paths []string, input Schema) *Scan { return &Scan{Paths: paths, Input: input} }

func (s *Scan) Children() []Node { return nil }

func (s *Scan) WithChildren(children ...Node) Node {
	if len(children) != 0 {
		panic("BUG: Scan takes no children")
	}
	return s
}

// Schema is the input schema: ordinals stay those of the file, so
// expressions and aggregates refer to columns the same way before and
// after projection pushdown; Columns says which are materialised.
func (s *Scan) Schema() Schema { return s.Input }

func (s *Scan) String() string {
	var b strings.Builder
	paths := make([]string, len(s.Paths))
	for i, p := range s.Paths {
		paths[i] = fsname.Quote(p)
	}
	fmt.Fprintf(&b, "Scan %s", strings.Join(paths, ", "))
	if s.Columns != nil {
		names := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			names[i] = s.Input[c].Name
		}
		fmt.Fprintf(&b, " columns=[%s]", strings.Join(names, ", "))
	}
	var declared []string
	for c, col := range s.Input {
		if col.Declared && (s.Columns == nil || slices.Contains(s.Columns, c)) {
			declared = append(declared, col.Name+":"+col.Type.String())
		}
	}
	if declared != nil {
		fmt.Fprintf(&b, " types=[%s]", strings.Join(declared, ", "))
	}
	if s.Pred != nil {
		fmt.Fprintf(&b, " filter=%s", s.Pred)
	}
	return b.String()
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

// Filter keeps the rows for which Pred is true, in order.
type Filter struct {
	Child Node
	Pred  *Expr
}

func NewFilter(child Node, pred *Expr) *Filter { return &Filter{Child: child, Pred: pred} }
func (f *Filter) Children() []Node             { return []Node{f.Child} }
func (f *Filter) WithChildren(children ...Node) Node {
	return &Filter{Child: oneChild(f, children), Pred: f.Pred}
}
func (f *Filter) Schema() Schema { return f.Child.Schema() }
func (f *Filter) String() string { return "Filter " + f.Pred.String() }

// ProjCol is one output column of a Project: a column of the child (Expr
// nil, Col its ordinal) or a value derived from the child's columns.
type ProjCol struct {
	Name string
	Col  int   // the child's ordinal, when Expr is nil
	Expr *Expr // over the child's schema
}

// Derived reports whether the column is computed.
func (c ProjCol) Derived() bool { return c.Expr != nil }

// Project makes each row's columns Cols, in that order. Its schema is
// those columns, numbered from 0.
type Project struct {
	Child  Node
	Cols   []ProjCol
	schema Schema
}

// NewProject keeps, renames and derives columns of child's rows. Two
// output columns with one name are an error.
func NewProject(child Node, cols []ProjCol) (*Project, error) {
	in := child.Schema()
	p := &Project{Child: child, Cols: cols}
	seen := map[string]bool{}
	for _, c := range cols {
		if seen[c.Name] {
			return nil, fmt.Errorf("two output columns are named %q (rename one with --rename)", c.Name)
		}
		seen[c.Name] = true
		col := Column{Name: c.Name}
		if c.Expr != nil {
			col.Type = c.Expr.Type()
		} else {
			col.Type, col.Declared = in[c.Col].Type, in[c.Col].Declared
		}
		p.schema = append(p.schema, col)
	}
	return p, nil
}

func (p *Project) Children() []Node { return []Node{p.Child} }
func (p *Project) WithChildren(children ...Node) Node {
	c := *p
	c.Child = oneChild(p, children)
	return &c
}
func (p *Project) Schema() Schema { return p.schema }

// Passthrough reports whether every column is a child's column.
func (p *Project) Passthrough() bool {
	for _, c := range p.Cols {
		if c.Derived() {
			return false
		}
	}
	return true
}

func (p *Project) String() string {
	in := p.Child.Schema()
	parts := make([]string, len(p.Cols))
	for i, c := range p.Cols {
		switch {
		case c.Derived():
			parts[i] = c.Name + " = " + c.Expr.String()
		case in[c.Col].Name != c.Name:
			parts[i] = in[c.Col].Name + " as " + c.Name
		default:
			parts[i] = c.Name
		}
	}
	return "Project [" + strings.Join(parts, ", ") + "]"
}

// AggFunc is one aggregate: Kind over input column Col (-1 for count),
// producing output column Name of type Type.
type AggFunc struct {
	Kind AggKind
	Col  int
	Name string
	Type Type
}

// AggFuncs are the aggregate functions' names, in the order of their output
// columns (and of --help).
var AggFuncs = aggNames[:]

// Aggregate groups its child's rows by Keys (the child's ordinals) and
// computes Aggs per group. Its schema is the key columns then the
// aggregates.
type Aggregate struct {
	Child  Node
	Keys   []int
	Aggs   []AggFunc
	schema Schema
}

// NewAggregate type-checks the aggregates against child's schema: a numeric
// aggregate over a string column is an error before any data is read.
// Output names are <col>_<func>, and count for --count, unless Name says
// otherwise.
//
// Every output column has a name of its own: later verbs, --having,
// --sort and json keys find a column by its name. The same aggregate
// given twice (--mean v --mean v) is one column; any other two columns of
// one name (a key given twice, an aggregate named as a key: groupby --by
// count --count, value-counts count) are a *NameClashError, never a
// column dropped or doubled.
func NewAggregate(child Node, keys []int, aggs []AggFunc) (*Aggregate, error) {
	in := child.Schema()
	a := &Aggregate{Child: child, Keys: keys}
	at := map[string]int{} // output columns by name
	for _, k := range keys {
		if _, ok := at[in[k].Name]; ok {
			return nil, &NameClashError{Name: in[k].Name, Agg: -1, Key: true}
		}
		at[in[k].Name] = len(a.schema)
		a.schema = append(a.schema, in[k])
	}
	for i, f := range aggs {
		var colName string
		colType := Null
		if f.Col >= 0 {
			colName, colType = in[f.Col].Name, in[f.Col].Type
		}
		t, err := f.Kind.ColumnResultType(colName, colType)
		if err != nil {
			return nil, err
		}
		if f.Name == "" {
			f.Name = f.Kind.String()
			if f.Col >= 0 {
				f.Name = colName + "_" + f.Kind.String()
			}
		}
		if j, ok := at[f.Name]; ok {
			if j >= len(keys) {
				if g := a.Aggs[j-len(keys)]; g.Kind == f.Kind && g.Col == f.Col {
					continue // the same aggregate again: its one column
				}
			}
			return nil, &NameClashError{Name: f.Name, Agg: i, Key: j < len(keys)}
		}
		at[f.Name] = len(a.schema)
		f.Type = t
		a.Aggs = append(a.Aggs, f)
		a.schema = append(a.schema, Column{Name: f.Name, Type: t})
	}
	return a, nil
}

// NameClashError is two output columns of an Aggregate or a Normalize
// that would have one name.
type NameClashError struct {
	Name string // the name both would have
	// Agg is the aggregate (its index in NewAggregate's aggs) that would
	// take the name; -1 for a key given twice, or a Normalize's shares.
	Agg int
	Key bool // the other column is a key column
}

func (e *NameClashError) Error() string {
	switch {
	case e.Agg < 0 && e.Key:
		return fmt.Sprintf("two output columns are named %q: a key column given twice", e.Name)
	case e.Agg < 0:
		return fmt.Sprintf("two output columns are named %q: a column and the shares", e.Name)
	case e.Key:
		return fmt.Sprintf("two output columns are named %q: a key column and an aggregate (rename the key column first, with select --rename)", e.Name)
	}
	return fmt.Sprintf("two output columns are named %q: two different aggregates", e.Name)
}

func (a *Aggregate) Children() []Node { return []Node{a.Child} }
func (a *Aggregate) WithChildren(children ...Node) Node {
	c := *a
	c.Child = oneChild(a, children)
	return &c
}
func (a *Aggregate) Schema() Schema { return a.schema }

func (a *Aggregate) String() string {
	in := a.Child.Schema()
	keys := make([]string, len(a.Keys))
	for i, k := range a.Keys {
		keys[i] = in[k].Name
	}
	fs := make([]string, len(a.Aggs))
	for i, f := range a.Aggs {
		arg := "*"
		if f.Col >= 0 {
			arg = in[f.Col].Name
		}
		fs[i] = fmt.Sprintf("%s(%s) as %s", f.Kind, arg, f.Name)
	}
	return fmt.Sprintf("Aggregate by [%s] %s", strings.Join(keys, ", "), strings.Join(fs, ", "))
}

// SortKey orders by a column of the child's schema: ascending unless
// Desc; nulls (and NaN) after every value unless NullsFirst, in both
// directions.
type SortKey struct {
	Col        int
	Desc       bool
	NullsFirst bool
}

// Sort orders its child's rows by Keys (typed order: numbers by value,
// -0 equal to 0; strings bytewise). The sort is stable: rows with equal
// keys keep their input order. TopN > 0 keeps only the first TopN rows
// (a limit pushed into the sort): a bounded top-N, not a full sort.
type Sort struct {
	Child Node
	Keys  []SortKey
	TopN  int64
}

func NewSort(child Node, keys []SortKey) *Sort { return &Sort{Child: child, Keys: keys} }
func (s *Sort) Children() []Node               { return []Node{s.Child} }
func (s *Sort) WithChildren(children ...Node) Node {
	c := *s
	c.Child = oneChild(s, children)
	return &c
}
func (s *Sort) Schema() Schema { return s.Child.Schema() }

func (s *Sort) String() string {
	sch := s.Child.Schema()
	ks := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		ks[i] = sch[k.Col].Name
		if k.Desc {
			ks[i] += ":desc"
		}
		if k.NullsFirst {
			ks[i] += " nulls first"
		}
	}
	out := "Sort " + strings.Join(ks, ", ")
	if s.TopN > 0 {
		out += fmt.Sprintf(" top=%d", s.TopN)
	}
	return out
}

// Limit keeps the first N rows of its child, in its child's order.
type Limit struct {
	Child Node
	N     int64
}

func NewLimit(child Node, n int64) *Limit { return &Limit{Child: child, N: n} }
func (l *Limit) Children() []Node         { return []Node{l.Child} }
func (l *Limit) WithChildren(children ...Node) Node {
	return &Limit{Child: oneChild(l, children), N: l.N}
}
func (l *Limit) Schema() Schema { return l.Child.Schema() }
func (l *Limit) String() string { return fmt.Sprintf("Limit %d", l.N) }

// Count is the number of its child's rows: one row, one column "count".
type Count struct {
	Child Node
}

func NewCount(child Node) *Count  { return &Count{Child: child} }
func (c *Count) Children() []Node { return []Node{c.Child} }
func (c *Count) WithChildren(children ...Node) Node {
	return &Count{Child: oneChild(c, children)}
}
func (c *Count) Schema() Schema { return Schema{{Name: "count", Type: Int}} }
func (c *Count) String() string { return "Count" }

// Distinct keeps one row of each set of rows equal on Keys (every column
// when Keys is nil), by typed value as a Sort orders them (numbers by
// value, nulls equal): the first in input order, or the last with
// KeepLast. The kept rows come in input order.
type Distinct struct {
	Child    Node
	Keys     []int
	KeepLast bool
}

func NewDistinct(child Node, keys []int, keepLast bool) *Distinct {
	return &Distinct{Child: child, Keys: keys, KeepLast: keepLast}
}
func (d *Distinct) Children() []Node { return []Node{d.Child} }
func (d *Distinct) WithChildren(children ...Node) Node {
	c := *d
	c.Child = oneChild(d, children)
	return &c
}
func (d *Distinct) Schema() Schema { return d.Child.Schema() }

// KeyCols is the columns rows are compared on.
func (d *Distinct) KeyCols() []int {
	if d.Keys != nil {
		return d.Keys
	}
	all := make([]int, len(d.Child.Schema()))
	for i := range all {
		all[i] = i
	}
	return all
}

func (d *Distinct) String() string {
	keep := "first"
	if d.KeepLast {
		keep = "last"
	}
	if d.Keys == nil {
		return "Distinct keep=" + keep
	}
	sch := d.Child.Schema()
	ks := make([]string, len(d.Keys))
	for i, k := range d.Keys {
		ks[i] = sch[k].Name
	}
	return fmt.Sprintf("Distinct by [%s] keep=%s", strings.Join(ks, ", "), keep)
}

// Normalize turns the count(*) column Col of the Aggregate below it
// (through Sorts and Limits) into the share of the rows that Aggregate
// grouped: Dask's value_counts(normalize=True). The column becomes a
// Float named Name.
type Normalize struct {
	Child Node
	Col   int
	Name  string
}

// NewNormalize checks that col is the count of an Aggregate under child,
// and that no other column of child is named name (a *NameClashError).
func NewNormalize(child Node, col int, name string) (*Normalize, error) {
	if _, ok := NormalizedAggregate(child, col); !ok {
		return nil, fmt.Errorf("BUG: Normalize of column %d, not the count of an aggregate below", col)
	}
	if i := child.Schema().Index(name); i >= 0 && i != col {
		return nil, &NameClashError{Name: name, Agg: -1}
	}
	return &Normalize{Child: child, Col: col, Name: name}, nil
}

// NormalizedAggregate is the Aggregate whose count column col of n is,
// through Sorts and Limits.
func NormalizedAggregate(n Node, col int) (*Aggregate, bool) {
	for {
		switch c := n.(type) {
		case *Sort:
			n = c.Child
		case *Limit:
			n = c.Child
		case *Aggregate:
			i := col - len(c.Keys)
			return c, i >= 0 && i < len(c.Aggs) && c.Aggs[i].Kind == AggCount && c.Aggs[i].Col < 0
		default:
			return nil, false
		}
	}
}

func (n *Normalize) Children() []Node { return []Node{n.Child} }
func (n *Normalize) WithChildren(children ...Node) Node {
	c := *n
	c.Child = oneChild(n, children)
	return &c
}
func (n *Normalize) Schema() Schema {
	s := slices.Clone(n.Child.Schema())
	s[n.Col] = Column{Name: n.Name, Type: Float}
	return s
}
func (n *Normalize) String() string {
	return fmt.Sprintf("Normalize %s as %s", n.Child.Schema()[n.Col].Name, n.Name)
}
