package cmd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gdask/gdask/cluster"
	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

// A sharded run (DESIGN §8): `gdask VERB ... --shard i/N --state-out DIR`
// runs shard i of N of the chain's plan and leaves DIR/shard-i-of-N.state;
// `gdask merge DIR` merges the N states into the answer a local run gives.
// What every shard must agree on is in DIR/plan.json, written once (by
// `gdask submit`, or by the first shard to run) and never again:
//
//   - the chain's arguments, which the merge parses again to make the
//     same plan;
//   - the inputs' sizes and modification times, so a shard or merge of
//     changed inputs is refused rather than wrong;
//   - the units: the inputs cut into byte ranges, so that shard i reads
//     engine.ShardUnits(units, i, N) and the union of the shards is
//     exactly the input. They are first cut at line ends, reading a few
//     KiB at each cut and not the inputs (engine.LineLayout): a guess that
//     no quoted field spans a cut, which the shards' scans check. A shard
//     whose run fails on guessed cuts makes them exact (engine.Layout,
//     which reads every input once) and runs again: plan.json is then
//     rewritten, once, and a state file of units the exact cuts moved is
//     refused as another run's (cluster.ErrOtherUnits);
//   - the plan's canonical text and its SHA-256, which each shard's state
//     file carries in its header: a shard of another plan is refused by
//     name.

// Flags of a sharded run.
const (
	flagShard        = "shard"
	flagStateOut     = "state-out"
	flagShardAttempt = "shard-attempt"
)

// planFileName is the shared plan in a state directory.
const planFileName = "plan.json"

// planFile is DIR/plan.json.
type planFile struct {
	Version int    `json:"version"`
	Gdask   string `json:"gdask"` // the version that wrote it, for people
	Shards  int    `json:"shards"`
	// Args is the chain as gdask takes it (without the flags of one
	// process: --shard, --state-out, --output, --dashboard, ...).
	Args []string `json:"args"`
	// Dir is the working directory the arguments' relative paths are
	// relative to.
	Dir string `json:"dir"`
	// Format is the output format the plan was made for (the chain's -o,
	// or what gdask chose where the plan.json writer ran): the merge's
	// unless its own -o says otherwise.
	Format string      `json:"format"`
	Kind   string      `json:"kind"`
	Inputs []planInput `json:"inputs"`
	// Columns are the input columns the plan was made for: a shard or merge
	// of the plan types its columns so rather than by a type sample.
	Columns []planColumn `json:"columns"`
	// Cuts is how Units were cut: cutsLines, guessed at line ends, or
	// cutsRecords, exact record starts.
	Cuts string `json:"cuts"`
	// UnitBlocksize is the size the units were cut at: the exact cuts
	// that replace guessed ones are made at the same size.
	UnitBlocksize int64           `json:"unit_blocksize"`
	Units         []engine.Unit   `json:"units"`
	Plan          string          `json:"plan"` // the canonical text the hash is of
	Hash          string          `json:"hash"` // hex SHA-256 of Plan
	Extra         json.RawMessage `json:"submit,omitempty"`
}

type planColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// inputSchema is the input columns p was made for, as a run whose
// columns are untyped (their names, and the types --types declares)
// takes them: false when the names or a declared type differ (the plan
// hash then refuses the run, or the merge, with its message).
func (p *planFile) inputSchema(untyped plan.Schema) (plan.Schema, bool) {
	if len(p.Columns) != len(untyped) {
		return nil, false
	}
	out := slices.Clone(untyped)
	for i, c := range p.Columns {
		k := slices.IndexFunc(planTypes, func(t plan.Type) bool { return t.String() == c.Type })
		if c.Name != untyped[i].Name || k < 0 || untyped[i].Declared && untyped[i].Type != planTypes[k] {
			return nil, false
		}
		out[i].Type = planTypes[k]
	}
	return out, true
}

// planTypes are the types an input column may have.
var planTypes = []plan.Type{plan.Null, plan.Int, plan.Float, plan.String}

