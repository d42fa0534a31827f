package plan

import (
	"slices"
	"testing"
)

// TestProjectFoldsIntoScan: a Project below an Aggregate renumbers the
// columns for the aggregate; Optimize folds it away, points the aggregate
// back at the input ordinals and prunes the scan to the columns used (the
// project's, less those nothing reads, plus the pushed --where's).
func TestProjectFoldsIntoScan(t *testing.T) {
	in := Schema{{Name: "a", Type: String}, {Name: "b", Type: Int}, {Name: "c", Type: Float}, {Name: "d", Type: Int}, {Name: "e", Type: Int}}
	scan := NewScan([]string{"x.csv"}, in)
	where, err := ParseExpr("d > 1", in, "--where")
	if err != nil {
		t.Fatal(err)
	}
	proj := NewProject(NewFilter(scan, where), []int{2, 0, 4})
	if got := proj.Schema().Names(); !slices.Equal(got, []string{"c", "a", "e"}) {
		t.Fatalf("project schema %v", got)
	}
	if got := proj.String(); got != "Project [c, a, e]" {
		t.Fatalf("project: %q", got)
	}
	// By a (project column 1), mean of c (project column 0); e unused.
	ag, err := NewAggregate(proj, []int{1}, []AggFunc{{Func: "count", Col: -1}, {Func: "mean", Col: 0}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ag.Schema().Names(); !slices.Equal(got, []string{"a", "count", "c_mean"}) {
		t.Fatalf("aggregate schema %v", got)
	}
	opt := Optimize(NewSort(ag, []SortKey{{Col: 0}}))
	got := Explain(opt, ExplainEnv{Partitions: 1, Workers: 1, Memory: "1MiB"})
	want := `Sort a
└─ Aggregate by [a] count(*) as count, mean(c) as c_mean
   └─ Scan x.csv columns=[a, c, d] filter=(d > 1)
partitions: 1, workers: 1, memory: 1MiB
`
	if got != want {
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
