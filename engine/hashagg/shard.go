package hashagg

import (
	"context"
	"encoding/binary"
	"io"
	"sync/atomic"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/readers"
)

// A shard of a sharded run (see engine's RunShard) stops at its
// aggregates: it writes each one's groups, keys and states, cut into
// 2^shardBits partitions by the top bits of their keys' hashes, partition
// after partition (States). The shards and their merge hash with one seed
// (exec.Env.HashSeed), so a key is in the same partition in every shard,
// and the merge, in another process, merges one partition at a time: a
// worker takes partition p of every shard into a table of its own, far
// smaller than all the groups, and emits it, as a spilled run's
// partitions are merged and emitted (LoadShards, mergeShards); a morsel
// is 16 partitions, so a sort above gets 16 runs, as from a local run. A
// partition too big for a worker's memory is cut again, as a spilled
// one is.
//
// The states of an aggregate in a shard's body:
//
//	uvarint  rows the shard grouped
//	uvarint  key columns; per column a byte of its kind (readers.Type)
//	         and a byte 1 if some number was not written as it prints
//	segments, each uvarint partition+1, uvarint length, and that many
//	         bytes of groups, each uvarint len(key), key, uvarint
//	         len(state), state (each aggregate's AppendState in turn); a
//	         partition in one or more segments, anywhere
//	uvarint  0

// shardBits: a shard's groups are in 2^shardBits partitions.
const shardBits = 8

func shardPart(h uint64) int { return int(h >> (64 - shardBits)) }

// States writes every group of a finished Aggregate (after Finish,
// instead of running it as a source) to w, as above. The Aggregate's
// morsels (the merged table, the parts, or the spilled radix partitions
// merged), each followed by the rows passed through in its partitions
// (pass.go), are encoded on the workers at once and written in morsel
// order. A worker holds
// a table's groups encoded (the parts': a 16th of them) before it waits
// for its turn to write them. A key comes once, unless the Aggregate
// spilled and a partition had to be cut again, or rows were passed
// through; the merge merges equal keys anyway. The Aggregate is empty after it.
func (a *Aggregate) States(ctx context.Context, w io.Writer) error {
	head := binary.AppendUvarint(nil, uint64(a.RowsIn()))
	head = a.spellings.appendTo(head)
	if _, err := w.Write(head); err != nil {
		return err
	}
	n := a.Morsels()
	turn := make([]chan struct{}, n+1) // turn[m] closes once the morsels before m are written
	for m := range turn {
		turn[m] = make(chan struct{})
	}
	close(turn[0])
	err := exec.Parallel(ctx, a.env.Workers, n, func(ctx context.Context, wk, m int) error {
		var out, state []byte
		var parts [1 << shardBits][][]byte // per partition: its groups encoded, in chunks
		mine := false                      // the morsels before m are written: chunks go out as they fill
		write := func(b []byte) error {
			if !mine {
				select {
				case <-turn[m]:
					mine = true
				case <-ctx.Done():
					return context.Cause(ctx)
				}
			}
			_, err := w.Write(b)
			return err
		}
		flush := func() error {
			err := write(out)
			out = out[:0]
			return err
		}
		// segment writes data, groups of partition p, as a segment: small
		// ones gathered in out, big ones as they are, not copied.
		segment := func(p int, data []byte) error {
			out = binary.AppendUvarint(out, uint64(p)+1)
			out = binary.AppendUvarint(out, uint64(len(data)))
			if len(out)+len(data) < stateChunk {
				out = append(out, data...)
				return nil
			}
			if err := flush(); err != nil {
				return err
			}
			return write(data)
		}
		// A table's groups are encoded in their order, each appended to
		// its partition's chunks: the table is read in order, not a
		// partition at a time all over it. The partitions are then
		// written in order, each chunk a segment.
		dump := func(t *aggTable) error {
			for g := range uint32(t.table.len()) {
				state = state[:0]
				for _, ag := range t.aggs {
					state = ag.AppendState(state, g)
				}
				p := shardPart(t.table.hashOf(g))
				cs := parts[p]
				if len(cs) == 0 || len(cs[len(cs)-1]) >= stateChunk {
					cs = append(cs, nil)
					parts[p] = cs
				}
				cs[len(cs)-1] = appendGroup(cs[len(cs)-1], t.table.key(g), state)
			}
			for p, cs := range parts {
				for _, c := range cs {
					if err := segment(p, c); err != nil {
						return err
					}
				}
				parts[p] = nil
			}
			return nil
		}
		// The rows the workers passed through (pass.go), of the
		// morsel's partitions, each worker's a segment.
		writePassed := func(m, n int) error {
			per := 1 << shardBits / n
			for p := m * per; p < (m+1)*per; p++ {
				for i := range a.pass.parts {
					if b := a.pass.parts[i][p]; len(b) > 0 {
						if err := segment(p, b); err != nil {
							return err
						}
						a.pass.parts[i][p] = nil
					}
				}
			}
			return nil
		}
		var err error
		switch a.mode {
		case modeSmall, modeShared:
			err = dump(&a.tables[m])
			a.tables[m] = aggTable{}
		default:
			loan := a.loans[wk]
			loan.Cover(loan.Cap())
			err = a.sp.mergePartition(ctx, a.runs, m, firstShift, loan.Cap(), &a.tables[wk], dump)
			loan.Release()
		}
		if err == nil {
			err = writePassed(m, n)
		}
		if err == nil {
			err = flush()
		}
		if err == nil {
			close(turn[m+1])
		}
		return err
	})
	if err != nil {
		return err
	}
	_, err = w.Write([]byte{0})
	return err
}

