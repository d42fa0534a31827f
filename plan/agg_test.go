package plan

import (
	"errors"
	"fmt"
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
