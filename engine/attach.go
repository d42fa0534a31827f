package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/sorter"
	"github.com/gdask/gdask/plan"
)

// attachSource runs a plan.Attach: the main rows and each part's come in
// key order, one row per key and the same keys (sorted aggregates of the
// same input), and each main row goes on with each part's last column
// beside it. The parts run on goroutines of their own and hand their rows
// over through small channels, so all of them stream at once and hold no
// more than a few batches each.
type attachSource struct {
	r      *runner
	main   *rowStream
	parts  []*rowStream
	keys   int
	schema plan.Schema
}

func (a *attachSource) Morsels() int                { return 1 }
func (a *attachSource) Ordered() bool               { return true }
func (a *attachSource) Schema() (plan.Schema, bool) { return a.schema, true }
func (a *attachSource) Close() error                { return nil }

// partRows are a batch of a part's rows, compacted: each row's keys in
// sort order encoding (sorter.Encoder.Order), back to back in arena and
// ending at ends, and its last column.
type partRows struct {
	arena []byte
	ends  []int
	vals  []int64
	nulls []bool
}

// key is row i's keys.
func (p *partRows) key(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.arena[start:p.ends[i]]
}

// errAttach says the main rows and a part's did not line up: their keys
// differ where they should be equal.
var errAttach = errors.New("the groups of two passes over the input do not line up")

func (a *attachSource) Run(ctx context.Context, _, _ int, push func(*exec.Batch) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workers := a.r.env.Workers
	byKeys := make([]plan.SortKey, a.keys)
	for i := range byKeys {
		byKeys[i] = plan.SortKey{Col: i}
	}
	chans := make([]chan *partRows, len(a.parts))
	errs := make([]error, len(a.parts))
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, ps := range a.parts {
		ch := make(chan *partRows, 2)
		chans[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			enc := sorter.NewEncoder(sorter.Spec{Keys: byKeys})
			last := len(ps.schema) - 1
			sink := newOrderedSink(2*workers, -1)
			sink.down = func(b *exec.Batch) error {
				rows := &partRows{ends: make([]int, 0, b.N), vals: make([]int64, 0, b.N), nulls: make([]bool, 0, b.N)}
				v := b.Cols[last]
				for r := range b.N {
					rows.arena = append(rows.arena, enc.Order(b, r)...)
					rows.ends = append(rows.ends, len(rows.arena))
					null := v == nil || v.Nulls[r]
					rows.nulls = append(rows.nulls, null)
					var x int64
					if !null {
						x = v.Ints[r]
					}
					rows.vals = append(rows.vals, x)
				}
				select {
				case ch <- rows:
					return nil
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			if errs[i] = a.r.drain(ctx, ps, sink, -1, sink); errs[i] != nil {
				cancel(errs[i])
			}
		}()
	}

	cur := make([]*partRows, len(a.parts))
	at := make([]int, len(a.parts))
	// next returns part i's next row, false when it has none left.
	next := func(i int) (key []byte, val int64, null, ok bool) {
		for cur[i] == nil || at[i] == len(cur[i].ends) {
			rows, ok := <-chans[i]
			if !ok {
				return nil, 0, false, false
			}
			cur[i], at[i] = rows, 0
		}
		j := at[i]
		at[i]++
		return cur[i].key(j), cur[i].vals[j], cur[i].nulls[j], true
	}
	enc := sorter.NewEncoder(sorter.Spec{Keys: byKeys})
	nmain := len(a.main.schema)
	out := &exec.Batch{}
	cols := make([]*plan.Vector, 0, len(a.schema))
	vecs := make([]*plan.Vector, len(a.parts))
	for i := range vecs {
		vecs[i] = &plan.Vector{}
	}
	sink := newOrderedSink(2*workers, -1)
	sink.down = func(b *exec.Batch) error {
		for i := range vecs {
			vecs[i].Reset(a.schema[nmain+i].Type, b.N)
		}
		for r := range b.N {
			key := enc.Order(b, r)
			for i, v := range vecs {
				k, x, null, ok := next(i)
				if !ok || !bytes.Equal(k, key) {
					return errAttach
				}
				v.Nulls[r] = null
				v.Ints[r] = x
			}
		}
		*out = *b
		cols = append(append(cols[:0], b.Cols[:nmain]...), vecs...)
		out.Cols = cols
		return push(out)
	}
	err := a.r.drain(ctx, a.main, sink, -1, sink)
	if err == nil {
		for i := range a.parts {
			if _, _, _, ok := next(i); ok {
				err = errAttach // a part has keys the main rows lack
				break
			}
		}
	}
	cancel(err)
	for _, ch := range chans {
		for range ch { // the part's goroutine ends once it cannot send
		}
	}
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) && (err == nil || errors.Is(err, context.Canceled)) {
			err = e // the part's own error, not the cancellation it caused
		}
	}
	if errors.Is(err, errAttach) {
		return fmt.Errorf("%w: a key column whose values changed type part way? Give --nunique a groupby of its own", err)
	}
	return err
}
