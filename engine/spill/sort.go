package spill

import (
	"cmp"
	"errors"
	"slices"
	"unsafe"
)

// rowOverhead is what a buffered row costs beyond its bytes: its bufRow.
const rowOverhead = int64(unsafe.Sizeof(bufRow{}))

// maxFanIn caps how many sorted runs one merge reads at once.
const maxFanIn = 128

// Sorter is an external merge sort of rows (opaque byte records) ordered by
// cmp; rows that compare equal keep the order they were added in.
//
// Memory: rows are copied into arena chunks and counted as len(row)+32 bytes;
// when the next row would take the count over the memory limit the buffered
// rows are sorted and written to a sorted run, and the chunks are reused.
// So a Sorter holds about memLimit plus one chunk (memLimit/4, between 4 KiB
// and 1 MiB), plus a writer's ~170 KiB while it writes a run. Sort merges
// at most F = memLimit/135 KiB runs at once (2 <= F <= 128), each read through
// ~135 KiB of buffers (more while a row is longer than 32 KiB), so during Sort
// and iteration the total is at most about 2 × memLimit (for memLimits above
// ~300 KiB); with more than F runs, intermediate passes first merge groups of
// F consecutive runs into one.
//
// A Sorter and its SortedIter are used by one goroutine.
type Sorter struct {
	d        *Dir
	memLimit int64
	cmp      func(a, b []byte) int

	rows      []bufRow
	chunks    [][]byte // arena; rows point into chunks[:cur+1]
	cur       int
	chunkSize int
	bigBytes  int64 // rows longer than chunkSize, allocated alone
	used      int64 // Σ len(row)+rowOverhead of rows

	runs   []*sortRun
	err    error
	sorted bool
}

// bufRow is a buffered row and its position among the rows buffered with
// it, which breaks ties so that an unstable sort gives the stable order.
type bufRow struct {
	b   []byte
	seq int
}

type sortRun struct {
	name string
	s    stream
}

// NewSorter returns a Sorter that buffers up to memLimit bytes of rows in
// memory and orders rows by cmp (negative when a sorts before b). cmp is
// called from the goroutine using the Sorter and must not keep a or b.
func (d *Dir) NewSorter(memLimit int64, cmp func(a, b []byte) int) *Sorter {
	return &Sorter{
		d:         d,
		memLimit:  memLimit,
		cmp:       cmp,
		chunkSize: int(min(max(memLimit/4, 4<<10), 1<<20)),
	}
}

// MemBytes returns the memory the Sorter holds for buffered rows: arena
// chunks, rows too long for a chunk and the slice of row headers.
func (s *Sorter) MemBytes() int64 {
	n := s.bigBytes + int64(cap(s.rows))*rowOverhead
	for _, c := range s.chunks {
		n += int64(cap(c))
	}
	return n
}

// Spilled returns how many sorted runs have been written so far.
func (s *Sorter) Spilled() int { return len(s.runs) }

// Add copies row into the Sorter, first writing the buffered rows out as a
// sorted run if row would take them over the memory limit. After an error the
// Sorter has removed its files and returns the error again. Add must not be
// called after Sort.
func (s *Sorter) Add(row []byte) error {
	if s.sorted {
		panic("BUG: spill: Sorter.Add after Sort")
	}
	if s.err != nil {
		return s.err
	}
	cost := int64(len(row)) + rowOverhead
	if s.used+cost > s.memLimit && len(s.rows) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.rows = append(s.rows, bufRow{b: s.copyRow(row), seq: len(s.rows)})
	s.used += cost
	return nil
}

func (s *Sorter) copyRow(row []byte) []byte {
	if len(row) > s.chunkSize {
		s.bigBytes += int64(len(row))
		return slices.Clone(row)
	}
	if len(s.chunks) == 0 {
		s.chunks = append(s.chunks, make([]byte, 0, s.chunkSize))
	}
	if c := s.chunks[s.cur]; cap(c)-len(c) < len(row) {
		s.cur++
		if s.cur == len(s.chunks) {
			s.chunks = append(s.chunks, make([]byte, 0, s.chunkSize))
		}
	}
	c := s.chunks[s.cur]
	start := len(c)
	c = append(c, row...)
	s.chunks[s.cur] = c
	return c[start:len(c):len(c)]
}

// sortRows sorts the buffered rows stably: the order of sort.SliceStable by
// cmp, in O(n log n) comparisons rather than a stable sort's O(n log² n).
func (s *Sorter) sortRows() {
	slices.SortFunc(s.rows, func(x, y bufRow) int {
		if c := s.cmp(x.b, y.b); c != 0 {
			return c
		}
		return cmp.Compare(x.seq, y.seq)
	})
}

// spill writes the buffered rows as a sorted run and empties the buffer.
func (s *Sorter) spill() error {
	s.sortRows()
	w, err := newWriter(s.d, "sort", 1)
	if err != nil {
		return s.fail(err)
	}
	for _, row := range s.rows {
		if err := w.addRow(row.b); err != nil {
			return s.fail(err)
		}
	}
	if err := w.close(); err != nil {
		return s.fail(err)
	}
	s.runs = append(s.runs, &sortRun{name: w.f.Name(), s: w.streams[0]})
	clear(s.rows) // drop pointers into long rows
	s.rows = s.rows[:0]
	for i := range s.chunks {
		s.chunks[i] = s.chunks[i][:0]
	}
	s.cur, s.used, s.bigBytes = 0, 0, 0
	return nil
}

