package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

// recorder keeps every event of a run, in the order they came.
type recorder struct {
	mu  sync.Mutex
	evs []exec.Event
}

func (r *recorder) Event(e exec.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
}

// run returns the events of the last attempt: those after the last
// EvRunStart (a run that starts again voids what came before).
func (r *recorder) run() []exec.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := -1
	for i, e := range r.evs {
		if e.Kind == exec.EvRunStart {
			last = i
		}
	}
	if last < 0 {
		return nil
	}
	return slices.Clone(r.evs[last+1:])
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.evs = nil
	r.mu.Unlock()
}

// eventInput is one input of the events test: a path, and what a scan
// announces for it (the data after the header of a plain file; either
// the compressed size or, read again from the copy, the data of a
// stream).
type eventInput struct {
	path  string
	sizes []int64 // the EvInput sizes a scan may announce for it (two: a stream)
	stdin []byte  // the bytes of stdin, for path "-": its size is not known (announced as 0)
	seams bool    // a seam may not hold where the file (or a stream's copy) is cut at line ends or by quote parity
}

// eventFiles writes the inputs of the events test: two plain files (no
// quotes: the count's fast path), one whose text holds quoted newlines
// and commas (seams that fail when cut at line ends), one that also has
// quotes inside unquoted fields (which mislead the quote parity: seams
// that fail when cut by it), rows like the quoted file's gzipped (a
// stream) and on stdin, and a bigger plain file for the runs that spill.
// Every input has the header id,k,g,v,s.
func eventFiles(t *testing.T, r *rand.Rand) (small []eventInput, big eventInput) {
	dir := t.TempDir()
	const header = "id,k,g,v,s\n"
	id := 0
	words := []string{"alpha", "beta", "gamma", "delta", "eps", ""}
	rows := func(n int, quoted, bare bool) []byte {
		var b bytes.Buffer
		b.WriteString(header)
		for range n {
			id++
			g := strconv.Itoa(r.IntN(10))
			if r.IntN(15) == 0 {
				g = ""
			}
			v := strconv.Itoa(r.IntN(1100) - 100)
			if r.IntN(20) == 0 {
				v = ""
			}
			s := words[r.IntN(len(words))]
			switch {
			case quoted && r.IntN(3) == 0:
				s = `"` + s + "\nline, \"\"two\"\"" + `"`
			case bare && r.IntN(8) == 0:
				s += `'s "x`
			}
			fmt.Fprintf(&b, "%d,%c,%s,%s,%s\n", id, 'a'+rune(r.IntN(6)), g, v, s)
		}
		return b.Bytes()
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := func(name string, data []byte) eventInput {
		return eventInput{path: write(name, data), sizes: []int64{int64(len(data) - len(header))}}
	}
	small = append(small, plain("plain1.csv", rows(3000, false, false)), plain("plain2.csv", rows(1500, false, false)),
		plain("quoted.csv", rows(2500, true, false)), plain("bare.csv", rows(2500, true, true)))
	small[2].seams, small[3].seams = true, true
	data := rows(2000, true, false)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	small = append(small, eventInput{path: write("stream.csv.gz", gz.Bytes()), sizes: []int64{int64(gz.Len()), int64(len(data) - len(header))}, seams: true})
	data = rows(1000, true, false)
	small = append(small, eventInput{path: readers.Stdin, stdin: data, sizes: []int64{0, int64(len(data) - len(header))}, seams: true})
	return small, plain("big.csv", rows(60_000, false, false))
}

// planGen makes random plans over a scan, as the verbs build them.
type planGen struct {
	t      *testing.T
	r      *rand.Rand
	spills bool // the run has little memory: group and sort by id, which spills
}

func (g *planGen) pick(cols []int) int { return cols[g.r.IntN(len(cols))] }

// cols returns the ordinals of n's columns of the types given (none: all).
func cols(n plan.Node, types ...plan.Type) []int {
	var out []int
	for i, c := range n.Schema() {
		if len(types) == 0 || slices.Contains(types, c.Type) {
			out = append(out, i)
		}
	}
	return out
}

// keys picks one or two key columns of n: id (unique) when the run
// spills, else columns with few values.
func (g *planGen) keys(n plan.Node) []int {
	s := n.Schema()
	var few []int
	for i, c := range s {
		switch {
		case g.spills && c.Name == "id":
			return []int{i}
		case c.Name != "id" && c.Type != plan.Float:
			few = append(few, i)
		}
	}
	if len(few) == 0 {
		few = cols(n)
	}
	g.r.Shuffle(len(few), func(i, j int) { few[i], few[j] = few[j], few[i] })
	return few[:1+g.r.IntN(min(2, len(few)))]
}

// keyNamed reports whether one of keys, columns of s, is named name.
func keyNamed(s plan.Schema, keys []int, name string) bool {
	return slices.ContainsFunc(keys, func(k int) bool { return s[k].Name == name })
}

func (g *planGen) must(n plan.Node, err error) plan.Node {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
	return n
}

// step puts one verb's nodes over n; last allows the verbs whose rows
// end a chain (count).
func (g *planGen) step(n plan.Node, last bool) (plan.Node, string) {
	s := n.Schema()
	verbs := []string{"filter", "select", "groupby", "sort", "distinct", "value-counts", "head"}
	if last {
		verbs = append(verbs, "count", "count")
	}
	verb := verbs[g.r.IntN(len(verbs))]
	switch verb {
	case "filter":
		var src string
		if num := cols(n, plan.Int, plan.Float); len(num) > 0 {
			src = fmt.Sprintf("%s > %d", s[g.pick(num)].Name, g.r.IntN(600))
		} else {
			src = fmt.Sprintf(`%s != "a"`, s[g.pick(cols(n))].Name)
		}
		pred, err := plan.ParseExpr(src, s, "--where")
		if err != nil {
			g.t.Fatal(err)
		}
		return plan.NewFilter(n, pred), verb
	case "select":
		all := cols(n)
		g.r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		var pc []plan.ProjCol
		for _, c := range all[:1+g.r.IntN(len(all))] {
			pc = append(pc, plan.ProjCol{Name: s[c].Name, Col: c})
		}
		if num := cols(n, plan.Int, plan.Float); len(num) > 0 && g.r.IntN(2) == 0 && s.Index("twice") < 0 {
			e, err := plan.ParseValue(s[g.pick(num)].Name+" * 2", s, "--with")
			if err != nil {
				g.t.Fatal(err)
			}
			pc = append(pc, plan.ProjCol{Name: "twice", Expr: e})
		}
		return g.must(plan.NewProject(n, pc)), verb
	case "groupby":
		keys := g.keys(n)
		aggs := []plan.AggFunc{{Kind: plan.AggCount, Col: -1}}
		if num := cols(n, plan.Int, plan.Float); len(num) > 0 {
			c := g.pick(num)
			if g.r.IntN(2) == 0 {
				aggs = append(aggs, plan.AggFunc{Kind: plan.AggSum, Col: c})
			}
			if g.r.IntN(2) == 0 {
				aggs = append(aggs, plan.AggFunc{Kind: plan.AggMean, Col: c})
			}
		}
		if g.r.IntN(2) == 0 {
			// nunique beside other aggregates is an Attach of two plans.
			aggs = append(aggs, plan.AggFunc{Kind: plan.AggNUnique, Col: g.pick(cols(n))})
		}
		if g.r.IntN(4) == 0 {
			aggs = aggs[len(aggs)-1:]
		}
		for i, f := range aggs {
			// The verb refuses an aggregate named as a key (groupby --by
			// count --count, after a value-counts); a rename before it
			// would do, and here the aggregate takes another name.
			name := f.Kind.String()
			if f.Col >= 0 {
				name = s[f.Col].Name + "_" + name
			}
			if keyNamed(s, keys, name) {
				for keyNamed(s, keys, name) {
					name += "_"
				}
				aggs[i].Name = name
			}
		}
		ag := g.must(plan.NewAggregate(n, keys, aggs))
		var sk []plan.SortKey
		for i := range keys {
			sk = append(sk, plan.SortKey{Col: i})
		}
		var out plan.Node = plan.NewSort(ag, sk)
		if g.r.IntN(3) == 0 {
			out = plan.NewLimit(out, int64(g.r.IntN(20)))
		}
		return out, verb
	case "sort":
		var sk []plan.SortKey
		for _, c := range g.keys(n) {
			sk = append(sk, plan.SortKey{Col: c, Desc: g.r.IntN(2) == 0, NullsFirst: g.r.IntN(2) == 0})
		}
		if g.spills {
			sk = append(sk, plan.SortKey{Col: g.pick(cols(n))})
		}
		var out plan.Node = plan.NewSort(n, sk)
		if g.r.IntN(2) == 0 {
			out = plan.NewLimit(out, int64(1+g.r.IntN(3000)))
			verb += " --limit"
		}
		return out, verb
	case "distinct":
		var keys []int
		if g.r.IntN(2) == 0 {
			keys = g.keys(n)
		}
		return plan.NewDistinct(n, keys, g.r.IntN(2) == 0), verb
	case "value-counts":
		keys := g.keys(n)
		name := "count"
		for keyNamed(s, keys, name) {
			name += "_" // value-counts refuses a count named as a key, --normalize renames it so
		}
		ag := g.must(plan.NewAggregate(n, keys, []plan.AggFunc{{Kind: plan.AggCount, Col: -1, Name: name}}))
		sk := []plan.SortKey{{Col: len(keys), Desc: true}}
		for i := range keys {
			sk = append(sk, plan.SortKey{Col: i})
		}
		var out plan.Node = plan.NewSort(ag, sk)
		if g.r.IntN(2) == 0 {
			out = g.must(plan.NewNormalize(out, len(keys), "proportion"))
		}
		return out, verb
	case "head":
		return plan.NewLimit(n, []int64{0, 1, 7, 100, 2500, 1 << 40}[g.r.IntN(6)]), verb
	}
	return plan.NewCount(n), verb
}

// The engine's events balance, for random plans of every verb and chains
// of up to three, over one to three inputs (plain files, files whose
// seams may not hold, a gzipped stream, stdin), with 1-3 workers, small
// blocksizes and, in every sixth case, memory so low that sorts and
// aggregates spill. After the run's last EvRunStart (checkEvents has the
// rules; exec.EventKind the conventions):
//
//   - each morsel started ends once, after it; every other end is a
//     share of a morsel its worker started, or figures only (Morsel -1);
//   - rows out of each operator are rows into the next;
//   - a scan read as many bytes as it announced, the data of each plain
//     file whole;
//   - each merge of spilled runs ends, and its rows add up.
//
// The cases must between them reach every convention the rules make an
// exception for; a change of seed or generator that no longer does fails.
func TestEventsBalance(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	small, big := eventFiles(t, r)
	byName := func(names ...string) []eventInput {
		var out []eventInput
		for _, name := range names {
			i := slices.IndexFunc(small, func(in eventInput) bool { return filepath.Base(in.path) == name })
			out = append(out, small[i])
		}
		return out
	}
	covered := map[string]int{}
	for i := range 92 {
		c := eventsCase{workers: 1 + r.IntN(3), blocksize: []int64{0, 2 << 10, 8 << 10, 64 << 10}[r.IntN(4)],
			format: []string{"csv", "table"}[r.IntN(2)], spills: i%6 == 5}
		switch {
		case i == 0:
			// Two streams, each read again from the copy its first scan
			// kept: a groupby with nunique beside a count is an Attach.
			c.ins = byName("stream.csv.gz", readers.Stdin)
			c.plan = func(g *planGen, scan plan.Node) (plan.Node, []string) {
				s := scan.Schema()
				return g.must(plan.NewAggregate(scan, []int{s.Index("k")}, []plan.AggFunc{{Kind: plan.AggCount, Col: -1},
					{Kind: plan.AggNUnique, Col: s.Index("s")}})), []string{"groupby --count --nunique s"}
			}
		case i == 3:
			// The same under a limit: the first scan of each stream stops
			// early, and the second reads what it read from the copy, then
			// the stream on from where it stopped.
			c.ins = byName("stream.csv.gz", readers.Stdin)
			c.plan = func(g *planGen, scan plan.Node) (plan.Node, []string) {
				s := scan.Schema()
				return g.must(plan.NewAggregate(plan.NewLimit(scan, 2500), []int{s.Index("k")}, []plan.AggFunc{{Kind: plan.AggCount, Col: -1},
					{Kind: plan.AggNUnique, Col: s.Index("s")}})), []string{"head -n 2500", "groupby --count --nunique s"}
			}
		case i == 1:
			// A count whose partitions disagree with a serial read.
			c.ins, c.blocksize = byName("bare.csv"), 2<<10
			c.plan = func(_ *planGen, scan plan.Node) (plan.Node, []string) { return plan.NewCount(scan), []string{"count"} }
		case i == 2:
			// A sort that spills more runs than a merge reads at once.
			c.ins, c.spills, c.workers, c.blocksize, c.fanIn = []eventInput{big}, true, 2, 64<<10, 2
			c.plan = func(_ *planGen, scan plan.Node) (plan.Node, []string) {
				s := scan.Schema()
				return plan.NewSort(scan, []plan.SortKey{{Col: s.Index("v"), Desc: true}, {Col: s.Index("id")}}), []string{"sort --by v:desc,id"}
			}
		case c.spills:
			c.ins = []eventInput{big}
			c.blocksize, c.fanIn = 64<<10, []int{0, 2}[i/6%2] // fan-in 2: merges of many levels
		default:
			for _, k := range r.Perm(len(small))[:1+r.IntN(3)] {
				c.ins = append(c.ins, small[k])
			}
		}
		root, all, evs, name := c.run(t, r)
		if errs := checkEvents(root, evs, c.ins); len(errs) > 0 {
			t.Errorf("case %d: %s:\n%s\t%s", i, name, plan.Explain(root, plan.ExplainEnv{}), strings.Join(errs, "\n\t"))
		}
		for _, f := range coverage(root, all, evs, c.ins) {
			covered[f]++
		}
	}
	for _, f := range []string{"run started again", "seam failed within the run", "count fast path", "count counted again",
		"stream read again", "stream read again under a limit", "stdin", "spill", "merge", "merge of many levels", "Attach", "Distinct", "Normalize",
		"Limit over many workers", "Limit in a pipeline", "Limit of the output"} {
		if covered[f] == 0 {
			t.Errorf("no case had a %s", f)
		}
	}
}

// eventsCase is one run of the events test: its inputs and settings, and
// its plan (nil: a random one).
type eventsCase struct {
	ins       []eventInput
	workers   int
	blocksize int64
	fanIn     int
	format    string
	spills    bool // little memory: sorts and aggregates spill
	plan      func(g *planGen, scan plan.Node) (plan.Node, []string)
}

// run runs the case and returns its optimised plan, every event, the
// events of its last attempt, and its name.
func (c *eventsCase) run(t *testing.T, r *rand.Rand) (root plan.Node, all, evs []exec.Event, name string) {
	t.Helper()
	cfg := DefaultConfig()
	var paths []string
	for _, in := range c.ins {
		paths = append(paths, in.path)
		if in.stdin != nil {
			cfg.Stdin = bytes.NewReader(in.stdin)
		}
	}
	cfg.Workers, cfg.Blocksize, cfg.MergeFanIn = c.workers, c.blocksize, c.fanIn
	rec := &recorder{}
	cfg.Events = rec
	ds, in := openTyped(t, &cfg, paths)
	defer ds.Close()
	g := &planGen{t: t, r: r, spills: c.spills}
	var verbs []string
	node := plan.Node(plan.NewScan(paths, in))
	if c.plan != nil {
		node, verbs = c.plan(g, node)
	} else {
		steps := r.IntN(4)
		if c.spills {
			steps = 1 + r.IntN(2)
		}
		for s := range steps {
			var verb string
			node, verb = g.step(node, s == steps-1)
			verbs = append(verbs, verb)
		}
	}
	root = plan.Optimize(node)
	if c.spills {
		// As little as the run's operators take: a sort spills past
		// 1 MiB of rows; an aggregate needs 4 MiB per worker, while the
		// operators that ran before it hold their rows.
		aggs, sorts := int64(0), int64(0)
		plan.Walk(root, func(n plan.Node) {
			switch n.(type) {
			case *plan.Aggregate:
				aggs++
			case *plan.Sort, *plan.Distinct:
				sorts++
			}
		})
		cfg.MemoryLimit = tightLimit(cfg.Workers)
		if aggs > 0 {
			cfg.MemoryLimit += aggs*(int64(cfg.Workers)*(4<<20)+4<<20) + sorts*(4<<20)
		}
	}
	name = fmt.Sprintf("%s over %d inputs, workers=%d blocksize=%d memory=%d fan-in=%d %s",
		strings.Join(verbs, " | "), len(paths), cfg.Workers, cfg.Blocksize, cfg.MemoryLimit, cfg.MergeFanIn, c.format)
	rec.reset()
	out := &Output{Format: c.format, Open: func([]writers.Column, Delivery) (writers.Writer, error) { return writers.New(c.format, io.Discard) }}
	if _, err := ds.Run(context.Background(), root, out, RunOptions{}); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, plan.Explain(root, plan.ExplainEnv{}))
	}
	rec.mu.Lock()
	all = slices.Clone(rec.evs)
	rec.mu.Unlock()
	return root, all, rec.run(), name
}

