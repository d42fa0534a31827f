package cluster

import (
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"testing"
)

// The figures that matter are MB/s of state: a merge of 16 shards must
// go at 200 MB/s or more overall, so framing, checking and reading a
// state file must cost a small part of that.

const benchBody = 64 << 20

// BenchmarkCRC32C is the checksum alone, over blocks of the default size.
func BenchmarkCRC32C(b *testing.B) {
	buf := randBytes(rand.New(rand.NewPCG(1, 1)), DefaultBlockSize)
	b.SetBytes(int64(len(buf)))
	var crc uint32
	for b.Loop() {
		crc = crc32.Update(crc, castagnoli, buf)
	}
}

// BenchmarkWrite writes a state file of 64 MiB in writes of 64 KiB,
// Commit (fsync and rename) included.
func BenchmarkWrite(b *testing.B) {
	dir := b.TempDir()
	chunk := randBytes(rand.New(rand.NewPCG(1, 1)), 64<<10)
	b.SetBytes(benchBody)
	for b.Loop() {
		w, err := Create(dir, testPlan, 0, 1, SortedRun)
		if err != nil {
			b.Fatal(err)
		}
		for range benchBody / len(chunk) {
			w.Write(chunk)
		}
		if err := w.Commit(testUnits, 1, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteAbort is BenchmarkWrite without the Commit: framing and
// checksums and the writes into the page cache, without the fsync.
func BenchmarkWriteAbort(b *testing.B) {
	dir := b.TempDir()
	chunk := randBytes(rand.New(rand.NewPCG(1, 1)), 64<<10)
	b.SetBytes(benchBody)
	for b.Loop() {
		w, err := Create(dir, testPlan, 0, 1, SortedRun)
		if err != nil {
			b.Fatal(err)
		}
		for range benchBody / len(chunk) {
			w.Write(chunk)
		}
		w.Abort()
	}
}

func benchFile(b *testing.B) string {
	rng := rand.New(rand.NewPCG(1, 1))
	return writeState(b, rng, b.TempDir(), testPlan, 0, 1, SortedRun, DefaultBlockSize, randBytes(rng, benchBody), testUnits)
}

// BenchmarkVerify checks a 64 MiB state file whole (in the page cache).
func BenchmarkVerify(b *testing.B) {
	path := benchFile(b)
	b.SetBytes(benchBody)
	for b.Loop() {
		if _, err := Verify(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads the body in reads of 32 KiB (bufio's size, through
// the Reader's block buffer).
func BenchmarkRead(b *testing.B) {
	path := benchFile(b)
	buf := make([]byte, 32<<10)
	b.SetBytes(benchBody)
	for b.Loop() {
		readBody(b, path, buf)
	}
}

// BenchmarkWriteTo copies the body out a block at a time (io.Copy).
func BenchmarkWriteTo(b *testing.B) {
	path := benchFile(b)
	b.SetBytes(benchBody)
	for b.Loop() {
		r, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

// BenchmarkMerge16 is what this package costs a merge of 16 shards of
// 16 MiB: Status with every body checked, then each body read whole.
func BenchmarkMerge16(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	dir := b.TempDir()
	const n, size = 16, 16 << 20
	for i := range n {
		writeState(b, rng, dir, testPlan, i, n, AggregateStates, DefaultBlockSize, randBytes(rng, size), testUnits)
	}
	b.SetBytes(n * size)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		rep, err := Status(dir, n, testPlan, func(int) []Unit { return testUnits }, true)
		if err != nil || rep.Err() != nil {
			b.Fatal(err, rep.Err())
		}
		for i := range n {
			readBody(b, Path(dir, i, n), buf)
		}
	}
}

// BenchmarkReadFile is the floor: the same file read with os.File.Read.
func BenchmarkReadFile(b *testing.B) {
	path := benchFile(b)
	buf := make([]byte, DefaultBlockSize)
	b.SetBytes(benchBody)
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := f.Read(buf)
			if err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

// readBody reads the body of the state file at path through buf.
func readBody(b *testing.B, path string, buf []byte) {
	r, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	for {
		_, err := r.Read(buf)
		if err == io.EOF {
			return
		} else if err != nil {
			b.Fatal(err)
		}
	}
}
