package exec

import (
	"sync"

	"github.com/gdask/gdask/engine/spill"
)

// Env is what the operators of one run share.
type Env struct {
	Workers    int
	Broker     *Broker
	Events     Events
	Temp       *TempDir
	MergeFanIn int // the most sorted runs a merge reads at once; 0: as memory allows
}

// TempDir is a run's private spill directory, made on first need and
// shared by its operators. Safe for concurrent use.
type TempDir struct {
	fs     spill.FS
	parent string
	mu     sync.Mutex
	dir    *spill.Dir
}

// NewTempDir makes spill directories in parent on fs (nil: the operating
// system's).
func NewTempDir(fs spill.FS, parent string) *TempDir {
	if fs == nil {
		fs = spill.OSFS()
	}
	return &TempDir{fs: fs, parent: parent}
}

// Get returns the directory, making it (and sweeping the leftovers of
// killed runs) on the first call.
func (t *TempDir) Get() (*spill.Dir, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dir == nil {
		spill.SweepStale(t.fs, t.parent) // best effort
		d, err := spill.NewDir(t.fs, t.parent)
		if err != nil {
			return nil, err
		}
		t.dir = d
	}
	return t.dir, nil
}

// Made reports whether anything was spilled (the directory exists).
func (t *TempDir) Made() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dir != nil
}

// Bytes is what was written to spill files so far.
func (t *TempDir) Bytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dir == nil {
		return 0
	}
	return t.dir.Bytes()
}

// Close removes the directory and everything in it.
func (t *TempDir) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dir == nil {
		return nil
	}
	return t.dir.Close()
}
