package dashboard

import (
	"sync"
	"time"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// Run describes what the dashboard watches: fixed for the run.
type Run struct {
	Title       string // the command line
	Workers     int
	MemoryLimit int64
	TempDir     string // where spill files go ("" : the system's temp dir)
}

// Lanes of the task stream past the workers' own.
const (
	laneSpill = iota // spill writes
	laneMerge        // merges of spilled runs
	extraLanes
)

// maxBars bounds what a run keeps of its task stream: past it, bars are
// counted, not kept (about 2 MB of report at 50 bytes a bar).
const maxBars = 40_000

// maxSamples bounds the time series: when full, neighbouring samples are
// merged two by two (keeping the larger memory figures) and the interval
// doubles, so a run of any length keeps its whole history.
const maxSamples = 2048

// sampleEvery is the first interval between samples.
const sampleEvery = 100 * time.Millisecond

// bar is one operator's share of one partition on one worker, a spill
// write or a merge: its place in the task stream.
type bar struct {
	lane    int
	job     int
	op      int
	morsel  int
	start   time.Duration // since the run started
	dur     time.Duration
	rowsIn  int64
	rowsOut int64
	bytes   int64
}

// sample is the run's state at one moment.
type sample struct {
	at           time.Duration
	lent         int64 // the most the broker lent since the sample before
	rss          int64 // the process's resident memory
	spillWritten int64
	spillRead    int64
	tempFree     int64 // -1: unknown
	scanDone     int64 // the progress bar's figures
	scanTotal    int64
	mergeDone    int64
	mergeTotal   int64
}

// job is one plan the command runs (demo runs several): its operators
// and their figures so far.
type job struct {
	title string
	at    time.Duration
	ops   []op
	stats *exec.Stats
}

// op is an operator as --explain prints it.
type op struct {
	id    int
	depth int
	label string
}

// morsel is the partition a worker runs now: the next operator's bar
// starts where the last one ended.
type morsel struct {
	morsel int
	next   time.Time
}

// Recorder keeps what the dashboard shows, fed by the engine's events. It
// is an exec.Events: Event takes a mutex for a few field updates and
// never waits for a reader, so the page never slows the run. Bars are
// appended, never changed, so a reader may encode bars[:n] of a snapshot
// outside the lock.
type Recorder struct {
	run   Run
	start time.Time

	mu          sync.Mutex
	jobs        []*job
	bars        []bar
	barsDropped int64
	open        map[int]morsel // per worker
	progress    engine.Progress
	spillRead   int64
	lent        int64 // what the broker lends now
	lentPeak    int64 // the most it lent since the last sample
	samples     []sample
	epoch       int // how many times the samples were thinned
	every       time.Duration
	status      string // running, done, failed, interrupted
	message     string // the error of a run that failed
	end         time.Duration
	ended       chan struct{} // closed when the run ends

	stop chan struct{}
	done chan struct{}
}

// NewRecorder starts recording a run: it samples memory, spill and
// progress until Finish.
func NewRecorder(run Run) *Recorder {
	r := &Recorder{run: run, start: time.Now(), open: map[int]morsel{}, every: sampleEvery, status: "running",
		stop: make(chan struct{}), done: make(chan struct{}), ended: make(chan struct{})}
	r.sample()
	go r.sampling()
	return r
}

// Plan starts a job: the plan root the command runs next, named title.
// Events go to it until the next Plan. Operators are numbered as the
// engine numbers them (engine.NodeIDs, Explain's order).
func (r *Recorder) Plan(title string, root plan.Node) {
	ids := engine.NodeIDs(root)
	var ops []op
	var walk func(n plan.Node, depth int)
	walk = func(n plan.Node, depth int) {
		ops = append(ops, op{id: ids[n], depth: depth, label: n.String()})
		for _, c := range n.Children() {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, &job{title: title, at: time.Since(r.start), ops: ops, stats: exec.NewStats()})
}

// Work starts a job that runs no plan (gen-data, info, tail): one
// operator, number 0, called name.
func (r *Recorder) Work(title, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs = append(r.jobs, &job{title: title, at: time.Since(r.start), ops: []op{{label: name}}, stats: exec.NewStats()})
}

// Event records one of the engine's events.
func (r *Recorder) Event(e exec.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress.Event(e)
	j := len(r.jobs) - 1
	if j >= 0 {
		r.jobs[j].stats.Event(e)
	}
	switch e.Kind {
	case exec.EvMemory:
		r.lent = e.Bytes
		r.lentPeak = max(r.lentPeak, e.Bytes)
	case exec.EvSpillRead:
		r.spillRead += e.Bytes
	case exec.EvMorselStart:
		r.open[e.Worker] = morsel{morsel: e.Morsel, next: e.At}
	case exec.EvMorselEnd:
		// Operators of one pipeline run batch by batch, interleaved: each
		// one's bar is its own time, laid end to end within the
		// partition's span. An event of figures only (no partition on a
		// worker) has no bar.
		m, ok := r.open[e.Worker]
		if !ok || m.morsel != e.Morsel || e.Morsel < 0 {
			return
		}
		r.addBar(bar{lane: e.Worker, job: j, op: e.Op, morsel: e.Morsel, start: m.next.Sub(r.start), dur: e.Dur,
			rowsIn: e.RowsIn, rowsOut: e.RowsOut, bytes: e.Bytes})
		m.next = m.next.Add(e.Dur)
		r.open[e.Worker] = m
	case exec.EvSpill:
		r.addBar(bar{lane: r.run.Workers + laneSpill, job: j, op: e.Op, morsel: -1, start: e.At.Add(-e.Dur).Sub(r.start), dur: e.Dur,
			rowsIn: e.RowsIn, bytes: e.Bytes})
	case exec.EvMerge:
		r.addBar(bar{lane: r.run.Workers + laneMerge, job: j, op: e.Op, morsel: -1, start: e.At.Add(-e.Dur).Sub(r.start), dur: e.Dur,
			rowsIn: e.RowsIn, rowsOut: e.RowsIn})
	}
}

func (r *Recorder) addBar(b bar) {
	if len(r.bars) >= maxBars {
		r.barsDropped++
		return
	}
	r.bars = append(r.bars, b)
}

// Finish ends the recording: err is the run's error (nil: it succeeded),
// interrupted whether a signal stopped it.
func (r *Recorder) Finish(err error, interrupted bool) {
	close(r.stop)
	<-r.done
	r.sample()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.end = time.Since(r.start)
	switch {
	case interrupted:
		r.status = "interrupted"
	case err != nil:
		r.status = "failed"
	default:
		r.status = "done"
	}
	if err != nil {
		r.message = err.Error()
	}
	close(r.ended)
}

// Ended is closed when the run has ended.
func (r *Recorder) Ended() <-chan struct{} { return r.ended }

func (r *Recorder) sampling() {
	defer close(r.done)
	t := time.NewTimer(sampleEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		r.sample()
		r.mu.Lock()
		every := r.every
		r.mu.Unlock()
		t.Reset(every)
	}
}

// sample takes one sample. The figures of the process and the disk are
// read outside the lock.
func (r *Recorder) sample() {
	rss := residentMemory()
	free := freeSpace(r.run.TempDir)
	r.mu.Lock()
	defer r.mu.Unlock()
	s := sample{
		at: time.Since(r.start), lent: max(r.lent, r.lentPeak), rss: rss, tempFree: free,
		spillWritten: r.progress.Spilled.Load(), spillRead: r.spillRead,
		scanDone: r.progress.Done.Load(), scanTotal: r.progress.Total.Load(),
		mergeDone: r.progress.MergeDone.Load(), mergeTotal: r.progress.MergeTotal.Load(),
	}
	r.lentPeak = r.lent
	if len(r.samples) == maxSamples {
		r.thin()
	}
	r.samples = append(r.samples, s)
}

// thin halves the samples: each pair becomes its later sample with the
// larger memory figures of the two, so no peak is lost.
func (r *Recorder) thin() {
	n := 0
	for i := 0; i+1 < len(r.samples); i += 2 {
		a, b := r.samples[i], r.samples[i+1]
		b.lent, b.rss = max(a.lent, b.lent), max(a.rss, b.rss)
		r.samples[n] = b
		n++
	}
	r.samples = r.samples[:n]
	r.every *= 2
	r.epoch++
}
