package exec

import (
	"sync"
	"time"

	"github.com/gdask/gdask/engine/spill"
)

// Env is what the operators of one run share.
type Env struct {
	Workers    int
	Broker     *Broker
	Events     Events
	Temp       *TempDir
	MergeFanIn int // the most sorted runs a merge reads at once; 0: as memory allows
	// HashSeed, when not 0, seeds every aggregate's key hashes: the
	// shards of a sharded run and their merge share one, so the merge
	// reads a shard's groups by the partitions the shard wrote them in.
	// 0: each aggregate draws its own.
	HashSeed uint64
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
// system's). What is read back from its files is reported to ev as
// EvSpillRead events (ev may be nil).
func NewTempDir(fs spill.FS, parent string, ev Events) *TempDir {
	if fs == nil {
		fs = spill.OSFS()
	}
	if ev != nil {
		fs = readEvents{fs, ev}
	}
	return &TempDir{fs: fs, parent: parent}
}

// readEvents is an FS whose opened files report what they read.
type readEvents struct {
	spill.FS
	ev Events
}

func (r readEvents) Open(name string) (spill.File, error) {
	f, err := r.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &readEventsFile{f, r.ev}, nil
}

// readEventsFile is a spill file opened for reading: each read (of a
// reader's buffer, tens of KiB) is one EvSpillRead.
type readEventsFile struct {
	spill.File
	ev Events
}

func (f *readEventsFile) Read(p []byte) (int, error) {
	n, err := f.File.Read(p)
	f.report(n)
	return n, err
}

func (f *readEventsFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.File.ReadAt(p, off)
	f.report(n)
	return n, err
}

func (f *readEventsFile) report(n int) {
	if n > 0 {
		f.ev.Event(Event{Kind: EvSpillRead, Op: -1, Bytes: int64(n), At: time.Now()})
	}
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
