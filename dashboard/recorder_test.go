package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// frame is a snapshot as the page reads it.
type frame struct {
	Head        header      `json:"head"`
	Jobs        []jobJSON   `json:"jobs"`
	BarsFrom    int         `json:"barsFrom"`
	Bars        [][]float64 `json:"bars"`
	SamplesFrom int         `json:"samplesFrom"`
	Samples     [][]float64 `json:"samples"`
}

func decode(t *testing.T, b []byte) frame {
	t.Helper()
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame is not JSON: %v\n%.300s", err, b)
	}
	return f
}

func testPlan() plan.Node {
	scan := plan.NewScan([]string{"f.csv"}, plan.Schema{{Name: "a", Type: plan.Int}})
	return plan.NewLimit(scan, 5)
}

// morsel feeds the events of one partition of a two-operator pipeline
// (Limit 0 over Scan 1) on worker w.
func morselEvents(r *Recorder, w, m int, at time.Time) {
	r.Event(exec.Event{Kind: exec.EvMorselStart, Op: 1, Worker: w, Morsel: m, At: at})
	r.Event(exec.Event{Kind: exec.EvMorselEnd, Op: 1, Worker: w, Morsel: m, RowsOut: 10, Bytes: 100, Dur: 3 * time.Millisecond, At: at.Add(5 * time.Millisecond)})
	r.Event(exec.Event{Kind: exec.EvMorselEnd, Op: 0, Worker: w, Morsel: m, RowsIn: 10, RowsOut: 5, Dur: 2 * time.Millisecond, At: at.Add(5 * time.Millisecond)})
}

func TestRecorderBars(t *testing.T) {
	r := NewRecorder(Run{Title: "t", Workers: 2, MemoryLimit: 1 << 30})
	r.Plan("head", testPlan())
	t0 := r.start.Add(10 * time.Millisecond)
	morselEvents(r, 0, 0, t0)
	morselEvents(r, 1, 1, t0.Add(time.Millisecond))
	// Figures only: no partition on a worker, so no bar.
	r.Event(exec.Event{Kind: exec.EvMorselEnd, Op: 0, Morsel: -1, RowsIn: 3, At: t0})
	r.Event(exec.Event{Kind: exec.EvMorselEnd, Op: 0, Worker: 0, Morsel: 7, RowsIn: 3, At: t0})
	r.Event(exec.Event{Kind: exec.EvSpill, Op: 0, RowsIn: 50, Bytes: 4096, Dur: 4 * time.Millisecond, At: t0.Add(20 * time.Millisecond)})
	r.Event(exec.Event{Kind: exec.EvMerge, Op: 0, RowsIn: 50, Dur: time.Millisecond, At: t0.Add(30 * time.Millisecond)})
	r.Event(exec.Event{Kind: exec.EvSpillRead, Op: -1, Bytes: 4096, At: t0})
	r.Event(exec.Event{Kind: exec.EvMemory, Op: -1, Bytes: 5 << 20, At: t0})
	r.Event(exec.Event{Kind: exec.EvMemory, Op: -1, Bytes: 1 << 20, At: t0})
	r.Finish(nil, false)

	f := decode(t, r.snapshot(cursor{}, 0).appendJSON(nil))
	want := [][]float64{
		// start, dur, lane, job, op, morsel, rows in, rows out, bytes
		{10, 3, 0, 0, 1, 0, 0, 10, 100},
		{13, 2, 0, 0, 0, 0, 10, 5, 0}, // laid after the scan's share
		{11, 3, 1, 0, 1, 1, 0, 10, 100},
		{14, 2, 1, 0, 0, 1, 10, 5, 0},
		{26, 4, 2, 0, 0, -1, 50, 0, 4096}, // the spill lane
		{39, 1, 3, 0, 0, -1, 50, 50, 0},   // the merge lane
	}
	if len(f.Bars) != len(want) {
		t.Fatalf("bars = %v, want %v", f.Bars, want)
	}
	for i := range want {
		for k := range want[i] {
			if f.Bars[i][k] != want[i][k] {
				t.Errorf("bar %d = %v, want %v", i, f.Bars[i], want[i])
				break
			}
		}
	}
	if f.Head.Status != "done" || f.Head.Workers != 2 || f.Head.Limit != 1<<30 {
		t.Errorf("head = %+v", f.Head)
	}
	ops := f.Jobs[0].Ops
	if len(ops) != 2 || ops[0].ID != 0 || ops[1].ID != 1 || ops[1].Depth != 1 || !strings.HasPrefix(ops[1].Label, "Scan") {
		t.Fatalf("ops = %+v", ops)
	}
	if ops[0].RowsIn != 26 || ops[0].RowsOut != 10 || ops[1].RowsOut != 20 || ops[1].Bytes != 200 || ops[0].Spilled != 4096 {
		t.Errorf("op figures = %+v", ops)
	}
	last := f.Samples[len(f.Samples)-1]
	if last[4] != 4096 { // spill read back
		t.Errorf("spill read = %v, want 4096", last[4])
	}
	// The peak between two samples is kept, not only the value at each.
	var peak float64
	for _, s := range f.Samples {
		peak = max(peak, s[1])
	}
	if peak != 5<<20 {
		t.Errorf("peak lent = %v, want %d", peak, 5<<20)
	}
}

