package hashagg

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"sync"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/readers"
)

// A shard of a sharded run (see engine's RunShard) stops at its
// aggregates: it writes each one's groups, keys and states, cut into
// 2^shardBits partitions by the top bits of their keys' hashes, as
// segments of one partition's groups each, in any order: the rows it
// passed through (pass.go) as it reads them, the groups of its tables
// when it has read them all (States). The shards and their merge hash
// with one seed (exec.Env.HashSeed), so a key is in the same partition in
// every shard, and the merge, in another process, merges one partition
// at a time: it indexes the segments of every shard by partition as it
// reads them (LoadShards), and a worker then reads partition p's of every
// shard again into a table of its own, far smaller than all the groups,
// and emits it, as a spilled run's partitions are merged and emitted
// (mergeShards). A morsel is 32 partitions (shardMorsels). A partition
// too big for a worker's memory is cut again, as a spilled one is.
//
// The states of an aggregate in a shard's body:
//
//	segments, each uvarint partition+1, uvarint length, and that many
//	         bytes of groups, each uvarint len(key), key, uvarint
//	         len(state), state (each aggregate's AppendState in turn)
//	uvarint  0
//	uvarint  rows the shard grouped
//	uvarint  key columns; per column a byte of its kind (readers.Type)
//	         and a byte 1 if some number was not written as it prints

// shardBits: a shard's groups are in 2^shardBits partitions. The merge
// looks up every shard's groups of a partition in one table, a lookup and
// a merge per group at random places in it: 5M groups of 1,024
// partitions make tables of 5K groups, whose slots and states (about
// 500 KB) stay in a core's L2 cache; of 256 partitions, 2 MB tables that
// did not, and the 16-shard merge of 20M groups took 10% longer. A
// shard's buffers are then 16 MiB a worker (partBufs).
const shardBits = 10

func shardPart(h uint64) int { return int(h >> (64 - shardBits)) }

// shardMorsels is how many morsels a merge of shards' groups makes of
// their partitions. Each morsel's groups are a sorted run of a sort above
// (a groupby's output), which the sort's output merges. Fewer, bigger
// morsels make fewer runs to merge but sort worse (a run's keys outgrow
// the cache) and balance the workers worse at the end; more, a deeper
// merge. The 16-shard merge of 4.9M groups took, alternating, 1.61 s
// with 32 (median of 6), 1.71 s with 16, 1.73 s with 64.
const shardMorsels = 32

// WritesStates makes the Aggregate a shard's, whose groups go to w as
// above: the rows it passes through as it reads them, the rest in
// States. progress tells how much of the shard's input was read, 0 while
// that is not known; nil, the Aggregate never passes rows through. Called
// before the first Consume; w is written from the workers, one at a time.
func (a *Aggregate) WritesStates(w io.Writer, progress func() float64) {
	a.out = &segWriter{w: w}
	a.parts = make([]partBufs, len(a.workers))
	for i, wk := range a.workers {
		wk.parts = &a.parts[i]
	}
	a.pass.progress = progress
	// Half of what a spilled aggregate's merge may have: the workers'
	// partition buffers stay while that merge runs.
	a.pass.loan = a.env.Broker.NewLoan(a.budget.merge / 2)
}