// fail records err and removes the runs.
func (s *Sorter) fail(err error) error {
	s.err = err
	s.Abort()
	return err
}

// Abort removes the Sorter's files and drops its rows; for a caller that
// gives up before Sort (or before the SortedIter exists).
func (s *Sorter) Abort() {
	for _, r := range s.runs {
		s.d.fs.Remove(r.name)
	}
	s.runs = nil
	s.rows, s.chunks, s.bigBytes, s.used, s.cur = nil, nil, 0, 0, 0
	if s.err == nil {
		s.err = errAborted
	}
}

// fanIn is how many runs one merge reads at once.
func (s *Sorter) fanIn() int {
	return int(min(max(s.memLimit/readerMem, 2), maxFanIn))
}

// Sort finishes adding and returns the rows in order: straight from memory if
// nothing was spilled, else a k-way merge of the sorted runs and the
// in-memory rest. The SortedIter owns the Sorter's files and memory from then
// on; close it to remove them.
func (s *Sorter) Sort() (*SortedIter, error) {
	if s.sorted {
		panic("BUG: spill: Sorter.Sort called twice")
	}
	s.sorted = true
	if s.err != nil {
		return nil, s.err
	}
	s.sortRows()
	f := s.fanIn()
	for len(s.runs) > f {
		if err := s.mergePass(f); err != nil {
			return nil, s.fail(err)
		}
	}
	srcs := make([]mergeSrc, 0, len(s.runs)+1)
	it := &SortedIter{s: s}
	for _, r := range s.runs {
		rd, err := openStream(s.d, r.name, &r.s)
		if err != nil {
			it.m = &merger{srcs: srcs}
			it.Close()
			return nil, s.fail(err)
		}
		srcs = append(srcs, mergeSrc{rd: rd})
	}
	srcs = append(srcs, mergeSrc{rows: s.rows})
	it.m = newMerger(srcs, s.cmp)
	if it.m.err != nil {
		err := it.m.err
		it.Close()
		return nil, err
	}
	return it, nil
}

// mergePass merges each group of f consecutive runs into one run.
func (s *Sorter) mergePass(f int) error {
	var next []*sortRun
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
			s.d.fs.Remove(g.name)
		}
		next = append(next, r)
		s.runs = s.runs[k:]
	}
	s.runs = next
	return nil
}

func (s *Sorter) mergeRuns(group []*sortRun) (run *sortRun, err error) {
	srcs := make([]mergeSrc, 0, len(group))
	defer func() {
		for _, src := range srcs {
			src.rd.close()
		}
	}()
	for _, r := range group {
		rd, err := openStream(s.d, r.name, &r.s)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, mergeSrc{rd: rd})
	}
	w, err := newWriter(s.d, "sort", 1)
	if err != nil {
		return nil, err
	}
	m := newMerger(srcs, s.cmp)
	for m.next() {
		if err := w.addRow(m.row); err != nil {
			return nil, err
		}
	}
	if m.err != nil {
		w.abort()
		return nil, m.err
	}
	if err := w.close(); err != nil {
		return nil, err
	}
	return &sortRun{name: w.f.Name(), s: w.streams[0]}, nil
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
		if err := s.d.fs.Remove(r.name); err != nil && !isNotExist(err) {
			errs = append(errs, newError("remove spill file", s.d.path, err))
		}
	}
	s.runs = nil
	s.rows, s.chunks = nil, nil
	it.m.srcs, it.m.row = nil, nil
	return errors.Join(errs...)
}

// merger merges sorted sources, the runs on disk and the rows in memory,
// through a Merge. A tie goes to the lower source index, so merging
// consecutive stable runs in order is stable.
type merger struct {
	srcs    []mergeSrc
	m       *Merge
	cmp     func(a, b []byte) int
	started bool
	row     []byte
	err     error
}

// mergeSrc is a sorted run on disk (rd) or the sorted rows in memory.
type mergeSrc struct {
	rd   *reader
	rows []bufRow
	row  []byte // the current row
}

func newMerger(srcs []mergeSrc, cmp func(a, b []byte) int) *merger {
	m := &merger{srcs: srcs, cmp: cmp}
	// The tree's Keys are all zero: every match is decided by cmp.
	m.m = NewMerge(len(srcs), m.advance, func(a, b int) int { return cmp(m.srcs[a].row, m.srcs[b].row) })
	return m
}

// advance moves source i to its next row.
func (m *merger) advance(i int) Key {
	src := &m.srcs[i]
	if src.rd == nil {
		if len(src.rows) == 0 {
			return Key{Done: true}
		}
		src.row, src.rows = src.rows[0].b, src.rows[1:]
		return Key{}
	}
	row, ok := src.rd.nextRow()
	if !ok {
		if src.rd.err != nil && m.err == nil {
			m.err = src.rd.err
		}
		return Key{Done: true}
	}
	src.row = row
	return Key{}
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
