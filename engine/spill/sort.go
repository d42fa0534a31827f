package spill

import (
	"errors"
	"iter"
)

// maxFanIn caps how many sorted runs one merge reads at once.
const maxFanIn = 128

// Sorter is the disk side of gdask's external merge sort: the caller
// sorts rows (opaque byte records ordered by cmp) in memory, a run at a
// time, and writes each run here; Sort merges the runs into one ordered
// stream, through intermediate passes when there are more runs than the
// merge may read at once. Rows that compare equal come in the order of
// their runs, so runs of a stable sort written in input order merge
// stably.
//
// Memory: a merge reads F = mergeMem/135 KiB runs at once (2 <= F <= 128),
// each through ~135 KiB of buffers (more while a row is longer than 32
// KiB), so merging holds about mergeMem; with more than F runs,
// intermediate passes first merge groups of F consecutive runs into one.
//
// A Sorter and its SortedIter are used by one goroutine.
type Sorter struct {
	d        *Dir
	mergeMem int64
	cmp      func(a, b []byte) int
	key      func(row []byte) Key

	runs   []*Rows
	levels int // merge passes made before the last merge
	err    error
	sorted bool
}

// NewSorter returns a Sorter whose merges hold about mergeMem bytes and
// order rows by cmp (negative when a sorts before b). key, when not nil,
// gives a row's Key, which must order as cmp does as far as it goes (see
// Merge); cmp then decides only ties. cmp and key are called from the
// goroutine using the Sorter and must not keep the rows.
func (d *Dir) NewSorter(mergeMem int64, cmp func(a, b []byte) int, key func(row []byte) Key) *Sorter {
	if key == nil {
		key = func([]byte) Key { return Key{} }
	}
	return &Sorter{d: d, mergeMem: mergeMem, cmp: cmp, key: key}
}

// Runs is how many sorted runs were written.
func (s *Sorter) Runs() int { return len(s.runs) }

// Rows is how many rows the runs hold.
func (s *Sorter) Rows() int64 {
	var n int64
	for _, r := range s.runs {
		n += r.Len()
	}
	return n
}

// Levels is how many merge passes Sort made before the last merge.
func (s *Sorter) Levels() int { return s.levels }

// WriteRun writes rows, which come in order, as one sorted run. After an
// error the Sorter has removed its files and returns the error again.
// WriteRun must not be called after Sort.
func (s *Sorter) WriteRun(rows iter.Seq[[]byte]) error {
	if s.sorted {
		panic("BUG: spill: Sorter.WriteRun after Sort")
	}
	if s.err != nil {
		return s.err
	}
	r, err := s.d.WriteRows("sort", rows)
	if err != nil {
		return s.fail(err)
	}
	s.runs = append(s.runs, r)
	return nil
}

// fail records err and removes the runs.
func (s *Sorter) fail(err error) error {
	s.err = err
	s.Abort()
	return err
}

// Abort removes the Sorter's files; for a caller that gives up before
// Sort (or before the SortedIter exists).
func (s *Sorter) Abort() {
	for _, r := range s.runs {
		r.Remove()
	}
	s.runs = nil
	if s.err == nil {
		s.err = errAborted
	}
}

// MergeMem is the mergeMem of a Sorter whose merges read f runs at once.
func MergeMem(f int) int64 { return int64(f) * readerMem }

// fanIn is how many runs one merge reads at once.
func (s *Sorter) fanIn() int {
	return int(min(max(s.mergeMem/readerMem, 2), maxFanIn))
}

// Sort returns the rows of every run in order: a k-way merge of the runs,
// after as many passes as it takes to leave F. The SortedIter owns the
// Sorter's files from then on; close it to remove them.
func (s *Sorter) Sort() (*SortedIter, error) {
	if s.sorted {
		panic("BUG: spill: Sorter.Sort called twice")
	}
	s.sorted = true
	if s.err != nil {
		return nil, s.err
	}
	f := s.fanIn()
	for len(s.runs) > f {
		if err := s.mergePass(f); err != nil {
			return nil, s.fail(err)
		}
		s.levels++
	}
	srcs := make([]mergeSrc, 0, len(s.runs))
	it := &SortedIter{s: s}
	for _, r := range s.runs {
		rd, err := r.open()
		if err != nil {
			it.m = &merger{srcs: srcs}
			it.Close()
			return nil, s.fail(err)
		}
		srcs = append(srcs, mergeSrc{rd: rd})
	}
	it.m = newMerger(srcs, s.cmp, s.key)
	if it.m.err != nil {
		err := it.m.err
		it.Close()
		return nil, err
	}
	return it, nil
}