// coverage names what a case's run did that the rules treat apart: all
// its events, and those of its last attempt.
func coverage(root plan.Node, all, evs []exec.Event, ins []eventInput) []string {
	var out []string
	starts, inputs := 0, map[int]int{}
	for _, e := range all {
		if e.Kind == exec.EvRunStart {
			starts++
		}
	}
	if starts > 1 {
		out = append(out, "run started again")
	}
	for _, e := range evs {
		switch {
		case e.Kind == exec.EvInput:
			inputs[e.Op]++
		case e.Kind == exec.EvSpill:
			out = append(out, "spill")
		case e.Kind == exec.EvMerge:
			out = append(out, "merge")
			if e.Level > 1 {
				out = append(out, "merge of many levels")
			}
		}
	}
	for _, in := range ins {
		if in.stdin != nil {
			out = append(out, "stdin")
		}
	}
	ids := NodeIDs(root)
	plan.Walk(root, func(n plan.Node) {
		switch n := n.(type) {
		case *plan.Scan:
			if inputs[ids[n]] > len(ins) {
				out = append(out, "seam failed within the run")
			}
		case *plan.Count:
			// The scan only counts its rows: countRows.
			if sc, ok := n.Child.(*plan.Scan); ok && len(sc.Columns) == 0 && sc.Columns != nil && sc.Pred == nil {
				out = append(out, "count fast path")
				if inputs[ids[sc]] > len(ins) {
					out = append(out, "count counted again")
				}
			}
		case *plan.Attach:
			out = append(out, "Attach")
			for _, in := range ins {
				if len(in.sizes) > 1 {
					out = append(out, "stream read again")
					limited := false // a scan below may stop early
					plan.Walk(n, func(c plan.Node) {
						_, ok := c.(*plan.Limit)
						limited = limited || ok
					})
					if limited {
						out = append(out, "stream read again under a limit")
					}
				}
			}
		case *plan.Distinct:
			out = append(out, "Distinct")
		case *plan.Normalize:
			out = append(out, "Normalize")
		case *plan.Limit:
			switch {
			case n == root:
				out = append(out, "Limit of the output")
			case slices.ContainsFunc(evs, func(e exec.Event) bool { return e.Op == ids[n] && e.Kind == exec.EvMorselStart }):
				out = append(out, "Limit over many workers")
			default:
				out = append(out, "Limit in a pipeline")
			}
		}
	})
	return out
}

