package engine

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"
	"github.com/gdask/gdask/engine/sorter"
	"github.com/gdask/gdask/plan"
)

// A sharded run (DESIGN §8) runs one plan as N shards, each over its share
// of the inputs (Config.Units), then merges them. A shard stops at the
// plan's cuts: the breakers whose input is a scan's pipeline (a scan
// under filters and projections). There it writes the breaker's state, a
// section of its body, and gives the plan above an empty input:
//
//	Aggregate   the groups' keys and states (hashagg's spill encoding)
//	Sort        its rows in order (the sorter's row encoding), and what
//	            its encoders saw of the key columns' types
//	Distinct    its first sort's rows (the first of each key)
//	Count       the number
//	the output  when no breaker is above the scan: the root's rows, in
//	            order, encoded by the sorter's codec without keys
//
// The merge runs the same plan with each cut's input replaced by the
// shards' sections: an Aggregate loads every shard's groups and merges
// them as spilled runs; a Sort takes each shard's rows as a sorted run of
// its external sort; a Count adds the numbers; the output concatenates
// the rows in shard order. Everything above the cuts then runs as in a
// local run, so the answer is the local run's, byte for byte.
//
// A plan with a Limit between a scan and its breaker (head then groupby)
// cannot be sharded: the first rows of the whole input are not any
// shard's to know.

// ShardKind is what a shard's body holds: the kind of its plan's cuts.
type ShardKind int

const (
	ShardRows   ShardKind = iota + 1 // the root's rows, in order: concatenated
	ShardSorted                      // sorted runs (sort, distinct): merged
	ShardStates                      // aggregate states: merged by key
	ShardCount                       // counts: added
)

// Section tags: which breaker wrote a section.
const (
	sectionAggregate byte = 'A'
	sectionSort      byte = 'S'
	sectionCount     byte = 'C'
	sectionRows      byte = 'R'
)

// ShardCuts returns what a shard of root (an optimised plan) writes, or an
// error saying why root cannot be sharded.
func ShardCuts(root plan.Node) (ShardKind, error) {
	cuts, err := shardCuts(root)
	if err != nil {
		return 0, err
	}
	return cuts.kind, nil
}

// ShardReadsAll reports whether every shard of root reads its units to
// their ends, which is what checks cuts guessed at line ends
// (LineLayout). Not so when the rows are the cut and a Limit above them
// (head) stops a shard at its first rows: such a plan's units must be
// exact from the start (Layout).
func ShardReadsAll(root plan.Node) bool {
	cuts, err := shardCuts(root)
	if err != nil {
		return false
	}
	_, limited := root.(*plan.Limit)
	return !(cuts.rows && limited)
}

// MergeReadsWholeFirst reports whether a merge of root reads every
// shard's body to its end before it writes any row: the plan's one cut is
// an aggregate or a count, which the merge loads whole first. Every byte
// of a body goes through the Reader that checks its blocks, so such a
// merge need not check the bodies beforehand (cluster.Verify): a damaged
// one fails it before its output begins. Sorted runs and rows are merged
// as they are read, and must be checked first.
func MergeReadsWholeFirst(root plan.Node) bool {
	cuts, err := shardCuts(root)
	return err == nil && len(cuts.nodes) == 1 && (cuts.kind == ShardStates || cuts.kind == ShardCount)
}

// ShardExplain says, for --explain of a shard (merge false) or of a merge
// (merge true), what of root runs where: the cuts, where a shard writes
// its state and the merge loads it, and which side each node runs on.
// It returns nil when root cannot be sharded (the run says why).
func ShardExplain(root plan.Node, merge bool) func(plan.Node) string {
	cuts, top, below, err := shardSides(root)
	if err != nil {
		return nil
	}
	return func(n plan.Node) string {
		if l, ok := n.(*plan.Limit); ok && cuts.rows && !below[n] && !merge {
			return fmt.Sprintf("each shard writes at most %d rows; gdask merge keeps the first %d of them", l.N, l.N)
		}
		switch {
		case cuts.rows && n == top && !merge:
			return "a shard writes these rows, in order, to its state"
		case cuts.rows && n == top:
			return "the shards' rows, in shard order"
		case cuts.nodes[n] && !merge:
			return "a shard stops here: it writes this node's state over its share of the input"
		case cuts.nodes[n]:
			return "from the shards' states"
		case below[n] && merge:
			return "ran in the shards"
		case !below[n] && !merge:
			return "runs in gdask merge"
		}
		return ""
	}
}

