package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gdask/gdask/engine/exec"
)

// genBlockRows is how many rows one generation task formats.
const genBlockRows = 1 << 16

// Generate writes the seed program's data set to w: a header id,category,value
// and rows `i,cat_{i % categories},{float(i % 1000)}`, formatted exactly as
// pandas' to_csv(index=False) formats them (7.0, not 7). Workers format
// blocks of rows in parallel; blocks are written in order. Each block is a
// morsel of operator 0 on ev (nil: nobody listens), its bytes and rows in
// its EvMorselEnd.
func Generate(ctx context.Context, w io.Writer, rows, categories int64, workers int, ev exec.Events) error {
	ev = orNoEvents(ev)
	g, err := newGenerator(rows, categories)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, genHeader); err != nil {
		return err
	}
	workers = max(workers, 1)
	// One result channel per worker; the writer takes blocks in order.
	results := make([]chan []byte, workers)
	free := make(chan []byte, 2*workers)
	for i := range results {
		results[i] = make(chan []byte, 1)
	}
	for range 2 * workers {
		free <- nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wk := range workers {
		go func() {
			for b := wk; b < g.blocks; b += workers {
				var buf []byte
				select {
				case buf = <-free:
				case <-ctx.Done():
					return
				}
				start := time.Now()
				ev.Event(exec.Event{Kind: exec.EvMorselStart, Worker: wk, Morsel: b, At: start})
				buf = g.block(buf[:0], b)
				ev.Event(exec.Event{Kind: exec.EvMorselEnd, Worker: wk, Morsel: b, RowsOut: g.blockRows(b), Bytes: int64(len(buf)),
					Dur: time.Since(start), At: time.Now()})
				select {
				case results[wk] <- buf:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for b := range g.blocks {
		var buf []byte
		select {
		case buf = <-results[b%workers]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		free <- buf
	}
	return ctx.Err()
}

// GenerateAt writes the same bytes as Generate into a file with WriteAt, each
// worker writing the blocks it formats. A block's offset is known once the
// block before it is formatted, so the chain of offsets is passed along
// from block to block while formatting and writing run on every core: on a
// fresh page cache the kernel's cost of taking new pages is spread too.
// Events as Generate's.
func GenerateAt(ctx context.Context, w io.WriterAt, rows, categories int64, workers int, ev exec.Events) error {
	ev = orNoEvents(ev)
	g, err := newGenerator(rows, categories)
	if err != nil {
		return err
	}
	if _, err := w.WriteAt([]byte(genHeader), 0); err != nil {
		return err
	}
	// starts[b] receives block b's offset from the worker of block b-1.
	starts := make([]chan int64, g.blocks+1)
	for i := range starts {
		starts[i] = make(chan int64, 1)
	}
	starts[0] <- int64(len(genHeader))
	return exec.Parallel(ctx, workers, workers, func(ctx context.Context, _, wk int) error {
		var buf []byte
		for b := wk; b < g.blocks; b += max(workers, 1) {
			start := time.Now()
			ev.Event(exec.Event{Kind: exec.EvMorselStart, Worker: wk, Morsel: b, At: start})
			buf = g.block(buf[:0], b)
			var at int64
			select {
			case at = <-starts[b]:
			case <-ctx.Done():
				return ctx.Err()
			}
			starts[b+1] <- at + int64(len(buf))
			if _, err := w.WriteAt(buf, at); err != nil {
				return err
			}
			ev.Event(exec.Event{Kind: exec.EvMorselEnd, Worker: wk, Morsel: b, RowsOut: g.blockRows(b), Bytes: int64(len(buf)),
				Dur: time.Since(start), At: time.Now()})
		}
		return nil
	})
}

const genHeader = "id,category,value\n"

type generator struct {
	rows, categories int64
	blocks           int
	cats             [][]byte // ",cat_N," for each category, when few enough
	values           [1000][]byte
}

func newGenerator(rows, categories int64) (*generator, error) {
	if rows < 0 || categories < 1 {
		return nil, fmt.Errorf("BUG: generate rows=%d, categories=%d", rows, categories)
	}
	g := &generator{rows: rows, categories: categories, blocks: int((rows + genBlockRows - 1) / genBlockRows)}
	// Category labels are formatted once, unless there are too many to keep.
	if categories <= 1<<16 {
		g.cats = make([][]byte, categories)
		for i := range g.cats {
			g.cats[i] = []byte(",cat_" + strconv.Itoa(i) + ",")
		}
	}
	for i := range g.values {
		g.values[i] = []byte(strconv.Itoa(i) + ".0\n")
	}
	return g, nil
}

// blockRows is how many rows block b holds.
func (g *generator) blockRows(b int) int64 {
	return min(g.rows-int64(b)*genBlockRows, genBlockRows)
}

// orNoEvents is ev, or NoEvents when nil.
func orNoEvents(ev exec.Events) exec.Events {
	if ev == nil {
		return exec.NoEvents{}
	}
	return ev
}

// block appends the rows of block b to buf.
func (g *generator) block(buf []byte, b int) []byte {
	lo := int64(b) * genBlockRows
	hi := min(lo+genBlockRows, g.rows)
	for i := lo; i < hi; i++ {
		buf = strconv.AppendInt(buf, i, 10)
		if g.cats != nil {
			buf = append(buf, g.cats[i%g.categories]...)
		} else {
			buf = append(buf, ",cat_"...)
			buf = strconv.AppendInt(buf, i%g.categories, 10)
			buf = append(buf, ',')
		}
		buf = append(buf, g.values[i%1000]...)
	}
	return buf
}
