package plan

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseAggKind(t *testing.T) {
	for k := range NumAggKinds {
		got, ok := ParseAggKind(k.String())
		if !ok || got != k {
			t.Errorf("ParseAggKind(%q) = %v, %v", k.String(), got, ok)
		}
	}
	for _, s := range []string{"", "avg", "Mean", "median", "count "} {
		if _, ok := ParseAggKind(s); ok {
			t.Errorf("ParseAggKind(%q) ok", s)
		}
	}
}

func TestResultType(t *testing.T) {
	tests := []struct {
		k    AggKind
		in   Type
		want Type
		err  string
	}{
		{AggCount, String, Int, ""},
		{AggCount, Null, Int, ""},
		{AggNUnique, Float, Int, ""},
		{AggSum, Int, Int, ""},
		{AggSum, Bool, Int, ""},
		{AggSum, Float, Float, ""},
		{AggSum, Null, Float, ""},
		{AggMean, Int, Float, ""},
		{AggStd, Int, Float, ""},
		{AggVar, Null, Float, ""},
		{AggMin, Int, Int, ""},
		{AggMax, String, String, ""},
		{AggFirst, Float, Float, ""},
		{AggLast, Null, Null, ""},
		{AggSum, String, Null, "cannot take the sum of strings"},
		{AggMean, String, Null, "cannot take the mean of strings"},
		{AggStd, String, Null, "cannot take the std of strings"},
		{AggVar, String, Null, "cannot take the var of strings"},
		{NumAggKinds, Int, Null, "unknown aggregate AggKind(10)"},
	}
	for _, tt := range tests {
		got, err := tt.k.ResultType(tt.in)
		if msg := fmt.Sprint(err); tt.err == "" && err != nil || tt.err != "" && msg != tt.err {
			t.Errorf("ResultType(%v, %v) error %v, want %q", tt.k, tt.in, err, tt.err)
		}
		if err == nil && got != tt.want {
			t.Errorf("ResultType(%v, %v) = %v, want %v", tt.k, tt.in, got, tt.want)
		}
	}
	_, err := AggMean.ColumnResultType("x", String)
	if want := `cannot take the mean of column "x": it holds strings`; fmt.Sprint(err) != want {
		t.Errorf("ColumnResultType error %v, want %s", err, want)
	}
	var te *AggTypeError
	if !errors.As(err, &te) || te.Kind != AggMean {
		t.Errorf("error %T is not a *AggTypeError", err)
	}
}