// ShardSide says, for --explain analyze of a shard or a merge, whether a
// node of root runs in a shard, and whether it runs in the merge (a cut
// runs in both: a shard fills it, the merge empties it). It returns nil
// when root cannot be sharded.
func ShardSide(root plan.Node) func(plan.Node) (shard, merge bool) {
	cuts, _, below, err := shardSides(root)
	if err != nil {
		return nil
	}
	return func(n plan.Node) (bool, bool) {
		return below[n] || cuts.nodes[n], !below[n]
	}
}

// shardSides returns root's cuts, its top below any Limits, and the nodes
// a shard runs below its cuts (with them, the top when the rows are the
// cut).
func shardSides(root plan.Node) (cuts *cutSet, top plan.Node, below map[plan.Node]bool, err error) {
	if cuts, err = shardCuts(root); err != nil {
		return nil, nil, nil, err
	}
	top = root
	for l, ok := top.(*plan.Limit); ok; l, ok = top.(*plan.Limit) {
		top = l.Child
	}
	below = map[plan.Node]bool{}
	var mark func(n plan.Node)
	mark = func(n plan.Node) {
		below[n] = true
		for _, c := range n.Children() {
			mark(c)
		}
	}
	plan.Walk(root, func(n plan.Node) {
		if cuts.nodes[n] {
			for _, c := range n.Children() {
				mark(c)
			}
		}
	})
	if cuts.rows {
		mark(top)
	}
	return cuts, top, below, nil
}

// cutSet is a plan's cuts.
type cutSet struct {
	nodes map[plan.Node]bool
	rows  bool // no breaker above the scan: the output is the cut
	kind  ShardKind
}

func shardCuts(root plan.Node) (*cutSet, error) {
	c := &cutSet{nodes: map[plan.Node]bool{}}
	top := root
	for l, ok := top.(*plan.Limit); ok; l, ok = top.(*plan.Limit) {
		top = l.Child
	}
	var err error
	// visit walks down from n; cut is the breaker the scans below n
	// feed, nil when only streaming nodes are above them, and limit the
	// Limit between them and it.
	var visit func(n plan.Node, cut plan.Node, limit *plan.Limit)
	visit = func(n plan.Node, cut plan.Node, limit *plan.Limit) {
		switch n := n.(type) {
		case *plan.Scan:
			switch {
			case limit != nil && err == nil:
				err = fmt.Errorf("cannot run as shards: head -n %d (a limit) comes before the plan gathers its rows, and the first rows of the whole input are no shard's to know; run it without --shard, or put head after the groupby or sort", limit.N)
			case cut == nil:
				c.rows = true
			default:
				c.nodes[cut] = true
			}
			return
		case *plan.Aggregate, *plan.Sort, *plan.Distinct, *plan.Count:
			cut, limit = n, nil
		case *plan.Limit:
			if n != root && limit == nil {
				limit = n
			}
		case *plan.Filter, *plan.Project:
		default:
			cut, limit = nil, nil // Attach, Normalize: over breakers only
		}
		for _, ch := range n.Children() {
			visit(ch, cut, limit)
		}
	}
	visit(top, nil, nil)
	if err != nil {
		return nil, err
	}
	if c.rows && len(c.nodes) > 0 {
		return nil, errors.New("BUG: a plan's rows come both from a scan and from a breaker")
	}
	if c.rows {
		c.kind = ShardRows
		return c, nil
	}
	for n := range c.nodes {
		k := ShardStates
		switch n.(type) {
		case *plan.Sort, *plan.Distinct:
			k = ShardSorted
		case *plan.Count:
			k = ShardCount
		}
		if c.kind == 0 || k == ShardStates {
			c.kind = k
		}
	}
	if c.kind == 0 {
		return nil, errors.New("cannot run as shards: the plan reads no input")
	}
	return c, nil
}

