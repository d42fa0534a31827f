package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/readers"
)

// Units: the inputs cut into byte ranges that independent shards read
// (DESIGN §8). The layout is made by whoever writes the shared plan and
// handed to every shard (Config.Units), so shards agree on it without
// talking to each other: first cut at line ends without reading the
// inputs (LineLayout), and made exact (Layout) only when a shard finds
// the guess wrong.

// Unit is the byte range [Start, End) of input Input's data, starting at a
// record start; its first record is on line Line, the line a scan of the
// whole file reports for that byte, or 0 when not known (LineLayout).
// A stream input (stdin, .gz, .zst) is
// one unit of the whole input: Start 0, End -1, Line the data's first line.
type Unit struct {
	Input int   `json:"input"`
	Start int64 `json:"start"`
	End   int64 `json:"end"`
	Line  int64 `json:"line"`
}

// DefaultUnitBlocksize is the size of units when Layout is given 0.
const DefaultUnitBlocksize = 64 << 20

// Layout cuts every input, in order, into units of about blocksize bytes
// (0: DefaultUnitBlocksize). A file is cut by quote parity (readers.Split),
// whose cuts are exact record starts when every quote stands where RFC
// 4180 puts one; each unit's first line is exact (the split counts line
// ends before each cut). When a quote stands inside an unquoted field
// (readers.QuoteState cannot vouch for the parity), the file is one unit,
// exact by construction. The answer depends only on the files' bytes and
// blocksize, never on Config.Workers or Config.Blocksize. A file with no
// data has no unit. A stream is one unit (Unit). Layout reads every file
// whole, once.
func (ds *Dataset) Layout(ctx context.Context, blocksize int64) ([]Unit, error) {
	return ds.layout(ctx, blocksize, true)
}

// LineLayout cuts every input as Layout does, but a file at the first
// line end after each multiple of blocksize (readers.SplitLines): it reads
// a few KiB at each cut, not the files. The cuts are a guess that no
// quoted field spans one, and a unit's line is known only for a file's
// first unit (0 for the others: lines are counted from 0 there).
//
// The scans prove or refute the guess: a scan of units stops with an error
// where a unit's end is not a record end (unitMismatch), so shards that
// all read their units of one LineLayout without error read exactly the
// local run's records (by induction from each file's first unit, which
// starts at a record start). A shard that fails on such units must not
// report its error (its start may be inside a quoted field, its lines are
// relative): it runs again on Layout's units.
func (ds *Dataset) LineLayout(ctx context.Context, blocksize int64) ([]Unit, error) {
	return ds.layout(ctx, blocksize, false)
}

func (ds *Dataset) layout(ctx context.Context, blocksize int64, exact bool) ([]Unit, error) {
	if blocksize == 0 {
		blocksize = DefaultUnitBlocksize
	}
	if blocksize < readers.MinBlocksize {
		return nil, fmt.Errorf("unit blocksize %d is below the minimum %d", blocksize, readers.MinBlocksize)
	}
	var units []Unit
	for i, s := range ds.inputs {
		if s.stream {
			units = append(units, Unit{Input: i, Start: 0, End: -1, Line: s.header.DataLine})
			continue
		}
		start, size := s.header.DataStart, s.in.Size
		if start >= size {
			continue
		}
		if !exact {
			parts, err := readers.SplitLines(ctx, s.in.File, s.in.Path, start, size, blocksize)
			if err != nil {
				return nil, err
			}
			for j, p := range parts {
				u := Unit{Input: i, Start: p.Start, End: p.End}
				if j == 0 {
					u.Line = s.header.DataLine
				}
				units = append(units, u)
			}
			continue
		}
		lay, err := readers.SplitCuts(ctx, s.in.File, s.in.Path, start, size, blocksize, ds.cfg.Workers)
		if err != nil {
			return nil, err
		}
		whole := []Unit{{Input: i, Start: start, End: size, Line: s.header.DataLine}}
		if len(lay.Partitions) > 1 && lay.Quotes > 0 {
			_, known, err := readers.QuoteState(ctx, s.in.File, s.in.Path, start, size, size, false, ds.cfg.Dialect.Delimiter, ds.cfg.Workers)
			if err != nil {
				return nil, err
			}
			if !known {
				// Parity and the scanner may disagree: only a serial read
				// knows the records, so the file is one unit.
				units = append(units, whole...)
				continue
			}
		}
		for j, p := range lay.Partitions {
			units = append(units, Unit{Input: i, Start: p.Start, End: p.End, Line: s.header.DataLine + lay.Breaks[j]})
		}
	}
	if err := ds.checkInputs(); err != nil {
		return nil, err
	}
	return units, nil
}

// ShardUnits is shard i's share of n: units [i*U/n, (i+1)*U/n), contiguous,
// so that shards' ordered outputs concatenated in shard order are the
// order of a local run.
func ShardUnits(units []Unit, i, n int) []Unit {
	u := len(units)
	return units[i*u/n : (i+1)*u/n]
}

// region is a byte range of a splittable input that a scan reads, and the
// line its first record is on.
type region struct{ start, end, line int64 }

// wholeRegion is s's data region.
func (s *source) wholeRegion() region {
	return region{start: s.header.DataStart, end: s.in.Size, line: s.header.DataLine}
}

// isWhole reports whether rg is s's whole data region.
func (s *source) isWhole(rg region) bool {
	return rg.start == s.header.DataStart && rg.end == s.in.Size
}

// reads reports whether a scan reads input fi at all: every input when
// Config.Units is nil, else those with a unit.
func (ds *Dataset) reads(fi int) bool {
	return ds.cfg.Units == nil || slices.ContainsFunc(ds.cfg.Units, func(u Unit) bool { return u.Input == fi })
}

// regions returns the ranges a scan reads of splittable input fi, in
// order: its data region when Config.Units is nil, else its units (a
// stream's whole-input unit, once the stream became a file, is its data
// region).
func (ds *Dataset) regions(fi int) []region {
	s := ds.inputs[fi]
	if ds.cfg.Units == nil {
		return []region{s.wholeRegion()}
	}
	var out []region
	for _, u := range ds.cfg.Units {
		if u.Input != fi {
			continue
		}
		if u.End < 0 {
			out = append(out, s.wholeRegion())
			continue
		}
		out = append(out, region{start: u.Start, end: u.End, line: u.Line})
	}
	return out
}

// regionBytes is the bytes of rs.
func regionBytes(rs []region) int64 {
	n := int64(0)
	for _, r := range rs {
		n += r.end - r.start
	}
	return n
}

// ErrUnitMismatch is the error, matched with errors.Is, of a unit whose end
// is not a record end: cut by a guess (LineLayout) that a quoted field
// proved wrong, or by a layout of another file.
var ErrUnitMismatch = errors.New("the layout does not match the file")

// unitMismatch is ErrUnitMismatch for unit rg of s, whose read stopped at
// at.
func unitMismatch(s *source, rg region, at int64) error {
	return fmt.Errorf("%s: the unit [%d, %d) ends inside a record (a read of it stopped at %d): %w",
		fsname.Quote(displayName(s.in.Path)), rg.start, rg.end, at, ErrUnitMismatch)
}
