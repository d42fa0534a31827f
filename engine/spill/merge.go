package spill

// Merge is the k-way merge of gdask: a loser tree over k sorted sources,
// which picks the source whose current item comes first with one
// comparison per level of the tree. The items and their sources belong
// to the caller. The tree holds a Key per source, the first 16 bytes of
// the current item's sort key as two integers: most matches are decided
// on them, side by side in the tree, and only a tie on both calls the
// caller's comparison of the whole items. A tie there goes to the lower
// source index, so merging runs that are each stable, in the order they
// were made, is stable.
//
// The external sort below merges its spilled runs with it, and the sort
// operator (engine/sorter) its runs in memory.
//
// A Merge is used by one goroutine.
type Merge struct {
	// tree[1:k] hold the losers of the matches on the way up, tree[0] the
	// winner. Source i's leaf sits below node (i+k)/2.
	tree []int
	keys []Key
	cmp  func(a, b int) int
}

// Key is what the tree knows of a source's current item: the first 16
// bytes of its sort key, big endian, zero padded (or zero, and cmp
// decides every match). A source with no item left is Done.
type Key struct {
	Hi, Lo uint64
	Done   bool
}

// NewMerge starts a merge of k sources at their first items: first
// returns source i's Key. cmp orders the current items of two sources
// whose Keys are equal (negative when a's comes first).
func NewMerge(k int, first func(i int) Key, cmp func(a, b int) int) *Merge {
	m := &Merge{tree: make([]int, max(k, 1)), keys: make([]Key, k), cmp: cmp}
	for i := range m.tree {
		m.tree[i] = -1
	}
	for i := range k {
		m.keys[i] = done(first(i))
		w := i
		for n := (i + k) / 2; n > 0; n /= 2 {
			if m.tree[n] < 0 {
				m.tree[n], w = w, -1
				break
			}
			if m.before(m.tree[n], w) {
				m.tree[n], w = w, m.tree[n]
			}
		}
		if w >= 0 {
			m.tree[0] = w
		}
	}
	return m
}

// done gives a finished source's Key the largest Hi and Lo, so that
// before decides most matches on them alone: Done is looked at only
// when they tie.
func done(k Key) Key {
	if k.Done {
		k.Hi, k.Lo = ^uint64(0), ^uint64(0)
	}
	return k
}

// before reports whether source a's item comes before source b's. A
// finished source comes after every other.
func (m *Merge) before(a, b int) bool {
	ka, kb := &m.keys[a], &m.keys[b]
	if ka.Hi != kb.Hi {
		return ka.Hi < kb.Hi
	}
	if ka.Lo != kb.Lo {
		return ka.Lo < kb.Lo
	}
	if ka.Done || kb.Done {
		return !ka.Done && (kb.Done || a < b)
	}
	c := m.cmp(a, b)
	return c < 0 || c == 0 && a < b
}

// Winner is the source whose current item comes first; false when every
// source is finished.
func (m *Merge) Winner() (int, bool) {
	w := m.tree[0]
	return w, w >= 0 && !m.keys[w].Done
}

// Advance replays the winner's matches once the caller moved it to its
// next item, whose Key is next.
func (m *Merge) Advance(next Key) {
	w := m.tree[0]
	m.keys[w] = done(next)
	k := len(m.keys)
	for n := (w + k) / 2; n > 0; n /= 2 {
		if m.before(m.tree[n], w) {
			m.tree[n], w = w, m.tree[n]
		}
	}
	m.tree[0] = w
}