// OutputBinds reports whether what a shard of root keeps depends on the
// output format: rows that reach the output as the input has them keep
// the records as they are for csv (and which fields were quoted), typed
// cells otherwise; so shards and their merge must agree on csv or not.
func OutputBinds(root plan.Node) bool {
	top := root
	for l, ok := top.(*plan.Limit); ok; l, ok = top.(*plan.Limit) {
		top = l.Child
	}
	return rowsUnchanged(top) || streamsFromScan(top)
}

// ShardStats are what a shard read, and the run's figures.
type ShardStats struct {
	RunStats
	Rows, Bytes int64
}

// RunShard runs root (an optimised plan) as a shard over the units of the
// run's Config.Units, writing its cuts' states to the body newBody gives.
// newBody is called once per attempt: a run that starts again (a seam
// that did not hold) asks for a new body, and the caller drops the old
// one. format is the output format the merge will write: it decides, as
// in a local run, whether rows are kept as the input's records.
func (ds *Dataset) RunShard(ctx context.Context, root plan.Node, format string, newBody func() (io.Writer, error), opts RunOptions) (*ShardStats, error) {
	cuts, err := shardCuts(root)
	if err != nil {
		return nil, err
	}
	scans := map[int]bool{}
	for n, id := range NodeIDs(root) {
		if _, ok := n.(*plan.Scan); ok {
			scans[id] = true
		}
	}
	cfg := ds.cfg.Events
	defer func() { ds.cfg.Events = cfg }()
	count := &shardCounter{scans: scans, next: ds.events()}
	ds.cfg.Events = count
	var total int64 // the units' bytes; none when a stream's size is not known
	for _, u := range ds.cfg.Units {
		if u.End < 0 {
			total = 0
			break
		}
		total += u.End - u.Start
	}
	sh := &shardIO{cuts: cuts, total: total}
	stats, err := ds.run(ctx, root, &Output{Format: format}, opts, func() error {
		w, err := newBody()
		if err != nil {
			return err
		}
		sh.out = &sectionWriter{w: bufio.NewWriterSize(w, 256<<10)}
		return nil
	}, sh)
	if err != nil {
		return nil, err
	}
	if err := sh.out.w.Flush(); err != nil {
		return nil, err
	}
	return &ShardStats{RunStats: *stats, Rows: count.rows.Load(), Bytes: count.bytes.Load()}, nil
}

// shardCounter counts the rows the scans put out and the bytes read (of
// the last attempt), then passes each event on. Events come from every
// worker at once.
type shardCounter struct {
	scans       map[int]bool
	rows, bytes atomic.Int64
	next        exec.Events
}

func (c *shardCounter) Event(e exec.Event) {
	switch {
	case e.Kind == exec.EvRunStart:
		c.rows.Store(0)
		c.bytes.Store(0)
	case e.Kind == exec.EvMorselEnd && c.scans[e.Op]:
		c.rows.Add(e.RowsOut)
		c.bytes.Add(e.Bytes)
	}
	c.next.Event(e)
}

// ShardBody is a shard's body as its merge reads it: in order through
// Read, every byte checked, and again at offsets through ReadBodyAt,
// unchecked: an aggregate's states are indexed as they are read, each
// piece with a checksum of its own, and read again a partition at a time
// (cluster.Reader is one).
type ShardBody interface {
	io.Reader
	ReadBodyAt(p []byte, off int64) (int, error)
}

