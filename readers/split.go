package readers

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/gdask/gdask/internal/fsname"
)

// Partition is a record-aligned byte range [Start, End) of one input.
type Partition struct {
	Path       string
	Index      int
	Start, End int64
}

// Layout is what the splitter's pre-pass learnt about a file's data region.
type Layout struct {
	Partitions []Partition
	Quotes     int64 // quote bytes in the data region
	Newlines   int64 // LF bytes in the data region
	HasCR      bool  // a CR byte somewhere in the data region
	HasBlank   bool  // an empty line (LF LF, or LF at the start of the data)
	Empty      bool  // the data region holds no byte
	LastByte   byte  // last byte of the file, when the data region is not empty
	LongestRun int64 // an upper bound on the longest line, in bytes
	// Breaks is, per partition, the line ends (LF, CRLF, lone CR, as the
	// scanner counts lines) in the data region before its Start: the
	// partition's first line is the data's first line plus Breaks[i].
	Breaks []int64
}

// Plain reports whether every line of the data region is exactly one
// non-blank record: no quotes, no CR, no blank lines. Then the number of
// records is the number of line ends, plus one for a missing final newline.
// A line longer than maxRecord is left for the scanner to report.
func (l *Layout) Plain(maxRecord int) bool {
	return l.Quotes == 0 && !l.HasCR && !l.HasBlank && l.LongestRun <= int64(maxRecord)
}

// PlainRecords is the record count of a Plain layout.
func (l *Layout) PlainRecords() int64 {
	n := l.Newlines
	if !l.Empty && l.LastByte != '\n' {
		n++
	}
	return n
}

// MinBlocksize is the smallest --blocksize accepted.
const MinBlocksize = 1 << 10

// AutoBlocksize picks a blocksize for size bytes of data: enough partitions
// to keep every worker busy (four each, so uneven partitions even out), each
// between 1 MiB and 64 MiB, and sized so the data divides into them evenly.
func AutoBlocksize(size int64, workers int) int64 {
	const lo, hi = 1 << 20, 64 << 20
	n := max(int64(4*max(workers, 1)), (size+hi-1)/hi) // partitions
	n = max(min(n, size/lo), 1)
	return max((size+n-1)/n, MinBlocksize)
}

// blockStats is the pre-pass summary of one block.
type blockStats struct {
	quotes, newlines int64
	loneCRs          int64 // CRs not followed by LF in the block (a CR last in it counts)
	hasCR, hasBlank  bool
	first, last      byte
	runs             lineRuns
}

// lineRuns bounds line lengths in a byte range: lead is the bytes before the
// first LF (the whole range if it has none), trail the bytes after the last
// LF, inner an upper bound on the lines in between.
type lineRuns struct {
	lead, trail, inner int64
	hasNL              bool
}

// then appends the runs of the range that follows r.
func (r lineRuns) then(next lineRuns) lineRuns {
	if !r.hasNL {
		next.lead += r.lead
		if !next.hasNL {
			next.trail = next.lead
		}
		return next
	}
	if !next.hasNL {
		r.trail += next.lead
		return r
	}
	r.inner = max(r.inner, next.inner, r.trail+next.lead)
	r.trail = next.trail
	return r
}

func runsOf(b []byte) lineRuns {
	first := bytes.IndexByte(b, '\n')
	if first < 0 {
		return lineRuns{lead: int64(len(b)), trail: int64(len(b))}
	}
	last := bytes.LastIndexByte(b, '\n')
	r := lineRuns{lead: int64(first), trail: int64(len(b) - 1 - last), hasNL: true}
	if last > first {
		r.inner = int64(last - first) // a bound: no inner line is longer
	}
	return r
}

// Split cuts the data region [dataStart, size) of r into partitions of about
// blocksize bytes whose boundaries are exact record starts, even when quoted
// fields hold newlines (DESIGN §4). A parallel pre-pass counts quote bytes
// per block; the prefix parity says whether a cut falls inside quotes, and
// the cut moves to the next line end outside quotes.
//
// Parity equals the scanner's quote state unless a quote stands inside an
// unquoted field (not RFC 4180, but accepted by the scanner); callers detect
// that case with the seam check and fall back to one partition.
func Split(ctx context.Context, r io.ReaderAt, path string, dataStart, size, blocksize int64, workers int) (*Layout, error) {
	return split(ctx, r, path, dataStart, size, blocksize, workers, true)
}

