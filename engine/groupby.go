package engine

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"

	"github.com/gdask/gdask/engine/agg"
	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// GroupByOptions are the run-time choices of a groupby that are not part
// of the plan.
type GroupByOptions struct {
	SkipBadRows bool // skip rows whose aggregated value is not a number, and count them
}

// GroupByStats reports what a run did besides its answer.
type GroupByStats struct {
	SkippedRows  int64
	SpilledRuns  int   // tables written to disk while scanning
	SpilledBytes int64 // compressed bytes written to spill files
	Repartitions int   // radix partitions cut again because they were too big
}

// query is an optimised plan taken apart into the pieces the engine runs:
// Scan -> Aggregate -> having Filter -> Sort -> Limit. It is built by one
// type switch over the plan nodes.
type query struct {
	scan   *plan.Scan
	agg    *plan.Aggregate
	having *plan.Expr
	sort   []plan.SortKey
	topN   int64
	limit  int64 // -1: none
}

func decompose(root plan.Node) (*query, error) {
	q := &query{limit: -1}
	for n := root; n != nil; {
		switch x := n.(type) {
		case *plan.Limit:
			q.limit = x.N
			n = x.Child
		case *plan.Sort:
			q.sort, q.topN = x.Keys, x.TopN
			n = x.Child
		case *plan.Filter:
			if q.agg != nil {
				return nil, fmt.Errorf("BUG: filter below the aggregate was not pushed into the scan")
			}
			q.having = x.Pred
			n = x.Child
		case *plan.Aggregate:
			q.agg = x
			n = x.Child
		case *plan.Scan:
			q.scan = x
			n = nil
		default:
			return nil, fmt.Errorf("BUG: the engine cannot run %T", n)
		}
	}
	if q.scan == nil || q.agg == nil {
		return nil, fmt.Errorf("BUG: plan has no scan or no aggregate")
	}
	return q, nil
}

// colRole says how a worker materialises an input column.
type colRole struct {
	numeric bool // parsed as a number (numeric aggregates, numeric filters)
	text    bool // kept as bytes (keys in filters, string aggregates, string filters)
}

// GroupBy runs an optimised groupby plan over the dataset and returns the
// result. Partitions are scanned by a bounded pool of workers, each with its
// own hash table kept across partitions (two-phase aggregation); the tables
// are merged at the end in worker order.
func (ds *Dataset) GroupBy(ctx context.Context, root plan.Node, opts GroupByOptions) (*Result, *GroupByStats, error) {
	q, err := decompose(root)
	if err != nil {
		return nil, nil, err
	}
	modes := make([]splitMode, len(ds.inputs))
	for {
		res, stats, err := ds.groupByOnce(ctx, q, opts, modes)
		var se *splitError
		if errors.As(err, &se) && modes[se.input] < splitSerial {
			// A seam did not hold, or an error came from a partition whose
			// line numbers are unknown: split that file more carefully and
			// start again. The last resort reads it serially, which gives
			// exact line numbers for an error.
			modes[se.input]++
			continue
		}
		return res, stats, err
	}
}

// splitMode is how a groupby partitions a splittable input, from the
// cheapest guess to the serial read that always holds.
type splitMode uint8

const (
	splitLines  splitMode = iota // cuts at line ends (readers.SplitLines): no pre-pass
	splitQuotes                  // cuts by quote parity (readers.Split): one pre-pass
	splitSerial                  // one partition
)

// partitions cuts a splittable source as mode says (splitLines or
// splitQuotes).
func (ds *Dataset) partitions(ctx context.Context, s *source, mode splitMode) ([]readers.Partition, error) {
	if mode == splitLines {
		return readers.SplitLines(ctx, s.in.File, s.in.Path, s.header.DataStart, s.in.Size,
			ds.cfg.blocksize(s.in.Size-s.header.DataStart))
	}
	lay, err := ds.split(ctx, s)
	if err != nil {
		return nil, err
	}
	return lay.Partitions, nil
}

