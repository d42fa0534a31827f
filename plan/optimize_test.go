package plan

import (
	"slices"
	"strings"
	"testing"
)

var testInput = Schema{{Name: "a", Type: String}, {Name: "b", Type: Int}, {Name: "c", Type: Float}, {Name: "d", Type: Int}, {Name: "e", Type: Int}}

func mustExpr(t *testing.T, src string, s Schema) *Expr {
	t.Helper()
	e, err := ParseValue(src, s, "--test")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// explainTree is Explain without the environment line.
func explainTree(n Node) string {
	out := Explain(n, ExplainEnv{})
	return out[:strings.LastIndex(out[:len(out)-1], "\n")+1]
}

func checkPlan(t *testing.T, n Node, want string) {
	t.Helper()
	if got := explainTree(Optimize(n)); got != want {
		t.Fatalf("optimised plan:\n%s\nwant:\n%s", got, want)
	}
}

// TestProjectFoldsIntoScan: a pass-through Project below an Aggregate
// renumbers the columns for the aggregate; Optimize folds it away, points
// the aggregate back at the input ordinals and prunes the scan to the
// columns used (the project's, less those nothing reads, plus the pushed
// --where's).
func TestProjectFoldsIntoScan(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	proj := ProjectColumns(NewFilter(scan, mustExpr(t, "d > 1", testInput)), []int{2, 0, 4})
	if got := proj.Schema().Names(); !slices.Equal(got, []string{"c", "a", "e"}) {
		t.Fatalf("project schema %v", got)
	}
	if got := proj.String(); got != "Project [c, a, e]" {
		t.Fatalf("project: %q", got)
	}
	// By a (project column 1), mean of c (project column 0); e unused.
	ag, err := NewAggregate(proj, []int{1}, []AggFunc{{Kind: AggCount, Col: -1}, {Kind: AggMean, Col: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ag.Schema().Names(); !slices.Equal(got, []string{"a", "count", "c_mean"}) {
		t.Fatalf("aggregate schema %v", got)
	}
	opt := Optimize(NewSort(ag, []SortKey{{Col: 0}}))
	want := `Sort a
└─ Aggregate by [a] count(*) as count, mean(c) as c_mean
   └─ Scan x.csv columns=[a, c, d] filter=(d > 1)
`
	if got := explainTree(opt); got != want {
		t.Fatalf("optimised plan:\n%s\nwant:\n%s", got, want)
	}
	oa := opt.(*Sort).Child.(*Aggregate)
	if !slices.Equal(oa.Keys, []int{0}) || oa.Aggs[0].Col != -1 || oa.Aggs[1].Col != 2 {
		t.Fatalf("aggregate not pointed back at the input: keys %v, aggs %+v", oa.Keys, oa.Aggs)
	}
	// The plan given to Optimize is unchanged.
	if ag.Child != proj || !slices.Equal(ag.Keys, []int{1}) || ag.Aggs[1].Col != 0 {
		t.Fatal("Optimize changed its input plan")
	}
}

// A Filter goes below a Project that passes its columns through (renamed
// ones read by their input names), below a Sort, merges with the Filter
// below it and ends in the Scan; a Filter on a derived column stays above
// its Project.
func TestFilterPushdown(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	proj, err := NewProject(NewFilter(scan, mustExpr(t, "d > 1", testInput)), []ProjCol{
		{Name: "bb", Col: 1}, {Name: "a", Col: 0}, {Name: "twice", Expr: mustExpr(t, "c * 2", testInput)},
	})
	if err != nil {
		t.Fatal(err)
	}
	ps := proj.Schema()
	checkPlan(t, NewFilter(NewSort(NewFilter(proj, mustExpr(t, `bb < 5 and a == "x"`, ps)), []SortKey{{Col: 0}}),
		mustExpr(t, "twice > 3", ps)),
		`Sort bb
└─ Filter (twice > 3)
   └─ Project [b as bb, a, twice = (c * 2)]
      └─ Scan x.csv columns=[a, b, c, d] filter=((d > 1) and ((b < 5) and (a == "x")))
`)
}

// Order nothing reads is not made: a count drops the Sort and Project
// below it, an aggregate the Sort below it; the Scan then reads no column
// for a count.
func TestDropUnreadOrder(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	checkPlan(t, NewCount(ProjectColumns(NewSort(scan, []SortKey{{Col: 1}}), []int{0})),
		`Count
└─ Scan x.csv columns=[]
`)
	ag, err := NewAggregate(NewSort(scan, []SortKey{{Col: 1}}), []int{0}, []AggFunc{{Kind: AggSum, Col: 1}})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, NewCount(NewFilter(ag, mustExpr(t, "b_sum > 0", ag.Schema()))),
		`Count
└─ Filter (b_sum > 0)
   └─ Aggregate by [a] sum(b) as b_sum
      └─ Scan x.csv columns=[a, b]
`)
}

// A Limit over a Sort bounds the sort (top-N), also when a rule has to
// reach it through other nodes; two Limits give the smaller.
func TestLimitPushdown(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	checkPlan(t, NewLimit(NewLimit(NewSort(scan, []SortKey{{Col: 2, Desc: true}}), 10), 3),
		`Limit 3
└─ Sort c:desc top=3
   └─ Scan x.csv
`)
	checkPlan(t, NewCount(NewLimit(NewFilter(NewLimit(scan, 7), mustExpr(t, "b > 0", testInput)), 2)),
		`Count
└─ Limit 2
   └─ Filter (b > 0)
      └─ Limit 7
         └─ Scan x.csv columns=[b]
`)
}

// Two output columns with one name are an error.
func TestProjectDuplicateName(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	_, err := NewProject(scan, []ProjCol{{Name: "a", Col: 0}, {Name: "a", Expr: mustExpr(t, "b + 1", testInput)}})
	if err == nil || !strings.Contains(err.Error(), `two output columns are named "a"`) {
		t.Fatalf("err %v", err)
	}
}

// Transform copies only the nodes on the path to a change.
func TestTransformCopiesOnlyChanges(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	lim := NewLimit(NewSort(scan, []SortKey{{Col: 0}}), 5)
	same := Transform(lim, func(n Node) Node { return n })
	if same != Node(lim) {
		t.Fatal("a transform that changes nothing copied the tree")
	}
	var seen []string
	Walk(lim, func(n Node) { seen = append(seen, n.String()) })
	if want := []string{"Limit 5", "Sort a", "Scan x.csv"}; !slices.Equal(seen, want) {
		t.Fatalf("Walk: %q", seen)
	}
}

// Projection pushdown through a Project: its columns nothing reads go, and
// so do the scan's columns only they read; the nodes above point at the
// columns' new places.
func TestProjectPruned(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	p, err := NewProject(scan, []ProjCol{{Name: "a", Col: 0}, {Name: "e", Col: 4}, {Name: "x", Expr: mustExpr(t, "b * 2", testInput)}, {Name: "y", Expr: mustExpr(t, "c + d", testInput)}})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := NewAggregate(p, []int{0}, []AggFunc{{Kind: AggMean, Col: 3}})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, NewSort(NewFilter(ag, mustExpr(t, "y_mean > 1", ag.Schema())), []SortKey{{Col: 0}}),
		`Sort a
└─ Filter (y_mean > 1)
   └─ Aggregate by [a] mean(y) as y_mean
      └─ Project [a, y = (c + d)]
         └─ Scan x.csv columns=[a, c, d]
`)
	inner := ProjectColumns(scan, []int{0, 1, 2, 3})
	outer, err := NewProject(inner, []ProjCol{{Name: "dd", Col: 3}})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, NewLimit(NewFilter(outer, mustExpr(t, "dd > 0", outer.Schema())), 2),
		`Limit 2
└─ Project [d as dd]
   └─ Project [d]
      └─ Scan x.csv columns=[d] filter=(d > 0)
`)
}

// ProjectColumns is a Project of child's columns cols, names kept.
func ProjectColumns(child Node, cols []int) *Project {
	in := child.Schema()
	pc := make([]ProjCol, len(cols))
	for i, c := range cols {
		pc[i] = ProjCol{Name: in[c].Name, Col: c}
	}
	p, err := NewProject(child, pc)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return p
}

// An Aggregate of one nunique is a count of distinct pairs, also beside
// other aggregates; a nunique of one of its own keys stays as it is.
func TestExactNUnique(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	agg := func(aggs ...AggFunc) Node {
		t.Helper()
		a, err := NewAggregate(NewFilter(scan, mustExpr(t, "d > 1", testInput)), []int{0, 1}, aggs)
		if err != nil {
			t.Fatal(err)
		}
		return NewSort(a, []SortKey{{Col: 0}, {Col: 1}})
	}
	checkPlan(t, agg(AggFunc{Kind: AggNUnique, Col: 2}), `Sort a, b
└─ Aggregate by [a, b] count(c) as c_nunique
   └─ Aggregate by [a, b, c] count(*) as rows
      └─ Scan x.csv columns=[a, b, c, d] filter=(d > 1)
`)
	checkPlan(t, agg(AggFunc{Kind: AggNUnique, Col: 2}, AggFunc{Kind: AggCount, Col: -1}), `Sort a, b
└─ Project [a, b, c_nunique, count]
   └─ Attach by [a, b] c_nunique
      ├─ Sort a, b
      │  └─ Aggregate by [a, b] count(*) as count
      │     └─ Scan x.csv columns=[a, b, d] filter=(d > 1)
      └─ Sort a, b
         └─ Aggregate by [a, b] count(c) as c_nunique
            └─ Aggregate by [a, b, c] count(*) as rows
               └─ Scan x.csv columns=[a, b, c, d] filter=(d > 1)
`)
	checkPlan(t, agg(AggFunc{Kind: AggNUnique, Col: 1}), `Sort a, b
└─ Aggregate by [a, b] nunique(b) as b_nunique
   └─ Scan x.csv columns=[a, b, d] filter=(d > 1)
`)
}

// nunique beside other aggregates: each nunique a count of distinct pairs
// over a copy of the input, zipped by key beside the others' aggregate,
// the columns put back in order.
func TestExactNUniqueAttached(t *testing.T) {
	scan := NewScan([]string{"x.csv"}, testInput)
	a, err := NewAggregate(scan, []int{0}, []AggFunc{{Kind: AggNUnique, Col: 2}, {Kind: AggCount, Col: -1}, {Kind: AggNUnique, Col: 1}, {Kind: AggMean, Col: 3}})
	if err != nil {
		t.Fatal(err)
	}
	root := NewSort(a, []SortKey{{Col: 0}})
	checkPlan(t, root, `Sort a
└─ Project [a, c_nunique, count, b_nunique, d_mean]
   └─ Attach by [a] c_nunique, b_nunique
      ├─ Sort a
      │  └─ Aggregate by [a] count(*) as count, mean(d) as d_mean
      │     └─ Scan x.csv columns=[a, d]
      ├─ Sort a
      │  └─ Aggregate by [a] count(c) as c_nunique
      │     └─ Aggregate by [a, c] count(*) as rows
      │        └─ Scan x.csv columns=[a, c]
      └─ Sort a
         └─ Aggregate by [a] count(b) as b_nunique
            └─ Aggregate by [a, b] count(*) as rows
               └─ Scan x.csv columns=[a, b]
`)
	if got := Optimize(root).Schema().Names(); !slices.Equal(got, a.Schema().Names()) {
		t.Fatalf("schema %v, want %v", got, a.Schema().Names())
	}
}
