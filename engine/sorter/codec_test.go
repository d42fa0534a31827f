package sorter

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// TestAppendOrderedStrings: encoded strings compare bytewise as the
// strings do, zero bytes and prefixes included, reversed for desc, and so
// do two of them one after the other (as several keys are); a null sorts
// after every string either way.
func TestAppendOrderedStrings(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	strs := [][]byte{{}, {0}, {0, 0}, {0, 1}, {0, 0xff}, {0xff}, []byte("a"), []byte("a\x00"), []byte("a\x00\x00"), []byte("a\x01"), []byte("a\xff")}
	for range 300 {
		s := make([]byte, r.IntN(6))
		for i := range s {
			s[i] = []byte{0, 1, 'a', 0xfe, 0xff}[r.IntN(5)]
		}
		strs = append(strs, s)
	}
	enc := func(s []byte, null, desc bool) []byte {
		v := &plan.Vector{}
		v.Reset(plan.String, 1)
		v.Strs[0], v.Nulls[0] = s, null
		return appendOrdered(nil, v, 0, plan.SortKey{Desc: desc})
	}
	sign := func(c int) int { return min(max(c, -1), 1) }
	for _, a := range strs {
		for _, b := range strs {
			want := bytes.Compare(a, b)
			if got := sign(bytes.Compare(enc(a, false, false), enc(b, false, false))); got != want {
				t.Fatalf("%q vs %q: encodings compare %d, strings %d", a, b, got, want)
			}
			if got := sign(bytes.Compare(enc(a, false, true), enc(b, false, true))); got != -want {
				t.Fatalf("%q vs %q desc: encodings compare %d, want %d", a, b, got, -want)
			}
			// Two keys: (a, b) against (b, a).
			want2 := want
			if want2 == 0 {
				want2 = bytes.Compare(b, a)
			}
			ab := append(enc(a, false, false), enc(b, false, false)...)
			ba := append(enc(b, false, false), enc(a, false, false)...)
			if got := sign(bytes.Compare(ab, ba)); got != want2 {
				t.Fatalf("(%q, %q) vs (%q, %q): encodings compare %d, keys %d", a, b, b, a, got, want2)
			}
		}
		for _, desc := range []bool{false, true} {
			if bytes.Compare(enc(a, false, desc), enc(nil, true, desc)) >= 0 {
				t.Fatalf("%q (desc %v) does not sort before null", a, desc)
			}
			v := &plan.Vector{}
			v.Reset(plan.String, 1)
			v.Nulls[0] = true
			first := plan.SortKey{Desc: desc, NullsFirst: true}
			if bytes.Compare(appendOrdered(nil, v, 0, first), enc(a, false, desc)) >= 0 {
				t.Fatalf("null first (desc %v) does not sort before %q", desc, a)
			}
		}
	}
}

// A row sorted by a text column holds the text once, in its order
// section, when the key is ascending and the text of three bytes or more
// with no zero byte; every row decodes to its values, typed and as text,
// and so does a row whose order was made again (Reorder).
func TestTextKeyOnce(t *testing.T) {
	texts := [][]byte{[]byte("k1065668"), []byte("ab"), []byte("a\x00bc"), {}, []byte("zzzzzzzzzzzzzzzzzzzzzzzz"), []byte("k1065668")}
	n := len(texts)
	s, d, x := &plan.Vector{}, &plan.Vector{}, &plan.Vector{}
	s.Reset(plan.String, n) // key, ascending
	d.Reset(plan.String, n) // key, descending
	x.Reset(plan.Int, n)    // not a key
	for r, txt := range texts {
		s.Strs[r], d.Strs[r], x.Ints[r] = txt, txt, int64(r)
	}
	s.Nulls[3] = true
	b := &exec.Batch{}
	b.N = n
	b.Cols = []*plan.Vector{s, d, x}
	schema := plan.Schema{{Name: "s", Type: plan.String}, {Name: "d", Type: plan.String}, {Name: "x", Type: plan.Int}}
	keys := []plan.SortKey{{Col: 0}, {Col: 1, Desc: true}}
	for _, cells := range []Cells{CellsTyped, CellsText} {
		enc := NewEncoder(Spec{Keys: keys, Cells: cells})
		enc.See(b)
		var rows [][]byte
		for r := range n {
			enc.Order(b, r)
			row := bytes.Clone(enc.Encode(b, r))
			once := len(texts[r]) > 2 && bytes.IndexByte(texts[r], 0) < 0
			if got := bytes.Count(row, texts[r]); len(texts[r]) > 0 && once && got != 2 { // the ascending order's and the descending cell's
				t.Errorf("cells %d, row %d (%q): the text %d times in %q", cells, r, texts[r], got, row)
			}
			rows = append(rows, row)
		}
		check := func(what string, rows [][]byte) {
			t.Helper()
			got := NewDecoder(schema, cells).Decode(rows)
			for r, txt := range texts {
				if r == 3 {
					if got.Text[0] != nil && got.Text[0].Strs[r] != nil || cells == CellsTyped && !got.Cols[0].Nulls[r] {
						t.Errorf("%s, cells %d: row 3's null key came back", what, cells)
					}
				} else if !bytes.Equal(got.Text[0].Strs[r], txt) || cells == CellsTyped && !bytes.Equal(got.Cols[0].Strs[r], txt) {
					t.Errorf("%s, cells %d, row %d: key %q, want %q", what, cells, r, got.Text[0].Strs[r], txt)
				}
				if !bytes.Equal(got.Text[1].Strs[r], txt) {
					t.Errorf("%s, cells %d, row %d: descending key %q, want %q", what, cells, r, got.Text[1].Strs[r], txt)
				}
			}
		}
		check("encoded", rows)
		var again [][]byte
		for _, row := range rows {
			again = append(again, bytes.Clone(enc.Reorder(row, []Reordering{Bytewise, AsMade}, 0)))
		}
		check("reordered", again)
	}
}