// filesFirst returns the ordinals of inputs, splittable files before
// streams. A failed seam starts the groupby again, and a stream (stdin, a
// decompressed file) cannot be read twice: reading every file first means a
// retry never comes after a stream was consumed. The order of reading does
// not change the answer (row positions carry the input ordinal).
func filesFirst(inputs []*source) []int {
	var files, streams []int
	for i, s := range inputs {
		if s.chunker != nil {
			streams = append(streams, i)
		} else {
			files = append(files, i)
		}
	}
	return append(files, streams...)
}

// splitError is errSplit for one input of a groupby.
type splitError struct{ input int }

func (e *splitError) Error() string { return errSplit.Error() }

func (ds *Dataset) groupByOnce(ctx context.Context, q *query, opts GroupByOptions, modes []splitMode) (*Result, *GroupByStats, error) {
	seed := maphash.MakeSeed()
	b, err := ds.budget()
	if err != nil {
		return nil, nil, err
	}
	sp := &spillState{ds: ds, budget: b}
	ok := false
	defer func() {
		if !ok {
			sp.close()
		}
	}()
	workers := make([]*aggWorker, max(ds.cfg.Workers, 1))
	sh := &sharedParts{}
	for i := range workers {
		workers[i] = newAggWorker(ds, q, seed, opts, sp, sh, b.table)
	}
	ds.cfg.Progress.restart()
	for _, fi := range filesFirst(ds.inputs) {
		s := ds.inputs[fi]
		var err error
		if s.chunker != nil {
			err = ds.eachChunk(ctx, s, func(ctx context.Context, w int, ch readers.Chunk) error {
				sc := readers.NewBytesScanner(ch.Data, ds.cfg.Dialect, displayName(s.in.Path), ch.Offset, ch.Line)
				sc.SetFieldCount(len(ds.Names))
				return workers[w].scan(ctx, sc, fi)
			})
		} else if modes[fi] == splitSerial {
			err = ds.scanPartition(ctx, s, s.whole(), serial|checkFields, func(sc *readers.Scanner) error {
				return workers[0].scan(ctx, sc, fi)
			})
		} else {
			ds.cfg.Progress.addTotal(s.in.Size - s.header.DataStart)
			var parts []readers.Partition
			if parts, err = ds.partitions(ctx, s, modes[fi]); err != nil {
				return nil, nil, err
			}
			err = parallel(ctx, ds.cfg.Workers, len(parts), func(ctx context.Context, w, i int) error {
				p := parts[i]
				return ds.scanPartition(ctx, s, p, checkFields, func(sc *readers.Scanner) error {
					return workers[w].scan(ctx, sc, fi)
				})
			})
		}
		if errors.Is(err, errSplit) {
			return nil, nil, &splitError{input: fi}
		}
		if err != nil {
			return nil, nil, err
		}
	}
	stats := &GroupByStats{}
	for _, w := range workers {
		if err := w.flush(); err != nil {
			return nil, nil, err
		}
		stats.SkippedRows += w.skipped
	}
	spellings := &workers[0].spellings
	for _, w := range workers[1:] {
		spellings.merge(&w.spellings)
	}
	keyTypes, fold := spellings.types()
	e := newEmitter(q, keyTypes)
	if fold {
		e.folder = newKeyFolder(q, seed, keyTypes)
	}
	res := &Result{limit: q.limit}
	switch {
	case sp.dir == nil && sh.tables != nil:
		// Everything fit, in many groups: the workers still on their own
		// tables add them to the shared parts, which emit and sort their
		// rows in parallel.
		for _, w := range workers {
			if !w.inShared && w.table.len() > 0 {
				w.moveToShared(&w.aggTable)
			}
			w.aggTable = aggTable{}
		}
		var widened []bool
		if res.parts, widened, err = ds.finishShared(ctx, q, seed, sh, e); err != nil {
			return nil, nil, err
		}
		e.widened = widened
	case sp.dir == nil:
		// Everything fit in small tables: merge them in worker order.
		for _, w := range workers[1:] {
			workers[0].mergeFrom(w)
		}
		res.reserve(workers[0].table.len())
		if err := e.emit(&workers[0].aggTable, res.add); err != nil {
			return nil, nil, err
		}
		res.sortInMemory()
	default:
		var runs []*spill.Run
		for _, w := range workers {
			if !w.inShared && w.table.len() > 0 {
				if err := w.spillTable(); err != nil {
					return nil, nil, err
				}
			}
			runs = append(runs, w.runs...)
			w.aggTable = aggTable{} // free the memory for the merge
		}
		if sh.tables != nil {
			if err := sh.spill(workers[0], false); err != nil {
				return nil, nil, err
			}
			runs = append(runs, sh.runs...)
			sh.tables = nil
		}
		stats.SpilledRuns = len(runs)
		res.sorter = sp.dir.NewSorter(b.sort, compareRows)
		if err := ds.mergeSpilled(ctx, q, seed, sp, runs, e, res.sorter); err != nil {
			return nil, nil, err
		}
		res.dir = sp
		stats.SpilledBytes = sp.dir.Bytes()
		stats.Repartitions = int(sp.repartitions.Load())
	}
	res.Schema = finalSchema(q, e)
	ok = true
	return res, stats, nil
}