// States writes every group of a finished Aggregate (after Finish,
// instead of running it as a source) as segments, then what ends its
// states (above). The Aggregate's morsels (the merged table, the parts,
// or the spilled radix partitions merged) are encoded on the workers at
// once, each into its worker's partition buffers, and the buffers, with
// the rows passed through that are still in them, are written last. A key
// comes once, unless the Aggregate spilled and a partition had to be cut
// again, or rows were passed through; the merge merges equal keys anyway.
// The Aggregate is empty after it.
func (a *Aggregate) States(ctx context.Context) error {
	sw := a.out
	err := exec.Parallel(ctx, a.env.Workers, a.Morsels(), func(ctx context.Context, wk, m int) error {
		bufs := &a.parts[wk]
		var state []byte
		// A table's groups are encoded in their order, each added to its
		// partition's buffer: the table is read in order, not a
		// partition at a time all over it.
		dump := func(t *aggTable) error {
			for g := range uint32(t.table.len()) {
				state = state[:0]
				for _, ag := range t.aggs {
					state = ag.AppendState(state, g)
				}
				made, err := bufs.add(sw, shardPart(t.table.hashOf(g)), t.table.key(g), state)
				if err != nil {
					return err
				}
				// Accounted, not refused: a worker's buffers are at most
				// 2^shardBits segmentBufs, and States must write.
				a.holdBuffers(made)
			}
			return nil
		}
		switch a.mode {
		case modeSmall, modeShared:
			err := dump(&a.tables[m])
			a.tables[m] = aggTable{}
			return err
		default:
			loan := a.loans[wk]
			loan.Cover(loan.Cap())
			defer loan.Release()
			return a.sp.mergePartition(ctx, a.runs, m, firstShift, loan.Cap(), &a.tables[wk], dump)
		}
	})
	if err != nil {
		return err
	}
	for i := range a.parts {
		if err := a.parts[i].flush(sw); err != nil {
			return err
		}
	}
	a.parts = nil
	tail := binary.AppendUvarint([]byte{0}, uint64(a.RowsIn()))
	tail = a.spellings.appendTo(tail)
	_, err = sw.w.Write(tail) // the workers are done: no lock
	return err
}

// segmentBuf is the size of a partition's buffer (partBufs): a segment is
// at most that, unless one group is bigger.
const segmentBuf = 16 << 10

// segWriter writes segments of groups to a shard's body, for the workers
// at once.
type segWriter struct {
	mu   sync.Mutex
	w    io.Writer
	head []byte
	err  error // the first; every later write returns it
}

// write writes data, groups of partition p, as a segment.
func (s *segWriter) write(p int, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.head = binary.AppendUvarint(binary.AppendUvarint(s.head[:0], uint64(p)+1), uint64(len(data)))
	if _, s.err = s.w.Write(s.head); s.err == nil {
		_, s.err = s.w.Write(data)
	}
	return s.err
}

// partBufs gather a worker's groups by partition, and write a
// partition's as a segment when its buffer is full. Not safe for
// concurrent use.
type partBufs [1 << shardBits][]byte

// add adds a group of partition p, and reports the bytes of a buffer it
// made.
func (b *partBufs) add(sw *segWriter, p int, key, state []byte) (made int, err error) {
	buf := b[p]
	need := 2*binary.MaxVarintLen32 + len(key) + len(state)
	if cap(buf)-len(buf) < need {
		if len(buf) > 0 {
			if err := sw.write(p, buf); err != nil {
				return 0, err
			}
			buf = buf[:0]
		}
		if cap(buf) < need {
			made = -cap(buf)
			buf = make([]byte, 0, max(segmentBuf, need))
			made += cap(buf)
		}
	}
	b[p] = appendGroup(buf, key, state)
	return made, nil
}

// holdBuffers accounts for n more bytes of the workers' partition
// buffers, and reports whether the broker lends for them.
func (a *Aggregate) holdBuffers(n int) bool {
	return n == 0 || a.pass.loan.Cover(a.pass.held.Add(int64(n)))
}

// flush writes what the buffers hold.
func (b *partBufs) flush(sw *segWriter) error {
	for p, buf := range b {
		if len(buf) > 0 {
			if err := sw.write(p, buf); err != nil {
				return err
			}
			b[p] = buf[:0]
		}
	}
	return nil
}

// appendTo appends the spellings as States writes them.
func (s *keySpellings) appendTo(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s.kinds)))
	for k, kind := range s.kinds {
		r := byte(0)
		if s.respelled[k] {
			r = 1
		}
		dst = append(dst, byte(kind), r)
	}
	return dst
}

// ShardReader reads a shard's body: in order, from where an aggregate's
// states start, and again at offsets it was read at before.
type ShardReader interface {
	io.Reader
	io.ByteReader
	Offset() int64 // the body offset of the next byte Read returns
	io.ReaderAt    // bytes Read returned before, read again, unchecked
}

// shardStates are where one shard's groups are: partition p's in the
// segments seg[p] of the shard's body, read again when p is merged. The
// merge holds no copy of the states: they are read once to index them, and
// then a segment at a time into a worker's buffer, which never grows past
// the largest segment.
type shardStates struct {
	r   ShardReader
	seg [1 << shardBits][]segment
}

