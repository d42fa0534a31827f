package gctune

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestGoalPercent(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		live  uint64
		pct   int
		floor uint64
		want  int
	}{
		{0, 25, 16 * mib, 400},  // start: the runtime's 4 MiB minimum, times 4
		{0, 25, 0, 25},          // no floor
		{0, 300, 16 * mib, 400}, // the larger
		{2 * mib, 25, 16 * mib, 700},
		{8 * mib, 25, 16 * mib, 100},
		{15 * mib, 25, 16 * mib, 25}, // 6%: the percent wins
		{16 * mib, 25, 16 * mib, 25},
		{1 << 30, 25, 16 * mib, 25},
	} {
		if got := goalPercent(c.live, c.pct, c.floor); got != c.want {
			t.Errorf("goalPercent(%d, %d, %d) = %d, want %d", c.live, c.pct, c.floor, got, c.want)
		}
	}
}

// TestSetTunes: Set and, after each collection, the hook set the percent
// from the live heap: a small heap gets the floor's, a heap above the
// floor the percent.
func TestSetTunes(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	runtime.GC() // the live heap of this test alone
	Set(25, 64<<20)
	if p, want := current(), goalPercent(liveHeap(), 25, 64<<20); p != want || p <= 25 {
		t.Fatalf("percent at Set: %d, want %d, the floor's for a small live heap", p, want)
	}
	until := func(what string, ok func(p int) bool) {
		t.Helper()
		for range 100 {
			runtime.GC()
			time.Sleep(time.Millisecond) // the finalizer runs on a goroutine of its own
			if ok(current()) {
				return
			}
		}
		t.Fatalf("%s: percent %d after 100 collections", what, current())
	}
	debug.SetGCPercent(1) // the hook, not Set, must put it back
	until("a small heap", func(p int) bool { return p > 25 })
	big := make([]byte, 128<<20) // live, above the floor; never touched
	until("a heap above the floor", func(p int) bool { return p == 25 })
	// Set again (a second run in the process) keeps to the live heap,
	// rather than start over at the floor's percent.
	Set(25, 64<<20)
	if p := current(); p != 25 {
		t.Fatalf("Set with a heap above the floor: percent %d, want 25", p)
	}
	runtime.KeepAlive(big)
}

// current is the collector's percent.
func current() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}