type planInput struct {
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

const planFileVersion = 2

// The ways a plan's units are cut.
const (
	cutsLines   = "lines"   // engine.LineLayout: a guess the shards check
	cutsRecords = "records" // engine.Layout: exact
)

// shardUnits is the units plan p gives shard i.
func (p *planFile) shardUnits(i int) []engine.Unit {
	return engine.ShardUnits(p.Units, i, p.Shards)
}

// stateUnits is shard i's units as its state file's header lists them.
func (p *planFile) stateUnits(i int) []cluster.Unit {
	us := p.shardUnits(i)
	out := make([]cluster.Unit, len(us))
	for k, u := range us {
		out[k] = cluster.Unit{Input: u.Input, Start: u.Start, End: u.End}
	}
	return out
}

// status reports on the state files of p's shards in dir (cluster.Status):
// of this plan, and of the units it now gives each shard.
func (p *planFile) status(dir string, verify bool) (*cluster.Report, error) {
	return cluster.Status(dir, p.Shards, p.hash(), p.stateUnits, verify)
}

// hash returns the plan's hash as the state files hold it.
func (p *planFile) hash() [32]byte {
	var h [32]byte
	b, err := hex.DecodeString(p.Hash)
	if err == nil && len(b) == 32 {
		copy(h[:], b)
	}
	return h
}

// readPlanFile reads DIR/plan.json.
func readPlanFile(dir string) (*planFile, error) {
	path := filepath.Join(dir, planFileName)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no plan here: %w (run the shards with --state-out %s, or gdask submit, first)", fsname.Quote(path), fs.ErrNotExist, fsname.Quote(dir))
		}
		return nil, fmt.Errorf("cannot read %s: %w", fsname.Quote(path), fsname.Cause(err))
	}
	var p planFile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: not a gdask plan: %v", fsname.Quote(path), err)
	}
	if p.Version != planFileVersion {
		return nil, fmt.Errorf("%s: plan format %d, this gdask reads %d (use the gdask %s that wrote it)", fsname.Quote(path), p.Version, planFileVersion, p.Gdask)
	}
	if p.Shards < 1 || p.Shards > cluster.MaxShards || len(p.Hash) != 64 || p.Cuts != cutsLines && p.Cuts != cutsRecords {
		return nil, fmt.Errorf("%s: not a gdask plan: shards %d, hash %q, cuts %q", fsname.Quote(path), p.Shards, p.Hash, p.Cuts)
	}
	return &p, nil
}

// writePlanFile writes DIR/plan.json, unless one is there when replace is
// false: made as a temp file and linked (or renamed) into place, so a
// reader sees the old plan or the new one, whole. It returns the plan in
// DIR. The caller holds the plan lock (lockPlan); dir exists.
func writePlanFile(dir string, p *planFile, replace bool) (*planFile, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".plan-*.json")
	if err != nil {
		return nil, fmt.Errorf("cannot write in %s: %w", fsname.Quote(dir), fsname.Cause(err))
	}
	defer os.Remove(f.Name())
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("cannot write %s: %w", fsname.Quote(f.Name()), fsname.Cause(err))
	}
	put := os.Link
	if replace {
		put = os.Rename
	}
	if err := put(f.Name(), filepath.Join(dir, planFileName)); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("cannot write %s: %w", fsname.Quote(filepath.Join(dir, planFileName)), fsname.Cause(err))
	}
	return readPlanFile(dir)
}

// planText is a plan's canonical text: what its hash is of. It holds the
// plan as Explain prints it without the run's environment, the input
// columns' types (which the plan's operators are made for), and, when
// what a shard keeps depends on it, whether the output is csv.
func planText(root plan.Node, input plan.Schema, csvOut bool) string {
	text := plan.Explain(root, plan.ExplainEnv{})
	if i := strings.LastIndex(strings.TrimSuffix(text, "\n"), "\n"); i >= 0 {
		text = text[:i+1] // the environment's line
	}
	var b strings.Builder
	b.WriteString(text)
	b.WriteString("input:")
	for _, c := range input {
		fmt.Fprintf(&b, " %s:%s", strconv.Quote(c.Name), c.Type)
	}
	b.WriteString("\n")
	if engine.OutputBinds(root) {
		fmt.Fprintf(&b, "csv output: %t\n", csvOut)
	}
	return b.String()
}

func hashText(text string) string {
	h := sha256.Sum256([]byte(text))
	return hex.EncodeToString(h[:])
}

