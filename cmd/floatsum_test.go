package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A float sum whose partial sums overflow on the way is still the exact
// total, whatever the partitioning: 1000 rows of 1.7e308 then 999 of
// -1.7e308 sum to 1.7e308 (this printed an empty, null sum). A total
// beyond float64's range is inf or -inf, never null; a mean of huge
// values is in range.
func TestFloatSumOverflowMidway(t *testing.T) {
	var b strings.Builder
	b.WriteString("k,v\n")
	b.WriteString(strings.Repeat("a,1.7e308\n", 1000))
	b.WriteString(strings.Repeat("a,-1.7e308\n", 999))
	b.WriteString(strings.Repeat("b,1.7e308\n", 3))
	b.WriteString("c,-1.7e308\nc,-1.7e308\nc,1e308\n")
	f := filepath.Join(t.TempDir(), "huge.csv")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "k,v_sum,v_mean,v_std\n" +
		"a,1.7e+308,8.504252126063031e+304,1.7004251594414352e+308\n" +
		"b,inf,1.7e+308,0.0\n" +
		"c,-inf,-8e+307,1.5588457268119896e+308\n"
	for _, extra := range [][]string{
		nil,
		{"--workers", "1"},
		{"--workers", "3", "--blocksize", "1KiB"}, // partial sums merged from 20 partitions
	} {
		args := append([]string{"groupby", f, "--by", "k", "--sum", "v", "--mean", "v", "--std", "v", "-o", "csv"}, extra...)
		out, err := gdask(t, args...).CombinedOutput()
		if err != nil || string(out) != want {
			t.Errorf("%s: %v\n%s\nwant\n%s", strings.Join(extra, " "), err, out, want)
		}
	}
}
