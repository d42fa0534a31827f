package engine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// The seed file: pandas' to_csv of the seed program's 1,000,000 rows.
const seedSHA256 = "63e5e613459a3c0ef979555e4256ba2f78b3eb1f33aad091f126072aa9d85244"

func TestGenerateSeedBytes(t *testing.T) {
	var buf bytes.Buffer
	if err := Generate(context.Background(), &buf, 1_000_000, 100, 3, nil); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if got := hex.EncodeToString(sum[:]); got != seedSHA256 {
		t.Fatalf("sha256 = %s, want %s", got, seedSHA256)
	}
}

// GenerateAt, which writes blocks in parallel at computed offsets, writes
// exactly Generate's bytes for every size, category count and worker count.
func TestGenerateAtMatchesGenerate(t *testing.T) {
	dir := t.TempDir()
	for _, rows := range []int64{0, 1, 3, genBlockRows - 1, genBlockRows, genBlockRows + 1, 5*genBlockRows + 7} {
		for _, cats := range []int64{1, 7, 100, 1 << 17} {
			for _, workers := range []int{1, 2, 3, 8} {
				var want bytes.Buffer
				if err := Generate(context.Background(), &want, rows, cats, workers, nil); err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, "g.csv")
				f, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := GenerateAt(context.Background(), f, rows, cats, workers, nil); err != nil {
					t.Fatal(err)
				}
				f.Close()
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want.Bytes()) {
					t.Fatalf("rows=%d cats=%d workers=%d: GenerateAt wrote %d bytes differing from Generate's %d", rows, cats, workers, len(got), want.Len())
				}
			}
		}
	}
}
