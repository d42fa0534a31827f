package dashboard

import (
	"encoding/json"
	"strconv"
	"time"
)

// cursor is what a page already has: the bars before bars, the samples
// before samples of thinning epoch epoch.
type cursor struct {
	bars, samples, epoch int
}

// snapshot is the part of the recording a page lacks, copied under the
// lock and encoded outside it.
type snapshot struct {
	head     header
	jobs     []jobJSON
	barsFrom int
	bars     []bar // shared with the Recorder: never written after append
	from     int   // the first sample's index
	samples  []sample
	next     cursor
}

// header is the run's description and state, as JSON.
type header struct {
	Version     int    `json:"v"`
	Title       string `json:"title"`
	Status      string `json:"status"`
	Message     string `json:"message,omitempty"`
	Elapsed     ms     `json:"elapsed"`
	Workers     int    `json:"workers"`
	Limit       int64  `json:"limit"`
	TempDir     string `json:"tempDir"`
	BarsDropped int64  `json:"barsDropped"`
	Dropped     int64  `json:"dropped"` // frames a slow page did not get
	Epoch       int    `json:"epoch"`
}

type jobJSON struct {
	Title string   `json:"title"`
	At    ms       `json:"at"`
	Ops   []opJSON `json:"ops"`
}

type opJSON struct {
	ID          int    `json:"id"`
	Depth       int    `json:"depth"`
	Label       string `json:"label"`
	RowsIn      int64  `json:"in"`
	RowsOut     int64  `json:"out"`
	Bytes       int64  `json:"bytes"`
	Morsels     int64  `json:"morsels"`
	Time        ms     `json:"time"`
	Spilled     int64  `json:"spilled"`
	SpilledRows int64  `json:"spilledRows"`
	Runs        int    `json:"runs"`
	Levels      int    `json:"levels"`
}

// ms is a duration in milliseconds, to the microsecond.
type ms time.Duration

func (d ms) MarshalJSON() ([]byte, error) { return appendMS(nil, time.Duration(d)), nil }

func (d *ms) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	*d = ms(time.Duration(f * float64(time.Millisecond)))
	return err
}

func appendMS(b []byte, d time.Duration) []byte {
	return strconv.AppendFloat(b, float64(d.Microseconds())/1000, 'f', -1, 64)
}

// snapshot copies what a page at c lacks.
func (r *Recorder) snapshot(c cursor, dropped int64) *snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	elapsed := r.end
	if r.status == "running" {
		elapsed = time.Since(r.start)
	}
	s := &snapshot{head: header{Version: 1, Title: r.run.Title, Status: r.status, Message: r.message, Elapsed: ms(elapsed),
		Workers: r.run.Workers, Limit: r.run.MemoryLimit, TempDir: r.run.TempDir, BarsDropped: r.barsDropped, Dropped: dropped, Epoch: r.epoch}}
	for _, j := range r.jobs {
		jj := jobJSON{Title: j.title, At: ms(j.at)}
		for _, o := range j.ops {
			st := j.stats.Op(o.id)
			jj.Ops = append(jj.Ops, opJSON{ID: o.id, Depth: o.depth, Label: o.label, RowsIn: st.RowsIn, RowsOut: st.RowsOut,
				Bytes: st.Bytes, Morsels: st.Morsels, Time: ms(st.Time), Spilled: st.SpilledBytes, SpilledRows: st.SpilledRows,
				Runs: st.SpilledRuns, Levels: st.MergeLevels})
		}
		s.jobs = append(s.jobs, jj)
	}
	s.barsFrom = min(c.bars, len(r.bars))
	s.bars = r.bars[s.barsFrom:len(r.bars):len(r.bars)]
	if c.epoch != r.epoch {
		c.samples = 0 // thinned since: the page needs them all again
	}
	s.from = min(c.samples, len(r.samples))
	s.samples = append([]sample(nil), r.samples[s.from:]...)
	s.next = cursor{bars: len(r.bars), samples: len(r.samples), epoch: r.epoch}
	return s
}

// appendRow appends a JSON array: the times in ms (a negative second one
// left out), then the numbers.
func appendRow(b []byte, times [2]time.Duration, nums ...int64) []byte {
	b = append(b, '[')
	b = appendMS(b, times[0])
	if times[1] >= 0 {
		b = append(b, ',')
		b = appendMS(b, times[1])
	}
	for _, n := range nums {
		b = append(b, ',')
		b = strconv.AppendInt(b, n, 10)
	}
	return append(b, ']')
}

// appendJSON encodes s as one JSON object. Bars and samples are arrays of
// numbers (a bar is about 40 bytes), so a run of 10,000 partitions fits a
// report of a few MB.
func (s *snapshot) appendJSON(b []byte) []byte {
	head, _ := json.Marshal(s.head)
	jobs, _ := json.Marshal(s.jobs)
	if s.jobs == nil {
		jobs = []byte("[]")
	}
	b = append(b, `{"head":`...)
	b = append(b, head...)
	b = append(b, `,"jobs":`...)
	b = append(b, jobs...)
	b = append(b, `,"barsFrom":`...)
	b = strconv.AppendInt(b, int64(s.barsFrom), 10)
	b = append(b, `,"bars":[`...)
	for i, x := range s.bars {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, [2]time.Duration{x.start, x.dur}, int64(x.lane), int64(x.job), int64(x.op), int64(x.morsel), x.rowsIn, x.rowsOut, x.bytes)
	}
	b = append(b, `],"samplesFrom":`...)
	b = strconv.AppendInt(b, int64(s.from), 10)
	b = append(b, `,"samples":[`...)
	for i, x := range s.samples {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(b, [2]time.Duration{x.at, -1}, x.lent, x.rss, x.spillWritten, x.spillRead, x.tempFree, x.scanDone, x.scanTotal, x.mergeDone, x.mergeTotal)
	}
	b = append(b, `]}`...)
	return b
}
