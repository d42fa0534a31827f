package cluster

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

var testPlan = sha256.Sum256([]byte("Aggregate by=[k] mean(v) / Scan x.csv"))

var kinds = []Kind{RowsInOrder, SortedRun, AggregateStates, Count}

// randBytes returns n random bytes.
func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

// writeState writes body as the state file of shard i of n in dir, in
// writes of random sizes, and returns its path.
func writeState(t testing.TB, rng *rand.Rand, dir string, plan [32]byte, i, n int, kind Kind, blockSize int, body []byte, units []Unit) string {
	t.Helper()
	w, err := create(dir, plan, i, n, kind, blockSize)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for p := body; len(p) > 0; {
		k := min(len(p), 1+rng.IntN(3*blockSize))
		if m, err := w.Write(p[:k]); err != nil || m != k {
			t.Fatalf("Write: %d, %v", m, err)
		}
		p = p[k:]
	}
	if w.Len() != int64(len(body)) {
		t.Fatalf("Len = %d, want %d", w.Len(), len(body))
	}
	if err := w.Commit(units, 1234, 56789); err != nil {
		t.Fatal(err)
	}
	return w.Path()
}

var testUnits = []Unit{{0, 0, 4 << 20}, {0, 8 << 20, 12 << 20}, {2, 0, -1}, {1, 5, 5}}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dir := t.TempDir()
	type tc struct{ size, block int }
	var cases []tc
	for _, b := range []int{MinBlockSize, 1000, DefaultBlockSize} {
		for _, s := range []int{0, 1, b - 1, b, b + 1, 3*b - 1, 3 * b, 3*b + 7} {
			cases = append(cases, tc{s, b})
		}
	}
	cases = append(cases, tc{3<<20 + 12345, DefaultBlockSize}, tc{1 << 20, MaxBlockSize}, tc{2<<20 + 1, 1 << 20})
	for k := 0; k < 6; k++ {
		cases = append(cases, tc{rng.IntN(4 << 20), DefaultBlockSize})
	}
	for n, c := range cases {
		kind := kinds[n%len(kinds)]
		body := randBytes(rng, c.size)
		units := testUnits[:n%(len(testUnits)+1)]
		path := writeState(t, rng, dir, testPlan, n%7, 7, kind, c.block, body, units)
		if filepath.Base(path) != Name(n%7, 7) || filepath.Dir(path) != dir {
			t.Fatalf("path %s", path)
		}
		want := Header{Version: Version, PlanHash: testPlan, Shard: n % 7, Shards: 7, Kind: kind,
			Units: units, RowsRead: 1234, BytesRead: 56789, BodyLen: int64(c.size),
			BodyCRC: crc32.Checksum(body, castagnoli), BlockSize: c.block}
		fi, _ := os.Stat(path)
		if fi.Size() != prologueLen+framedLen(int64(c.size), c.block)+int64(want.encodedLen()) {
			t.Fatalf("size %d for a body of %d", fi.Size(), c.size)
		}
		h, err := Verify(path)
		if err != nil {
			t.Fatalf("size %d block %d: Verify: %v", c.size, c.block, err)
		}
		if !equalHeaders(h, want) {
			t.Fatalf("header %+v, want %+v", h, want)
		}
		// Every way of reading: small and odd reads (through the buffer),
		// reads of a whole block and more (in place), WriteTo, and a mix.
		for mode := range 5 {
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			switch mode {
			case 0:
				got, err = io.ReadAll(io.LimitReader(r, 1<<40)) // hides WriteTo
			case 1:
				buf := make([]byte, c.block+crcLen+rng.IntN(3))
				for err == nil {
					var m int
					m, err = r.Read(buf)
					got = append(got, buf[:m]...)
				}
				if err == io.EOF {
					err = nil
				}
			case 2:
				var b bytes.Buffer
				_, err = r.WriteTo(&b)
				got = b.Bytes()
			case 3:
				buf := make([]byte, 7)
				m, _ := io.ReadFull(r, buf)
				var b bytes.Buffer
				_, err = r.WriteTo(&b)
				got = append(buf[:m], b.Bytes()...)
			case 4:
				// Through a buffer of the block size, as a merge reads:
				// each block read in place, its checksum apart.
				got, err = io.ReadAll(bufio.NewReaderSize(r, c.block))
			}
			r.Close()
			if err != nil {
				t.Fatalf("size %d, read mode %d: %v", c.size, mode, err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("size %d block %d, read mode %d: body differs (%d bytes, want %d)", c.size, c.block, mode, len(got), len(body))
			}
		}
	}
}