// SplitCuts is Split for a caller that needs only the cuts and the line
// ends before them (Partitions, Breaks, Quotes, Newlines, HasCR): its
// pre-pass leaves out what counting records needs, blank lines and line
// lengths, so HasBlank and LongestRun stay unset. A shard plan's layout
// reads the whole input once this way: about half the pre-pass's time.
func SplitCuts(ctx context.Context, r io.ReaderAt, path string, dataStart, size, blocksize int64, workers int) (*Layout, error) {
	return split(ctx, r, path, dataStart, size, blocksize, workers, false)
}

func split(ctx context.Context, r io.ReaderAt, path string, dataStart, size, blocksize int64, workers int, records bool) (*Layout, error) {
	if blocksize < MinBlocksize {
		return nil, fmt.Errorf("BUG: blocksize %d below minimum", blocksize)
	}
	lay := &Layout{Empty: dataStart >= size}
	if lay.Empty {
		return lay, nil
	}
	nblocks := int((size - dataStart + blocksize - 1) / blocksize)
	stats := make([]blockStats, nblocks)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, max(workers, 1))
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, min(blocksize, 1<<20))
			for {
				b := int(next.Add(1) - 1)
				if b >= nblocks || ctx.Err() != nil {
					return
				}
				start := dataStart + int64(b)*blocksize
				end := min(start+blocksize, size)
				if err := scanBlock(r, start, end, buf, &stats[b], records); err != nil {
					errs[w] = fmt.Errorf("cannot read %s: %w", fsname.Quote(path), fsname.Cause(err))
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	prev := byte('\n') // the header, if any, ended with a line end
	var runs lineRuns
	for i := range stats {
		st := &stats[i]
		if i == 0 {
			runs = st.runs
		} else {
			runs = runs.then(st.runs)
		}
		lay.Quotes += st.quotes
		lay.Newlines += st.newlines
		lay.HasCR = lay.HasCR || st.hasCR
		lay.HasBlank = lay.HasBlank || st.hasBlank || (prev == '\n' && st.first == '\n')
		prev = st.last
	}
	lay.LastByte = prev
	lay.LongestRun = max(runs.lead, runs.trail, runs.inner)

	// Cut at each block boundary, in the quote state the prefix parity
	// gives there. breaks[b] is the line ends before block b: its LFs and
	// lone CRs (a CR that ends a block is not lone when LF starts the next).
	inQuote := make([]bool, nblocks)
	breaks := make([]int64, nblocks)
	parity := int64(0)
	for b := 1; b < nblocks; b++ {
		prev := &stats[b-1]
		parity += prev.quotes
		inQuote[b] = parity%2 == 1
		breaks[b] = breaks[b-1] + prev.newlines + prev.loneCRs
		if prev.last == '\r' && stats[b].first == '\n' {
			breaks[b]--
		}
	}
	parts, after, err := cutAtRecords(ctx, r, path, dataStart, size, blocksize, make([]byte, 64<<10),
		func(b int) bool { return inQuote[b] })
	if err != nil {
		return nil, err
	}
	lay.Partitions = parts
	lay.Breaks = make([]int64, len(parts))
	for i, a := range after {
		if a.block > 0 {
			lay.Breaks[i] = breaks[a.block] + a.breaks
		}
	}
	return lay, nil
}

// cutAt is where a partition's start came from: the cut at the start of
// block block (0: the data's start), and the line ends between that cut
// and the start.
type cutAt struct {
	block  int
	breaks int64
}

// cutAtRecords cuts [dataStart, size) at every multiple of blocksize past
// dataStart, each cut moved to the record start after the line end that
// follows it, assuming quote state inQuote(b) at the b-th cut (b from 1).
// window is the read buffer of that search. It returns, per partition,
// the cut its start came from.
func cutAtRecords(ctx context.Context, r io.ReaderAt, path string, dataStart, size, blocksize int64,
	window []byte, inQuote func(b int) bool) ([]Partition, []cutAt, error) {
	var parts []Partition
	after := []cutAt{{}}
	start := dataStart
	for b, cut := 1, dataStart+blocksize; cut < size; b, cut = b+1, cut+blocksize {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if cut <= start {
			continue
		}
		at, breaks, err := nextRecordStart(r, cut, size, inQuote(b), window)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot read %s: %w", fsname.Quote(path), fsname.Cause(err))
		}
		if at <= start || at >= size {
			continue
		}
		parts = append(parts, Partition{Path: path, Index: len(parts), Start: start, End: at})
		after = append(after, cutAt{block: b, breaks: breaks})
		start = at
	}
	return append(parts, Partition{Path: path, Index: len(parts), Start: start, End: size}), after, nil
}