// stateChunk is the most bytes of groups in a segment (give or take a
// group), and what a worker gathers of its segments before it writes them
// (States).
const stateChunk = 4 << 20

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

// ShardReader reads a shard's body.
type ShardReader interface {
	io.Reader
	io.ByteReader
}

// shardStates are one shard's groups as the merge holds them: each
// partition's bytes in memory (mem[p]), or all of them in a spill file,
// partition p's in the extents ext[p].
type shardStates struct {
	mem  [1 << shardBits][]byte
	blob *spill.Blob
	ext  [1 << shardBits][]extent
}

// extent is bytes [off, off+n) of a spill file.
type extent struct{ off, n int64 }

// part returns partition p's groups: the memory's, or read into *buf.
func (s *shardStates) part(buf *[]byte, p int) ([]byte, error) {
	if s.blob == nil {
		return s.mem[p], nil
	}
	var n int64
	for _, e := range s.ext[p] {
		n += e.n
	}
	if int64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	at := int64(0)
	for _, e := range s.ext[p] {
		if _, err := s.blob.ReadAt(b[at:at+e.n], e.off); err != nil {
			return nil, err
		}
		at += e.n
	}
	return b, nil
}

// LoadShards makes the Aggregate the merge of shards' groups, before
// Finish: rs[i] is shard i's body at this aggregate's states, which it
// reads to their end. The shards are read at once on the workers and their
// groups kept as they are, in memory while the broker lends for them, else
// in a spill file; Finish and the source's morsels then merge them a
// partition at a time. bad makes the error for shard i's states that do
// not parse, here or as they are merged.
func (a *Aggregate) LoadShards(ctx context.Context, rs []ShardReader, bad func(i int, what string) error) error {
	a.shards = make([]shardStates, len(rs))
	a.bad = bad
	a.statesLoan = a.env.Broker.NewLoan(a.budget.merge)
	var inMemory atomic.Int64 // bytes of the states held in memory
	spellings := make([]keySpellings, len(rs))
	err := exec.Parallel(ctx, a.env.Workers, len(rs), func(ctx context.Context, w, i int) error {
		start := time.Now()
		a.env.Events.Event(exec.Event{Kind: exec.EvMorselStart, Op: a.op, Worker: w, Morsel: i, At: start})
		r, s := rs[i], &a.shards[i]
		uvarint := func() (uint64, error) {
			v, err := binary.ReadUvarint(r)
			if err != nil {
				return 0, bad(i, "it ends early")
			}
			return v, nil
		}
		rows, err := uvarint()
		if err != nil {
			return err
		}
		a.rowsIn.Add(int64(rows))
		var ok bool
		if spellings[i], ok = readSpellings(r, len(a.agg.Keys)); !ok {
			return bad(i, "its key columns are not this plan's")
		}
		pos := int64(0) // bytes of groups read
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
			if s.blob == nil && !a.statesLoan.Cover(inMemory.Add(int64(n))) {
				inMemory.Add(-pos - int64(n))
				if err := s.toBlob(a.env); err != nil {
					return err
				}
			}
			if err := s.add(r, p, int(n)); err != nil {
				if err == io.ErrUnexpectedEOF || err == io.EOF {
					return bad(i, "it ends early")
				}
				return err
			}
			pos += int64(n)
		}
		if s.blob != nil {
			if err := s.blob.Done(); err != nil {
				return err
			}
			a.env.Events.Event(exec.Event{Kind: exec.EvSpill, Op: a.op, Runs: 1, Bytes: s.blob.Len(), Dur: time.Since(start), At: time.Now()})
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

// readSpellings reads what appendTo wrote, for keys key columns.
func readSpellings(r ShardReader, keys int) (keySpellings, bool) {
	n, err := binary.ReadUvarint(r)
	if err != nil || n != uint64(keys) {
		return keySpellings{}, false
	}
	s := keySpellings{kinds: make([]readers.Type, keys), respelled: make([]bool, keys)}
	for k := range keys {
		kind, err1 := r.ReadByte()
		re, err2 := r.ReadByte()
		if err1 != nil || err2 != nil || readers.Type(kind) > readers.TypeString || re > 1 {
			return keySpellings{}, false
		}
		s.kinds[k], s.respelled[k] = readers.Type(kind), re == 1
	}
	return s, true
}

// toBlob moves the shard's states to a spill file, where the rest of them
// go too.
func (s *shardStates) toBlob(env *exec.Env) error {
	d, err := env.Temp.Get()
	if err != nil {
		return err
	}
	if s.blob, err = d.NewBlob(); err != nil {
		return err
	}
	for p, b := range s.mem {
		if len(b) > 0 {
			s.ext[p] = append(s.ext[p], extent{s.blob.Len(), int64(len(b))})
			if _, err := s.blob.Write(b); err != nil {
				return err
			}
		}
		s.mem[p] = nil
	}
	return nil
}

// add appends the next n bytes of r to partition p's.
func (s *shardStates) add(r io.Reader, p, n int) error {
	if s.blob != nil {
		s.ext[p] = append(s.ext[p], extent{s.blob.Len(), int64(n)})
		_, err := io.CopyN(s.blob, r, int64(n))
		return err
	}
	m := s.mem[p]
	l := len(m)
	if cap(m)-l < n {
		m = append(m[:l:l], make([]byte, n)...) // a partition is mostly one segment: read at its size
	}
	m = m[:l+n]
	s.mem[p] = m
	_, err := io.ReadFull(r, m[l:])
	return err
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
		data, err := a.shards[i].part(&a.bufs[w], p)
		if err != nil {
			return err
		}
		for len(data) > 0 {
			key, state, rest, ok := nextGroup(data)
			if !ok {
				return a.bad(i, "a group does not parse")
			}
			data = rest
			hash := h.hash(key)
			if shardPart(hash) != p {
				return a.bad(i, "its groups are not in this gdask's partitions")
			}
			g, _ := t.find(key, hash)
			for _, ag := range t.aggs {
				if state, err = ag.MergeState(g, state); err != nil {
					return a.bad(i, err.Error())
				}
			}
			if merged++; merged%checkEvery == 0 && t.memBytes() > loan.Cap() {
				t.reset()
				return a.cutShards(ctx, w, p, out)
			}
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
		data, err := a.shards[i].part(&a.bufs[w], p)
		if err != nil {
			rw.Abort()
			return err
		}
		for len(data) > 0 {
			key, state, rest, _ := nextGroup(data) // parsed once already
			data = rest
			groups++
			size += int64(len(key) + len(state))
			if err := rw.Add(h.hash(key), key, state); err != nil {
				rw.Abort()
				return err
			}
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