// shardFlags are --shard i/N, --state-out DIR and --shard-attempt K.
type shardFlags struct {
	i, n    int
	dir     string
	attempt int
}

// shardSettings returns the run's shard flags, nil when it is not a
// shard.
func (s *settings) shardSettings() (*shardFlags, error) {
	spec, dir, attempt := strings.TrimSpace(s.str(flagShard)), s.str(flagStateOut), strings.TrimSpace(s.str(flagShardAttempt))
	if spec == "" && dir == "" {
		if attempt != "" {
			return nil, usagef("--shard-attempt goes with --shard i/N --state-out DIR")
		}
		return nil, nil
	}
	if spec == "" || dir == "" {
		return nil, usagef("--shard i/N and --state-out DIR go together: shard i of N writes its state to DIR for gdask merge DIR")
	}
	is, ns, ok := strings.Cut(spec, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || n > cluster.MaxShards || i < 0 || i >= n {
		return nil, usagef("invalid --shard %q: want i/N, shard i (from 0) of N, with 0 <= i < N <= %d, e.g. --shard 3/16", spec, cluster.MaxShards)
	}
	sf := &shardFlags{i: i, n: n, dir: dir}
	if attempt != "" {
		if sf.attempt, err1 = strconv.Atoi(attempt); err1 != nil || sf.attempt < 0 {
			return nil, usagef("invalid --shard-attempt %q: want a number from 0, the attempt of this shard", attempt)
		}
	}
	return sf, nil
}

// processFlags are global flags that belong to one process, not to the
// plan: they are not kept in plan.json's arguments.
var processFlags = map[string]bool{
	flagShard: true, flagStateOut: true, flagShardAttempt: true, flagOutput: true, flagExplain: true,
	flagDashboard: true, flagDashboardLinger: true, flagReport: true, flagProgress: true, flagConfig: true,
}

// planArgs are args without the flags of one process.
func planArgs(args []string, globals *pflag.FlagSet) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		name, takesValue := globalFlag(args[i], globals)
		if name != "" && processFlags[name] {
			if takesValue || name == flagExplain && i+1 < len(args) && args[i+1] == "analyze" {
				i++ // its value; --explain's optional one is its next word (splitChain)
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// minUnitBlocksize is the smallest unit a layout makes; tests make it
// smaller, to cut small files into many units.
var minUnitBlocksize int64 = 1 << 20

// unitBlocksize is the size of the units of a layout for n shards: a
// few units per shard, so shards come out even, of at least 1 MiB and at
// most engine.DefaultUnitBlocksize.
func unitBlocksize(inputs []engine.InputFile, n int) int64 {
	var total int64
	for _, in := range inputs {
		if !in.Stream {
			total += in.Size
		}
	}
	b := total / int64(8*n)
	return min(max(b, minUnitBlocksize), engine.DefaultUnitBlocksize)
}

// newPlanFile makes the plan.json of the job's run of root for n shards.
// Its units are cut at line ends, reading a few KiB of each input per
// unit, unless the shards of root stop early (engine.ShardReadsAll) and
// so would not check the guess: those are cut exactly, reading the
// inputs once.
func (app *App) newPlanFile(ctx context.Context, j *job, root plan.Node, input plan.Schema, text string, kind engine.ShardKind, n int, globals *pflag.FlagSet) (*planFile, error) {
	inputs := j.ds.Inputs()
	bs := unitBlocksize(inputs, n)
	cuts, layout := cutsLines, j.ds.LineLayout
	if !engine.ShardReadsAll(root) {
		cuts, layout = cutsRecords, j.ds.Layout
	}
	units, err := layout(ctx, bs)
	if err != nil {
		return nil, err
	}
	wd, _ := os.Getwd()
	v, c, _ := buildInfo()
	p := &planFile{Version: planFileVersion, Gdask: v + " " + c, Shards: n, Args: planArgs(app.args, globals), Dir: wd,
		Format: j.res.format, Kind: shardKindName(kind), Cuts: cuts, UnitBlocksize: bs, Units: units, Plan: text, Hash: hashText(text)}
	for _, in := range inputs {
		p.Inputs = append(p.Inputs, planInput{Path: in.Path, Size: in.Size, ModTime: in.ModTime})
	}
	for _, c := range input {
		p.Columns = append(p.Columns, planColumn{Name: c.Name, Type: c.Type.String()})
	}
	return p, nil
}

func shardKindName(k engine.ShardKind) string {
	switch k {
	case engine.ShardRows:
		return "rows"
	case engine.ShardSorted:
		return "sorted"
	case engine.ShardCount:
		return "count"
	}
	return "states"
}

func clusterKind(k engine.ShardKind) cluster.Kind {
	switch k {
	case engine.ShardRows:
		return cluster.RowsInOrder
	case engine.ShardSorted:
		return cluster.SortedRun
	case engine.ShardCount:
		return cluster.Count
	}
	return cluster.AggregateStates
}

// checkInputs refuses inputs that are not as plan.json saw them: a shard
// or merge of changed inputs would mix two versions of the data.
func (p *planFile) checkInputs(dir string, inputs []engine.InputFile) error {
	if len(inputs) != len(p.Inputs) {
		return fmt.Errorf("%s names %d inputs, this run %d", fsname.Quote(filepath.Join(dir, planFileName)), len(p.Inputs), len(inputs))
	}
	for k, in := range inputs {
		was := p.Inputs[k]
		if in.Path != was.Path {
			return fmt.Errorf("input %d is %s here and %s in %s: run every shard with the same inputs", k+1, fsname.Quote(in.Path), fsname.Quote(was.Path), fsname.Quote(filepath.Join(dir, planFileName)))
		}
		if in.Stream && in.Size < 0 {
			return usagef("%s: standard input cannot be read by shards: each would read its own; give a file", fsname.Quote(in.Path))
		}
		if in.Size != was.Size || !in.ModTime.Equal(was.ModTime) {
			return fmt.Errorf("%s: changed since %s was written (%d bytes, modified %s; now %d bytes, modified %s): start again with an empty --state-out directory",
				fsname.Quote(in.Path), fsname.Quote(filepath.Join(dir, planFileName)), was.Size, was.ModTime.Format(time.RFC3339Nano), in.Size, in.ModTime.Format(time.RFC3339Nano))
		}
	}
	return nil
}

// planLockStale is how old a plan lock may be before another process takes
// it over: its holder died. A holder touches it every planLockTouch, also
// while an exact layout reads every input (minutes for the largest).
var (
	planLockStale = 15 * time.Minute
	planLockTouch = time.Minute
)

// lockPlan takes DIR/.plan.lock, which a process holds while it writes
// DIR/plan.json, waiting while another holds it. Shards that start at
// once (an Indexed Job, a loop in the background) write plan.json once
// this way, and make its cuts exact once. The lock holds a token of its
// holder's: unlock removes it only while it is still this holder's (not
// one that took it over as stale).
func lockPlan(ctx context.Context, dir string) (unlock func(), err error) {
	lock := filepath.Join(dir, ".plan.lock")
	token := fmt.Sprintf("%d %d\n", os.Getpid(), time.Now().UnixNano())
	for {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.WriteString(token)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(lock)
				return nil, fmt.Errorf("cannot write %s: %w", fsname.Quote(lock), fsname.Cause(err))
			}
			done := make(chan struct{})
			go func() {
				tick := time.NewTicker(planLockTouch)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case now := <-tick.C:
						os.Chtimes(lock, now, now)
					}
				}
			}()
			return func() {
				close(done)
				if b, err := os.ReadFile(lock); err == nil && string(b) == token {
					os.Remove(lock)
				}
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("cannot write in --state-out %s: %w", fsname.Quote(dir), fsname.Cause(err))
		}
		if st, err := os.Stat(lock); err == nil && time.Since(st.ModTime()) > planLockStale {
			os.Remove(lock)
			continue
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sharedPlan returns DIR/plan.json, making it with make when there is
// none.
func (app *App) sharedPlan(ctx context.Context, sf *shardFlags, make func() (*planFile, error)) (*planFile, error) {
	if err := os.MkdirAll(sf.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot make --state-out %s: %w", fsname.Quote(sf.dir), fsname.Cause(err))
	}
	if p, err := readPlanFile(sf.dir); !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}
	unlock, err := lockPlan(ctx, sf.dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if p, err := readPlanFile(sf.dir); !errors.Is(err, fs.ErrNotExist) {
		return p, err // written while this process waited
	}
	p, err := make()
	if err != nil {
		return nil, err
	}
	return writePlanFile(sf.dir, p, false)
}

// exactPlan returns DIR/plan.json with exact cuts in place of p's guessed
// ones: made here (engine.Layout, at p's unit size), or by another shard
// that found its guess wrong first.
func exactPlan(ctx context.Context, ds *engine.Dataset, dir string, p *planFile) (*planFile, error) {
	unlock, err := lockPlan(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now, err := readPlanFile(dir)
	if err != nil {
		return nil, err
	}
	if now.Hash != p.Hash || now.Shards != p.Shards {
		return nil, fmt.Errorf("%s was replaced by another plan's while this shard ran: use a --state-out of its own for each run", fsname.Quote(filepath.Join(dir, planFileName)))
	}
	if now.Cuts == cutsRecords {
		return now, nil
	}
	units, err := ds.Layout(ctx, now.UnitBlocksize)
	if err != nil {
		return nil, err
	}
	now.Cuts, now.Units = cutsRecords, units
	return writePlanFile(dir, now, true)
}

// runShard runs shard sf of root and writes its state file. It returns
// the run's figures, nil for a shard already done, which runs nothing.
func (app *App) runShard(ctx context.Context, j *job, root plan.Node, input plan.Schema, sf *shardFlags, skipBad bool, globals *pflag.FlagSet) (rs *engine.RunStats, err error) {
	kind, err := engine.ShardCuts(root)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if j.res.path != "" {
		return nil, usagef("a shard writes its state to --state-out, not to --output: give --output to gdask merge")
	}
	for _, in := range j.ds.Inputs() {
		if in.Size < 0 {
			return nil, usagef("standard input cannot be read by shards: each would read its own; give a file")
		}
	}
	owned := false // the shard is of DIR's plan: its failure is recorded there
	defer func() {
		if err != nil && owned && ctx.Err() == nil {
			writeFailure(sf, err)
		}
	}()
	text := planText(root, input, j.res.format == "csv")
	p, err := app.sharedPlan(ctx, sf, func() (*planFile, error) { return app.newPlanFile(ctx, j, root, input, text, kind, sf.n, globals) })
	if err != nil {
		return nil, err
	}
	planPath := fsname.Quote(filepath.Join(sf.dir, planFileName))
	if p.Shards != sf.n {
		return nil, usagef("--shard %d/%d: %s is for %d shards (use --shard i/%d, or another --state-out)", sf.i, sf.n, planPath, p.Shards, p.Shards)
	}
	if p.Hash != hashText(text) {
		return nil, usagef("shard %d/%d: this plan is not the one in %s (its arguments: %s): run every shard with the same chain and flags, or use another --state-out",
			sf.i, sf.n, planPath, quoteArgs(p.Args))
	}
	owned = true
	if err := p.checkInputs(sf.dir, j.ds.Inputs()); err != nil {
		return nil, err
	}
	if h, err := cluster.Verify(cluster.Path(sf.dir, sf.i, sf.n)); err == nil && h.PlanHash == p.hash() && h.Shard == sf.i && h.Shards == sf.n &&
		slices.Equal(h.Units, p.stateUnits(sf.i)) {
		// Done by an earlier run (a resubmission runs every shard the
		// scheduler has no record of): its state stands.
		fmt.Fprintf(app.IO.Err, "gdask: shard %d/%d is already done in %s\n", sf.i, sf.n, fsname.Quote(sf.dir))
		removeFailures(sf)
		return nil, nil
	}
	st, err := app.runShardUnits(ctx, j, root, p, sf, kind, skipBad)
	if err != nil && p.Cuts == cutsLines && ctx.Err() == nil && guessMayCause(err) {
		// The guessed cuts may be to blame: a unit that ends inside a
		// record, a start inside a quoted field, lines counted from a
		// unit's start. Run again on exact cuts, from inputs opened
		// again (a stream input may have been read): an error then is
		// the data's, with its exact line.
		if p, err = exactPlan(ctx, j.ds, sf.dir, p); err != nil {
			return nil, err
		}
		if err = j.reopen(ctx, app); err != nil {
			return nil, err
		}
		if err = p.checkInputs(sf.dir, j.ds.Inputs()); err != nil {
			return nil, err
		}
		st, err = app.runShardUnits(ctx, j, root, p, sf, kind, skipBad)
	}
	if err != nil {
		return nil, err
	}
	removeFailures(sf)
	return st, nil
}

// guessMayCause reports whether err may come of cuts guessed at line ends
// rather than of the data or the machine: a unit that ends inside a
// record, or a record or value read wrong from a start inside a quoted
// field, or at a line counted from its unit's start. A read error, a full
// disk or the memory limit is reported as it is: exact cuts would read
// every input for nothing, and make other shards' states of moved units
// run again.
func guessMayCause(err error) bool {
	var pe *readers.ParseError
	var ve *engine.ValueError
	return errors.Is(err, engine.ErrUnitMismatch) || errors.As(err, &pe) || errors.As(err, &ve)
}

// runShardUnits runs shard sf of root on the units plan p gives it and
// commits its state file.
func (app *App) runShardUnits(ctx context.Context, j *job, root plan.Node, p *planFile, sf *shardFlags, kind engine.ShardKind, skipBad bool) (*engine.RunStats, error) {
	units := p.shardUnits(sf.i)
	if units == nil {
		units = []engine.Unit{} // inputs with no data: read nothing, not everything
	}
	j.cfg.Units = units
	var w *cluster.Writer
	defer func() {
		if w != nil {
			w.Abort()
		}
	}()
	st, err := j.ds.RunShard(ctx, root, j.res.format, func() (io.Writer, error) {
		if w != nil {
			w.Abort()
		}
		var err error
		w, err = cluster.Create(sf.dir, p.hash(), sf.i, sf.n, clusterKind(kind))
		return w, err
	}, engine.RunOptions{SkipBadRows: skipBad})
	if err != nil {
		return nil, err
	}
	if err := w.Commit(p.stateUnits(sf.i), st.Rows, st.Bytes); err != nil {
		return nil, err
	}
	w = nil
	return &st.RunStats, nil
}

// Failure records: a shard that fails with an error gdask reports leaves
// DIR/shard-iiii-of-NNNN.failed-K (K its --shard-attempt), one line, the
// error: `gdask merge --wait` tells from it that the shard failed for
// good once its last attempt's record is there, and says why.
func failurePath(dir string, i, n, attempt int) string {
	return failurePrefix(dir, i, n) + strconv.Itoa(attempt)
}

// failurePrefix is the path of shard i of n's failure records but their
// attempt number.
func failurePrefix(dir string, i, n int) string {
	return strings.TrimSuffix(cluster.Path(dir, i, n), ".state") + ".failed-"
}

func writeFailure(sf *shardFlags, runErr error) {
	f, err := writers.CreateAtomic(failurePath(sf.dir, sf.i, sf.n, sf.attempt))
	if err != nil {
		return // the exit status still says it failed
	}
	if _, err := fmt.Fprintf(f, "%s\n", strings.ReplaceAll(runErr.Error(), "\n", " ")); err != nil {
		f.Abort()
		return
	}
	f.Commit()
}

// removeFailures removes the failure records of a shard that is done.
func removeFailures(sf *shardFlags) {
	matches, _ := filepath.Glob(failurePrefix(sf.dir, sf.i, sf.n) + "*")
	for _, m := range matches {
		os.Remove(m)
	}
}

// readFailure returns the error a shard's attempt recorded, if it did.
func readFailure(dir string, i, n, attempt int) (string, bool) {
	b, err := os.ReadFile(failurePath(dir, i, n, attempt))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// shardNotes are --explain's notes of a shard's or a merge's plan: where
// the shard stops and what runs on which side (nil for a local run).
func (app *App) shardNotes(root plan.Node) func(plan.Node) string {
	if app.merge != nil {
		return engine.ShardExplain(root, true)
	}
	if sf, err := app.settings.shardSettings(); err == nil && sf != nil {
		return engine.ShardExplain(root, false)
	}
	return nil
}
