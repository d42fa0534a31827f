package spill

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

type entry struct {
	hash       uint64
	key, state []byte
}

func newTestDir(t testing.TB, fsys FS) *Dir {
	t.Helper()
	d, err := NewDir(fsys, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func randBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(16)) // compressible, like real keys
	}
	return b
}

func randEntries(r *rand.Rand, n int) []entry {
	es := make([]entry, n)
	for i := range es {
		klen, slen := r.IntN(40), r.IntN(30)
		if r.IntN(2000) == 0 {
			klen = 40<<10 + r.IntN(60<<10) // longer than a block
		}
		es[i] = entry{hash: r.Uint64(), key: randBytes(r, klen), state: randBytes(r, slen)}
	}
	return es
}

func encodedSize(e entry) int64 {
	var tmp [binary.MaxVarintLen64]byte
	return int64(binary.PutUvarint(tmp[:], uint64(len(e.key))) + len(e.key) +
		binary.PutUvarint(tmp[:], uint64(len(e.state))) + len(e.state) + 8)
}

func writeRun(t testing.TB, d *Dir, bits, shift uint, es []entry) *Run {
	t.Helper()
	w, err := d.NewRun(bits, shift)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, e := range es {
		if err := w.Add(e.hash, e.key, e.state); err != nil {
			t.Fatal(err)
		}
	}
	run, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func readPartition(t testing.TB, run *Run, p int) []entry {
	t.Helper()
	rd, err := run.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var got []entry
	for rd.Next() {
		h, k, s := rd.Entry()
		got = append(got, entry{h, bytes.Clone(k), bytes.Clone(s)})
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRunRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	es := randEntries(r, 20000)
	d := newTestDir(t, nil)
	for bits := uint(0); bits <= MaxBits; bits++ {
		for _, shift := range []uint{0, 13, 64 - bits} {
			t.Run(fmt.Sprintf("bits=%d/shift=%d", bits, shift), func(t *testing.T) {
				run := writeRun(t, d, bits, shift, es)
				defer run.Remove()
				if run.Bits() != bits || run.Shift() != shift || run.Partitions() != 1<<bits {
					t.Fatalf("Bits, Shift, Partitions = %d, %d, %d", run.Bits(), run.Shift(), run.Partitions())
				}
				want := make([][]entry, 1<<bits)
				sizes := make([]int64, 1<<bits)
				for _, e := range es {
					p := int(e.hash>>shift) & (1<<bits - 1)
					want[p] = append(want[p], e)
					sizes[p] += encodedSize(e)
				}
				// Read the partitions concurrently, as the engine's merge does.
				var wg sync.WaitGroup
				for p := range want {
					wg.Go(func() {
						got := readPartition(t, run, p)
						if run.Len(p) != int64(len(want[p])) || run.Size(p) != sizes[p] {
							t.Errorf("partition %d: Len, Size = %d, %d, want %d, %d", p, run.Len(p), run.Size(p), len(want[p]), sizes[p])
						}
						if len(got) != len(want[p]) {
							t.Errorf("partition %d: %d entries, want %d", p, len(got), len(want[p]))
							return
						}
						for i := range got {
							g, w := got[i], want[p][i]
							if g.hash != w.hash || !bytes.Equal(g.key, w.key) || !bytes.Equal(g.state, w.state) {
								t.Errorf("partition %d entry %d: got %x/%d/%d, want %x/%d/%d", p, i, g.hash, len(g.key), len(g.state), w.hash, len(w.key), len(w.state))
								return
							}
						}
					})
				}
				wg.Wait()
			})
		}
	}
	if d.Bytes() == 0 {
		t.Error("Dir.Bytes = 0 after writing runs")
	}
	assertEmpty(t, d.Path())
}

func TestRunEmpty(t *testing.T) {
	d := newTestDir(t, nil)
	run := writeRun(t, d, 3, 0, nil)
	for p := range run.Partitions() {
		if run.Len(p) != 0 || run.Size(p) != 0 {
			t.Errorf("partition %d: Len, Size = %d, %d", p, run.Len(p), run.Size(p))
		}
		if got := readPartition(t, run, p); len(got) != 0 {
			t.Errorf("partition %d: %d entries", p, len(got))
		}
	}
	if err := run.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := run.Remove(); err != nil {
		t.Fatalf("second Remove: %v", err)
	}
	assertEmpty(t, d.Path())
}

func TestRunBadArgs(t *testing.T) {
	d := newTestDir(t, nil)
	for _, c := range []struct{ bits, shift uint }{{9, 0}, {8, 57}} {
		if _, err := d.NewRun(c.bits, c.shift); err == nil {
			t.Errorf("NewRun(%d, %d): no error", c.bits, c.shift)
		}
	}
}

// TestRunCorrupt: a changed spill file is an error naming the directory, not
// a panic or wrong data.
func TestRunCorrupt(t *testing.T) {
	d := newTestDir(t, nil)
	r := rand.New(rand.NewPCG(3, 4))
	run := writeRun(t, d, 0, 0, randEntries(r, 5000))
	data, err := os.ReadFile(run.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{0, 20, len(data) / 2, len(data) - 3} {
		bad := bytes.Clone(data)
		bad[off] ^= 0x55
		if err := os.WriteFile(run.name, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		rd, err := run.Open(0)
		if err != nil {
			t.Fatal(err)
		}
		for rd.Next() {
		}
		err = rd.Err()
		rd.Close()
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte("cannot read spill file in "+d.Path())) {
			t.Errorf("flipped byte %d: err = %v", off, err)
		}
	}
	if err := os.WriteFile(run.name, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	rd, _ := run.Open(0)
	for rd.Next() {
	}
	if rd.Err() == nil {
		t.Error("truncated file: no error")
	}
	rd.Close()
}

// TestDirConcurrent: workers spill into one Dir at once (run with -race).
func TestDirConcurrent(t *testing.T) {
	d := newTestDir(t, nil)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 9))
			es := randEntries(r, 2000)
			for range 3 {
				run := writeRun(t, d, 2, 5, es)
				n := 0
				for p := range run.Partitions() {
					n += len(readPartition(t, run, p))
				}
				if n != len(es) {
					t.Errorf("worker %d: read %d entries, want %d", w, n, len(es))
				}
				run.Remove()
				_ = d.Bytes()
			}
		})
	}
	wg.Wait()
	assertEmpty(t, d.Path())
}

