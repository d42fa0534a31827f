package agg

import (
	"encoding/binary"
	"fmt"
	"math"
)

// State encoding, shared by spill files and partial results sent between
// machines. Every state is self-delimiting:
//
//	state  = version kind payload
//	version = 0x01            one byte; a reader rejects versions it does not know
//	kind    = Kind            one byte; merging a state of another kind is an error
//
// Integers are varints (encoding/binary: uvarint, zigzag varint), floats
// are 8 bytes little endian (IEEE 754 bits), so the format is the same on
// every machine. Payloads by kind:
//
//	count          uvarint(rows)
//	sum, mean      flags uvarint(n) int floats [highs] [uvarint(rows)]
//	               flags: 1 non-integer seen, 2 +Inf seen, 4 -Inf seen,
//	               8 int is 128-bit, 16 rows follow (the rows of any
//	               value, for a count read from this sum), 32 highs
//	               follow;
//	               int: the exact sum of the integer values: varint, or
//	               16 bytes (lo, hi) when 128-bit;
//	               floats: the exact sum of the other values, as
//	               uvarint(k) and k floats whose exact sum it is;
//	               highs: what the sum holds beyond that, as uvarint(L)
//	               and L times floats: level j (from 1) weighs 2^(1024j)
//	std, var       uvarint(n), then when n > 0: flags(2 +Inf, 4 -Inf,
//	               8 highs of Σx follow, 16 highs of Σx² follow)
//	               floats(Σx) [highs(Σx)] floats(Σx²) [highs(Σx²)]
//	               (Σx² of the exact pairs x·x)
//	min, max       value
//	first, last    value, then uvarint(pos) when the value is not empty
//	nunique        uvarint(count) value*count (distinct, in no particular order)
//
// A state decodes into an Agg of the same Kind whatever the input type it
// came from (values are normalised on the way in); floats of a sum are any
// components whose exact sum is the value, so equal states need not be
// equal bytes.
//
//	value = tag [payload]: 0 empty, 1 int varint, 2 float 8 bytes,
//	        3 string uvarint(len) bytes
const stateVersion = 1

// Value tags, in states and in memory.
const (
	tagNone  = 0
	tagInt   = 1
	tagFloat = 2
	tagStr   = 3
)

func appendHeader(dst []byte, k Kind) []byte {
	return append(dst, stateVersion, byte(k))
}

func appendFloat(dst []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f))
}

// decoder reads one state; the first error sticks.
type decoder struct {
	b    []byte
	kind Kind
	err  error
}

// newDecoder checks the header of a state of kind k. It returns a value,
// not a pointer: a merge decodes a state per group, and a decoder on the
// heap for each was a tenth of a merge's time.
func newDecoder(k Kind, src []byte) decoder {
	d := decoder{b: src, kind: k}
	v := d.byte()
	kind := d.byte()
	switch {
	case d.err != nil:
	case v != stateVersion:
		d.fail(fmt.Sprintf("unsupported version %d", v))
	case Kind(kind) != k:
		d.fail(fmt.Sprintf("state is for %v, not %v", Kind(kind), k))
	}
	return d
}

func (d *decoder) fail(why string) {
	if d.err == nil {
		d.err = &corruptError{kind: d.kind, why: why}
		d.b = nil
	}
}

func (d *decoder) truncated() { d.fail("truncated") }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.truncated()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		if n < 0 {
			d.fail("bad varint")
		} else {
			d.truncated()
		}
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) varint() int64 {
	x, n := binary.Varint(d.b)
	if n <= 0 {
		if n < 0 {
			d.fail("bad varint")
		} else {
			d.truncated()
		}
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.truncated()
		return 0
	}
	x := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return x
}

// count reads a non-negative int64 count.
func (d *decoder) count() int64 {
	n := d.uvarint()
	if n > math.MaxInt64 {
		d.fail("count out of range")
		return 0
	}
	return int64(n)
}

// bytes returns the next n bytes (a view of the input).
func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.truncated()
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// accParts reads an accumulator's components (uvarint count, floats) and
// returns their bytes, checked to be finite.
func (d *decoder) accParts() []byte {
	k := d.uvarint()
	if d.err == nil && k > uint64(len(d.b)/8) {
		d.truncated()
		return nil
	}
	raw := d.bytes(k * 8)
	for i := 0; i < len(raw); i += 8 {
		if f := math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])); f-f != 0 {
			d.fail("non-finite sum")
			return nil
		}
	}
	return raw
}

// appendAcc appends c's non-zero components: uvarint count, floats.
func (s *expStore) appendAcc(dst []byte, c *acc) []byte {
	var buf [2]float64
	p := s.parts(c, &buf)
	k := 0
	for _, x := range p {
		if x != 0 {
			k++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(k))
	for _, x := range p {
		if x != 0 {
			dst = appendFloat(dst, x)
		}
	}
	return dst
}

// addParts adds components read by accParts to c.
func (s *expStore) addParts(c *acc, raw []byte) {
	for i := 0; i < len(raw); i += 8 {
		if x := math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])); x != 0 {
			s.add(c, x)
		}
	}
}

// appendHighs appends an accumulator's levels above 0: uvarint(levels),
// then each level's components as appendAcc writes them.
func appendHighs(dst []byte, highs [][]float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(highs)))
	for _, e := range highs {
		dst = binary.AppendUvarint(dst, uint64(len(e)))
		for _, x := range e {
			dst = appendFloat(dst, x)
		}
	}
	return dst
}

// maxHighLevels is the most levels above 0 an accumulator can need: a
// level-1 component of a sum is below the number of values, and squares
// (below 2^2048) reach level 2 at most.
const maxHighLevels = 2

// highParts reads what appendHighs wrote: each level's components, as
// accParts returns them.
func (d *decoder) highParts() [][]byte {
	n := d.uvarint()
	if d.err == nil && n > maxHighLevels {
		d.fail("too many levels")
	}
	if d.err != nil {
		return nil
	}
	levels := make([][]byte, n)
	for k := range levels {
		levels[k] = d.accParts()
	}
	return levels
}

// addHighParts adds levels read by highParts to c.
func (s *expStore) addHighParts(c *acc, levels [][]byte) {
	for k, raw := range levels {
		for i := 0; i < len(raw); i += 8 {
			s.addHigh(c, k+1, math.Float64frombits(binary.LittleEndian.Uint64(raw[i:])))
		}
	}
}

// value is one decoded value: tag, then bits (int64 or float64 bits) or str.
type value struct {
	tag  uint8
	bits uint64
	str  []byte
}

func (d *decoder) value() value {
	v := value{tag: d.byte()}
	switch v.tag {
	case tagNone:
	case tagInt:
		v.bits = uint64(d.varint())
	case tagFloat:
		v.bits = d.uint64()
		if math.IsNaN(math.Float64frombits(v.bits)) {
			d.fail("NaN value")
		}
	case tagStr:
		v.str = d.bytes(d.uvarint())
	default:
		d.fail(fmt.Sprintf("bad value tag %d", v.tag))
	}
	return v
}

func appendValue(dst []byte, tag uint8, bits uint64, str []byte) []byte {
	dst = append(dst, tag)
	switch tag {
	case tagInt:
		dst = binary.AppendVarint(dst, int64(bits))
	case tagFloat:
		dst = binary.LittleEndian.AppendUint64(dst, bits)
	case tagStr:
		dst = binary.AppendUvarint(dst, uint64(len(str)))
		dst = append(dst, str...)
	}
	return dst
}
