package exec

import (
	"sync"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EvRunStart: a run starts, or starts again (a file had to be split
	// more carefully): what was counted so far is void.
	EvRunStart EventKind = iota
	// EvInput: a scan is about to read Bytes bytes of an input (0 when
	// the size is not known: stdin).
	EvInput
	// EvMorselStart: Worker starts Morsel of operator Op's pipeline.
	EvMorselStart
	// EvMorselEnd: operator Op has finished its share of Morsel on
	// Worker: RowsIn rows came in, RowsOut went on, Bytes of input were
	// read (scans only), in Dur of the operator's own time.
	EvMorselEnd
	// EvSpill: operator Op wrote Bytes to spill files, RowsIn rows in
	// Runs runs (hash partitioned runs, sorted runs), in Dur ending At.
	EvSpill
	// EvMergeStart: operator Op starts merging RowsIn rows of Runs
	// spilled runs (intermediate passes, then the last merge).
	EvMergeStart
	// EvMergeRows: operator Op's last merge has put out RowsOut more rows
	// (sent every mergeEvery rows, never per row).
	EvMergeRows
	// EvMerge: operator Op merged RowsIn rows of Runs spilled runs in Dur;
	// Level is how many merge levels it took (1: the runs at once).
	EvMerge
	// EvMemory: the broker lends Bytes in all now.
	EvMemory
	// EvSpillRead: Bytes more were read back from spill files (sent per
	// read of a file buffer, never per row).
	EvSpillRead
)

// Event is one thing the engine did. Events are per morsel and operator,
// never per row.
type Event struct {
	Kind    EventKind
	Op      int // the operator: its node's number in plan order (Explain's, root 0); -1 for none
	Worker  int
	Morsel  int
	RowsIn  int64
	RowsOut int64
	Bytes   int64
	Level   int
	Runs    int
	Dur     time.Duration
	At      time.Time
}

// Events receives the engine's events on one stream. Event is called from
// every worker: it must be safe for concurrent use and must not block the
// run (a slow consumer aggregates or drops, never waits).
type Events interface {
	Event(e Event)
}

// NoEvents discards events.
type NoEvents struct{}

func (NoEvents) Event(Event) {}

// Tee sends every event to each of its Events in turn.
type Tee []Events

func (t Tee) Event(e Event) {
	for _, ev := range t {
		ev.Event(e)
	}
}

// OpStats are one operator's figures summed over its events.
type OpStats struct {
	RowsIn, RowsOut int64
	Bytes           int64 // input read (scans)
	Morsels         int64
	Time            time.Duration // summed over workers
	SpilledBytes    int64
	SpilledRows     int64
	SpilledRuns     int
	MergeLevels     int
}

// Stats sums events per operator (--explain analyze).
type Stats struct {
	mu  sync.Mutex
	ops map[int]*OpStats
	mem int64 // the most the broker lent
}

func NewStats() *Stats { return &Stats{ops: map[int]*OpStats{}} }

func (s *Stats) Event(e Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case e.Kind == EvMemory:
		s.mem = max(s.mem, e.Bytes)
		return
	case e.Kind == EvRunStart:
		clear(s.ops)
		return
	case e.Op < 0:
		return
	}
	o := s.ops[e.Op]
	if o == nil {
		o = &OpStats{}
		s.ops[e.Op] = o
	}
	switch e.Kind {
	case EvMorselEnd:
		o.RowsIn += e.RowsIn
		o.RowsOut += e.RowsOut
		o.Bytes += e.Bytes
		o.Morsels++
		o.Time += e.Dur
	case EvSpill:
		o.SpilledBytes += e.Bytes
		o.SpilledRows += e.RowsIn
		o.SpilledRuns += e.Runs
	case EvMerge:
		o.MergeLevels = max(o.MergeLevels, e.Level)
		o.Time += e.Dur
	}
}

// Op returns operator op's figures (zero when it had no events).
func (s *Stats) Op(op int) OpStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.ops[op]; o != nil {
		return *o
	}
	return OpStats{}
}

// PeakMemory is the most the broker lent during the run.
func (s *Stats) PeakMemory() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mem
}