// aggWorker is one worker's aggregation state: its hash table (or, once
// that outgrew the cache, its way into the shared parts), the aggregates'
// states for its groups and the scratch batch it fills.
// Not safe for concurrent use.
type aggWorker struct {
	ds         *Dataset
	q          *query
	opts       GroupByOptions
	aggTable                // the worker's table, until it joins the shared parts
	shared     *sharedParts // see parts.go
	inShared   bool         // the worker adds to the shared parts
	seed       maphash.Seed
	spill      *spillState
	budget     int64        // bytes this worker's table may hold before it spills
	runs       []*spill.Run // tables this worker spilled
	hasher     keyHasher    // hashes keys by value (keys.go)
	spellings  keySpellings // the key types of the groups it made, and how they were written
	keys       []int        // input ordinals of the keys
	multi      bool
	roles      map[int]*colRole
	where      *plan.Program
	batch      plan.Batch
	vecs       []*plan.Vector // per input ordinal, for materialised columns
	arena      []byte         // text of this batch's string values
	spans      [][2]int       // per row per text column: start, end in arena (rebuilt per batch)
	rowKeys    []int          // per batch row: end of its key in keyArena
	keyArena   []byte
	direct     bool          // one key and no --where: a row's field can be its key
	lookupNow  bool          // this batch: rows find their groups as they are added
	hashes     []uint64      // per selected batch row: its key's hash
	perm       []int32       // selected batch rows in part order (flushShared)
	permHashes []uint64      // their keys' hashes, in that order
	posPerm    []uint64      // their positions, in that order
	aggCols    []int         // the input columns the aggregates read
	gathered   []plan.Vector // per input ordinal: the aggregated columns in part order
	views      []plan.Vector // per input ordinal: one part's rows of gathered
	groups     []uint32
	pos        []uint64 // per batch row: its input position, kept only when needPos
	needPos    bool     // some aggregate (first, last) orders rows by position
	sel        []int32
	skipped    int64
	rows       int
	textCols   []int
	numCols    []int
	kinds      []readers.Kind
}

