package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gdask/gdask/internal/fsname"
)

// ShardState is where a shard stands in a directory of state files.
type ShardState int

const (
	Done    ShardState = iota // its state file is whole and of this plan and count
	Missing                   // no state file
	Invalid                   // a state file that cannot be merged; Err says why
)

func (s ShardState) String() string {
	switch s {
	case Done:
		return "done"
	case Missing:
		return "missing"
	}
	return "invalid"
}

// ShardStatus is one shard's state file, or the lack of it.
type ShardStatus struct {
	Shard  int // i, from 0
	Shards int // N
	Path   string
	State  ShardState
	// Header is the file's header when it could be read: always when
	// Done, and when Invalid for another plan, count or shard.
	Header *Header
	Err    *Error // why Missing or Invalid; nil when Done
	// Temp lists the temp files of writers of this shard in the
	// directory: a shard running now, or one killed before it finished.
	Temp []string
}

// Report is the state of a directory for a merge of n shards.
type Report struct {
	Dir    string
	Shards []ShardStatus // shard 0 to N-1
	// Stray lists the state files in Dir named for another shard count:
	// another run's, which a merge of this one refuses to guess about.
	Stray []ShardStatus
}

// Done returns the shards whose state files are done.
func (r *Report) Done() []int { return r.with(Done) }

// Missing returns the shards with no state file.
func (r *Report) Missing() []int { return r.with(Missing) }

// Invalid returns the shards whose state file cannot be merged.
func (r *Report) Invalid() []int { return r.with(Invalid) }

func (r *Report) with(s ShardState) []int {
	var out []int
	for _, sh := range r.Shards {
		if sh.State == s {
			out = append(out, sh.Shard)
		}
	}
	return out
}

// Err returns nil when every shard is done and no stray state file is in
// the directory, else a *DirError naming each problem in shard order, the
// stray files last.
func (r *Report) Err() error {
	var problems []*Error
	for _, sh := range r.Shards {
		if sh.Err != nil {
			problems = append(problems, sh.Err)
		}
	}
	for _, sh := range r.Stray {
		problems = append(problems, sh.Err)
	}
	if len(problems) == 0 {
		return nil
	}
	return &DirError{Dir: r.Dir, Problems: problems}
}

// Status reports on the state files of shards 0 to n-1 of the plan whose
// hash is planHash in dir. A shard is done when its file's header checks,
// is of this plan and count, names this shard and covers units(i), the
// parts of the inputs the plan gives shard i, and, when verify is set,
// when the whole body matches its checksums (files are then read whole,
// several at once). The error is for a directory that cannot be read;
// every problem of a shard is in the Report.
func Status(dir string, n int, planHash [32]byte, units func(i int) []Unit, verify bool) (*Report, error) {
	if n < 1 || n > MaxShards {
		return nil, fmt.Errorf("shard count %d: must be from 1 to %d", n, MaxShards)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", fsname.Quote(dir), fsname.Cause(err))
	}
	r := &Report{Dir: dir, Shards: make([]ShardStatus, n)}
	present := make([]bool, n)
	temps := make(map[int][]string)
	for _, e := range entries {
		name := e.Name()
		if i, m, ok := ParseName(name); ok {
			if m == n {
				present[i] = true
				continue
			}
			path := Path(dir, i, m)
			r.Stray = append(r.Stray, ShardStatus{Shard: i, Shards: m, Path: path, State: Invalid,
				Err: &Error{Path: path, Shard: i, Shards: m, Kind: ErrShardCount,
					Detail: fmt.Sprintf("a state file of %d shards, this merge has %d", m, n),
					Hint:   "remove it: it is another run's"}})
			continue
		}
		// writers.CreateAtomic's temp files: .gdask-<base>-<random>.tmp
		if base, ok := strings.CutPrefix(name, ".gdask-"); ok && strings.HasSuffix(name, ".tmp") {
			if k := strings.LastIndexByte(base, '-'); k > 0 {
				if i, m, ok := ParseName(base[:k]); ok && m == n {
					temps[i] = append(temps[i], filepath.Join(dir, name))
				}
			}
		}
	}
	for i := range r.Shards {
		sh := &r.Shards[i]
		*sh = ShardStatus{Shard: i, Shards: n, Path: Path(dir, i, n), State: Missing}
		sh.Temp = temps[i]
		if !present[i] {
			sh.Err = missing(sh)
		}
	}

	workers := 1
	if verify {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				check(&r.Shards[i], planHash, units(i), verify)
			}
		})
	}
	for i := range r.Shards {
		if present[i] {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	return r, nil
}

// missing is the error of a shard with no state file.
func missing(sh *ShardStatus) *Error {
	e := &Error{Path: sh.Path, Shard: sh.Shard, Shards: sh.Shards, Kind: ErrMissing,
		Hint: "run shard " + shardName(sh.Shard, sh.Shards)}
	if len(sh.Temp) > 0 {
		e.Detail = "a temp file shows the shard running, or killed before it finished"
		e.Hint += " if it is not running"
	}
	return e
}

// check fills in the status of a shard whose state file is present.
func check(sh *ShardStatus, planHash [32]byte, units []Unit, verify bool) {
	r, err := Open(sh.Path)
	if err != nil {
		sh.State, sh.Err = Invalid, asError(err, sh)
		if sh.Err.Kind == ErrMissing { // removed since the directory was read
			sh.State, sh.Err = Missing, missing(sh)
		}
		return
	}
	defer r.Close()
	h := r.Header
	sh.Header = &h
	invalid := func(kind error, detail string) {
		sh.State = Invalid
		sh.Err = &Error{Path: sh.Path, Shard: sh.Shard, Shards: sh.Shards, Kind: kind, Detail: detail, Hint: rerun(sh.Shard, sh.Shards)}
	}
	switch {
	case h.Shards != sh.Shards:
		invalid(ErrShardCount, fmt.Sprintf("it holds shard %s, this merge has %d shards", shardName(h.Shard, h.Shards), sh.Shards))
	case h.Shard != sh.Shard:
		invalid(ErrWrongShard, fmt.Sprintf("it holds shard %s", shardName(h.Shard, h.Shards)))
	case h.PlanHash != planHash:
		invalid(ErrForeignPlan, fmt.Sprintf("its plan hash is %s..., this merge's is %s...", shortHash(h.PlanHash), shortHash(planHash)))
		sh.Err.Hint = "run shard " + shardName(sh.Shard, sh.Shards) + " again for this plan, or merge the directory of its plan"
	case !slices.Equal(h.Units, units):
		invalid(ErrOtherUnits, fmt.Sprintf("%s, where the plan gives it %s: the plan's cuts were made exact after it ran", unitsText(h.Units), unitsText(units)))
	default:
		if verify {
			if err := r.Verify(); err != nil {
				sh.State, sh.Err = Invalid, asError(err, sh)
				return
			}
		}
		sh.State = Done
	}
}

// unitsText describes units for a message: their count and byte ranges,
// the first few.
func unitsText(units []Unit) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d units", len(units))
	for k, u := range units {
		if k == 3 {
			b.WriteString(" ...")
			break
		}
		fmt.Fprintf(&b, " %d:[%d,%d)", u.Input+1, u.Start, u.End)
	}
	return b.String()
}

// asError returns err as the *Error it is (Open and Verify return no
// other kind), or wraps it as one about the shard.
func asError(err error, sh *ShardStatus) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Path: sh.Path, Shard: sh.Shard, Shards: sh.Shards, Kind: ErrUnreadable, Err: err}
}
