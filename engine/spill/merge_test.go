package spill

import (
	"cmp"
	"slices"
	"testing"
)

// A Merge gives every item of its sources in order, ties to the lower
// source, whatever their Keys: items whose 16 bytes are all ones (which a
// finished source's Key also has) come before the sources end, and items
// with equal Keys are ordered by cmp.
func TestMergeOrder(t *testing.T) {
	type item struct {
		hi, lo uint64
		tail   int // what cmp compares when the Keys tie
	}
	const top = ^uint64(0)
	sources := [][]item{
		{{0, 1, 0}, {top, top, 1}, {top, top, 2}},
		{},
		{{0, 1, 0}, {5, 0, 0}, {top, top, 0}},
		{{top, top, 1}},
		{{0, 0, 3}, {5, 0, 0}, {top, top - 1, 0}},
	}
	next := make([]int, len(sources))
	key := func(i int) Key {
		if next[i] == len(sources[i]) {
			return Key{Done: true}
		}
		it := sources[i][next[i]]
		return Key{Hi: it.hi, Lo: it.lo}
	}
	m := NewMerge(len(sources), key, func(a, b int) int {
		return cmp.Compare(sources[a][next[a]].tail, sources[b][next[b]].tail)
	})
	type got struct {
		item
		src int
	}
	var out []got
	for {
		w, ok := m.Winner()
		if !ok {
			break
		}
		out = append(out, got{sources[w][next[w]], w})
		next[w]++
		m.Advance(key(w))
	}
	var want []got
	for s, items := range sources {
		for _, it := range items {
			want = append(want, got{it, s})
		}
	}
	slices.SortStableFunc(want, func(a, b got) int {
		return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.tail, b.tail), cmp.Compare(a.src, b.src))
	})
	if !slices.Equal(out, want) {
		t.Fatalf("merged\n%v\nwant\n%v", out, want)
	}
}