// scanBlock fills st for r's bytes [start, end) using buf; blank lines
// and line lengths only when records says so.
func scanBlock(r io.ReaderAt, start, end int64, buf []byte, st *blockStats, records bool) error {
	prev := byte(0)
	for off := start; off < end; {
		n := int(min(int64(len(buf)), end-off))
		if err := readAt(r, buf[:n], off); err != nil {
			return err
		}
		b := buf[:n]
		if off == start {
			st.first = b[0]
		}
		st.quotes += int64(bytes.Count(b, []byte{'"'}))
		st.newlines += int64(bytes.Count(b, nl))
		if bytes.IndexByte(b, '\r') >= 0 {
			// Lone CRs end lines too; only files with CRs pay for them.
			st.hasCR = true
			st.loneCRs += int64(bytes.Count(b, cr) - bytes.Count(b, crlf))
			if b[n-1] == '\r' && off+int64(n) < end {
				st.loneCRs-- // counted again below if the next byte is not LF
			}
		}
		if prev == '\r' && b[0] != '\n' {
			st.loneCRs++ // the last buffer's final CR was lone
		}
		if records {
			st.hasBlank = st.hasBlank || (prev == '\n' && b[0] == '\n') || hasDoubleLF(b)
			if off == start {
				st.runs = runsOf(b)
			} else {
				st.runs = st.runs.then(runsOf(b))
			}
		}
		prev = b[n-1]
		off += int64(n)
	}
	st.last = prev
	return nil
}

// SplitLines cuts the data region [dataStart, size) of r into partitions of
// about blocksize bytes, each cut moved to the record start after the next
// line end, on the guess that no quoted field spans the cut. Unlike Split
// it reads only a small window at each cut, not the whole file, so a scan
// that follows pays for one pass instead of two.
//
// The guess is checked by the scan, not here: the caller must check every
// seam (the scan of a partition ends exactly where the next begins) and
// treat an error from any partition but the first as a failed seam. When a
// cut does fall inside a quoted field, the record around it ends past the
// cut and that seam fails; the caller then splits again with Split.
func SplitLines(ctx context.Context, r io.ReaderAt, path string, dataStart, size, blocksize int64) ([]Partition, error) {
	c, err := NewLineCutter(r, path, dataStart, size, blocksize)
	if err != nil {
		return nil, err
	}
	var parts []Partition
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, ok, err := c.Next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return parts, nil
		}
		parts = append(parts, p)
	}
}

// LineCutter cuts partitions as SplitLines does, one at a time, each read
// only when asked for: a reader that stops early (head) reads the cuts it
// used, not the file's. Not safe for concurrent use.
type LineCutter struct {
	r                io.ReaderAt
	path             string
	start, cut, size int64
	blocksize        int64
	window           []byte
	n                int
}

// NewLineCutter cuts [dataStart, size) of r at line ends near multiples of
// blocksize.
func NewLineCutter(r io.ReaderAt, path string, dataStart, size, blocksize int64) (*LineCutter, error) {
	if blocksize < MinBlocksize {
		return nil, fmt.Errorf("BUG: blocksize %d below minimum", blocksize)
	}
	return &LineCutter{r: r, path: path, start: dataStart, cut: dataStart + blocksize, size: size, blocksize: blocksize,
		window: make([]byte, 4<<10)}, nil
}

// Next returns the next partition, or false when there are no more.
func (c *LineCutter) Next() (Partition, bool, error) {
	if c.start >= c.size {
		return Partition{}, false, nil
	}
	for ; c.cut < c.size; c.cut += c.blocksize {
		if c.cut <= c.start {
			continue
		}
		at, err := nextLineStart(c.r, c.cut, c.size, c.window)
		if err != nil {
			return Partition{}, false, fmt.Errorf("cannot read %s: %w", fsname.Quote(c.path), fsname.Cause(err))
		}
		if at <= c.start || at >= c.size {
			continue
		}
		p := Partition{Path: c.path, Index: c.n, Start: c.start, End: at}
		c.n++
		c.start = at
		c.cut += c.blocksize
		return p, true, nil
	}
	p := Partition{Path: c.path, Index: c.n, Start: c.start, End: c.size}
	c.n++
	c.start = c.size
	return p, true, nil
}

