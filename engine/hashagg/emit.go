package hashagg

import (
	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// aggTable is a hash table of groups with the aggregates' states.
//
// aggs are the states, one per distinct (state, column): a sum and a mean
// of one column share one. outs are the output aggregates in plan order,
// each a state or a view of one (agg.View); results are read from outs,
// everything else (updates, merges, spills) goes to aggs.
type aggTable struct {
	table *groupTable
	aggs  []agg.Agg
	cols  []int // per state: its input column, -1 for count
	outs  []agg.Agg
}

// find returns the group of key (with hash h), adding it, with empty
// states, when new.
func (t *aggTable) find(key []byte, h uint64) (g uint32, added bool) {
	g, added = t.table.find(key, h)
	if added {
		for _, a := range t.aggs {
			a.Grow(t.table.len())
		}
	}
	return g, added
}

func (t *aggTable) memBytes() int64 {
	n := t.table.memBytes()
	for _, a := range t.aggs {
		n += a.MemBytes()
	}
	return n
}

func (t *aggTable) reset() {
	t.table.reset()
	for _, a := range t.aggs {
		a.Reset()
	}
}

// clear empties the table, keeping its slots (groupTable.clear).
func (t *aggTable) clear() {
	t.table.clear()
	for _, a := range t.aggs {
		a.Reset()
	}
}

// resultTypes returns the types t's groups need for each output
// aggregate: the plan's, Float for a column some group widened, and, for
// min, max, first and last over a Null column, what arrived (agg.Typer).
func (t *aggTable) resultTypes(aggs []plan.AggFunc) []plan.Type {
	types := make([]plan.Type, len(aggs))
	for i, f := range aggs {
		types[i] = f.Type
		if ty, ok := t.outs[i].(agg.Typer); ok {
			types[i] = ty.ResultType()
		} else if wd, ok := t.outs[i].(agg.Widener); ok && wd.Widened() {
			types[i] = plan.Float
		}
	}
	return types
}

// widest is the type that holds values of a and b in one output column:
// String over numbers (a Null column that took strings), Float over Int,
// anything over Null.
func widest(a, b plan.Type) plan.Type {
	switch {
	case a == plan.String || b == plan.String:
		return plan.String
	case a == plan.Float || b == plan.Float:
		return plan.Float
	}
	return max(a, b)
}

// emitter turns groups into batches of output rows: the keys, then the
// aggregates, in the Aggregate's schema. Not safe for concurrent use: one
// per goroutine (clone).
type emitter struct {
	agg      *plan.Aggregate
	nkeys    int
	keyTypes []plan.Type // final types of the key columns
	folder   *keyFolder  // nil unless groups with equal numeric keys must be folded
	// final, when not nil, is every aggregate's output type for the whole
	// run: a table's groups are emitted as those types. Otherwise each
	// table's groups go as that table needs (resultTypes), and types
	// collects the widest seen.
	final []plan.Type
	types []plan.Type
	batch exec.Batch
	cols  []plan.Vector
	fs    [][]byte
}

func newEmitter(a *plan.Aggregate, keyTypes []plan.Type, final []plan.Type) *emitter {
	e := &emitter{agg: a, nkeys: len(a.Keys), keyTypes: keyTypes, final: final}
	e.cols = make([]plan.Vector, e.nkeys+len(a.Aggs))
	e.types = make([]plan.Type, len(a.Aggs))
	for i, f := range a.Aggs {
		e.types[i] = f.Type
	}
	return e
}

// clone returns an emitter of the same rows for another goroutine.
func (e *emitter) clone(seed hashSeed) *emitter {
	c := newEmitter(e.agg, e.keyTypes, e.final)
	if e.folder != nil {
		c.folder = newKeyFolder(e.agg, seed, e.keyTypes)
	}
	return c
}

// emit passes every group of t, a batch at a time, to push. Groups whose
// numeric keys are equal values are folded first.
func (e *emitter) emit(t *aggTable, push func(*exec.Batch) error) error {
	if e.folder != nil {
		t = e.folder.fold(t)
	}
	types := e.final
	if types == nil {
		types = t.resultTypes(e.agg.Aggs)
		for i, ty := range types {
			e.types[i] = widest(e.types[i], ty)
		}
	}
	n := t.table.len()
	b := &e.batch
	for lo := 0; lo < n; lo += plan.BatchSize {
		hi := min(lo+plan.BatchSize, n)
		m := hi - lo
		b.Reset(len(e.cols))
		b.N = m
		for k := range e.nkeys {
			e.cols[k].Reset(e.keyTypes[k], m)
		}
		for i, ty := range types {
			if ty == plan.Null {
				ty = plan.String // a column no value reached: every row null
			}
			e.cols[e.nkeys+i].Reset(ty, m)
		}
		for r := range m {
			g := uint32(lo + r)
			e.fs = splitKey(e.fs[:0], t.table.key(g), e.nkeys)
			for k, f := range e.fs {
				setKey(&e.cols[k], r, f)
			}
			for i, a := range t.outs {
				a.Result(g, &e.cols[e.nkeys+i], r)
			}
		}
		for c := range e.cols {
			b.Cols[c] = &e.cols[c]
		}
		if err := push(b); err != nil {
			return err
		}
	}
	return nil
}

// setKey stores a key's value: a number of a numeric column, which then
// prints as its type prints numbers, or the text of a string column.
func setKey(v *plan.Vector, r int, f []byte) {
	if f == nil {
		v.Nulls[r] = true
		return
	}
	switch v.Type {
	case plan.Int:
		_, i, _ := readers.ParseNumber(f)
		v.Ints[r] = i
	case plan.Float:
		kind, i, fl := readers.ParseNumber(f)
		if kind == readers.KindInt {
			fl = float64(i)
		}
		if fl == 0 {
			fl = 0 // -0.0 is 0.0
		}
		v.Floats[r] = fl
	default:
		v.Strs[r] = f
	}
}
