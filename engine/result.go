package engine

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
)

// Result is a groupby's answer: the output schema (types final) and its
// rows in output order, read once with Each.
type Result struct {
	Schema plan.Schema
	limit  int64 // -1: none

	// In memory: rows in one arena and sorted offsets, or the sorted rows
	// of each part (see parts.go). Spilled: a sorter.
	parts  []sortedRows
	arena  []byte
	ends   []int
	order  []int32
	sorter *spill.Sorter
	dir    *spillState // removed by Close
}

// InMemory reports whether every row is in memory, so that Each can fail
// only by fn's errors.
func (r *Result) InMemory() bool { return r.sorter == nil }

// Close removes the run's spill files. Call it once the rows are written.
func (r *Result) Close() error {
	if r.dir != nil {
		return r.dir.close()
	}
	return nil
}

// Each calls fn with every output row in order: fields are text, nil for
// null, valid only during the call. It returns the number of rows.
func (r *Result) Each(fn func(fields [][]byte) error) (int64, error) {
	dec := &rowDecoder{schema: r.Schema}
	var n int64
	emit := func(row []byte) (bool, error) {
		if r.limit >= 0 && n >= r.limit {
			return false, nil
		}
		n++
		return true, fn(dec.decode(row))
	}
	if r.parts != nil {
		return n, r.eachMerged(emit)
	}
	if r.sorter == nil {
		for _, i := range r.order {
			start := 0
			if i > 0 {
				start = r.ends[i-1]
			}
			if more, err := emit(r.arena[start:r.ends[i]]); err != nil || !more {
				return n, err
			}
		}
		return n, nil
	}
	it, err := r.sorter.Sort()
	if err != nil {
		return 0, err
	}
	defer it.Close()
	for it.Next() {
		if more, err := emit(it.Row()); err != nil || !more {
			return n, err
		}
	}
	return n, it.Err()
}

// eachMerged calls emit with the parts' rows in order. A goroutine merges
// the parts and hands the rows over in batches while this one decodes and
// writes them: with millions of rows each half takes about as long as the
// other. Rows are views of the parts' arenas, which nothing changes any
// more.
func (r *Result) eachMerged(emit func(row []byte) (bool, error)) error {
	const batch = 512
	full := make(chan [][]byte, 2)
	free := make(chan [][]byte, 3)
	for range cap(free) {
		free <- make([][]byte, 0, batch)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(full)
		b := <-free
		send := func() bool {
			select {
			case full <- b:
			case <-stop:
				return false
			}
			select {
			case b = <-free:
				b = b[:0]
				return true
			case <-stop:
				return false
			}
		}
		mergeParts(r.parts, func(row []byte) (bool, error) {
			if b = append(b, row); len(b) == batch {
				return send(), nil
			}
			return true, nil
		})
		if len(b) > 0 {
			send()
		}
	})
	defer wg.Wait()
	defer close(stop)
	for b := range full {
		for _, row := range b {
			if more, err := emit(row); err != nil || !more {
				return err
			}
		}
		free <- b
	}
	return nil
}

// reserve makes room for n rows of a typical size, so add does not copy
// the arena over and over while it grows.
func (r *Result) reserve(n int) {
	r.ends = make([]int, 0, n)
	r.arena = make([]byte, 0, n*48)
}

// add keeps an encoded row in memory.
func (r *Result) add(row []byte) error {
	r.arena = append(r.arena, row...)
	r.ends = append(r.ends, len(r.arena))
	return nil
}

func (r *Result) row(i int32) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.arena[start:r.ends[i]]
}

// sortInMemory orders the rows kept by add with the same comparator the
// spilled path's external sort uses.
func (r *Result) sortInMemory() {
	r.order = make([]int32, len(r.ends))
	for i := range r.order {
		r.order[i] = int32(i)
	}
	slices.SortStableFunc(r.order, func(a, b int32) int {
		return bytes.Compare(orderOf(r.row(a)), orderOf(r.row(b)))
	})
}

// finalSchema is the aggregate's schema with the key types found in the
// data and Float for aggregates that some group widened.
func finalSchema(q *query, e *emitter) plan.Schema {
	s := slices.Clone(q.agg.Schema())
	for k, t := range e.keyTypes {
		s[k].Type = t
	}
	for i := range q.agg.Aggs {
		if e.widened[i] {
			s[e.nkeys+i].Type = plan.Float
		}
	}
	return s
}

// AppendFloat formats f as Python's repr does, which is what pandas and
// Dask print: the shortest text that reads back as f, with ".0" on whole
// numbers, and exponent form outside [1e-4, 1e16).
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
	if bytes.IndexByte(dst[start:], '.') < 0 {
		dst = append(dst, ".0"...)
	}
	return dst
}
