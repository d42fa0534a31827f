package hashagg

import (
	"hash/maphash"
	"math/rand/v2"
	"testing"
)

// A table finds every key it was given, as the group it first got, across
// resizes and across the switch from wide slots (keys of 8 bytes or
// fewer) to narrow ones (the first longer key), and again after a reset.
func TestGroupTableFinds(t *testing.T) {
	seed := maphash.MakeSeed()
	r := rand.New(rand.NewPCG(8, 8))
	for _, longAt := range []int{-1, 0, 500, 20_000} {
		for _, memo := range []bool{false, true} {
			tab := newGroupTable(memo)
			for round := range 2 {
				want := map[string]uint32{}
				var order []string
				for i := range 40_000 {
					n := r.IntN(9)
					if longAt >= 0 && i >= longAt && r.IntN(3) == 0 {
						n = 9 + r.IntN(30)
					}
					k := make([]byte, n)
					for j := range k {
						k[j] = byte(r.IntN(4)) // few distinct bytes: keys that differ late
					}
					key := string(k)
					g, added := tab.find(k, maphash.Bytes(seed, k))
					if w, ok := want[key]; ok {
						if added || g != w {
							t.Fatalf("longAt %d round %d: key %q found as %d (added %v), want %d", longAt, round, key, g, added, w)
						}
						continue
					}
					if !added || int(g) != len(order) {
						t.Fatalf("longAt %d round %d: new key %q got group %d (added %v), want %d", longAt, round, key, g, added, len(order))
					}
					want[key] = g
					order = append(order, key)
				}
				for g, key := range order {
					if got := string(tab.key(uint32(g))); got != key {
						t.Fatalf("group %d holds %q, want %q", g, got, key)
					}
				}
				if wide := longAt < 0; tab.wide != wide && round == 0 {
					t.Errorf("longAt %d: wide %v, want %v", longAt, tab.wide, wide)
				}
				tab.reset()
			}
		}
	}
}
