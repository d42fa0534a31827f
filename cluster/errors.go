package cluster

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gdask/gdask/internal/fsname"
)

// The kinds of problem a state file can have. An *Error matches its kind
// with errors.Is, so a caller can choose an exit status or a retry by kind.
var (
	// ErrMissing: no state file for the shard.
	ErrMissing = errors.New("missing")
	// ErrNotState: the file does not start like a gdask state file.
	ErrNotState = errors.New("not a gdask state file")
	// ErrVersion: a state file of a format version this gdask does not read.
	ErrVersion = errors.New("another state file format version")
	// ErrTruncated: the file is shorter than its prologue says.
	ErrTruncated = errors.New("truncated")
	// ErrCorrupt: a checksum does not match, or the fields contradict
	// each other.
	ErrCorrupt = errors.New("corrupt")
	// ErrForeignPlan: the state of another plan (its plan hash differs).
	ErrForeignPlan = errors.New("written for another plan")
	// ErrOtherUnits: the state of other parts of the inputs than the plan
	// now gives the shard: it ran before the plan's cuts were made exact.
	ErrOtherUnits = errors.New("read other parts of the inputs")
	// ErrShardCount: the state of a run cut into another number of shards.
	ErrShardCount = errors.New("written for another shard count")
	// ErrWrongShard: the file's name and its header name different shards.
	ErrWrongShard = errors.New("holds another shard")
	// ErrUnreadable: the file could not be opened or read; Err says why.
	ErrUnreadable = errors.New("cannot be read")
)

// Error is a problem with one state file. Its message is one line: the
// file, what is wrong, and what to do.
type Error struct {
	Path   string // the state file
	Shard  int    // the shard it is for (its name, else its header); -1 when unknown
	Shards int    // the shard count it is for; 0 when unknown
	Kind   error  // ErrMissing, ErrTruncated, ... (see above)
	Detail string // what exactly, or ""
	Hint   string // what to do, or ""
	Err    error  // the operating system's error, for ErrUnreadable
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(fsname.Quote(e.Path))
	b.WriteString(": ")
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(fsname.Cause(e.Err).Error())
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is the error's kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the operating system's error, if any.
func (e *Error) Unwrap() error { return e.Err }

// shardName is how messages name a shard: as --shard takes it.
func shardName(i, n int) string { return strconv.Itoa(i) + "/" + strconv.Itoa(n) }

// rerun is the hint for a state file that must be made again.
func rerun(i, n int) string {
	if i < 0 || n <= 0 {
		return "write it again"
	}
	return "run shard " + shardName(i, n) + " again"
}

// DirError is what Report.Err returns: every problem of a directory of
// state files, shown as the first one and a count of the others. It
// unwraps to the *Errors, so errors.Is finds any kind among them and
// errors.As the first *Error.
type DirError struct {
	Dir      string
	Problems []*Error // in shard order: shards 0 to N-1, then stray files
}

func (e *DirError) Error() string {
	msg := e.Problems[0].Error()
	if len(e.Problems) == 1 {
		return msg
	}
	rest := e.Problems[1:]
	var names []string
	for i, p := range rest {
		if i == 8 {
			names = append(names, "...")
			break
		}
		names = append(names, shardLabel(p))
	}
	return fmt.Sprintf("%s; and %d more in %s: %s", msg, len(rest), fsname.Quote(e.Dir), strings.Join(names, ", "))
}

// shardLabel names a problem in the list of DirError: "shard 5 missing".
func shardLabel(p *Error) string {
	if p.Shard < 0 {
		return p.Kind.Error()
	}
	return "shard " + shardName(p.Shard, p.Shards) + " " + p.Kind.Error()
}

// Unwrap returns the problems.
func (e *DirError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}