// morselKey names a morsel of an operator on a worker.
type morselKey struct{ op, worker, morsel int }

// checkEvents returns what is wrong with evs, the events of the last
// attempt of a run of root over ins. The rules (exec.EventKind says them
// for a consumer):
//
//   - Morsels: an EvMorselStart opens its (Op, Worker, Morsel), which is
//     not open; the first EvMorselEnd of the same key after it closes it,
//     with a Dur within the time between them; none stays open, none
//     ends twice. Any other EvMorselEnd is a share of a morsel its
//     worker started (same Worker and Morsel, another Op), or figures
//     only: Morsel and Worker -1. Every Op is a node of root, or -1.
//   - Rows, summed per operator: each node's RowsIn are its child's
//     RowsOut; a Scan takes none in. An Attach takes none in, and each of
//     its children puts out its rows out (or more, when a limit above
//     may stop it). A Limit puts out the least of its N and its rows in
//     (or fewer, when a limit above may stop it or rows of void morsels
//     came in); a Count puts out one.
//   - Bytes, per scan: one EvInput per input, of its size (a plain
//     file's data; a stream's compressed size, or its data from the copy
//     a first scan kept; 0 for stdin); any more only for inputs whose
//     seams may fail, and then positive. Its morsels read what it
//     announced, plus stdin's bytes; no more if a limit may stop it.
//   - Merges, per operator: EvMergeStart, its EvMergeRows, its EvMerge,
//     before the next; the EvMerge's Runs are the start's; its RowsIn
//     are the start's (fewer when a limit above may stop it), and the
//     EvMergeRows add up to them.
func checkEvents(root plan.Node, evs []exec.Event, ins []eventInput) []string {
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	ids := NodeIDs(root)
	nodes := map[int]plan.Node{}
	for n, id := range ids {
		nodes[id] = n
	}

	// Morsels. A start opens (op, worker, morsel); the first end of the
	// same key after it closes it; another start of the key while it is
	// open is a morsel that never ended. Any other end is an operator's
	// share of a morsel its worker started (any op: the pipeline's
	// source starts it), or, with Morsel -1, figures that are no morsel.
	open := map[morselKey]exec.Event{} // the start
	closed := map[morselKey]bool{}
	started := map[[2]int]bool{} // worker, morsel
	type sums struct {
		in, out, bytes, inputs int64
		dur                    time.Duration
	}
	per := map[int]*sums{}
	sumOf := func(op int) *sums {
		if per[op] == nil {
			per[op] = &sums{}
		}
		return per[op]
	}
	var inputs = map[int][]int64{} // per scan: the sizes it announced
	mergeOpen := map[int]*exec.Event{}
	mergeRows := map[int]int64{}
	for _, e := range evs {
		k := morselKey{e.Op, e.Worker, e.Morsel}
		if _, ok := nodes[e.Op]; !ok && e.Op != -1 {
			fail("an event of op %d, which is no node of the plan: %+v", e.Op, e)
		}
		switch e.Kind {
		case exec.EvRunStart:
			fail("an EvRunStart among the events of the last attempt")
		case exec.EvInput:
			inputs[e.Op] = append(inputs[e.Op], e.Bytes)
			sumOf(e.Op).inputs += e.Bytes
		case exec.EvMorselStart:
			if e.Morsel < 0 || e.Worker < 0 {
				fail("a morsel start without a morsel: %+v", e)
			}
			if _, ok := open[k]; ok {
				fail("op %d worker %d morsel %d started again before it ended", e.Op, e.Worker, e.Morsel)
			}
			open[k] = e
			delete(closed, k)
			started[[2]int{e.Worker, e.Morsel}] = true
		case exec.EvMorselEnd:
			start, ok := open[k]
			switch {
			case ok:
				// A morsel drawn from start to end: the operator's own
				// time fits in it.
				delete(open, k)
				closed[k] = true
				if e.Dur > e.At.Sub(start.At) {
					fail("op %d worker %d morsel %d: %v of its own in a morsel of %v", e.Op, e.Worker, e.Morsel, e.Dur, e.At.Sub(start.At))
				}
			case closed[k]:
				fail("op %d worker %d morsel %d ended twice", e.Op, e.Worker, e.Morsel)
			case e.Morsel < 0:
				if e.Worker != -1 {
					fail("figures-only end on worker %d: %+v", e.Worker, e)
				}
			case !started[[2]int{e.Worker, e.Morsel}]:
				fail("op %d ends worker %d's morsel %d, which no operator started", e.Op, e.Worker, e.Morsel)
			}
			if e.Dur < 0 || e.RowsIn < 0 || e.RowsOut < 0 || e.Bytes < 0 {
				fail("negative figures: %+v", e)
			}
			s := sumOf(e.Op)
			s.in += e.RowsIn
			s.out += e.RowsOut
			s.bytes += e.Bytes
			s.dur += e.Dur
		case exec.EvMergeStart:
			if mergeOpen[e.Op] != nil {
				fail("op %d starts a merge inside another", e.Op)
			}
			mergeOpen[e.Op] = &e
			mergeRows[e.Op] = 0
		case exec.EvMergeRows:
			if mergeOpen[e.Op] == nil {
				fail("op %d: EvMergeRows outside a merge", e.Op)
			}
			mergeRows[e.Op] += e.RowsOut
		case exec.EvMerge:
			start := mergeOpen[e.Op]
			if start == nil {
				fail("op %d: EvMerge without an EvMergeStart", e.Op)
				break
			}
			delete(mergeOpen, e.Op)
			if e.Runs != start.Runs || e.RowsIn > start.RowsIn || e.Level < 1 {
				fail("op %d: merge of %d rows in %d runs (level %d), started as %d rows in %d runs", e.Op, e.RowsIn, e.Runs, e.Level, start.RowsIn, start.Runs)
			}
			// Its progress adds up to the rows it merged, also when a limit
			// above stopped it; read to the end, those are all it had.
			rows := mergeRows[e.Op]
			if rows != e.RowsIn || !cutShort(root, nodes[e.Op]) && e.RowsIn != start.RowsIn {
				fail("op %d: merge of %d rows put out %d, of %d to merge", e.Op, e.RowsIn, rows, start.RowsIn)
			}
		}
	}
	for k := range open {
		fail("op %d worker %d morsel %d never ended", k.op, k.worker, k.morsel)
	}
	for op := range mergeOpen {
		fail("op %d: a merge that never ended", op)
	}
	get := func(n plan.Node) sums {
		if s := per[ids[n]]; s != nil {
			return *s
		}
		return sums{}
	}

	// Bytes, per scan: each input's announced size (the data of a plain
	// file; a stream's compressed size, or its data when read again from
	// its copy; 0 for stdin), then what a seam that did not hold made it
	// read again; and what it read: that, and stdin's bytes, unless a limit
	// stopped it.
	reread := map[plan.Node]bool{} // scans that voided morsels of theirs
	plan.Walk(root, func(n plan.Node) {
		if _, ok := n.(*plan.Scan); !ok {
			return
		}
		s := get(n)
		got := slices.Clone(inputs[ids[n]])
		want := s.inputs
		seams := false
		for _, in := range ins {
			seams = seams || in.seams
			i := slices.IndexFunc(got, func(b int64) bool { return slices.Contains(in.sizes, b) })
			if i < 0 {
				if !cutShort(root, n) {
					fail("%s: no EvInput of %v bytes for %s among %v", n, in.sizes, filepath.Base(in.path), got)
				}
				continue
			}
			if in.stdin != nil && got[i] == 0 {
				want += int64(len(in.stdin))
			}
			got = slices.Delete(got, i, i+1)
		}
		for _, b := range got {
			if !seams || b <= 0 {
				fail("%s: an EvInput of %d bytes beyond one per input", n, b)
			}
			reread[n] = true
		}
		if s.bytes > 0 && s.dur <= 0 {
			fail("%s: read %d bytes in no time", n, s.bytes)
		}
		switch {
		case !cutShort(root, n) && s.bytes != want:
			fail("%s: read %d bytes, want %d (announced %d)", n, s.bytes, want, s.inputs)
		case s.bytes > want:
			fail("%s: cut short, read %d bytes, more than the %d it could", n, s.bytes, want)
		}
	})

	// Rows: out of each child, into its parent.
	plan.Walk(root, func(n plan.Node) {
		s := get(n)
		switch n := n.(type) {
		case *plan.Scan:
			if s.in != 0 {
				fail("%s: %d rows in", n, s.in)
			}
		case *plan.Attach:
			// It zips its children's rows, one per key: their rows are
			// its rows, which it reports as rows out only.
			if s.in != 0 {
				fail("%s: %d rows in", n, s.in)
			}
			for _, c := range n.Children() {
				cs := get(c)
				if cs.out != s.out && !(cutShort(root, n) && cs.out > s.out) {
					fail("%s: %d rows out, its child %s %d", n, s.out, c, cs.out)
				}
			}
		default:
			c := n.Children()[0]
			if cs := get(c); cs.out != s.in {
				fail("%s: %d rows in, its child %s put out %d", n, s.in, c, cs.out)
			}
		}
		switch n := n.(type) {
		case *plan.Limit:
			// Rows of void morsels come in and do not go out (the ordered
			// sink drops them).
			void := false
			plan.Walk(n, func(c plan.Node) { void = void || reread[c] })
			if want := min(n.N, s.in); s.out != want && !((void || cutShort(root, n)) && s.out < want) {
				fail("%s: %d rows out of %d in", n, s.out, s.in)
			}
		case *plan.Count:
			if s.out != 1 {
				fail("%s: %d rows out", n, s.out)
			}
		}
	})
	return errs
}

// cutShort reports whether the rows of n may stop before its last: a
// Limit above it, with only nodes that stream between.
func cutShort(root, n plan.Node) bool {
	var path []plan.Node // from root to n
	var find func(m plan.Node) bool
	find = func(m plan.Node) bool {
		path = append(path, m)
		if m == n {
			return true
		}
		for _, c := range m.Children() {
			if find(c) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if !find(root) {
		return false
	}
	for i := len(path) - 2; i >= 0; i-- {
		switch path[i].(type) {
		case *plan.Limit:
			return true
		case *plan.Filter, *plan.Project, *plan.Normalize, *plan.Attach:
			continue
		}
		return false
	}
	return false
}
