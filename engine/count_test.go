package engine

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// countOf counts the records of paths (readers.Stdin reads stdin).
func countOf(t *testing.T, cfg Config, paths ...string) (int64, error) {
	t.Helper()
	ds, err := Open(context.Background(), &cfg, paths)
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	in, err := ds.Schema()
	if err != nil {
		return 0, err
	}
	rows, _, err := tryRows(ds, plan.Optimize(plan.NewCount(plan.NewScan(paths, in))))
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(rows[0], 10, 64)
}

// serialCount counts the records of a file's data by scanning it whole.
func serialCount(data []byte) (int64, error) {
	d := readers.DefaultDialect()
	sc := readers.NewBytesScanner(data, d, "ref.csv", 0, 1)
	var n int64
	for sc.Next() {
		n++
	}
	return n - 1, sc.Err() // less the header
}

// A file's count is a serial count whatever its final byte, with and
// without a final newline: on the splitter's fast path (a plain file) and
// on the scanning path (a file with a quote), and from a stream.
func TestCountEveryFinalByte(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.csv")
	for _, quoted := range []bool{false, true} {
		for _, newline := range []bool{false, true} {
			for b := range 256 {
				var data bytes.Buffer
				data.WriteString("a\n1\n")
				if quoted {
					data.WriteString("\"q\"\n")
				}
				data.WriteString("2")
				data.WriteByte(byte(b))
				if newline {
					data.WriteByte('\n')
				}
				name := fmt.Sprintf("quoted=%v newline=%v final=%#02x", quoted, newline, b)
				want, wantErr := serialCount(data.Bytes())
				if err := os.WriteFile(path, data.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				for _, workers := range []int{1, 3} {
					cfg := DefaultConfig()
					cfg.Workers = workers
					got, err := countOf(t, cfg, path)
					if (err != nil) != (wantErr != nil) || got != want {
						t.Fatalf("%s workers=%d: file count %d (%v), serial %d (%v)", name, workers, got, err, want, wantErr)
					}
					cfg.Stdin = bytes.NewReader(data.Bytes())
					got, err = countOf(t, cfg, readers.Stdin)
					if (err != nil) != (wantErr != nil) || got != want {
						t.Fatalf("%s workers=%d: stream count %d (%v), serial %d (%v)", name, workers, got, err, want, wantErr)
					}
				}
			}
		}
	}
}
