package hashagg

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// Key hashes are wyhash's (Wang Yi's, public domain; the constants and
// mixing of its fourth version) of the key's bytes: as fast as the runtime's hash for the short keys groupbys
// have, and, unlike it (hash/maphash), the same in every process for the
// same seed. A local run draws a seed per aggregate; the shards of a
// sharded run and their merge share one (exec.Env.HashSeed), so a shard
// writes its groups in the partitions the merge reads them by.

const (
	wyp0 = 0x2d358dccaa6c78a5
	wyp1 = 0x8bb84b93962eacc9
	wyp2 = 0x4b33a62ed433d4a3
	wyp3 = 0x4d5a2da51de1aa47
)

func wymix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashSeed is a seed ready for hashBytes.
type hashSeed uint64

// newHashSeed mixes s into a seed; 0 draws a random one.
func newHashSeed(s uint64) hashSeed {
	if s == 0 {
		s = rand.Uint64()
	}
	return hashSeed(s ^ wymix(s^wyp0, wyp1))
}

// hashBytes is wyhash of b.
func hashBytes(seed hashSeed, b []byte) uint64 {
	s := uint64(seed)
	n := len(b)
	var x, y uint64
	switch {
	case n >= 4 && n <= 16:
		q := (n >> 3) << 2
		x = uint64(binary.LittleEndian.Uint32(b))<<32 | uint64(binary.LittleEndian.Uint32(b[q:]))
		y = uint64(binary.LittleEndian.Uint32(b[n-4:]))<<32 | uint64(binary.LittleEndian.Uint32(b[n-4-q:]))
	case n > 0 && n < 4:
		x = uint64(b[0])<<16 | uint64(b[n>>1])<<8 | uint64(b[n-1])
	case n > 16:
		p := b
		if len(p) >= 48 {
			s1, s2 := s, s
			for len(p) >= 48 {
				s = wymix(binary.LittleEndian.Uint64(p)^wyp1, binary.LittleEndian.Uint64(p[8:])^s)
				s1 = wymix(binary.LittleEndian.Uint64(p[16:])^wyp2, binary.LittleEndian.Uint64(p[24:])^s1)
				s2 = wymix(binary.LittleEndian.Uint64(p[32:])^wyp3, binary.LittleEndian.Uint64(p[40:])^s2)
				p = p[48:]
			}
			s ^= s1 ^ s2
		}
		for len(p) > 16 {
			s = wymix(binary.LittleEndian.Uint64(p)^wyp1, binary.LittleEndian.Uint64(p[8:])^s)
			p = p[16:]
		}
		x = binary.LittleEndian.Uint64(b[n-16:])
		y = binary.LittleEndian.Uint64(b[n-8:])
	}
	x ^= wyp1
	y ^= s
	hi, lo := bits.Mul64(x, y)
	return wymix(lo^wyp0^uint64(n), hi^wyp1)
}