// ReadBodyAt reads the body's bytes at any offset, across blocks, and
// refuses a range outside the body.
func TestReadBodyAt(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	for n, c := range []struct{ size, block int }{{0, MinBlockSize}, {1000, MinBlockSize}, {5000, 1000}, {3 << 20, DefaultBlockSize}} {
		body := randBytes(rng, c.size)
		path := writeState(t, rng, dir, testPlan, n, 7, AggregateStates, c.block, body, nil)
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for range 200 {
			off := rng.IntN(c.size + 1)
			k := rng.IntN(c.size - off + 1)
			got := make([]byte, k)
			if m, err := r.ReadBodyAt(got, int64(off)); err != nil || m != k {
				t.Fatalf("size %d block %d: ReadBodyAt(%d bytes, %d) = %d, %v", c.size, c.block, k, off, m, err)
			}
			if !bytes.Equal(got, body[off:off+k]) {
				t.Fatalf("size %d block %d: body bytes %d to %d differ", c.size, c.block, off, off+k)
			}
		}
		if _, err := r.ReadBodyAt(make([]byte, 2), int64(c.size-1)); err == nil {
			t.Fatalf("size %d: read past the body's end", c.size)
		}
		if _, err := r.ReadBodyAt(make([]byte, 1), -1); err == nil {
			t.Fatalf("size %d: read before the body's start", c.size)
		}
	}
}