// segment is bytes [off, off+n) of a shard's body, with their checksum as
// they were read first.
type segment struct {
	off int64
	n   int32
	crc uint32
}

// eachGroup calls fn with each group of partition p of shard i, its
// segments read again into *buf; key and state are valid until fn
// returns. A segment that reads otherwise than it did when it was indexed,
// or a group that does not parse, is the shard's error (a.bad).
func (a *Aggregate) eachGroup(i int, buf *[]byte, p int, fn func(key, state []byte) error) error {
	s := &a.shards[i]
	for _, sg := range s.seg[p] {
		if cap(*buf) < int(sg.n) {
			*buf = make([]byte, sg.n)
		}
		data := (*buf)[:sg.n]
		if _, err := s.r.ReadAt(data, sg.off); err != nil {
			return err
		}
		if crc32.Checksum(data, castagnoli) != sg.crc {
			return a.bad(i, "its state file changed while it was merged")
		}
		for len(data) > 0 {
			key, state, rest, ok := nextGroup(data)
			if !ok {
				return a.bad(i, "a group does not parse")
			}
			data = rest
			if err := fn(key, state); err != nil {
				return err
			}
		}
	}
	return nil
}

// errCut is a partition that outgrew a worker's memory (mergeShards).
var errCut = errors.New("a partition to cut")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// LoadShards makes the Aggregate the merge of shards' groups, before
// Finish: rs[i] is shard i's body at this aggregate's states, which it
// reads to their end, indexing each partition's segments (shardStates);
// Finish and the source's morsels then merge them a partition at a time,
// each read again. The shards are read at once on the workers. bad makes
// the error for shard i's states that do not parse, here or as they are
// merged.
func (a *Aggregate) LoadShards(ctx context.Context, rs []ShardReader, bad func(i int, what string) error) error {
	a.shards = make([]shardStates, len(rs))
	a.bad = bad
	spellings := make([]keySpellings, len(rs))
	err := exec.Parallel(ctx, a.env.Workers, len(rs), func(ctx context.Context, w, i int) error {
		start := time.Now()
		a.env.Events.Event(exec.Event{Kind: exec.EvMorselStart, Op: a.op, Worker: w, Morsel: i, At: start})
		r, s := rs[i], &a.shards[i]
		s.r = r
		uvarint := func() (uint64, error) {
			v, err := binary.ReadUvarint(r)
			switch {
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				return 0, bad(i, "it ends early")
			case err != nil:
				return 0, err // the reader's: a block that does not match its checksum
			}
			return v, nil
		}
		buf := make([]byte, 64<<10)
		for {
			v, err := uvarint()
			if err != nil {
				return err
			}
			if v == 0 {
				break
			}
			p := int(v - 1)
			if p >= 1<<shardBits {
				return bad(i, "a partition out of range")
			}
			n, err := uvarint()
			if err != nil {
				return err
			}
			if n > 1<<30 {
				return bad(i, "a segment of more than 1 GiB")
			}
			sg := segment{off: r.Offset(), n: int32(n)}
			for left := int(n); left > 0; {
				k, err := io.ReadFull(r, buf[:min(left, len(buf))])
				if err != nil {
					if err == io.ErrUnexpectedEOF || err == io.EOF {
						return bad(i, "it ends early")
					}
					return err
				}
				sg.crc = crc32.Update(sg.crc, castagnoli, buf[:k])
				left -= k
			}
			s.seg[p] = append(s.seg[p], sg)
		}
		rows, err := uvarint()
		if err != nil {
			return err
		}
		a.rowsIn.Add(int64(rows))
		var ok bool
		if spellings[i], ok, err = readSpellings(r, len(a.agg.Keys)); err != nil {
			return err
		} else if !ok {
			return bad(i, "its key columns are not this plan's")
		}
		a.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: a.op, Worker: w, Morsel: i, Dur: time.Since(start), At: time.Now()})
		return nil
	})
	if err != nil {
		return err
	}
	a.spellings = a.workers[0].spellings // the plan's key types: no group was added
	for i := range spellings {
		a.spellings.merge(&spellings[i])
	}
	return nil
}