func TestRecorderStatus(t *testing.T) {
	for _, tc := range []struct {
		err         error
		interrupted bool
		status      string
	}{
		{nil, false, "done"},
		{errors.New("f.csv:3:2: unterminated quoted field"), false, "failed"},
		{errors.New("interrupted by interrupt"), true, "interrupted"},
	} {
		r := NewRecorder(Run{Workers: 1})
		r.Finish(tc.err, tc.interrupted)
		f := decode(t, r.snapshot(cursor{}, 0).appendJSON(nil))
		if f.Head.Status != tc.status || (tc.err != nil && f.Head.Message != tc.err.Error()) {
			t.Errorf("Finish(%v, %v): status %q, message %q", tc.err, tc.interrupted, f.Head.Status, f.Head.Message)
		}
		select {
		case <-r.Ended():
		default:
			t.Errorf("Ended not closed after Finish")
		}
	}
}

// A page gets only what it lacks: the bars and samples after its cursor,
// and all samples again once they were thinned.
func TestSnapshotCursor(t *testing.T) {
	r := NewRecorder(Run{Workers: 1})
	defer r.Finish(nil, false)
	r.Plan("head", testPlan())
	morselEvents(r, 0, 0, time.Now())
	s1 := r.snapshot(cursor{}, 0)
	if s1.barsFrom != 0 || len(s1.bars) != 2 || s1.next.bars != 2 {
		t.Fatalf("first snapshot: from %d, %d bars, next %+v", s1.barsFrom, len(s1.bars), s1.next)
	}
	morselEvents(r, 0, 1, time.Now())
	s2 := r.snapshot(s1.next, 0)
	if s2.barsFrom != 2 || len(s2.bars) != 2 {
		t.Fatalf("second snapshot: from %d, %d bars", s2.barsFrom, len(s2.bars))
	}
	r.mu.Lock()
	for len(r.samples) < maxSamples {
		r.samples = append(r.samples, sample{at: time.Duration(len(r.samples))})
	}
	r.mu.Unlock()
	r.sample() // full: thins, then adds
	s3 := r.snapshot(s2.next, 0)
	if s3.from != 0 || len(s3.samples) != maxSamples/2+1 || s3.next.epoch != 1 {
		t.Fatalf("after thinning: from %d, %d samples, epoch %d", s3.from, len(s3.samples), s3.next.epoch)
	}
}

