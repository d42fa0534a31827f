package engine

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// genBlockRows is how many rows one generation task formats.
const genBlockRows = 1 << 16

// Generate writes the seed program's data set to w: a header id,category,value
// and rows `i,cat_{i % categories},{float(i % 1000)}`, formatted exactly as
// pandas' to_csv(index=False) formats them (7.0, not 7). Workers format
// blocks of rows in parallel; blocks are written in order.
func Generate(ctx context.Context, w io.Writer, rows, categories int64, workers int, progress *Progress) error {
	if rows < 0 || categories < 1 {
		return fmt.Errorf("BUG: Generate(rows=%d, categories=%d)", rows, categories)
	}
	if _, err := io.WriteString(w, "id,category,value\n"); err != nil {
		return err
	}
	// Category labels are formatted once, unless there are too many to keep.
	var cats [][]byte
	if categories <= 1<<16 {
		cats = make([][]byte, categories)
		for i := range cats {
			cats[i] = []byte(",cat_" + strconv.Itoa(i) + ",")
		}
	}
	var values [1000][]byte
	for i := range values {
		values[i] = []byte(strconv.Itoa(i) + ".0\n")
	}
	nblocks := int((rows + genBlockRows - 1) / genBlockRows)
	workers = max(workers, 1)
	// One result channel per block slot; the writer takes slots in order.
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
			for b := wk; b < nblocks; b += workers {
				var buf []byte
				select {
				case buf = <-free:
				case <-ctx.Done():
					return
				}
				buf = buf[:0]
				lo := int64(b) * genBlockRows
				hi := min(lo+genBlockRows, rows)
				for i := lo; i < hi; i++ {
					buf = strconv.AppendInt(buf, i, 10)
					if cats != nil {
						buf = append(buf, cats[i%categories]...)
					} else {
						buf = append(buf, ",cat_"...)
						buf = strconv.AppendInt(buf, i%categories, 10)
						buf = append(buf, ',')
					}
					buf = append(buf, values[i%1000]...)
				}
				select {
				case results[wk] <- buf:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	for b := range nblocks {
		var buf []byte
		select {
		case buf = <-results[b%workers]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		progress.addDone(int64(len(buf)))
		free <- buf
	}
	return ctx.Err()
}