// readSpellings reads what appendTo wrote, for keys key columns: false
// when they are not such, or an error of the reader other than its end
// (a block that does not match its checksum).
func readSpellings(r ShardReader, keys int) (keySpellings, bool, error) {
	var err error
	fail := func() (keySpellings, bool, error) {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
		}
		return keySpellings{}, false, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n != uint64(keys) {
		return fail()
	}
	s := keySpellings{kinds: make([]readers.Type, keys), respelled: make([]bool, keys)}
	for k := range keys {
		var kind, re byte
		if kind, err = r.ReadByte(); err == nil {
			re, err = r.ReadByte()
		}
		if err != nil || readers.Type(kind) > readers.TypeString || re > 1 {
			return fail()
		}
		s.kinds[k], s.respelled[k] = readers.Type(kind), re == 1
	}
	return s, true, nil
}

// mergeShards merges partition p of every shard into worker w's table,
// gives the table to out and empties it. A partition that outgrows the
// worker's memory is copied to a spill run and merged from there,
// cut again by the next hash bits.
func (a *Aggregate) mergeShards(ctx context.Context, w, p int, out func(t *aggTable) error) error {
	loan := a.loans[w]
	loan.Cover(loan.Cap())
	defer loan.Release()
	t, h := &a.tables[w], &a.hashers[w]
	const checkEvery = 1 << 12
	merged := 0 // the groups of the shards merged
	for i := range a.shards {
		err := a.eachGroup(i, &a.bufs[w], p, func(key, state []byte) error {
			hash := h.hash(key)
			if shardPart(hash) != p {
				return a.bad(i, "its groups are not in this gdask's partitions")
			}
			g, _ := t.find(key, hash)
			var err error
			for _, ag := range t.aggs {
				if state, err = ag.MergeState(g, state); err != nil {
					return a.bad(i, err.Error())
				}
			}
			if merged++; merged%checkEvery == 0 && t.memBytes() > loan.Cap() {
				return errCut
			}
			return nil
		})
		if err == errCut {
			t.reset()
			return a.cutShards(ctx, w, p, out)
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := out(t); err != nil {
		return err
	}
	t.clear() // the next partition has about as many groups
	a.env.Events.Event(exec.Event{Kind: exec.EvMorselEnd, Op: a.op, Worker: -1, Morsel: -1, RowsIn: int64(merged), At: time.Now()})
	return nil
}

// cutShards merges partition p of every shard through a spill run cut by
// the hash bits below the partition's.
func (a *Aggregate) cutShards(ctx context.Context, w, p int, out func(t *aggTable) error) error {
	d, err := a.sp.dir()
	if err != nil {
		return err
	}
	const shift = 64 - shardBits - spillBits
	rw, err := d.NewRun(spillBits, shift)
	if err != nil {
		return err
	}
	start := time.Now()
	h := &a.hashers[w]
	var groups, size int64
	for i := range a.shards {
		err := a.eachGroup(i, &a.bufs[w], p, func(key, state []byte) error {
			groups++
			size += int64(len(key) + len(state))
			return rw.Add(h.hash(key), key, state)
		})
		if err != nil {
			rw.Abort()
			return err
		}
	}
	run, err := rw.Close()
	if err != nil {
		return err
	}
	defer run.Remove()
	a.env.Events.Event(exec.Event{Kind: exec.EvSpill, Op: a.op, RowsIn: groups, Runs: 1, Bytes: size, Dur: time.Since(start), At: time.Now()})
	a.sp.repartitions.Add(1)
	loan := a.loans[w]
	for q := range 1 << spillBits {
		if err := a.sp.mergePartition(ctx, []*spill.Run{run}, q, shift, loan.Cap(), &a.tables[w], out); err != nil {
			return err
		}
	}
	return nil
}

// appendGroup appends a group as a segment holds it: its key and its
// state, each after its length (nextGroup reads it).
func appendGroup(dst, key, state []byte) []byte {
	dst = append(binary.AppendUvarint(dst, uint64(len(key))), key...)
	return append(binary.AppendUvarint(dst, uint64(len(state))), state...)
}

// nextGroup splits the first group off data.
func nextGroup(data []byte) (key, state, rest []byte, ok bool) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, nil, false
	}
	key, data = data[k:k+int(n)], data[k+int(n):]
	n, k = binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)-k) {
		return nil, nil, nil, false
	}
	return key, data[k : k+int(n)], data[k+int(n):], true
}