func newAggWorker(ds *Dataset, q *query, seed maphash.Seed, opts GroupByOptions, sp *spillState, sh *sharedParts, budget int64) *aggWorker {
	w := &aggWorker{ds: ds, q: q, opts: opts, keys: q.agg.Keys, multi: len(q.agg.Keys) > 1,
		seed: seed, spill: sp, shared: sh, budget: budget}
	keyTypes := make([]plan.Type, len(q.agg.Keys))
	for k, c := range q.agg.Keys {
		keyTypes[k] = q.scan.Input[c].Type
	}
	w.hasher = newKeyHasher(seed, keyTypes)
	w.spellings = newKeySpellings(keyTypes)
	w.aggTable = newAggTable(q, seed, true)
	for _, c := range w.cols {
		if c >= 0 && !slices.Contains(w.aggCols, c) {
			w.aggCols = append(w.aggCols, c)
		}
	}
	in := q.scan.Input
	w.roles = map[int]*colRole{}
	role := func(c int) *colRole {
		r := w.roles[c]
		if r == nil {
			r = &colRole{}
			w.roles[c] = r
		}
		return r
	}
	for _, f := range q.agg.Aggs {
		if f.Col < 0 {
			continue
		}
		if f.Func == "first" || f.Func == "last" {
			w.needPos = true
		}
		switch f.Func {
		case "sum", "mean", "std", "var":
			role(f.Col).numeric = true
		default:
			if in[f.Col].Type.Numeric() {
				role(f.Col).numeric = true
			} else {
				role(f.Col).text = true
			}
		}
	}
	if q.scan.Pred != nil {
		w.where = q.scan.Pred.Compile()
		for _, c := range q.scan.Pred.Columns() {
			if in[c].Type.Numeric() {
				role(c).numeric = true
			} else {
				role(c).text = true
			}
		}
	}
	w.direct = !w.multi && q.scan.Pred == nil
	w.vecs = make([]*plan.Vector, len(in))
	w.batch.Cols = w.vecs
	for c := range in {
		if r := w.roles[c]; r != nil {
			w.vecs[c] = &plan.Vector{}
			if r.numeric {
				w.numCols = append(w.numCols, c)
			} else {
				w.textCols = append(w.textCols, c)
			}
		}
	}
	w.kinds = make([]readers.Kind, plan.BatchSize*len(w.numCols))
	w.resetBatch()
	return w
}

// newAggTable makes an empty table with the query's aggregates (withHeads:
// see groupTable). An
// aggregate that can be read from a state already made for its column
// (a mean next to a sum) shares it, so each row updates it once. Every
// table of a query makes the same states in the same order, so tables
// merge state by state.
func newAggTable(q *query, seed maphash.Seed, withHeads bool) aggTable {
	t := aggTable{table: newGroupTable(seed, withHeads), outs: make([]agg.Agg, len(q.agg.Aggs))}
	// Counts last: a count is read from a sum of any column when there is
	// one (agg.View), so each row updates one cell, not two.
	for _, counts := range []bool{false, true} {
		for o, f := range q.agg.Aggs {
			k := aggKind(f.Func)
			if (k == agg.Count) != counts {
				continue
			}
			for i, a := range t.aggs {
				if t.cols[i] == f.Col || k == agg.Count {
					if v, ok := agg.View(a, k); ok {
						t.outs[o] = v
						break
					}
				}
			}
			if t.outs[o] == nil {
				t.outs[o] = agg.New(k, q.scan.Input[max(f.Col, 0)].Type)
				t.aggs = append(t.aggs, t.outs[o])
				t.cols = append(t.cols, f.Col)
			}
		}
	}
	return t
}

func aggKind(name string) agg.Kind {
	k, ok := agg.ParseKind(name)
	if !ok {
		panic("BUG: unknown aggregate " + name)
	}
	return k
}

func (w *aggWorker) resetBatch() {
	w.rows = 0
	// While the table fits in the cache, a row looks its group up as it is
	// added, with the field itself as the key (when every row counts). A
	// bigger table is looked up a batch at a time, in passes (see flush).
	w.lookupNow = w.direct && !w.inShared && len(w.table.slots) <= cachedSlots
	w.arena = w.arena[:0]
	w.spans = w.spans[:0]
	w.keyArena = w.keyArena[:0]
	w.rowKeys = w.rowKeys[:0]
	w.groups = w.groups[:0]
	w.pos = w.pos[:0]
	for _, c := range w.numCols {
		w.vecs[c].Reset(plan.Float, plan.BatchSize)
		v := w.vecs[c]
		v.Ints = plan.Grow(v.Ints, plan.BatchSize)
	}
	for _, c := range w.textCols {
		w.vecs[c].Reset(plan.String, plan.BatchSize)
	}
}