func equalHeaders(a, b Header) bool {
	if len(a.Units) == 0 && len(b.Units) == 0 {
		a.Units, b.Units = nil, nil
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// smallState returns the bytes of a state file of many small blocks and
// its body.
func smallState(t *testing.T, bodyLen int) (file, body []byte) {
	rng := rand.New(rand.NewPCG(3, uint64(bodyLen)))
	body = randBytes(rng, bodyLen)
	path := writeState(t, rng, t.TempDir(), testPlan, 3, 16, SortedRun, MinBlockSize, body, testUnits)
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return file, body
}

// checkBytes opens the state file held in file, verifies it whole and reads it
// whole. It returns the first error, and fails t if any bytes read are not
// a prefix of body, or if Verify and reading disagree.
func checkBytes(t *testing.T, file, body []byte) error {
	t.Helper()
	var first error
	// Reads of 4 KiB take a block and its checksum at once; reads of a
	// block exactly take the block in place and its checksum apart.
	for k, chunk := range []int{4096, 0} {
		r, err := newReader("x/shard-0003-of-0016.state", bytes.NewReader(file), int64(len(file)), 3, 16)
		if err != nil {
			return err
		}
		if chunk == 0 {
			chunk = r.Header.BlockSize
		}
		verr := r.Verify()
		got := make([]byte, 0, len(body)+1)
		var rerr error
		for rerr == nil {
			var n int
			n, rerr = r.Read(got[len(got):min(cap(got), len(got)+chunk)])
			got = got[:len(got)+n]
		}
		if rerr == io.EOF {
			rerr = nil
		}
		if !bytes.HasPrefix(body, got) {
			t.Fatalf("a damaged file gave %d bytes that are not the body's, read %d at a time", len(got), chunk)
		}
		if (verr == nil) != (rerr == nil) {
			t.Fatalf("Verify: %v, but reading %d at a time: %v", verr, chunk, rerr)
		}
		if rerr == nil && !bytes.Equal(got, body) {
			t.Fatalf("no error, but the body differs, read %d at a time", chunk)
		}
		if k == 0 {
			first = rerr
		} else if (first == nil) != (rerr == nil) {
			t.Fatalf("read 4096 at a time: %v; a block at a time: %v", first, rerr)
		}
	}
	return first
}

func TestTruncatedEveryOffset(t *testing.T) {
	file, body := smallState(t, 1000) // 16 blocks of 64 bytes
	if err := checkBytes(t, file, body); err != nil {
		t.Fatal(err)
	}
	for k := range len(file) {
		err := checkBytes(t, file[:k], body)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut to %d bytes of %d: %v, want truncated", k, len(file), err)
		}
		want := fmt.Sprintf("x/shard-0003-of-0016.state: truncated: %d bytes of %d (run shard 3/16 again)", k, len(file))
		if k < prologueLen {
			want = fmt.Sprintf("x/shard-0003-of-0016.state: truncated: %d bytes, shorter than the 32 of a prologue (run shard 3/16 again)", k)
		}
		if err.Error() != want {
			t.Fatalf("cut to %d bytes:\n got %s\nwant %s", k, err, want)
		}
	}
}

// TestTruncatedFile cuts a file of default blocks on disk at the offsets
// that matter: in the prologue, in and between blocks, in the header.
func TestTruncatedFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	dir := t.TempDir()
	body := randBytes(rng, 3*DefaultBlockSize+100)
	full, err := os.ReadFile(writeState(t, rng, dir, testPlan, 0, 1, RowsInOrder, DefaultBlockSize, body, testUnits))
	if err != nil {
		t.Fatal(err)
	}
	b := DefaultBlockSize + crcLen
	ho := prologueLen + 3*b + 100 + crcLen
	for _, k := range []int{0, 1, 7, 8, 12, 31, 32, 33, prologueLen + DefaultBlockSize - 1, prologueLen + DefaultBlockSize,
		prologueLen + b - 1, prologueLen + b, prologueLen + b + 1, prologueLen + 3*b, ho - 1, ho, ho + 1, ho + 40, ho + headerFixed, len(full) - 1} {
		path := filepath.Join(dir, Name(0, 1))
		if err := os.WriteFile(path, full[:k], 0o666); err != nil {
			t.Fatal(err)
		}
		_, err := Verify(path)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "shard-0000-of-0001.state: truncated") {
			t.Errorf("cut to %d bytes of %d: %v", k, len(full), err)
		}
		rep, err := Status(dir, 1, testPlan, func(int) []Unit { return testUnits }, false)
		if err != nil {
			t.Fatal(err)
		}
		if sh := rep.Shards[0]; sh.State != Invalid || !errors.Is(sh.Err, ErrTruncated) {
			t.Errorf("cut to %d bytes: Status %v %v", k, sh.State, sh.Err)
		}
	}
}

// TestShrinksWhileRead cuts a file under an open Reader: the read fails at
// the block that was cut and gives no byte of it.
func TestShrinksWhileRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	dir := t.TempDir()
	body := randBytes(rng, 5*DefaultBlockSize)
	path := writeState(t, rng, dir, testPlan, 0, 2, SortedRun, DefaultBlockSize, body, nil)
	for _, cut := range []int64{prologueLen + 2*DefaultBlockSize + 100, prologueLen + 5*(DefaultBlockSize+crcLen) - 1} {
		r, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1000)
		if _, err := io.ReadFull(r, buf); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, cut); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(r)
		r.Close()
		got := append(buf, rest...)
		if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "cut short") {
			t.Errorf("cut at %d: %v", cut, err)
		}
		if !bytes.HasPrefix(body, got) || int64(len(got)) > cut-prologueLen {
			t.Errorf("cut at %d: read %d bytes, not the body's or past the cut", cut, len(got))
		}
		path = writeState(t, rng, dir, testPlan, 0, 2, SortedRun, DefaultBlockSize, body, nil)
	}
}