// RunMerge runs root, the plan the shards ran, with its cuts' inputs read
// from the shards' bodies (in shard order) and writes the answer to out.
// The Dataset's inputs are not read.
func (ds *Dataset) RunMerge(ctx context.Context, root plan.Node, bodies []ShardBody, out *Output, opts RunOptions) (*RunStats, error) {
	cuts, err := shardCuts(root)
	if err != nil {
		return nil, err
	}
	sh := &shardIO{cuts: cuts, merge: true}
	for i, b := range bodies {
		sh.in = append(sh.in, &sectionReader{r: &bodyReader{r: bufio.NewReaderSize(b, 256<<10), body: b}, shard: i, n: len(bodies)})
	}
	ds.cfg.Units = []Unit{} // nothing of the inputs is read
	return ds.run(ctx, root, out, opts, nil, sh)
}

// shardHashSeed seeds the key hashes of every aggregate in shards and in
// their merge, which must cut groups into the same partitions. A change to
// it, or to how keys hash, is a change of the state format
// (cluster.Version).
const shardHashSeed = 0x67646173_6b736864

// shardIO is a sharded run's side of a runner: a shard's body, or the
// merge's bodies.
type shardIO struct {
	cuts  *cutSet
	merge bool
	total int64            // a shard's: the bytes of its units, 0 when a stream's size is not known
	out   *sectionWriter   // a shard's
	in    []*sectionReader // the merge's, one per shard
}

// shardProgress is how much of a shard's units its scans have read, 0 to
// 1, from the bytes of the records their batches held; 0 when not known.
// A plan that scans its inputs twice reads past 1.
func (r *runner) shardProgress() float64 {
	if r.shard.total <= 0 {
		return 0
	}
	var read int64
	for _, s := range r.scans {
		read += s.read.Load()
	}
	return float64(read) / float64(r.shard.total)
}

// cut reports whether n is a cut of the run's plan, and whether the run
// is the merge.
func (r *runner) cut(n plan.Node) (cut, merge bool) {
	if r.shard == nil || !r.shard.cuts.nodes[n] {
		return false, false
	}
	return true, r.shard.merge
}

// emptyStream is what the plan above a shard's cut reads: no rows.
func emptyStream(id int, schema plan.Schema) *rowStream {
	return &rowStream{src: &emptySource{schema: schema}, srcOp: id, schema: schema}
}

type emptySource struct{ schema plan.Schema }

func (e *emptySource) Morsels() int                                                 { return 1 }
func (e *emptySource) Ordered() bool                                                { return true }
func (e *emptySource) Schema() (plan.Schema, bool)                                  { return e.schema, true }
func (e *emptySource) Close() error                                                 { return nil }
func (e *emptySource) Run(context.Context, int, int, func(*exec.Batch) error) error { return nil }

// statesOut begins node id's section, an aggregate's states, and returns
// where they go: the aggregate writes some as it reads its rows, so
// nothing else may come into the body until dumpStates. Only the cut's
// own scans run meanwhile: breakers below it are no cuts.
func (r *runner) statesOut(id int) io.Writer {
	sw := r.shard.out
	sw.begin(id, sectionAggregate)
	return sw.w // a write error sticks in it too
}

// dumpStates writes the rest of a finished aggregate's groups, and ends
// its section.
func (r *runner) dumpStates(ctx context.Context, id int, a *hashagg.Aggregate) error {
	if err := r.shard.out.err; err != nil {
		return err
	}
	return a.States(ctx)
}

// loadStates gives every shard's groups of node id to a.
func (r *runner) loadStates(ctx context.Context, id int, a *hashagg.Aggregate) error {
	in := r.shard.in
	rs := make([]hashagg.ShardReader, len(in))
	for i, sr := range in {
		if err := sr.begin(id, sectionAggregate); err != nil {
			return err
		}
		rs[i] = sr.r
	}
	if err := a.LoadShards(ctx, rs, func(i int, what string) error { return in[i].corrupt(what) }); err != nil {
		return err
	}
	return r.loadedWhole()
}

// loadedWhole checks, once a merge that reads its bodies whole first
// (MergeReadsWholeFirst) has loaded its cut, that every body ended with
// it: read to its end, every block checked.
func (r *runner) loadedWhole() error {
	if len(r.shard.cuts.nodes) != 1 {
		return nil
	}
	for _, sr := range r.shard.in {
		switch _, err := sr.r.r.Peek(1); err {
		case io.EOF:
		case nil:
			return sr.corrupt("bytes after its last section")
		default:
			return err
		}
	}
	return nil
}