// Every output column of an Aggregate has a name of its own, and no
// aggregate is dropped: the same aggregate given twice is its one column;
// any other two columns of one name are a *NameClashError that says which
// (groupby --by count --count, value-counts count, groupby --by v_sum
// --sum v, --by g,g, two aggregates named alike), and so is a Normalize
// whose shares are named as a key.
func TestAggregateNames(t *testing.T) {
	in := Schema{{Name: "count", Type: Int}, {Name: "v", Type: Int}, {Name: "v_sum", Type: Int}, {Name: "g", Type: String}}
	scan := NewScan([]string{"x.csv"}, in)
	count := AggFunc{Kind: AggCount, Col: -1}
	sum := AggFunc{Kind: AggSum, Col: 1}
	for _, tc := range []struct {
		name  string
		keys  []int
		aggs  []AggFunc
		cols  string          // the output columns, when there is no error
		clash *NameClashError // else
	}{
		{"by g --count --sum v", []int{3}, []AggFunc{count, sum}, "g,count,v_sum", nil},
		{"by count --sum v", []int{0}, []AggFunc{sum}, "count,v_sum", nil},
		{"by v --sum v", []int{1}, []AggFunc{sum}, "v,v_sum", nil},
		{"by g --sum v --sum v", []int{3}, []AggFunc{sum, sum}, "g,v_sum", nil},
		{"by g --count --count", []int{3}, []AggFunc{count, count}, "g,count", nil},
		{"by count --count", []int{0}, []AggFunc{count}, "", &NameClashError{Name: "count", Agg: 0, Key: true}},
		{"value-counts count", []int{0}, []AggFunc{{Kind: AggCount, Col: -1, Name: "count"}}, "", &NameClashError{Name: "count", Agg: 0, Key: true}},
		{"value-counts g,count", []int{3, 0}, []AggFunc{{Kind: AggCount, Col: -1, Name: "count"}}, "", &NameClashError{Name: "count", Agg: 0, Key: true}},
		{"by v_sum --count --sum v", []int{2}, []AggFunc{count, sum}, "", &NameClashError{Name: "v_sum", Agg: 1, Key: true}},
		{"by g,g", []int{3, 3}, []AggFunc{count}, "", &NameClashError{Name: "g", Agg: -1, Key: true}},
		{"two aggregates named alike", []int{3}, []AggFunc{{Kind: AggSum, Col: 1, Name: "x"}, {Kind: AggMean, Col: 1, Name: "x"}}, "", &NameClashError{Name: "x", Agg: 1}},
	} {
		a, err := NewAggregate(scan, tc.keys, tc.aggs)
		if tc.clash != nil {
			var nc *NameClashError
			if !errors.As(err, &nc) || *nc != *tc.clash {
				t.Errorf("%s: err %v, want %+v", tc.name, err, tc.clash)
			} else if !strings.HasPrefix(err.Error(), fmt.Sprintf("two output columns are named %q: ", tc.clash.Name)) {
				t.Errorf("%s: message %q", tc.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := strings.Join(a.Schema().Names(), ","); got != tc.cols {
			t.Errorf("%s: columns %s, want %s", tc.name, got, tc.cols)
		}
		if len(a.Aggs) != len(a.Schema())-len(tc.keys) {
			t.Errorf("%s: %d aggregates for %d columns", tc.name, len(a.Aggs), len(a.Schema())-len(tc.keys))
		}
	}

	// value-counts proportion --normalize: the shares would be a second
	// column named proportion.
	vc := func(key int, name string) Node {
		a, err := NewAggregate(NewScan([]string{"x.csv"}, Schema{{Name: "proportion", Type: String}, {Name: "count", Type: Int}}), []int{key}, []AggFunc{{Kind: AggCount, Col: -1, Name: name}})
		if err != nil {
			t.Fatal(err)
		}
		return NewSort(a, []SortKey{{Col: 1, Desc: true}})
	}
	var nc *NameClashError
	if _, err := NewNormalize(vc(0, "count"), 1, "proportion"); !errors.As(err, &nc) || *nc != (NameClashError{Name: "proportion", Agg: -1}) {
		t.Errorf("Normalize named as a key: err %v", err)
	}
	if n, err := NewNormalize(vc(1, "count_"), 1, "proportion"); err != nil || strings.Join(n.Schema().Names(), ",") != "count,proportion" {
		t.Errorf("Normalize of the counts of a column named count: %v, %v", n, err)
	}
}

// A count of distinct rows by keys one of which is named count, or by a
// key given twice, counts the groups: the count it plans takes a name no
// key has, and the key counts once.
func TestCountDistinctNames(t *testing.T) {
	in := Schema{{Name: "count", Type: Int}, {Name: "g", Type: String}}
	scan := NewScan([]string{"x.csv"}, in)
	checkPlan(t, NewCount(NewDistinct(scan, []int{0}, false)), `Count
└─ Aggregate by [count] count(*) as count_
   └─ Scan x.csv columns=[count]
`)
	checkPlan(t, NewCount(NewDistinct(scan, []int{1, 1}, false)), `Count
└─ Aggregate by [g] count(*) as count
   └─ Scan x.csv columns=[g]
`)
	checkPlan(t, NewCount(NewDistinct(scan, []int{0, 1, 0}, false)), `Count
└─ Aggregate by [count, g] count(*) as count_
   └─ Scan x.csv
`)
	checkPlan(t, NewCount(NewDistinct(scan, nil, false)), `Count
└─ Aggregate by [count, g] count(*) as count_
   └─ Scan x.csv
`)
}
