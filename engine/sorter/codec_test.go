package sorter

import (
	"bytes"
	"math/rand/v2"
	"testing"

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