// scan reads every record of sc into the worker's table.
func (w *aggWorker) scan(ctx context.Context, sc *readers.Scanner, input int) error {
	n := 0
	for sc.Next() {
		if err := w.add(sc, input); err != nil {
			return err
		}
		if n++; n == checkEvery {
			n = 0
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return w.flush()
}

// add puts the scanner's current record into the batch, flushing a full one.
func (w *aggWorker) add(sc *readers.Scanner, input int) error {
	fields := sc.Fields()
	d := &w.ds.cfg.Dialect
	r := w.rows
	// Numbers first: a bad value drops the whole row before anything of it
	// is kept.
	for j, c := range w.numCols {
		f := fields[c]
		v := w.vecs[c]
		if d.IsNull(f) {
			v.Nulls[r] = true
			w.kinds[j*plan.BatchSize+r] = readers.KindNull
			continue
		}
		k, i, fl := readers.ParseNumber(f)
		v.Nulls[r] = k == readers.KindNull
		switch k {
		case readers.KindString:
			if w.opts.SkipBadRows {
				w.skipped++
				return nil // row r is written again by the next record
			}
			return &ValueError{File: sc.File(), Line: sc.Line(), Column: c + 1, Name: w.q.scan.Input[c].Name, Value: string(f)}
		}
		w.kinds[j*plan.BatchSize+r] = k
		v.Ints[r], v.Floats[r] = i, fl
	}
	for _, c := range w.textCols {
		f := fields[c]
		v := w.vecs[c]
		v.Nulls[r] = d.IsNull(f)
		if v.Nulls[r] {
			w.spans = append(w.spans, [2]int{len(w.arena), len(w.arena)})
			continue
		}
		start := len(w.arena)
		w.arena = append(w.arena, f...)
		w.spans = append(w.spans, [2]int{start, len(w.arena)})
	}
	if w.lookupNow {
		key := fields[w.keys[0]]
		if d.IsNull(key) {
			key = nil
		}
		g, ok := w.table.memoized(key)
		if !ok {
			g = w.groupOf(key, w.hasher.hash(key))
		}
		w.groups = append(w.groups, g)
	} else {
		for _, k := range w.keys {
			f := fields[k]
			w.keyArena = appendKey(w.keyArena, f, d.IsNull(f), w.multi)
		}
		w.rowKeys = append(w.rowKeys, len(w.keyArena))
	}
	if w.needPos {
		w.pos = append(w.pos, uint64(input)<<44|uint64(sc.RecordOffset()))
	}
	w.rows++
	if w.rows == plan.BatchSize {
		return w.flush()
	}
	return nil
}

// flush aggregates the rows batched so far.
func (w *aggWorker) flush() error {
	n := w.rows
	if n == 0 {
		return nil
	}
	w.batch.N = n
	// Typed vectors: a numeric column is Int for the batch when every
	// value is an integer, else Float.
	for j, c := range w.numCols {
		v := w.vecs[c]
		isInt := true
		for _, k := range w.kinds[j*plan.BatchSize : j*plan.BatchSize+n] {
			if k == readers.KindFloat {
				isInt = false
				break
			}
		}
		if isInt {
			v.Type = plan.Int
		} else {
			v.Type = plan.Float
		}
		v.Nulls, v.Ints, v.Floats = v.Nulls[:n], v.Ints[:n], v.Floats[:n]
	}
	per := len(w.textCols)
	for t, c := range w.textCols {
		v := w.vecs[c]
		v.Nulls, v.Strs = v.Nulls[:n], v.Strs[:n]
		for r := range n {
			sp := w.spans[r*per+t]
			v.Strs[r] = w.arena[sp[0]:sp[1]]
		}
	}
	// Rows that pass the filter.
	rows := w.sel[:0]
	if w.where != nil {
		rows = w.where.Filter(&w.batch, rows)
	} else {
		for r := range n {
			rows = append(rows, int32(r))
		}
	}
	w.sel = rows
	if w.where != nil && len(rows) < n {
		w.compact(rows)
	}
	pos := w.pos
	if w.needPos && len(rows) < n {
		pos = pos[:0]
		for _, r := range rows {
			pos = append(pos, w.pos[r])
		}
	}
	if !w.lookupNow {
		w.hashes = w.hashes[:0]
		for _, r := range rows {
			w.hashes = append(w.hashes, w.hasher.hash(w.rowKey(r)))
		}
	}
	if w.inShared {
		w.flushShared(rows, pos)
		w.resetBatch()
		if w.shared.memBytes() > w.budget*w.shared.joined.Load() {
			return w.spillShared()
		}
		return nil
	}
	// Group numbers, unless found already, in three passes: hash every key
	// (above), load the slot each hash starts at, then look the keys up.
	// Once the table is bigger than the cache, a lookup waits on that load
	// and the work after it cannot start; in a pass of nothing but loads
	// the CPU overlaps the misses, and the lookups then find their slots in
	// cache.
	if !w.lookupNow {
		w.table.touch(w.hashes)
		w.groups = w.groups[:0]
		for i, r := range rows {
			w.groups = append(w.groups, w.groupOf(w.rowKey(r), w.hashes[i]))
		}
	}
	for i, a := range w.aggs {
		var v *plan.Vector
		if c := w.cols[i]; c >= 0 {
			v = w.vecs[c]
		}
		a.Update(w.groups, v, pos)
	}
	w.resetBatch()
	if len(w.table.slots) > cachedSlots {
		w.join() // the table outgrew the cache
		w.resetBatch()
		return nil
	}
	if w.memBytes() > w.budget {
		return w.spillTable()
	}
	return nil
}

// rowKey is the encoded key of batch row r.
func (w *aggWorker) rowKey(r int32) []byte {
	start := 0
	if r > 0 {
		start = w.rowKeys[r-1]
	}
	return w.keyArena[start:w.rowKeys[r]]
}

// groupOf returns the group of an encoded key with hash h in the worker's
// table, adding it when new.
func (w *aggWorker) groupOf(key []byte, h uint64) uint32 { return w.groupIn(&w.aggTable, key, h) }

// groupIn returns the group of an encoded key with hash h in t, adding it
// when new.
func (w *aggWorker) groupIn(t *aggTable, key []byte, h uint64) uint32 {
	g, added := t.find(key, h)
	if added {
		// The final key types (numbers sort by value) and whether groups
		// must be folded are known before any output.
		w.spellings.add(key)
	}
	return g
}

// compact keeps only rows in the materialised vectors (in place; rows is
// increasing).
func (w *aggWorker) compact(rows []int32) {
	for _, v := range w.vecs {
		if v == nil {
			continue
		}
		for i, r := range rows {
			v.Nulls[i] = v.Nulls[r]
			switch v.Type {
			case plan.Int:
				v.Ints[i] = v.Ints[r]
			case plan.Float:
				v.Floats[i] = v.Floats[r]
			case plan.String:
				v.Strs[i] = v.Strs[r]
			}
		}
		v.Nulls = v.Nulls[:len(rows)]
		switch v.Type {
		case plan.Int:
			v.Ints = v.Ints[:len(rows)]
		case plan.Float:
			v.Floats = v.Floats[:len(rows)]
		case plan.String:
			v.Strs = v.Strs[:len(rows)]
		}
	}
}

// mergeFrom folds every group of o into w's table.
func (w *aggWorker) mergeFrom(o *aggWorker) {
	for g := range uint32(o.table.len()) {
		key := o.table.key(g)
		dst, _ := w.find(key, o.table.hashOf(g))
		for i, a := range w.aggs {
			a.MergeGroup(dst, o.aggs[i], g)
		}
	}
	w.spellings.merge(&o.spellings)
}

// ValueError is a value that is not a number in a column whose aggregate
// needs numbers.
type ValueError struct {
	File   string
	Line   int64
	Column int
	Name   string
	Value  string
}

func (e *ValueError) Error() string {
	return fmt.Sprintf("%s:%d:%d: value %s in column %q is not a number (--skip-bad-rows skips such rows and reports how many)",
		e.File, e.Line, e.Column, strconv.Quote(e.Value), e.Name)
}
