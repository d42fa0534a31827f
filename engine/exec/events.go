package exec

import (
	"sync"
	"time"
)

// EventKind says what an Event reports.
//
// The stream of one run, and the rules a consumer may rely on (the
// engine's TestEventsBalance checks them on random plans):
//
// Runs. Everything before the last EvRunStart is void: a run that starts
// again (a file had to be split more carefully) counts from zero.
//
// Morsels. A morsel is a unit of a pipeline's work on one worker. The
// pipeline's source operator (a scan; the source of a finished pipeline
// breaker: an aggregate, a sort, a count, an attach; a limit over rows of
// many workers) sends EvMorselStart, then exactly one EvMorselEnd of the
// same Op, Worker and Morsel with its own figures: a bar from start to
// end, its Dur within it. Morsel numbers are a pipeline's own (a scan
// numbers its morsels over all its inputs, a breaker's source from 0),
// so the same Op, Worker and Morsel may start again once it has ended:
// after a seam that did not hold within the run, an ordered scan splits
// the rest of the file again and numbers its partitions from the seam's
// on. A morsel known to be one only once done (a plain file counted by
// the splitter's pre-pass, on worker 0) sends its start then, At when the
// work began, and its end at once. Worker is the pool slot: the sorted
// children an Attach zips run beside each other, each its morsel 0 on
// worker 0, so the morsels of different operators may overlap on one
// worker.
//
// Shares. Every other operator of the pipeline (a filter, a projection,
// the sink the pipeline ends in) sends no start: its EvMorselEnd, with the
// Worker and Morsel of the morsel Worker started, is its share of that
// morsel, sent as the morsel ends (just before or after the source's
// end). A sink may send two shares of one morsel: its rows, then the time
// its EndMorsel took.
//
// Figures only. An EvMorselEnd with Morsel -1 and Worker -1 is no morsel
// of a worker and has no start: an operator's figures, to add to its
// totals and not to draw. The root's Limits, run by the output, send
// their rows in and out this way; a Limit over rows of many workers its
// rows in (its morsel's end has its rows out); a Count that its scan
// counted (no rows materialised) its rows in.
//
// Op -1. Events of no plan node: EvRunStart, EvMemory, and the morsel of
// the first of a Distinct's two sorts, which hands its rows to the second
// (the Distinct's rows out are the second's).
//
// Rows. Summed over the run, an operator's RowsOut are the RowsIn of its
// parent in the plan. An Attach reports rows out only: it zips its
// children's rows, one per key, so each child's rows out are its rows out
// (or more, when a limit above stopped it). A Limit's rows out are the
// least of its N and its rows in, unless a limit above stopped it or
// rows of void morsels came in. Void morsels: after a seam that did not
// hold within a run, the morsels read past it are void and that part of
// the file is read again. Their rows count as they went, in and out, for
// every operator that passed them; where they are dropped (the ordered
// sink of the output or of a Limit, a count that counts the file again)
// they count in, not out.
//
// Bytes. Summed over the run, the Bytes of a scan's EvMorselEnd events
// are the Bytes of its EvInput events once it has read every input (a
// limit may stop it sooner), plus those of inputs whose size is not
// known (stdin, announced as 0). A scan announces each input once: a
// plain file's data after its header; a stream's compressed size, or its
// data when read again from the copy a first scan kept. After a seam that
// did not hold within the run it announces again what its void morsels
// had read.
//
// Merges. An operator's EvMergeStart is followed by its EvMerge before
// it starts another merge, with its EvMergeRows between them; they add
// up to the EvMerge's RowsIn, which are the EvMergeStart's when the merge
// put out every row (fewer when a limit above stopped it).
type EventKind uint8

const (
	// EvRunStart: a run starts, or starts again (a file had to be split
	// more carefully): what was counted so far is void.
	EvRunStart EventKind = iota
	// EvInput: a scan is about to read Bytes bytes of an input (0 when
	// the size is not known: stdin), or, after a seam that did not hold
	// within the run, to read again the Bytes its void morsels read.
	EvInput
	// EvMorselStart: Worker starts Morsel of operator Op's pipeline (Op
	// is the pipeline's source).
	EvMorselStart
	// EvMorselEnd: operator Op has finished its share of Morsel on
	// Worker: RowsIn rows came in, RowsOut went on, Bytes of input were
	// read (scans only: the bytes its scanner went over), in Dur of the
	// operator's own time. Morsel -1 and Worker -1: figures only, of no
	// morsel (see EventKind).
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