// dumpRows writes a finished sort's rows, in order, as node id's section.
func (r *runner) dumpRows(ctx context.Context, id int, s *sorter.Sort) error {
	sw := r.shard.out
	sw.begin(id, sectionSort)
	sw.item(s.Observed())
	err := s.EachRow(ctx, func(row []byte) error {
		sw.item(row)
		return sw.err
	})
	sw.end()
	if err != nil {
		return err
	}
	return sw.err
}

// loadRuns gives every shard's rows of node id to s as one sorted run
// each.
func (r *runner) loadRuns(id int, s *sorter.Sort) error {
	for _, sr := range r.shard.in {
		if err := sr.begin(id, sectionSort); err != nil {
			return err
		}
		seen, ok, err := sr.item()
		if err == nil && !ok {
			err = sr.corrupt("a sort's section without its key types")
		}
		if err != nil {
			return err
		}
		if err := s.Observe(seen); err != nil {
			return sr.corrupt(err.Error())
		}
		var rerr error
		err = s.AddRun(func(yield func([]byte) bool) {
			for {
				row, ok, err := sr.item()
				if err != nil || !ok {
					rerr = err
					return
				}
				if !yield(row) {
					return
				}
			}
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// dumpCount writes a count as node id's section.
func (r *runner) dumpCount(id int, n int64) error {
	sw := r.shard.out
	sw.begin(id, sectionCount)
	sw.uvarint(uint64(n))
	return sw.err
}

// loadCount adds the shards' counts of node id.
func (r *runner) loadCount(id int) (int64, error) {
	var total int64
	for _, sr := range r.shard.in {
		if err := sr.begin(id, sectionCount); err != nil {
			return 0, err
		}
		n, err := sr.uvarint()
		if err != nil {
			return 0, err
		}
		total += int64(n)
	}
	return total, r.loadedWhole()
}

// rowsCodec is how a shard keeps the root's rows: the sorter's encoding
// without keys, each record as it is when the output writes records as
// they are, else the typed cells with which texts the input quoted.
func rowsCodec(s *rowStream) sorter.Spec {
	spec := sorter.Spec{Quoted: true}
	if s.raw || s.scan != nil && s.scan.spec.raw {
		spec.Cells = sorter.CellsRaw
	}
	return spec
}

// dumpOutput writes the rows of s, at most limit of them (-1: all), in
// order, as the output's section.
func (r *runner) dumpOutput(ctx context.Context, s *rowStream, limit int64) error {
	sw := r.shard.out
	sw.begin(-1, sectionRows)
	enc := sorter.NewEncoder(rowsCodec(s))
	sink := newOrderedSink(2*r.env.Workers, limit)
	sink.down = func(b *exec.Batch) error {
		for i := range b.N {
			enc.Order(b, i)
			sw.item(enc.Encode(b, i))
		}
		return sw.err
	}
	if err := r.drain(ctx, s, sink, -1, sink); err != nil && !errors.Is(err, exec.ErrStop) {
		return err
	}
	sw.end()
	return sw.err
}

// rowsSource is the merge's rows of a plan whose output is its cut: each
// shard's rows in shard order.
type rowsSource struct {
	r      *runner
	schema plan.Schema
	cells  sorter.Cells
}

func (s *rowsSource) Morsels() int                { return 1 }
func (s *rowsSource) Ordered() bool               { return true }
func (s *rowsSource) Schema() (plan.Schema, bool) { return s.schema, true }
func (s *rowsSource) Close() error                { return nil }

func (s *rowsSource) Run(ctx context.Context, _, _ int, push func(*exec.Batch) error) error {
	batches := sorter.NewBatches(sorter.NewDecoder(s.schema, s.cells), push)
	n := 0
	for _, sr := range s.r.shard.in {
		if err := sr.begin(-1, sectionRows); err != nil {
			return err
		}
		for {
			row, ok, err := sr.item()
			if err != nil {
				return err
			}
			if !ok {
				break
			}
			if err := batches.Add(row); err != nil { // the item's bytes are the reader's: Add copies them
				return err
			}
			if n++; n%(1<<16) == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
	}
	return batches.Flush()
}

// sectionWriter writes a shard's body: sections, each a uvarint node id
// (+1, so the output's -1 is 0), a tag byte, the breaker's own fields
// (uvarints, items), then items until an empty uvarint 0. An item is
// uvarint(len+1) and its bytes. The first error sticks in err.
type sectionWriter struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
	err error
}

func (sw *sectionWriter) begin(id int, tag byte) {
	sw.uvarint(uint64(id + 1))
	if sw.err == nil {
		sw.err = sw.w.WriteByte(tag)
	}
}

func (sw *sectionWriter) uvarint(v uint64) {
	if sw.err == nil {
		_, sw.err = sw.w.Write(binary.AppendUvarint(sw.buf[:0], v))
	}
}

func (sw *sectionWriter) item(b []byte) {
	sw.uvarint(uint64(len(b)) + 1)
	if sw.err == nil {
		_, sw.err = sw.w.Write(b)
	}
}

// appendItem appends b framed as an item.
func appendItem(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))+1), b...)
}

