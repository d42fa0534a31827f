package plan

import (
	"fmt"
	"slices"
	"strings"
)

// Node is an immutable logical plan node.
type Node interface {
	Children() []Node
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
)

// Scan reads the inputs. Columns lists the input ordinals materialised
// (nil: all); Pred is a predicate pushed into the scan (nil: none).
type Scan struct {
	Paths   []string
	Input   Schema // every column of the inputs
	Columns []int
	Pred    *Expr
}

// NewScan scans paths whose header and inferred types are input.
func NewScan(paths []string, input Schema) *Scan { return &Scan{Paths: paths, Input: input} }

func (s *Scan) Children() []Node { return nil }

// Schema is the input schema: ordinals stay those of the file, so
// expressions and aggregates refer to columns the same way before and
// after projection pushdown; Columns says which are materialised.
func (s *Scan) Schema() Schema { return s.Input }

func (s *Scan) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Scan %s", strings.Join(s.Paths, ", "))
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

// Filter keeps the rows for which Pred is true.
type Filter struct {
	Child Node
	Pred  *Expr
}

func NewFilter(child Node, pred *Expr) *Filter { return &Filter{Child: child, Pred: pred} }
func (f *Filter) Children() []Node             { return []Node{f.Child} }
func (f *Filter) Schema() Schema               { return f.Child.Schema() }
func (f *Filter) String() string               { return "Filter " + f.Pred.String() }

// Project keeps columns Cols of its child's schema, in that order. Its
// schema is those columns, numbered from 0, so nodes above refer to them by
// their place in Cols. The optimizer folds a Project below an Aggregate
// into the Scan (projection pushdown), which is how the engine runs it.
type Project struct {
	Child  Node
	Cols   []int
	schema Schema
}

// NewProject keeps cols (ordinals of child's schema) of child's rows.
func NewProject(child Node, cols []int) *Project {
	in := child.Schema()
	p := &Project{Child: child, Cols: cols}
	for _, c := range cols {
		p.schema = append(p.schema, in[c])
	}
	return p
}

func (p *Project) Children() []Node { return []Node{p.Child} }
func (p *Project) Schema() Schema   { return p.schema }
func (p *Project) String() string   { return "Project [" + strings.Join(p.schema.Names(), ", ") + "]" }

// AggFunc is one aggregate: Func over input column Col (-1 for count),
// producing output column Name of type Type.
type AggFunc struct {
	Func string
	Col  int
	Name string
	Type Type
}

// AggFuncs are the aggregate functions, in the order --help lists them.
var AggFuncs = []string{"count", "sum", "mean", "min", "max", "std", "var", "first", "last", "nunique"}

// aggResult returns the output type of fn over a column of type in.
func aggResult(fn string, in Type, col string) (Type, error) {
	switch fn {
	case "count", "nunique":
		return Int, nil
	case "sum":
		if in == String {
			return 0, fmt.Errorf("cannot take the sum of column %q: it holds strings", col)
		}
		if in == Int {
			return Int, nil
		}
		return Float, nil
	case "mean", "std", "var":
		if in == String {
			return 0, fmt.Errorf("cannot take the %s of column %q: it holds strings", fn, col)
		}
		return Float, nil
	case "min", "max", "first", "last":
		if in == Null {
			return String, nil
		}
		return in, nil
	}
	return 0, fmt.Errorf("unknown aggregate %q (want one of %s)", fn, strings.Join(AggFuncs, ", "))
}

// Aggregate groups its child's rows by Keys (input ordinals) and computes
// Aggs per group. Its schema is the key columns then the aggregates.
type Aggregate struct {
	Child  Node
	Keys   []int
	Aggs   []AggFunc
	schema Schema
}

// NewAggregate type-checks the aggregates against child's schema: a numeric
// aggregate over a string column is an error before any data is read.
// Output names are <col>_<func>, and count for --count.
func NewAggregate(child Node, keys []int, aggs []AggFunc) (*Aggregate, error) {
	in := child.Schema()
	a := &Aggregate{Child: child, Keys: keys}
	for _, k := range keys {
		a.schema = append(a.schema, in[k])
	}
	seen := map[string]bool{}
	for _, c := range a.schema {
		seen[c.Name] = true
	}
	for _, f := range aggs {
		var colName string
		var colType Type
		if f.Col >= 0 {
			colName, colType = in[f.Col].Name, in[f.Col].Type
		}
		t, err := aggResult(f.Func, colType, colName)
		if err != nil {
			return nil, err
		}
		if f.Name == "" {
			f.Name = f.Func
			if f.Col >= 0 {
				f.Name = colName + "_" + f.Func
			}
		}
		if seen[f.Name] {
			continue // --mean value given twice: one column
		}
		seen[f.Name] = true
		f.Type = t
		a.Aggs = append(a.Aggs, f)
		a.schema = append(a.schema, Column{Name: f.Name, Type: t})
	}
	return a, nil
}

func (a *Aggregate) Children() []Node { return []Node{a.Child} }
func (a *Aggregate) Schema() Schema   { return a.schema }

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
		fs[i] = fmt.Sprintf("%s(%s) as %s", f.Func, arg, f.Name)
	}
	return fmt.Sprintf("Aggregate by [%s] %s", strings.Join(keys, ", "), strings.Join(fs, ", "))
}

// SortKey orders by a column of the child's schema.
type SortKey struct {
	Col  int
	Desc bool
}

// Sort orders its child's rows by Keys (typed order: numbers by value,
// strings bytewise, nulls last). TopN > 0 keeps only the first TopN rows
// (a limit pushed into the sort).
type Sort struct {
	Child Node
	Keys  []SortKey
	TopN  int64
}

func NewSort(child Node, keys []SortKey) *Sort { return &Sort{Child: child, Keys: keys} }
func (s *Sort) Children() []Node               { return []Node{s.Child} }
func (s *Sort) Schema() Schema                 { return s.Child.Schema() }

func (s *Sort) String() string {
	sch := s.Child.Schema()
	ks := make([]string, len(s.Keys))
	for i, k := range s.Keys {
		ks[i] = sch[k.Col].Name
		if k.Desc {
			ks[i] += ":desc"
		}
	}
	out := "Sort " + strings.Join(ks, ", ")
	if s.TopN > 0 {
		out += fmt.Sprintf(" top=%d", s.TopN)
	}
	return out
}

// Limit keeps the first N rows.
type Limit struct {
	Child Node
	N     int64
}

func NewLimit(child Node, n int64) *Limit { return &Limit{Child: child, N: n} }
func (l *Limit) Children() []Node         { return []Node{l.Child} }
func (l *Limit) Schema() Schema           { return l.Child.Schema() }
func (l *Limit) String() string           { return fmt.Sprintf("Limit %d", l.N) }
