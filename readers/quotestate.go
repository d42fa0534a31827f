package readers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/gdask/gdask/internal/fsname"
)

// QuoteState returns the quote state a serial scan of r has at offset end,
// given state inQuote at offset start (a record start, or any offset whose
// state is known), reading [start, end) in parallel blocks at memory
// speed. Like Split's parity it toggles at every quote; unlike parity it
// also checks that each quote stands where RFC 4180 puts one: an opening
// quote at a field start (after the delimiter, a line end or the quote
// before it), a closing quote before the delimiter, a line end, the quote
// after it, or the end of the input (size). When one does not (a quote
// inside an unquoted field, text after a closing quote), parity and the
// scanner may disagree, and known is false: only a serial scan knows.
func QuoteState(ctx context.Context, r io.ReaderAt, path string, start, end, size int64, inQuote bool, delim byte, workers int) (state, known bool, err error) {
	if end <= start {
		return inQuote, true, nil
	}
	const block = 8 << 20
	nblocks := int((end - start + block - 1) / block)
	stats := make([]quoteStats, nblocks)
	var mu sync.Mutex
	next := 0
	var wg sync.WaitGroup
	errs := make([]error, max(workers, 1))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20+2)
			for {
				mu.Lock()
				b := next
				next++
				mu.Unlock()
				if b >= nblocks || ctx.Err() != nil {
					return
				}
				from := start + int64(b)*block
				if err := stats[b].scan(r, from, min(from+block, end), size, delim, buf); err != nil {
					errs[w] = fmt.Errorf("cannot read %s: %w", fsname.Quote(path), fsname.Cause(err))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return false, false, err
		}
	}
	if err := ctx.Err(); err != nil {
		return false, false, err
	}
	state = inQuote
	for _, st := range stats {
		if (!state && st.irregularOut) || (state && st.irregularIn) {
			return false, false, nil
		}
		if st.quotes%2 == 1 {
			state = !state
		}
	}
	return state, true, nil
}

// quoteStats is what QuoteState learns from one block: its quotes, and
// whether one stands out of place if the block starts outside quotes
// (irregularOut) or inside them (irregularIn).
type quoteStats struct {
	quotes                    int64
	irregularOut, irregularIn bool
}

// scan fills st from the quotes of [from, to), reading one byte either
// side for their neighbours. buf holds at least 3 bytes.
func (st *quoteStats) scan(r io.ReaderAt, from, to, size int64, delim byte, buf []byte) error {
	sep := func(c byte) bool { return c == delim || c == '\n' || c == '\r' || c == '"' }
	step := int64(len(buf) - 2)
	for off := from; off < to; off += step {
		lo := max(off-1, 0)
		hi := min(off+step, to)
		b := buf[:min(hi+1, size)-lo]
		if err := readAt(r, b, lo); err != nil {
			return err
		}
		i := int(off - lo) // b[i] is the byte at off
		n := int(hi - lo)  // b[:n] ends at hi
		for {
			q := bytes.IndexByte(b[i:n], '"')
			if q < 0 {
				break
			}
			i += q
			opensOK := i == 0 && lo == 0 || i > 0 && sep(b[i-1])
			closesOK := i+1 == len(b) && hi == size || i+1 < len(b) && sep(b[i+1])
			if st.quotes%2 == 0 { // an opening quote if the block starts outside quotes
				st.irregularOut = st.irregularOut || !opensOK
				st.irregularIn = st.irregularIn || !closesOK
			} else {
				st.irregularOut = st.irregularOut || !closesOK
				st.irregularIn = st.irregularIn || !opensOK
			}
			st.quotes++
			i++
		}
	}
	return nil
}