// TestEveryBitFlip flips each bit of a small file in turn: each is an
// error of kind corrupt, and no flip yields a wrong byte.
func TestEveryBitFlip(t *testing.T) {
	for _, size := range []int{0, 1000} {
		file, body := smallState(t, size)
		for bit := range 8 * len(file) {
			f := bytes.Clone(file)
			f[bit/8] ^= 1 << (bit % 8)
			err := checkBytes(t, f, body)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("body of %d, bit %d of %d flipped: %v, want corrupt", size, bit, 8*len(file), err)
			}
		}
	}
}

// TestRandomBitFlips flips one bit at random places, and a few at once, in
// a file of default blocks.
func TestRandomBitFlips(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	body := randBytes(rng, 2<<20+333)
	file, err := os.ReadFile(writeState(t, rng, t.TempDir(), testPlan, 3, 16, AggregateStates, DefaultBlockSize, body, testUnits))
	if err != nil {
		t.Fatal(err)
	}
	ho := len(file) - (headerFixed + unitLen*len(testUnits))
	f := bytes.Clone(file)
	for k := range 1200 {
		copy(f, file)
		var at int
		switch k % 3 {
		case 0:
			at = rng.IntN(len(file)) // anywhere
		case 1:
			at = ho + rng.IntN(len(file)-ho) // the header
		case 2:
			at = prologueLen + rng.IntN(4)*(DefaultBlockSize+crcLen) - crcLen + rng.IntN(8) // around a block's checksum
			at = max(at, 0)
		}
		f[at] ^= 1 << rng.IntN(8)
		if k%10 == 0 {
			f[rng.IntN(len(f))] ^= byte(1 + rng.IntN(255)) // and another byte anywhere
		}
		if err := checkBytes(t, f, body); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: %v, want corrupt", at, err)
		}
	}
}

// TestDamageMessages checks the message of each kind of damage, through
// files on disk.
func TestDamageMessages(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	dir := t.TempDir()
	body := randBytes(rng, 3*DefaultBlockSize)
	path := writeState(t, rng, dir, testPlan, 3, 16, RowsInOrder, DefaultBlockSize, body, testUnits)
	full, _ := os.ReadFile(path)
	name := filepath.Join(dir, "shard-0003-of-0016.state")
	ho := len(full) - (headerFixed + unitLen*len(testUnits))
	for _, tc := range []struct {
		at   int
		want string
	}{
		{0, name + ": corrupt: the prologue does not match its checksum (run shard 3/16 again)"},
		{9, name + ": corrupt: the prologue does not match its checksum (run shard 3/16 again)"},
		{ho + 5, name + ": corrupt: the header does not match its checksum (run shard 3/16 again)"},
		{prologueLen + 10, name + ": corrupt: body block 0 (body bytes 0 to 262144) does not match its checksum (run shard 3/16 again)"},
		{prologueLen + 2*(DefaultBlockSize+crcLen) - 1, name + ": corrupt: body block 1 (body bytes 262144 to 524288) does not match its checksum (run shard 3/16 again)"},
	} {
		f := bytes.Clone(full)
		f[tc.at] ^= 0x10
		os.WriteFile(path, f, 0o666)
		_, err := Verify(path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("byte %d flipped:\n got %v\nwant %s", tc.at, err, tc.want)
		}
	}
}

// TestBlocksMoved swaps two whole blocks with their checksums: each
// checks alone, but the running checksum does not.
func TestBlocksMoved(t *testing.T) {
	file, body := smallState(t, 1000)
	b := MinBlockSize + crcLen
	f := bytes.Clone(file)
	copy(f[prologueLen+2*b:], file[prologueLen+5*b:prologueLen+6*b])
	copy(f[prologueLen+5*b:], file[prologueLen+2*b:prologueLen+3*b])
	if err := checkBytes(t, f, body); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "body block 2 ") {
		t.Fatalf("blocks swapped: %v", err)
	}
}

