package agg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gdask/gdask/plan"
)

var fuzzTypes = [...]plan.Type{plan.Int, plan.Float, plan.String, plan.Null, plan.Bool}

// fuzzRows reads rows from data: a control byte (group, what follows),
// then the value's bytes. Ints are full 64-bit only when no float is in
// the column: an int in a Float batch arrives as float64(i), which would
// make the value depend on the batching for |i| > 2^53.
func fuzzRows(data []byte, in plan.Type) []row {
	var rows []row
	hasFloat := false
	for range 2 {
		rows = rows[:0]
		b := data
		for len(b) > 0 {
			c := b[0]
			b = b[1:]
			x := row{g: uint32(c % 3), pos: uint64(len(rows))*7 + uint64(c>>7)}
			var word uint64
			if len(b) >= 8 {
				word = binary.LittleEndian.Uint64(b)
			}
			switch sel := (c >> 2) % 4; {
			case sel == 0:
				x.v = val{null: true}
			case in == plan.String:
				n := min(int(c>>4), len(b))
				x.v = val{t: plan.String, s: string(b[:n])}
				b = b[n:]
			case in == plan.Bool:
				x.v = val{t: plan.Bool, b: c&0x10 != 0}
			case sel == 1 || sel == 3 && c&0x40 != 0:
				i := int64(word)
				if hasFloat {
					i >>= 11
				}
				if c&0x20 != 0 {
					i %= 1000 // small values collide, sums stay exact
				}
				x.v = iv(i)
				b = b[min(8, len(b)):]
			default:
				f := math.Float64frombits(word)
				if c&0x20 != 0 {
					f = float64(int64(word)%4000) / 8 // fractions, integral floats
				}
				if f != f {
					x.v = val{null: true} // nan is null
				} else {
					x.v = fv(f)
					hasFloat = true
				}
				b = b[min(8, len(b)):]
			}
			rows = append(rows, x)
		}
		if !hasFloat {
			break
		}
	}
	return rows
}

// FuzzStateMerge: any bytes given to MergeState are an error or a state;
// rows split at random and merged in random trees, through MergeGroup and
// the encoding, give exactly the one-pass results.
func FuzzStateMerge(f *testing.F) {
	f.Add([]byte{}, uint8(Sum), uint8(0), uint64(1))
	f.Add([]byte{4, 1, 2, 3, 4, 5, 6, 7, 8, 8, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f}, uint8(Mean), uint8(1), uint64(2))
	f.Add([]byte{0x7c, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 0x2c, 'x', 'y'}, uint8(Max), uint8(2), uint64(3))
	f.Fuzz(func(t *testing.T, data []byte, kind, typ uint8, split uint64) {
		k := Kind(kind % uint8(plan.NumAggKinds))
		in := fuzzTypes[int(typ)%len(fuzzTypes)]
		if _, err := k.ResultType(in); err != nil {
			return
		}
		// Raw bytes as a state, and behind a valid header.
		for _, src := range [][]byte{data, append(appendHeader(nil, k), data...)} {
			a := New(k, in)
			a.Grow(1)
			rest, err := a.MergeState(0, src)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) || !bytes.Equal(rest, src) {
					t.Fatalf("MergeState: error %v, rest %x", err, rest)
				}
				continue
			}
			if len(rest) > len(src) {
				t.Fatalf("rest longer than the input")
			}
			want, _ := collect(a, in, 1, identity(1))
			b := New(k, in)
			b.Grow(1)
			if rest2, err := b.MergeState(0, a.AppendState(nil, 0)); err != nil || len(rest2) != 0 {
				t.Fatalf("re-encoded state: %v, rest %x", err, rest2)
			}
			if got, _ := collect(b, in, 1, identity(1)); got[0].String() != want[0].String() {
				t.Fatalf("re-encoded state gives %v, want %v", got[0], want[0])
			}
		}

		// The bytes as rows.
		rows := fuzzRows(data, in)
		const ngroups = 4 // group 3 never has rows
		r := rand.New(rand.NewPCG(split, split>>32))
		one := New(k, in)
		one.Grow(ngroups)
		feed(r, one, in, rows, identity(ngroups))
		want, wantW := collect(one, in, ngroups, identity(ngroups))
		// Partial sums past MaxFloat64 included: no order matters.
		r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
		got, gotW := splitMerge(t, r, k, in, rows, ngroups)
		if gotW != wantW {
			t.Fatalf("Widened %v, one pass %v", gotW, wantW)
		}
		for g := range want {
			if got[g].t != want[g].t || got[g].String() != want[g].String() {
				t.Fatalf("%v over %v, group %d: merged %v, one pass %v", k, in, g, got[g], want[g])
			}
		}
	})
}