// TestRunAddAllocs: Add does not allocate per entry once its partition
// buffers exist.
func TestRunAddAllocs(t *testing.T) {
	d := newTestDir(t, nil)
	w, err := d.NewRun(4, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	key, state := []byte("some-group-key-0001"), make([]byte, 24)
	r := rand.New(rand.NewPCG(5, 6))
	const perRun = 10000
	allocs := testing.AllocsPerRun(20, func() {
		for range perRun {
			if err := w.Add(r.Uint64(), key, state); err != nil {
				t.Fatal(err)
			}
		}
	})
	// About 500 blocks are written per run, each costing the s2 writer's
	// sync.Pool an interface conversion; anything per entry would be >= 10000.
	if allocs > perRun/10 {
		t.Errorf("%v allocations per %d Adds", allocs, perRun)
	}
}

func assertEmpty(t testing.TB, dir string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		t.Errorf("left in %s: %s", dir, de.Name())
	}
}

// TestRunRepartition: the engine's recursion, splitting one partition of a
// run again on the next hash bits.
func TestRunRepartition(t *testing.T) {
	d := newTestDir(t, nil)
	es := randEntries(rand.New(rand.NewPCG(8, 8)), 10000)
	run := writeRun(t, d, 2, 0, es)
	const p = 3
	w, err := d.NewRun(3, run.Shift()+run.Bits())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range readPartition(t, run, p) {
		if err := w.Add(e.hash, e.key, e.state); err != nil {
			t.Fatal(err)
		}
	}
	sub, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	run.Remove()
	n := 0
	for q := range sub.Partitions() {
		for _, e := range readPartition(t, sub, q) {
			if e.hash&3 != p || int(e.hash>>2&7) != q {
				t.Fatalf("hash %x in partition %d/%d", e.hash, p, q)
			}
			n++
		}
	}
	want := 0
	for _, e := range es {
		if e.hash&3 == p {
			want++
		}
	}
	if n != want {
		t.Errorf("%d entries after repartitioning, want %d", n, want)
	}
}

// TestRunBadRecords: records that decompress fine but do not parse are an
// error, never a panic or a huge allocation.
func TestRunBadRecords(t *testing.T) {
	d := newTestDir(t, nil)
	for _, raw := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // uvarint overflow
		{0xff, 0xff, 0xff, 0xff, 0x0f, 'k'},                                // key longer than the stream
		{1, 'k', 0xff, 0xff, 0x7f, 's'},                                    // state longer than the stream
		{1, 'k', 0, 1, 2, 3},                                               // hash cut short
		{0x80},                                                             // uvarint cut short
	} {
		w, err := newWriter(d, "run", 1)
		if err != nil {
			t.Fatal(err)
		}
		// addRow's length prefix makes the stream one byte longer than raw;
		// the reader must not need it.
		if err := w.addRow(raw); err != nil {
			t.Fatal(err)
		}
		if err := w.close(); err != nil {
			t.Fatal(err)
		}
		s := w.streams[0]
		run := &Run{d: d, name: w.f.Name(), parts: []stream{s}}
		rd, err := run.Open(0)
		if err != nil {
			t.Fatal(err)
		}
		rd.rd.ensure(1)
		rd.rd.r++ // skip addRow's length prefix
		rd.rd.left--
		for rd.Next() {
		}
		if err := rd.Err(); !errors.Is(err, errCorrupt) {
			t.Errorf("%x: err = %v", raw, err)
		}
		rd.Close()
		run.Remove()
	}
}

func TestRunWriterAfterClose(t *testing.T) {
	d := newTestDir(t, nil)
	w, err := d.NewRun(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(1, nil, nil); err == nil {
		t.Error("Add after Close: no error")
	}
	if _, err := w.Close(); err == nil {
		t.Error("second Close: no error")
	}
}
