package spill

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchEntries are group-by shaped: a short text key and a 16-byte state.
func benchEntries() []entry {
	r := rand.New(rand.NewPCG(1, 1))
	es := make([]entry, 4096)
	for i := range es {
		// A count and a float sum, as the mean aggregate keeps.
		state := binary.LittleEndian.AppendUint64(nil, uint64(r.IntN(1000)))
		state = binary.LittleEndian.AppendUint64(state, math.Float64bits(r.Float64()*1e6))
		es[i] = entry{r.Uint64(), fmt.Appendf(nil, "cat_%07d", r.IntN(10_000_000)), state}
	}
	return es
}

func avgSize(es []entry) int64 {
	var n int64
	for _, e := range es {
		n += encodedSize(e)
	}
	return n / int64(len(es))
}

// mix is splitmix64's finaliser: a cheap stand-in for a key's hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// BenchmarkRunWrite: one op is one Add of a distinct key (as a spilled hash
// table has) with a random hash; MB/s counts uncompressed bytes.
func BenchmarkRunWrite(b *testing.B) {
	for _, bits := range []uint{0, 4, 8} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			es := benchEntries()
			d := newTestDir(b, nil)
			b.SetBytes(avgSize(es))
			b.ReportAllocs()
			w, err := d.NewRun(bits, 0)
			if err != nil {
				b.Fatal(err)
			}
			key := make([]byte, 0, 32)
			for i := 0; b.Loop(); i++ {
				key = strconv.AppendInt(append(key[:0], "cat_"...), int64(i)*7919, 10)
				if err := w.Add(mix(uint64(i)), key, es[i%len(es)].state); err != nil {
					b.Fatal(err)
				}
			}
			run, err := w.Close()
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(d.Bytes())/float64(avgSize(es)*int64(b.N)), "ratio")
			run.Remove()
		})
	}
}

// BenchmarkRunRead: one op is one entry read back; MB/s counts uncompressed
// bytes.
func BenchmarkRunRead(b *testing.B) {
	es := benchEntries()
	d := newTestDir(b, nil)
	const n = 1 << 20
	w, err := d.NewRun(0, 0)
	if err != nil {
		b.Fatal(err)
	}
	key := make([]byte, 0, 32)
	for i := range n {
		key = strconv.AppendInt(append(key[:0], "cat_"...), int64(i)*7919, 10)
		if err := w.Add(mix(uint64(i)), key, es[i%len(es)].state); err != nil {
			b.Fatal(err)
		}
	}
	run, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(run.Size(0) / n)
	b.ReportAllocs()
	rd, err := run.Open(0)
	if err != nil {
		b.Fatal(err)
	}
	var sum uint64
	for b.Loop() {
		if !rd.Next() {
			if err := rd.Err(); err != nil {
				b.Fatal(err)
			}
			rd.Close()
			if rd, err = run.Open(0); err != nil {
				b.Fatal(err)
			}
			rd.Next()
		}
		h, k, _ := rd.Entry()
		sum += h + uint64(len(k))
	}
	rd.Close()
	_ = sum
}

// BenchmarkSorter: 1M rows written as 16 sorted runs, merged and read
// back in order.
func BenchmarkSorter(b *testing.B) {
	es := benchEntries()
	d := newTestDir(b, nil)
	const rows = 1 << 20
	var sorted [][]byte
	for i := range rows {
		sorted = append(sorted, es[i%len(es)].key)
	}
	b.SetBytes(rows * 16)
	b.ReportAllocs()
	for b.Loop() {
		s := d.NewSorter(4<<20, bytes.Compare, nil)
		writeRuns(b, s, sorted, rows/16, bytes.Compare)
		it, err := s.Sort()
		if err != nil {
			b.Fatal(err)
		}
		for it.Next() {
		}
		if err := it.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
