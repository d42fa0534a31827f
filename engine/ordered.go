package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/readers"
)

// morselEnd is how a morsel of an ordered scan ended.
type morselEnd struct {
	err      error // the scan's error, nil at a clean end
	end      int64 // where the scan stopped
	want     int64 // where it should have: the next partition's start; -1 when there is no seam (a chunk, a source's morsel)
	lines    int64 // the lines it spans
	relative bool  // its error's line counts from 0: its first line is the sink's to know
}

// seamError is a partition that ended at end, not where the next began:
// the partitions up to it went out whole, the rest must be split again
// from end, which is on line line.
type seamError struct {
	morsel int
	end    int64
	line   int64
}

func (e *seamError) Error() string {
	return fmt.Sprintf("partition %d ended at %d, not at the next one's start", e.morsel, e.end)
}

// ordered is what an ordered scan needs of its sink.
type ordered interface {
	// startRound says morsels first, first+1, ... follow, the first
	// starting on line line; morsels of an earlier round not yet out are
	// void.
	startRound(first int, line int64)
	// admit waits until morsel m is within the window of morsels that may
	// be read ahead of the one going out.
	admit(ctx context.Context, m int) error
	// endMorsel says morsel m has been read. It returns the error of the
	// morsel going out (its lines made exact), a *seamError, or ErrStop.
	endMorsel(w, m int, e morselEnd) error
}

// orderedSink lets rows out in input order while the workers run ahead: a
// morsel's rows go out as they come when every morsel before it has gone
// (it is the frontier), and wait in memory otherwise, for at most a window
// of morsels. A limit stops the run (exec.ErrStop) once it has its rows.
//
// Rows are either encoded by the workers in the output's format and
// written in order (encoders set), or copied and handed on in order to
// down (the table format, whose widths need every row, and a limit inside
// a chain).
type orderedSink struct {
	window int
	limit  int64 // -1: none
	encs   []*rowEncoder
	w      outWriter
	down   func(*exec.Batch) error

	mu       sync.Mutex
	frontier int
	line     int64 // the frontier morsel's first line
	pending  map[int]*morselRows
	free     [][]byte // buffers of morsels gone out, for the next ones: a steady run allocates none
	out      int64    // rows gone out
	in       int64    // rows given to the sink
	failed   bool     // the round ended: the morsels still running are void
	stopped  bool     // the limit has its rows
	advanced chan struct{}
}

// outWriter is where encoded rows go.
type outWriter interface {
	WriteEncoded(rows []byte, n int64) error
}

// morselRows is a morsel's rows waiting for their turn, and how it ended.
type morselRows struct {
	data    []byte
	ends    []int // per row in data, when there is a limit
	rows    int64
	batches []*exec.Batch
	end     *morselEnd
}

func newOrderedSink(window int, limit int64) *orderedSink {
	return &orderedSink{window: max(window, 1), limit: limit, pending: map[int]*morselRows{}, advanced: make(chan struct{})}
}

func (o *orderedSink) startRound(first int, line int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.frontier, o.line, o.failed = first, line, false
	clear(o.pending)
	o.signal()
}

func (o *orderedSink) signal() {
	close(o.advanced)
	o.advanced = make(chan struct{})
}

