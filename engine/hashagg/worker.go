package hashagg

import (
	"time"

	"slices"
	"strconv"

	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
)

// aggWorker is one worker's aggregation state: its hash table (or, once
// that outgrew the cache, its way into the shared parts), the aggregates'
// states for its groups and the scratch it groups a batch with.
// Not safe for concurrent use.
type aggWorker struct {
	a        *Aggregate
	aggTable              // the worker's table, until it joins the shared parts
	shared   *sharedParts // see parts.go
	inShared bool         // the worker adds to the shared parts
	loan     *exec.Loan   // the memory its table holds
	runs     []*spill.Run // tables this worker spilled
	runStart time.Time    // when the run being written started (its EvSpill's Dur)
	// A shard's (shard.go, pass.go): the groups it writes, by partition;
	// how many rows it passed through; the table that makes each passed
	// row's states; whether the worker stopped passing.
	parts      *partBufs
	passedRows int64
	rows       aggTable
	ones       []uint32 // 0, 1, 2, ...: row r is group r
	state      []byte
	noPass     bool
	hasher     keyHasher    // hashes keys by value (keys.go)
	spellings  keySpellings // the key types of the groups it made, and how they were written
	keys       []int        // the keys' columns in the input batches
	multi      bool
	rowKeys    []int // per batch row: end of its key in keyArena
	keyArena   []byte
	hashes     []uint64      // per batch row: its key's hash
	perm       []int32       // batch rows in part order (flushShared)
	permHashes []uint64      // their keys' hashes, in that order
	posPerm    []uint64      // their positions, in that order
	aggCols    []int         // the input columns the aggregates read
	gathered   []plan.Vector // per input ordinal: the aggregated columns in part order
	views      []plan.Vector // per input ordinal: one part's rows of gathered
	groups     []uint32
	needPos    bool         // some aggregate (first, last) orders rows by position
	texts      []*exec.Text // per key: its text in the batch
	keyTexts   []exec.Text  // per key: its text made from its values, for a key column that has none
	keyBytes   []byte       // their bytes
	// Each worker has one, made one after another: the pad keeps this
	// one's fields and the next one's off a common cache line, which two
	// cores would take from each other on every row (false sharing).
	_ [64]byte
}

func newAggWorker(a *Aggregate) *aggWorker {
	w := &aggWorker{a: a, keys: a.agg.Keys, multi: len(a.agg.Keys) > 1, shared: a.sh}
	w.aggTable = newAggTable(a.agg, true)
	for _, c := range w.cols {
		if c >= 0 && !slices.Contains(w.aggCols, c) {
			w.aggCols = append(w.aggCols, c)
		}
	}
	for _, f := range a.agg.Aggs {
		if f.Kind == plan.AggFirst || f.Kind == plan.AggLast {
			w.needPos = true
		}
	}
	keyTypes := make([]plan.Type, len(a.agg.Keys))
	for k, c := range a.agg.Keys {
		keyTypes[k] = a.input[c].Type
	}
	w.hasher = newKeyHasher(a.seed, keyTypes)
	w.spellings = newKeySpellings(keyTypes)
	w.loan = a.env.Broker.NewLoan(a.budget.table)
	return w
}

// newAggTable makes an empty table with the aggregates of a (withMemo:
// see groupTable). An aggregate that can be read from a state already made
// for its column (a mean next to a sum) shares it, so each row updates it
// once. Every table of an aggregate makes the same states in the same
// order, so tables merge state by state.
func newAggTable(a *plan.Aggregate, withMemo bool) aggTable {
	in := a.Child.Schema()
	t := aggTable{table: newGroupTable(withMemo), outs: make([]agg.Agg, len(a.Aggs))}
	// Counts last: a count is read from a sum of any column when there is
	// one (agg.View), so each row updates one cell, not two.
	for _, counts := range []bool{false, true} {
		for o, f := range a.Aggs {
			if (f.Kind == agg.Count) != counts {
				continue
			}
			values := f.Kind == agg.Count && f.Col >= 0 // count(c): its own state
			for i, s := range t.aggs {
				if !values && (t.cols[i] == f.Col || f.Kind == agg.Count) {
					if v, ok := agg.View(s, f.Kind); ok {
						t.outs[o] = v
						break
					}
				}
			}
			if t.outs[o] == nil && values {
				t.outs[o] = agg.NewCountValues()
				t.aggs = append(t.aggs, t.outs[o])
				t.cols = append(t.cols, f.Col)
			}
			if t.outs[o] == nil {
				t.outs[o] = agg.New(f.Kind, in[max(f.Col, 0)].Type)
				t.aggs = append(t.aggs, t.outs[o])
				t.cols = append(t.cols, f.Col)
			}
		}
	}
	return t
}

