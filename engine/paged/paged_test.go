package paged

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestColumn checks a Column against a slice through growth across pages,
// Reset and reuse: values stay where they were put, new groups start zero,
// and full pages keep their place while the column grows.
func TestColumn(t *testing.T) {
	var c Column[int64]
	var ref []int64
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 2 {
		for c.Len() < 3*pageSize+17 {
			n := c.Len() + 1 + r.IntN(700)
			c.Grow(n)
			for len(ref) < n {
				ref = append(ref, 0)
			}
			if c.Len() != n {
				t.Fatalf("round %d: Len %d after Grow(%d)", round, c.Len(), n)
			}
			for range 50 {
				g := uint32(r.IntN(n))
				v := r.Int64()
				*c.At(g) += v
				ref[g] += v
			}
		}
		for g, want := range ref {
			if got := *c.At(uint32(g)); got != want {
				t.Fatalf("round %d: group %d = %d, want %d", round, g, got, want)
			}
		}
		if m := c.MemBytes(); m < int64(len(ref))*8 {
			t.Fatalf("round %d: MemBytes %d for %d groups", round, m, len(ref))
		}
		before := 1 + len(c.pages) // the first page and the rest
		c.Reset()
		ref = ref[:0]
		if c.Len() != 0 || c.MemBytes() != 0 {
			t.Fatalf("after Reset: Len %d MemBytes %d", c.Len(), c.MemBytes())
		}
		c.Grow(pageSize + 3)
		for g := range uint32(c.Len()) {
			if *c.At(g) != 0 {
				t.Fatalf("reused group %d holds %d, want 0", g, *c.At(g))
			}
		}
		c.Reset()
		if round == 0 && before < 4 {
			t.Fatalf("%d pages for %d groups", before, 3*pageSize)
		}
	}
	// Pointers into full pages survive growth: only the first page moves,
	// and only while it is smaller than a page.
	var d Column[int64]
	d.Grow(pageSize + 1)
	p := d.At(pageSize)
	*p = 7
	d.Grow(10 * pageSize)
	if *d.At(pageSize) != 7 || d.At(pageSize) != p {
		t.Fatal("a full page moved while the column grew")
	}
}

// TestArena stores short strings, strings of every uvarint length size and
// strings longer than a chunk, and reads them all back. After Reset the
// same strings fill the chunks kept, with no new ones.
func TestArena(t *testing.T) {
	var a Arena
	var peak int64
	var chunks int
	for round := range 2 {
		r := rand.New(rand.NewPCG(3, 4))
		var refs []uint64
		var want [][]byte
		total := 0
		for total < 3*chunkSize {
			var n int
			switch r.IntN(20) {
			case 0:
				n = 128 + r.IntN(20000)
			case 1:
				if r.IntN(10) == 0 {
					n = chunkSize + r.IntN(1000) // a chunk of its own
				}
			default:
				n = r.IntN(40)
			}
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			refs = append(refs, a.Add(b))
			want = append(want, b)
			total += n
		}
		for i, ref := range refs {
			if got := a.Get(ref); !bytes.Equal(got, want[i]) {
				t.Fatalf("round %d: string %d: got %d bytes, want %d", round, i, len(got), len(want[i]))
			}
		}
		if m := a.MemBytes(); m < int64(total) {
			t.Fatalf("round %d: MemBytes %d for %d bytes", round, m, total)
		}
		if round == 1 && (a.MemBytes() != peak || len(a.chunks) != chunks) {
			t.Fatalf("refilled after Reset: MemBytes %d in %d chunks, first fill %d in %d", a.MemBytes(), len(a.chunks), peak, chunks)
		}
		peak, chunks = a.MemBytes(), len(a.chunks)
		a.Reset()
	}
	if got := a.Get(a.Add(nil)); len(got) != 0 {
		t.Fatalf("empty string read back as %q", got)
	}
}
