package engine

import (
	"io"
	"runtime"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/readers"
)

// Config is everything a run needs to know, resolved from flags,
// environment and config file by cmd.
type Config struct {
	Workers     int   // worker goroutines, >= 1
	MemoryLimit int64 // bytes for the whole run
	Blocksize   int64 // partition size; 0 picks one per file (readers.AutoBlocksize)
	SampleBytes int64 // bytes read to infer column types; 0 means SampleBytes
	// Types are declared column types (--types), by name: a declared
	// column starts at that type instead of the one inferred. String reads
	// it as text everywhere (keys group by text); int and float still
	// widen as the data requires, like inferred types.
	Types   map[string]readers.Type
	TempDir string
	Dialect readers.Dialect
	Stdin   io.Reader
	Events  exec.Events // receives the engine's events (nil: nobody listens)
	SpillFS spill.FS    // nil: the operating system's (tests inject faults)
	// MergeFanIn caps how many sorted runs a merge reads at once (0: as
	// many as the memory limit allows): tests force merges in more than
	// one pass with small data.
	MergeFanIn int
	// Units, when not nil, are the only parts of the inputs a run's scans
	// read (a shard's share of Dataset.Layout): files only those byte
	// ranges, streams whole if they have a unit and not at all otherwise.
	// info, tail and the type sample read the inputs as they are.
	Units []Unit
}

// DefaultConfig is a Config for tests and library use.
func DefaultConfig() Config {
	return Config{Workers: runtime.GOMAXPROCS(0), MemoryLimit: 1 << 30, Dialect: readers.DefaultDialect()}
}

// StreamChunkSize is the chunk size for streams when --blocksize is auto.
const StreamChunkSize = 4 << 20

func (c *Config) blocksize(size int64) int64 {
	if c.Blocksize > 0 {
		return c.Blocksize
	}
	return readers.AutoBlocksize(size, c.Workers)
}

func (c *Config) sampleBytes() int64 {
	if c.SampleBytes > 0 {
		return c.SampleBytes
	}
	return SampleBytes
}

func (c *Config) chunkSize() int {
	if c.Blocksize > 0 {
		return int(min(c.Blocksize, 1<<30))
	}
	return StreamChunkSize
}

// Progress is read by a progress bar while a run's events update it.
// Safe for concurrent use.
type Progress struct {
	Total   atomic.Int64 // bytes to read (compressed bytes for streams), 0 if unknown
	Done    atomic.Int64 // bytes read
	Spilled atomic.Int64 // bytes written to spill files
	// The merge phase of an external sort, once the scan is done: rows
	// to merge, rows merged, and the runs they came in.
	MergeTotal, MergeDone atomic.Int64
	MergeRuns             atomic.Int64
}

// Event counts the input bytes the scans announce and read, the bytes
// spilled and the rows of external merges; a run that starts again starts the counts again.
func (p *Progress) Event(e exec.Event) {
	switch e.Kind {
	case exec.EvRunStart:
		p.Total.Store(0)
		p.Done.Store(0)
		p.Spilled.Store(0)
		p.MergeTotal.Store(0)
		p.MergeDone.Store(0)
		p.MergeRuns.Store(0)
	case exec.EvInput:
		p.Total.Add(e.Bytes)
	case exec.EvMorselEnd:
		p.Done.Add(e.Bytes)
	case exec.EvSpill:
		p.Spilled.Add(e.Bytes)
	case exec.EvMergeStart:
		p.MergeTotal.Add(e.RowsIn)
		p.MergeRuns.Add(int64(e.Runs))
	case exec.EvMergeRows:
		p.MergeDone.Add(e.RowsOut)
	}
}