func (sw *sectionWriter) end() { sw.uvarint(0) }

// sectionReader reads the sections of shard i of n. Its bodies' checksums
// were checked as they were read, so a section that does not parse is a
// shard of another gdask, not damage.
type sectionReader struct {
	r     *bodyReader
	shard int
	n     int
	buf   []byte
}

// bodyReader reads a shard's body in order, buffered, and knows where it
// is: a hashagg.ShardReader.
type bodyReader struct {
	r    *bufio.Reader
	body ShardBody
	off  int64 // the body offset of the next byte
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.off += int64(n)
	return n, err
}

func (b *bodyReader) ReadByte() (byte, error) {
	c, err := b.r.ReadByte()
	if err == nil {
		b.off++
	}
	return c, err
}

func (b *bodyReader) Offset() int64 { return b.off }

func (b *bodyReader) ReadAt(p []byte, off int64) (int, error) { return b.body.ReadBodyAt(p, off) }

func (sr *sectionReader) corrupt(what string) error {
	return fmt.Errorf("shard %d/%d: its state does not match this plan (%s): run it again with this gdask", sr.shard, sr.n, what)
}

func (sr *sectionReader) uvarint() (uint64, error) {
	v, err := binary.ReadUvarint(sr.r)
	if err != nil {
		return 0, sr.readErr(err)
	}
	return v, nil
}

// readErr is the error of a read of the body that failed: at its end,
// the body ends early; else the Reader's own error (a block that does not
// match its checksum, an unreadable file), which names the file.
func (sr *sectionReader) readErr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return sr.corrupt("it ends early")
	}
	return err
}

// begin reads the head of the next section and checks it is node id's.
func (sr *sectionReader) begin(id int, tag byte) error {
	v, err := sr.uvarint()
	if err != nil {
		return err
	}
	t, err := sr.r.ReadByte()
	if err != nil {
		return sr.readErr(err)
	}
	if v != uint64(id+1) || t != tag {
		return sr.corrupt(fmt.Sprintf("a section of node %d %q where node %d %q was due", int64(v)-1, t, id, tag))
	}
	return nil
}

// item returns the next item of the section, valid until the next call,
// or false at the section's end.
func (sr *sectionReader) item() ([]byte, bool, error) {
	v, err := sr.uvarint()
	if err != nil || v == 0 {
		return nil, false, err
	}
	n := int(v - 1)
	if n > 1<<30 {
		return nil, false, sr.corrupt("an item of more than 1 GiB")
	}
	if cap(sr.buf) < n {
		sr.buf = make([]byte, n, max(n, 2*cap(sr.buf)))
	}
	b := sr.buf[:n]
	if _, err := io.ReadFull(sr.r, b); err != nil {
		return nil, false, sr.readErr(err)
	}
	return b, true, nil
}