func TestNotStateFile(t *testing.T) {
	dir := t.TempDir()
	path := Path(dir, 2, 4)
	for _, content := range []string{"a,b,c\n1,2,3\n", strings.Repeat("x", 100), "GDASKSX\n" + strings.Repeat("\x00", 100), "\x00", "a"} {
		os.WriteFile(path, []byte(content), 0o666)
		_, err := Verify(path)
		want := path + ": not a gdask state file (remove it and run shard 2/4 again)"
		if !errors.Is(err, ErrNotState) || err.Error() != want {
			t.Errorf("%q: %v", content, err)
		}
	}
	// A directory under a state file's name.
	os.Remove(path)
	os.Mkdir(path, 0o777)
	if _, err := Verify(path); !errors.Is(err, ErrNotState) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory: %v", err)
	}
	if _, err := Verify(Path(dir, 1, 4)); !errors.Is(err, ErrMissing) || err.Error() != Path(dir, 1, 4)+": missing (run shard 1/4)" {
		t.Errorf("no file: %v", err)
	}
}

// TestOtherVersion makes a file of a version to come: the prologue checks,
// the version differs.
func TestOtherVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	path := writeState(t, rng, t.TempDir(), testPlan, 0, 2, Count, MinBlockSize, []byte("12345"), nil)
	f, _ := os.ReadFile(path)
	binary.LittleEndian.PutUint32(f[8:], Version+1)
	binary.LittleEndian.PutUint32(f[28:], crc32.Checksum(f[:28], castagnoli))
	os.WriteFile(path, f, 0o666)
	_, err := Verify(path)
	if !errors.Is(err, ErrVersion) || !strings.HasSuffix(err.Error(), fmt.Sprintf(": another state file format version: version %d, this gdask reads version %d (run shard 0/2 again)", Version+1, Version)) {
		t.Fatalf("version %d: %v", Version+1, err)
	}
}

// TestHeaderFieldsChecked writes headers whose checksums hold but whose
// fields do not: each is corrupt.
func TestHeaderFieldsChecked(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	body := randBytes(rng, 500)
	file, err := os.ReadFile(writeState(t, rng, t.TempDir(), testPlan, 3, 16, SortedRun, MinBlockSize, body, testUnits))
	if err != nil {
		t.Fatal(err)
	}
	ho := len(file) - (headerFixed + unitLen*len(testUnits))
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		edit func(h []byte)
		want string // what the message says
	}{
		{"shard count 0", func(h []byte) { le.PutUint32(h[36:], 0) }, "the header checks, but: shard count 0 out of range"},
		{"shard count 10000", func(h []byte) { le.PutUint32(h[36:], 10000) }, "the header checks, but: shard count 10000 out of range"},
		{"shard 16 of 16", func(h []byte) { le.PutUint32(h[32:], 16) }, "the header checks, but: shard 16 of 16"},
		{"shard -1 of 16", func(h []byte) { le.PutUint32(h[32:], ^uint32(0)) }, "the header checks, but: shard 4294967295 of 16"},
		{"body kind 0", func(h []byte) { le.PutUint32(h[40:], 0) }, "the header checks, but: unknown body kind 0"},
		{"body kind 5", func(h []byte) { le.PutUint32(h[40:], 5) }, "the header checks, but: unknown body kind 5"},
		{"block size 63", func(h []byte) { le.PutUint32(h[44:], 63) }, "the header checks, but: block size 63 out of range"},
		{"block size 65", func(h []byte) { le.PutUint32(h[44:], 65) }, "body block 0 (body bytes 0 to 65) does not match its checksum"},
		{"block size 128", func(h []byte) { le.PutUint32(h[44:], 128) }, "a body of 500 bytes ends at byte 548, the header starts at 564"},
		{"rows read -1", func(h []byte) { le.PutUint64(h[48:], ^uint64(0)) }, "the header checks, but: -1 rows read"},
		{"bytes read -1", func(h []byte) { le.PutUint64(h[56:], ^uint64(0)) }, "the header checks, but: -1 bytes read"},
		{"body length 499", func(h []byte) { le.PutUint64(h[64:], 499) }, "a body of 499 bytes ends at byte 563, the header starts at 564"},
		{"body length -1", func(h []byte) { le.PutUint64(h[64:], ^uint64(0)) }, "the header checks, but: a body of -1 bytes"},
		{"unit count 3", func(h []byte) { le.PutUint32(h[76:], 3) }, "the header checks, but: header of 160 bytes for 3 units"},
		{"unit end before start", func(h []byte) { le.PutUint64(h[headerFixed+12:], 0); le.PutUint64(h[headerFixed+4:], 1) }, "the header checks, but: unit 0 is bytes 1 to 0"},
		{"unit end -1 from 5", func(h []byte) { le.PutUint64(h[headerFixed+4:], 5); le.PutUint64(h[headerFixed+12:], ^uint64(0)) }, "the header checks, but: unit 0 is bytes 5 to -1"},
		{"body checksum", func(h []byte) { h[72]++ }, "body block 7 (body bytes 448 to 500) ends the body with a checksum the header does not have"},
	} {
		f := bytes.Clone(file)
		tc.edit(f[ho:])
		le.PutUint32(f[24:], crc32.Checksum(f[ho:], castagnoli))
		le.PutUint32(f[28:], crc32.Checksum(f[:28], castagnoli))
		want := "x/shard-0003-of-0016.state: corrupt: " + tc.want + " (run shard 3/16 again)"
		if err := checkBytes(t, f, body); !errors.Is(err, ErrCorrupt) || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tc.name, err, want)
		}
	}
	// Bytes added at the end.
	if err := checkBytes(t, append(bytes.Clone(file), 0), body); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "1 more than its prologue says") {
		t.Errorf("a byte added: %v", err)
	}
}