func (o *orderedSink) admit(ctx context.Context, m int) error {
	for {
		o.mu.Lock()
		if o.stopped {
			o.mu.Unlock()
			return exec.ErrStop
		}
		if m < o.frontier+o.window || o.failed {
			o.mu.Unlock()
			return nil
		}
		ch := o.advanced
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (o *orderedSink) rowsOf(m int) *morselRows {
	r := o.pending[m]
	if r == nil {
		r = &morselRows{}
		if n := len(o.free); n > 0 {
			r.data, o.free = o.free[n-1][:0], o.free[:n-1]
		}
		o.pending[m] = r
	}
	return r
}

// Consume takes morsel m's rows: out at once when m is the frontier,
// else kept until it is.
func (o *orderedSink) Consume(w, m int, b *exec.Batch) error {
	if o.encs == nil {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.in += int64(b.N)
		switch {
		case o.stopped:
			return exec.ErrStop
		case o.failed:
			return nil
		case m == o.frontier:
			return o.deliverBatch(b)
		}
		r := o.rowsOf(m)
		r.batches = append(r.batches, b.Clone())
		return nil
	}
	enc := o.encs[w]
	data, ends := enc.encode(b, o.limit >= 0)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.in += int64(b.N)
	switch {
	case o.stopped:
		return exec.ErrStop
	case o.failed:
		return nil
	case m == o.frontier:
		return o.write(data, ends, int64(b.N))
	}
	r := o.rowsOf(m)
	base := len(r.data)
	r.data = append(r.data, data...)
	for _, e := range ends {
		r.ends = append(r.ends, base+e)
	}
	r.rows += int64(b.N)
	return nil
}

// write writes n encoded rows (ends: where each ends, with a limit),
// cut at the limit. Called with mu held.
func (o *orderedSink) write(data []byte, ends []int, n int64) error {
	if n == 0 {
		return nil
	}
	if o.limit >= 0 && o.out+n >= o.limit {
		k := o.limit - o.out
		if k > 0 {
			if err := o.w.WriteEncoded(data[:ends[k-1]], k); err != nil {
				return err
			}
		}
		o.out = o.limit
		o.stopped = true
		o.signal()
		return exec.ErrStop
	}
	o.out += n
	return o.w.WriteEncoded(data, n)
}

// deliverBatch hands b on, cut at the limit. Called with mu held.
func (o *orderedSink) deliverBatch(b *exec.Batch) error {
	if b.N == 0 {
		return nil
	}
	if o.limit >= 0 && o.out+int64(b.N) >= o.limit {
		if k := o.limit - o.out; k < int64(b.N) {
			sel := make([]int32, k)
			for i := range sel {
				sel[i] = int32(i)
			}
			b.Compact(sel)
		}
		o.out = o.limit
		o.stopped = true
		o.signal()
		if err := o.down(b); err != nil && !errors.Is(err, exec.ErrStop) {
			return err
		}
		return exec.ErrStop
	}
	o.out += int64(b.N)
	return o.down(b)
}

// flushPending lets out what the frontier morsel has kept so far.
// Called with mu held.
func (o *orderedSink) flushPending(r *morselRows) error {
	if o.encs == nil {
		for _, b := range r.batches {
			if err := o.deliverBatch(b); err != nil {
				return err
			}
		}
		r.batches = nil
		return nil
	}
	err := o.write(r.data, r.ends, r.rows)
	if cap(r.data) > 0 && len(o.free) < o.window+2 {
		o.free = append(o.free, r.data[:0])
	}
	r.data, r.ends, r.rows = nil, r.ends[:0], 0
	return err
}

func (o *orderedSink) EndMorsel(w, m int) error { return nil }

func (o *orderedSink) endMorsel(_, m int, e morselEnd) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.stopped {
		return exec.ErrStop
	}
	if o.failed {
		return nil
	}
	o.rowsOf(m).end = &e
	for {
		r := o.pending[o.frontier]
		if r == nil || r.end == nil {
			return nil
		}
		// Its start is known good: every morsel before it went out.
		if err := o.flushPending(r); err != nil {
			return err
		}
		delete(o.pending, o.frontier)
		end := r.end
		if end.err != nil {
			o.failed = true
			o.signal()
			if end.relative {
				return shiftLines(end.err, o.line)
			}
			return end.err
		}
		if end.want >= 0 && end.end != end.want {
			o.failed = true
			o.signal()
			return &seamError{morsel: o.frontier, end: end.end, line: o.line + end.lines}
		}
		o.line += end.lines
		o.frontier++
		o.signal()
		if next := o.pending[o.frontier]; next != nil {
			if err := o.flushPending(next); err != nil {
				return err
			}
		}
	}
}

// shiftLines makes the line of a scan error that counted lines from 0
// exact: base is the line its partition started on.
func shiftLines(err error, base int64) error {
	var pe *readers.ParseError
	if errors.As(err, &pe) {
		c := *pe
		c.Line += base
		return &c
	}
	var ve *ValueError
	if errors.As(err, &ve) {
		c := *ve
		c.Line += base
		return &c
	}
	return err
}