// Thinning keeps every memory peak and the time of the later sample.
func TestThinKeepsPeaks(t *testing.T) {
	r := &Recorder{every: sampleEvery}
	for i := range 8 {
		r.samples = append(r.samples, sample{at: time.Duration(i), lent: int64(i % 3), rss: int64(10 - i)})
	}
	r.thin()
	want := []sample{{at: 1, lent: 1, rss: 10}, {at: 3, lent: 2, rss: 8}, {at: 5, lent: 2, rss: 6}, {at: 7, lent: 1, rss: 4}}
	if len(r.samples) != len(want) || r.every != 2*sampleEvery || r.epoch != 1 {
		t.Fatalf("thin: %+v, every %v", r.samples, r.every)
	}
	for i := range want {
		if r.samples[i] != want[i] {
			t.Errorf("sample %d = %+v, want %+v", i, r.samples[i], want[i])
		}
	}
}

// The bar: the report of a run of 10,000 partitions stays under
// 5 MB. Each partition runs three operators (scan, filter, aggregate).
func TestReportSize(t *testing.T) {
	r := NewRecorder(Run{Title: "gdask groupby big.csv --by k --sum v", Workers: 2, MemoryLimit: 8 << 30, TempDir: t.TempDir()})
	scan := plan.NewScan([]string{"big.csv"}, plan.Schema{{Name: "k", Type: plan.String}, {Name: "v", Type: plan.Float}})
	r.Plan("groupby", plan.NewLimit(plan.NewLimit(scan, 1<<40), 1<<40))
	at := r.start
	for m := range 10_000 {
		w := m % 2
		at = at.Add(3 * time.Millisecond)
		r.Event(exec.Event{Kind: exec.EvMorselStart, Op: 2, Worker: w, Morsel: m, At: at})
		for op := 2; op >= 0; op-- {
			r.Event(exec.Event{Kind: exec.EvMorselEnd, Op: op, Worker: w, Morsel: m, RowsIn: 123_456, RowsOut: 123_456,
				Bytes: 67_108_864, Dur: 1234567 * time.Nanosecond, At: at})
		}
	}
	for range 3000 { // an hour of samples, thinned
		r.sample()
	}
	r.Finish(nil, false)
	var b bytes.Buffer
	if err := WriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	f := readReport(t, b.Bytes())
	if len(f.Bars) != 30_000 || f.Head.BarsDropped != 0 {
		t.Fatalf("report has %d bars (%d dropped), want 30000", len(f.Bars), f.Head.BarsDropped)
	}
	if b.Len() >= 5<<20 {
		t.Errorf("report of 10,000 partitions is %d bytes, want under 5 MB", b.Len())
	}
	t.Logf("report of 10,000 partitions: %d bytes", b.Len())
}

// readReport returns the data a report embeds.
func readReport(t *testing.T, page []byte) frame {
	t.Helper()
	_, rest, ok := bytes.Cut(page, []byte(`<script type="application/json" id="gdask-data">`))
	data, _, ok2 := bytes.Cut(rest, []byte("</script>"))
	if !ok || !ok2 {
		t.Fatalf("report holds no data")
	}
	return decode(t, data)
}

// A report needs nothing from outside: no URL but data: in it, the
// assets inline, and text of the run that cannot end its script element.
func TestReportSelfContained(t *testing.T) {
	r := NewRecorder(Run{Title: `gdask filter f.csv --where 'name == "</script><script>alert(1)</script>"'`, Workers: 1})
	r.Plan("filter", testPlan())
	r.Finish(nil, false)
	var b bytes.Buffer
	if err := WriteReport(&b, r); err != nil {
		t.Fatal(err)
	}
	page := strings.ReplaceAll(b.String(), `"http://www.w3.org/2000/svg"`, "") // SVG's namespace, not an address
	for _, bad := range []string{"http:", "https:", "src=", `href="app`, "alert(1)</script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("report holds %q", bad)
		}
	}
	if f := readReport(t, b.Bytes()); !strings.Contains(f.Head.Title, "</script>") {
		t.Errorf("title lost in the report: %q", f.Head.Title)
	}
	if !strings.Contains(page, "function drawTasks") || !strings.Contains(page, "#tasks rect") {
		t.Errorf("report does not inline app.js and app.css")
	}
}
