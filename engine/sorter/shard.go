package sorter

import (
	"context"
	"errors"
	"fmt"
	"iter"
)

// A shard of a sharded run (see engine's RunShard) stops at its sorts:
// it writes each sort's rows in order, encoded as they are here, and what
// its encoders saw of the key columns' types; the merge gives the rows of
// every shard to a Sort of the same Spec as runs (AddRun) and what each
// shard saw (Observe), so its rows come out as one Sort of all the input
// would give them, reordered alike when some shard saw a key widen.

// Observed is what the Sort's encoders saw of the batches' key columns
// (see Encoder.See) and whether they carried input positions, as bytes
// for Observe.
func (s *Sort) Observed() []byte {
	out := make([]byte, 1+len(s.keys))
	for _, e := range s.encs {
		out[0] |= boolByte(e.hadPos)
		for i := range s.keys {
			out[1+i] |= boolByte(e.sawNum[i]) | boolByte(e.sawStr[i])<<1 | boolByte(e.sawFloat[i])<<2 | boolByte(e.sawBig[i])<<3
		}
	}
	return out
}

// Observe adds what another Sort of the same Spec saw (its Observed).
func (s *Sort) Observe(b []byte) error {
	if len(b) != 1+len(s.keys) {
		return fmt.Errorf("a sort's state has %d keys, this sort %d", len(b)-1, len(s.keys))
	}
	e := s.encs[0]
	e.hadPos = e.hadPos || b[0] != 0
	for i := range s.keys {
		f := b[1+i]
		e.sawNum[i] = e.sawNum[i] || f&1 != 0
		e.sawStr[i] = e.sawStr[i] || f&2 != 0
		e.sawFloat[i] = e.sawFloat[i] || f&4 != 0
		e.sawBig[i] = e.sawBig[i] || f&8 != 0
	}
	return nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// AddRun adds rows, encoded by a Sort of the same Spec and in its order,
// as one sorted run. It goes to the external sort, whose merge is the one
// every run of a Sort goes through. Not concurrently with itself or with
// Consume.
func (s *Sort) AddRun(rows iter.Seq[[]byte]) error {
	s.extMu.Lock()
	defer s.extMu.Unlock()
	if err := s.external(); err != nil {
		return err
	}
	return s.ext.WriteRun(rows)
}

// EachRow calls fn with every row of a finished Sort in order, encoded
// (valid during the call), as Run would push them: only the first of
// equal keys with Unique, the first TopN with a TopN. The Sort's rows are
// gone after it.
func (s *Sort) EachRow(ctx context.Context, fn func(row []byte) error) error {
	keep := s.unique()
	var n int64
	var err error
	stop := errors.New("stop")
	each := func(row []byte) error {
		if keep != nil && !keep(row) {
			return nil
		}
		if s.topN > 0 && n == s.topN {
			return stop
		}
		if n++; n%mergeEvery == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(row)
	}
	if s.ext != nil {
		it, ierr := s.ext.Sort()
		s.ext = nil
		if ierr != nil {
			return ierr
		}
		defer it.Close()
		for err == nil && it.Next() {
			err = each(it.Row())
		}
		if err == nil {
			err = it.Err()
		}
	} else {
		runs := make([]sortedRows, len(s.done))
		for i, r := range s.done {
			runs[i] = *r
		}
		mergeRuns(runs, func(p int, ref uint64) bool {
			err = each(runs[p].get(ref))
			return err == nil
		})
		s.done = nil
	}
	if err == stop {
		err = nil
	}
	return err
}