// TestNeverVisibleIncomplete writes a shard again and again while another
// goroutine looks at its path: whenever a file is there, it is whole.
func TestNeverVisibleIncomplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	dir := t.TempDir()
	path := Path(dir, 0, 1)

	// While a writer writes, only its temp file is in dir.
	w, err := Create(dir, testPlan, 0, 1, RowsInOrder)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(randBytes(rng, 3*DefaultBlockSize+1))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), ".gdask-shard-0000-of-0001.state-") || !strings.HasSuffix(entries[0].Name(), ".tmp") {
		t.Fatalf("while writing, dir has %v", entries)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("while writing, the state file is there: %v", err)
	}
	if err := w.Commit(nil, 0, 0); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var seen, failed int
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := Verify(path); err != nil {
				failed++
				t.Errorf("a reader saw an incomplete state file: %v", err)
				return
			}
			seen++
		}
	})
	for k := range 40 {
		body := randBytes(rng, rng.IntN(1<<20))
		w, err := Create(dir, testPlan, 0, 1, RowsInOrder)
		if err != nil {
			t.Fatal(err)
		}
		for p := body; len(p) > 0; {
			n := min(len(p), 1+rng.IntN(100000))
			w.Write(p[:n])
			p = p[n:]
		}
		if k%4 == 3 {
			w.Abort() // a failed run leaves the last good one
		} else if err := w.Commit([]Unit{{0, 0, int64(k)}}, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if seen == 0 && failed == 0 {
		t.Fatal("the reader never ran")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("left %v", entries)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	dir := t.TempDir()
	empty := func(what string) {
		t.Helper()
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("%s: dir has %v", what, entries)
		}
	}
	w, _ := Create(dir, testPlan, 1, 2, SortedRun)
	w.Write(randBytes(rng, 1<<20))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	empty("after Abort")
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Abort")
	}
	if err := w.Commit(nil, 0, 0); err == nil {
		t.Fatal("Commit after Abort")
	}
	empty("after Commit after Abort")

	// A Commit that fails leaves nothing either.
	for _, bad := range []struct {
		units      []Unit
		rows, read int64
	}{
		{[]Unit{{0, 10, 5}}, 0, 0},
		{[]Unit{{-1, 0, 5}}, 0, 0},
		{[]Unit{{0, 3, -1}}, 0, 0},
		{nil, -1, 0},
		{nil, 0, -1},
	} {
		w, _ := Create(dir, testPlan, 1, 2, SortedRun)
		w.Write([]byte("some rows"))
		if err := w.Commit(bad.units, bad.rows, bad.read); err == nil {
			t.Fatalf("Commit(%v, %d, %d) did not fail", bad.units, bad.rows, bad.read)
		}
		empty(fmt.Sprintf("after Commit(%v, %d, %d) failed", bad.units, bad.rows, bad.read))
		w.Abort()
	}
	// Abort after Commit keeps the file.
	w, _ = Create(dir, testPlan, 1, 2, SortedRun)
	w.Commit(nil, 0, 0)
	w.Abort()
	if _, err := Verify(Path(dir, 1, 2)); err != nil {
		t.Fatal(err)
	}
}

func TestCreateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		i, n int
		kind Kind
		want string
	}{
		{0, 0, Count, "shard count 0: must be from 1 to 9999"},
		{0, 10000, Count, "shard count 10000: must be from 1 to 9999"},
		{3, 3, Count, "shard 3 of 3: must be from 0 to 2"},
		{-1, 3, Count, "shard -1 of 3: must be from 0 to 2"},
		{0, 3, 0, "state file body: unknown kind 0"},
	} {
		if _, err := Create(dir, testPlan, tc.i, tc.n, tc.kind); err == nil || err.Error() != tc.want {
			t.Errorf("Create(%d, %d, %d): %v, want %s", tc.i, tc.n, tc.kind, err, tc.want)
		}
	}
	nodir := filepath.Join(dir, "no\nsuch")
	if _, err := Create(nodir, testPlan, 0, 1, Count); err == nil || !strings.Contains(err.Error(), `"`+strings.ReplaceAll(nodir, "\n", `\n`)+`/shard-0000-of-0001.state"`) {
		t.Errorf("no dir: %v", err)
	}
}

func TestParseName(t *testing.T) {
	for i, n := range map[int]int{0: 1, 3: 16, 9998: 9999, 15: 16} {
		if gi, gn, ok := ParseName(Name(i, n)); !ok || gi != i || gn != n {
			t.Errorf("ParseName(%s) = %d, %d, %v", Name(i, n), gi, gn, ok)
		}
	}
	for _, s := range []string{"shard-0016-of-0016.state", "shard-0000-of-0000.state", "shard-3-of-16.state", "shard-0003-of-0016.state.tmp",
		"shard-000a-of-0016.state", "shard-00003-of-0016.state", "Shard-0003-of-0016.state", "shard-0003_of-0016.state", ""} {
		if _, _, ok := ParseName(s); ok {
			t.Errorf("ParseName(%q) ok", s)
		}
	}
}

// TestConcurrentWriters writes every shard of one run at once into one
// directory.
func TestConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	bodies := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(21, uint64(i)))
			bodies[i] = randBytes(rng, rng.IntN(2<<20))
			writeState(t, rng, dir, testPlan, i, n, AggregateStates, DefaultBlockSize, bodies[i], []Unit{{0, int64(i) << 20, int64(i+1) << 20}})
		})
	}
	wg.Wait()
	rep, err := Status(dir, n, testPlan, func(i int) []Unit { return []Unit{{0, int64(i) << 20, int64(i+1) << 20}} }, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil || len(rep.Done()) != n {
		t.Fatalf("%v, done %v", err, rep.Done())
	}
	for i := range n {
		r, err := Open(Path(dir, i, n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, bodies[i]) {
			t.Fatalf("shard %d: %v, body equal %v", i, err, bytes.Equal(got, bodies[i]))
		}
		if u := rep.Shards[i].Header.Units; !slices.Equal(u, []Unit{{0, int64(i) << 20, int64(i+1) << 20}}) {
			t.Fatalf("shard %d: units %v", i, u)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != n {
		t.Fatalf("%d files in dir", len(entries))
	}
}
