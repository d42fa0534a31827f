package engine

import (
	"context"
	"slices"

	"github.com/gdask/gdask/readers"
)

// Tail returns copies of the last n records of the inputs taken as one
// table. For a splittable last file it reads from the end: a block, grown
// until the last n records are certain (see tailFile); streams are read
// through.
func (ds *Dataset) Tail(ctx context.Context, n int) ([][][]byte, error) {
	ring := &recordRing{n: n}
	for i := len(ds.inputs) - 1; i >= 0 && ring.len() < n; i-- {
		s := ds.inputs[i]
		part := &recordRing{n: n - ring.len()}
		var err error
		if s.chunker != nil {
			err = ds.tailStream(ctx, s, part)
		} else {
			err = ds.tailFile(ctx, s, part)
		}
		if err != nil {
			return nil, err
		}
		ring.prepend(part)
	}
	return ring.records(), nil
}

// recordRing keeps copies of the last n records added.
type recordRing struct {
	n    int
	recs [][][]byte
	offs []int64
	next int
}

func (r *recordRing) add(fields [][]byte, off int64) {
	if r.n == 0 {
		return
	}
	rec := make([][]byte, len(fields))
	for i, f := range fields {
		rec[i] = append([]byte{}, f...)
	}
	if len(r.recs) < r.n {
		r.recs = append(r.recs, rec)
		r.offs = append(r.offs, off)
		return
	}
	r.recs[r.next], r.offs[r.next] = rec, off
	r.next = (r.next + 1) % r.n
}

func (r *recordRing) len() int { return len(r.recs) }

func (r *recordRing) records() [][][]byte {
	return append(slices.Clone(r.recs[r.next:]), r.recs[:r.next]...)
}

func (r *recordRing) offsets() []int64 {
	return append(slices.Clone(r.offs[r.next:]), r.offs[:r.next]...)
}

// prepend puts earlier's records before r's.
func (r *recordRing) prepend(earlier *recordRing) {
	recs := append(earlier.records(), r.records()...)
	r.recs, r.offs, r.next = recs, make([]int64, len(recs)), 0
	r.n = len(recs)
}

func (ds *Dataset) tailStream(ctx context.Context, s *source, ring *recordRing) error {
	return ds.eachStreamChunk(ctx, s, func(_ readers.Chunk, sc *readers.Scanner) (bool, error) {
		for sc.Next() {
			ring.add(sc.Fields(), sc.RecordOffset())
		}
		return true, nil
	})
}

// tailFile reads the last block of a file. The quote state at the block's
// start is unknown, so it parses from the first record start under both
// assumptions (outside or inside a quoted field). It accepts the result when
// both agree on the offsets of the last n records (from a shared record
// start on, two parses are identical), or when one assumption is impossible
// (the parse fails, or the file would end inside quotes). Otherwise, or when
// a quote inside an unquoted field makes parity untrustworthy, the block
// grows, up to the whole data region, where the state is known.
func (ds *Dataset) tailFile(ctx context.Context, s *source, ring *recordRing) error {
	size, dataStart := s.in.Size, s.header.DataStart
	for block := int64(64 << 10); ; block *= 4 {
		if err := ctx.Err(); err != nil {
			return err
		}
		from := max(size-block, dataStart)
		if from == dataStart {
			r := &recordRing{n: ring.n}
			err := ds.eachRecord(ctx, s, s.whole(), serial|checkFields, func(sc *readers.Scanner) error {
				r.add(sc.Fields(), sc.RecordOffset())
				return nil
			})
			*ring = *r
			return err
		}
		a, aImpossible := ds.tailFrom(s, from, false, ring.n)
		b, bImpossible := ds.tailFrom(s, from, true, ring.n)
		switch {
		case a != nil && b != nil && a.len() == ring.n && slices.Equal(a.offsets(), b.offsets()):
			*ring = *a
			return nil
		case a != nil && bImpossible && a.len() == ring.n:
			*ring = *a
			return nil
		case b != nil && aImpossible && b.len() == ring.n:
			*ring = *b
			return nil
		}
	}
}

// tailFrom parses from the first record start after from under the quote
// state inQuote and returns the last n records. It returns nil when the
// parse cannot be trusted (an error, which only a serial read can place, or
// a quote inside an unquoted field), and impossible when the assumption
// would leave the file ending inside quotes.
func (ds *Dataset) tailFrom(s *source, from int64, inQuote bool, n int) (r *recordRing, impossible bool) {
	at, open, err := readers.RecordStartAfter(s.in.File, from, s.in.Size, inQuote)
	if err != nil || open {
		return nil, open
	}
	p := readers.Partition{Path: s.in.Path, Start: at, End: s.in.Size}
	sc := readers.NewPartitionScanner(s.in.File, s.in.Size, p, ds.cfg.Dialect, 0)
	sc.SetFieldCount(len(ds.Names))
	r = &recordRing{n: n}
	for sc.Next() {
		r.add(sc.Fields(), sc.RecordOffset())
	}
	if sc.Err() != nil || sc.BareQuotes() > 0 {
		return nil, false
	}
	return r, false
}