// nextLineStart returns the offset after the first line end (LF, CRLF or
// a lone CR) at or after from, or size. It does not look at quotes: the
// cut is a guess, which the scan's seam check proves or refutes. (Tracking
// quote parity from a cut of unknown quote state would be no better a
// guess, and a wrong one could read to the end of the file.)
func nextLineStart(r io.ReaderAt, from, size int64, buf []byte) (int64, error) {
	for off := from; off < size; {
		n := int(min(int64(len(buf)), size-off))
		if err := readAt(r, buf[:n], off); err != nil {
			return 0, err
		}
		b := buf[:n]
		lf := bytes.IndexByte(b, '\n')
		if cr := bytes.IndexByte(b, '\r'); cr >= 0 && (lf < 0 || cr < lf) {
			at := off + int64(cr) + 1
			if cr+1 < n {
				if b[cr+1] == '\n' {
					at++
				}
				return at, nil
			}
			if at == size {
				return size, nil
			}
			var next [1]byte
			if err := readAt(r, next[:], at); err != nil {
				return 0, err
			}
			if next[0] == '\n' {
				at++
			}
			return at, nil
		}
		if lf >= 0 {
			return off + int64(lf) + 1, nil
		}
		off += int64(n)
	}
	return size, nil
}

// RecordStartAfter returns the first record start after from, assuming the
// quote state inQuote at from, and whether the input ends inside quotes
// under that assumption (then the assumption cannot be right for a valid
// file). It returns size when no line end outside quotes follows.
func RecordStartAfter(r io.ReaderAt, from, size int64, inQuote bool) (at int64, openAtEnd bool, err error) {
	buf := make([]byte, 64<<10)
	start := inQuote
	for off := from; off < size; {
		n := int(min(int64(len(buf)), size-off))
		if err := readAt(r, buf[:n], off); err != nil {
			return 0, false, err
		}
		inQuote = inQuote != (bytes.Count(buf[:n], []byte{'"'})%2 == 1)
		off += int64(n)
	}
	if inQuote {
		return size, true, nil
	}
	at, _, err = nextRecordStart(r, from, size, start, buf)
	return at, false, err
}

// nextRecordStart returns the offset of the first record start after the
// line end that follows from (or size), and the line ends in [from, at):
// each CR, and each LF not right after a CR of the range. inQuote is the
// quote state at from. A cut between the CR and LF of a CRLF lands after
// the LF (that LF is counted: its CR is before from).
func nextRecordStart(r io.ReaderAt, from, size int64, inQuote bool, buf []byte) (int64, int64, error) {
	breaks := int64(0)
	prev := byte(0)
	for off := from; off < size; {
		n := int(min(int64(len(buf)), size-off))
		if err := readAt(r, buf[:n], off); err != nil {
			return 0, 0, err
		}
		for i, c := range buf[:n] {
			switch {
			case c == '"':
				inQuote = !inQuote
			case inQuote:
				if c == '\r' || c == '\n' && prev != '\r' {
					breaks++
				}
			case c == '\n':
				if prev != '\r' {
					breaks++
				}
				return off + int64(i) + 1, breaks, nil
			case c == '\r':
				breaks++
				at := off + int64(i) + 1
				if at == size {
					return size, breaks, nil
				}
				var next [1]byte
				if i+1 < n {
					next[0] = buf[i+1]
				} else if err := readAt(r, next[:], at); err != nil {
					return 0, 0, err
				}
				if next[0] == '\n' {
					at++
				}
				return at, breaks, nil
			}
			prev = c
		}
		off += int64(n)
	}
	return size, breaks, nil
}

// readAt fills p from r at off. A short read (the file shrank since its
// size was taken) is an error, never a count of stale buffer bytes.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// NewPartitionScanner returns a Scanner over p of r (whose total size is
// size). It reads past p.End only to finish a record that starts before it.
// startLine is the line of p.Start when known, 0 otherwise.
func NewPartitionScanner(r io.ReaderAt, size int64, p Partition, d Dialect, startLine int64) *Scanner {
	sr := io.NewSectionReader(r, p.Start, size-p.Start)
	return NewScanner(sr, d, p.Path, p.Start, p.End, startLine)
}

// hasDoubleLF reports whether b holds "\n\n", as bytes.Index(b, "\n\n")
// >= 0 does, eight bytes at a time: in a file of short lines, where a
// byte in twenty is a line end, bytes.Index stops at each one to compare
// the next, and was most of the pre-pass's time.
func hasDoubleLF(b []byte) bool {
	const lo7, hi, lfs = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080, 0x0a0a0a0a0a0a0a0a
	var carry uint64 // the high bit of the last word's last byte, if it was '\n', at byte 0
	i := 0
	for ; i+8 <= len(b); i += 8 {
		// The high bit of each byte of x that is '\n', exactly (no
		// borrow from one byte into the next).
		t := binary.LittleEndian.Uint64(b[i:]) ^ lfs
		m := ^(((t & lo7) + lo7) | t) & hi
		if m&(m<<8|carry) != 0 {
			return true
		}
		carry = m >> 56
	}
	prev := carry != 0
	for ; i < len(b); i++ {
		lf := b[i] == '\n'
		if lf && prev {
			return true
		}
		prev = lf
	}
	return false
}