// mergePass merges each group of f consecutive runs into one run.
func (s *Sorter) mergePass(f int) error {
	var next []*Rows
	for len(s.runs) > 0 {
		k := min(f, len(s.runs))
		group := s.runs[:k]
		if k == 1 {
			next = append(next, group[0])
			s.runs = s.runs[1:]
			continue
		}
		r, err := s.mergeRuns(group)
		if err != nil {
			s.runs = append(next, s.runs...) // all still on disk, for fail to remove
			return err
		}
		for _, g := range group {
			g.Remove()
		}
		next = append(next, r)
		s.runs = s.runs[k:]
	}
	s.runs = next
	return nil
}

func (s *Sorter) mergeRuns(group []*Rows) (run *Rows, err error) {
	srcs := make([]mergeSrc, 0, len(group))
	defer func() {
		for _, src := range srcs {
			src.rd.close()
		}
	}()
	for _, r := range group {
		rd, err := r.open()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, mergeSrc{rd: rd})
	}
	m := newMerger(srcs, s.cmp, s.key)
	run, err = s.d.WriteRows("sort", func(yield func([]byte) bool) {
		for m.next() && yield(m.row) {
		}
	})
	if err == nil && m.err != nil {
		run.Remove()
		return nil, m.err
	}
	return run, err
}

// SortedIter returns the rows of a Sorter in order. It is used by one
// goroutine.
type SortedIter struct {
	s      *Sorter
	m      *merger
	closed bool
}

// Next advances to the next row; it returns false at the end or on error.
func (it *SortedIter) Next() bool { return it.m.next() }

// Row returns the current row, valid until the next call to Next or Close;
// it must not be modified.
func (it *SortedIter) Row() []byte { return it.m.row }

// Err returns the error that stopped Next, if any.
func (it *SortedIter) Err() error { return it.m.err }

// Close closes the runs, removes their files and releases the rows. It is
// idempotent.
func (it *SortedIter) Close() error {
	if it.closed {
		return nil
	}
	it.closed = true
	var errs []error
	for _, src := range it.m.srcs {
		if src.rd != nil {
			errs = append(errs, src.rd.close())
		}
	}
	s := it.s
	for _, r := range s.runs {
		if err := r.Remove(); err != nil {
			errs = append(errs, err)
		}
	}
	s.runs = nil
	it.m.srcs, it.m.row = nil, nil
	return errors.Join(errs...)
}

// merger merges sorted runs through a Merge. A tie goes to the lower
// source index, so merging consecutive stable runs in order is stable.
type merger struct {
	srcs    []mergeSrc
	m       *Merge
	cmp     func(a, b []byte) int
	key     func(row []byte) Key
	started bool
	row     []byte
	err     error
}

// mergeSrc is a sorted run being read.
type mergeSrc struct {
	rd  *reader
	row []byte // the current row
}

func newMerger(srcs []mergeSrc, cmp func(a, b []byte) int, key func(row []byte) Key) *merger {
	m := &merger{srcs: srcs, cmp: cmp, key: key}
	m.m = NewMerge(len(srcs), m.advance, func(a, b int) int { return cmp(m.srcs[a].row, m.srcs[b].row) })
	return m
}

// advance moves source i to its next row.
func (m *merger) advance(i int) Key {
	src := &m.srcs[i]
	row, ok := src.rd.nextRow()
	if !ok {
		if src.rd.err != nil && m.err == nil {
			m.err = src.rd.err
		}
		return Key{Done: true}
	}
	src.row = row
	return m.key(row)
}

func (m *merger) next() bool {
	if w, ok := m.m.Winner(); ok && m.err == nil && m.started {
		m.m.Advance(m.advance(w))
	}
	m.started = true
	w, ok := m.m.Winner()
	if m.err != nil || !ok {
		m.row = nil
		return false
	}
	m.row = m.srcs[w].row
	return true
}
