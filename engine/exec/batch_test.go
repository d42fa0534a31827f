package exec

import (
	"fmt"
	"testing"

	"github.com/gdask/gdask/plan"
)

// Compact keeps the selected rows of every column once, also when a
// vector is shared by two columns, or a String column's Text shares its
// vector's storage; Clone copies what it sees.
func TestCompactShared(t *testing.T) {
	n := 6
	s := &plan.Vector{}
	s.Reset(plan.String, n)
	txt := &Text{Strs: s.Strs, Nulls: s.Nulls, Quoted: make([]bool, n)}
	num := &plan.Vector{}
	num.Reset(plan.Int, n)
	numText := &Text{Strs: make([][]byte, n), Nulls: make([]bool, n)}
	for r := range n {
		s.Strs[r] = []byte(fmt.Sprint("s", r))
		s.Nulls[r] = r == 4
		txt.Quoted[r] = r%2 == 0
		num.Ints[r] = int64(10 * r)
		numText.Strs[r] = []byte(fmt.Sprint(10 * r))
	}
	b := &Batch{}
	b.N = n
	b.Cols = []*plan.Vector{s, num, num}
	b.Text = []*Text{txt, numText, nil}
	b.Raw = make([][]byte, n)
	b.Pos = make([]uint64, n)
	for r := range n {
		b.Raw[r] = []byte(fmt.Sprint("raw", r))
		b.Pos[r] = uint64(r)
	}
	b.Compact([]int32{1, 4, 5})
	c := b.Clone()
	for _, x := range []*Batch{b, c} {
		got := fmt.Sprintf("%d %q %v %v %v %q %v %v %q %v", x.N, x.Cols[0].Strs, x.Cols[0].Nulls, x.Text[0].Nulls, x.Text[0].Quoted,
			x.Text[1].Strs, x.Cols[1].Ints, x.Cols[2].Ints, x.Raw, x.Pos)
		want := `3 ["s1" "s4" "s5"] [false true false] [false true false] [false true false] ["10" "40" "50"] [10 40 50] [10 40 50] ["raw1" "raw4" "raw5"] [1 4 5]`
		if got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
}