// consume aggregates the rows of an input batch.
func (w *aggWorker) consume(b *exec.Batch) error {
	n := b.N
	if n == 0 {
		return nil
	}
	var pos []uint64
	if w.needPos {
		pos = b.Pos
	}
	w.keyBytes = w.keyBytes[:0]
	// While the table fits in the cache, a single key is looked up as it
	// is, a row at a time (a key of 7 bytes or fewer first in the table's
	// memo). A bigger table is looked up a batch at a time, in passes.
	if !w.multi && !w.inShared && len(w.table.slots) <= CachedSlots {
		t := w.keyText(b, 0)
		w.groups = plan.Grow(w.groups, n)
		for r := range n {
			key := t.Strs[r]
			if t.Null(r) {
				key = nil
			}
			g, ok := w.table.memoized(key)
			if !ok {
				g = w.groupOf(key, w.hasher.hash(key))
			}
			w.groups[r] = g
		}
	} else {
		w.keyArena, w.rowKeys = w.keyArena[:0], w.rowKeys[:0]
		w.texts = w.texts[:0]
		for k := range w.keys {
			w.texts = append(w.texts, w.keyText(b, k))
		}
		for r := range n {
			for _, t := range w.texts {
				w.keyArena = appendKey(w.keyArena, t.Strs[r], t.Null(r), w.multi)
			}
			w.rowKeys = append(w.rowKeys, len(w.keyArena))
		}
		w.hashes = w.hashes[:0]
		for r := range n {
			w.hashes = append(w.hashes, w.hasher.hash(w.rowKey(int32(r))))
		}
		if w.inShared {
			if w.a.pass.passing.Load() && !w.noPass {
				return w.passBatch(b, n, pos)
			}
			w.flushShared(b, n, pos)
			if w.a.pass.progress != nil && w.a.rowsIn.Load() >= PassThroughAfter {
				w.a.decide()
			}
			if sh := w.shared; !sh.loan.Cover(sh.memBytes()) {
				return w.spillShared()
			}
			return nil
		}
		// Group numbers in three passes: hash every key (above), load the
		// slot each hash starts at, then look the keys up. Once the table
		// is bigger than the cache, a lookup waits on that load and the
		// work after it cannot start; in a pass of nothing but loads the
		// CPU overlaps the misses, and the lookups then find their slots
		// in cache.
		w.table.touch(w.hashes)
		w.groups = plan.Grow(w.groups, n)
		for r := range n {
			w.groups[r] = w.groupOf(w.rowKey(int32(r)), w.hashes[r])
		}
	}
	for i, s := range w.aggs {
		var v *plan.Vector
		if c := w.cols[i]; c >= 0 {
			v = b.Cols[c]
		}
		s.Update(w.groups[:n], v, pos)
	}
	if len(w.table.slots) > CachedSlots {
		w.join() // the table outgrew the cache
		return nil
	}
	if !w.loan.Cover(w.memBytes()) {
		return w.spillTable()
	}
	return nil
}

// rowKey is the encoded key of batch row r.
func (w *aggWorker) rowKey(r int32) []byte {
	start := 0
	if r > 0 {
		start = w.rowKeys[r-1]
	}
	return w.keyArena[start:w.rowKeys[r]]
}

// groupOf returns the group of an encoded key with hash h in the worker's
// table, adding it when new.
func (w *aggWorker) groupOf(key []byte, h uint64) uint32 { return w.groupIn(&w.aggTable, key, h) }

// groupIn returns the group of an encoded key with hash h in t, adding it
// when new.
func (w *aggWorker) groupIn(t *aggTable, key []byte, h uint64) uint32 {
	g, added := t.find(key, h)
	if added {
		// The final key types (numbers sort by value) and whether groups
		// must be folded are known before any output.
		w.spellings.add(key)
	}
	return g
}

// mergeFrom folds every group of o into w's table.
func (w *aggWorker) mergeFrom(o *aggWorker) {
	for g := range uint32(o.table.len()) {
		key := o.table.key(g)
		dst, _ := w.find(key, o.table.hashOf(g))
		for i, s := range w.aggs {
			s.MergeGroup(dst, o.aggs[i], g)
		}
	}
	w.spellings.merge(&o.spellings)
}

// keyText is key k's text in batch b: the input's, or, for a key computed
// by an expression, its values written as the output writes them.
func (w *aggWorker) keyText(b *exec.Batch, k int) *exec.Text {
	c := w.keys[k]
	if c < len(b.Text) && b.Text[c] != nil {
		return b.Text[c]
	}
	if w.keyTexts == nil {
		w.keyTexts = make([]exec.Text, len(w.keys))
	}
	t := &w.keyTexts[k]
	t.Strs = plan.Grow(t.Strs, b.N)
	t.Nulls = plan.Grow(t.Nulls, b.N)
	v := b.Cols[c]
	for r := range b.N {
		t.Nulls[r] = v == nil || v.Type == plan.Null || v.Nulls[r]
		if t.Nulls[r] {
			t.Strs[r] = nil
			continue
		}
		start := len(w.keyBytes)
		switch v.Type {
		case plan.Int:
			w.keyBytes = strconv.AppendInt(w.keyBytes, v.Ints[r], 10)
		case plan.Float:
			w.keyBytes = exec.AppendFloat(w.keyBytes, v.Floats[r])
		case plan.Bool:
			w.keyBytes = strconv.AppendBool(w.keyBytes, v.Bools[r])
		case plan.String:
			w.keyBytes = append(w.keyBytes, v.Strs[r]...)
		}
		t.Strs[r] = w.keyBytes[start:len(w.keyBytes):len(w.keyBytes)]
	}
	return t
}
