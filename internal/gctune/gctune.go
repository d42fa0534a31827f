// Package gctune sets how soon the garbage collector runs: a percent of
// heap growth, as GOGC is, but never below a floor heap size.
//
// GOGC alone scales the runtime's minimum heap (4 MiB at 100) with the
// percent: at 25 a process collects at 1 MiB, then at every few hundred
// KiB while its heap is small. A gdask process allocates its buffers at
// start (a few MiB) and paid three collections for them before reading a
// byte: 7-9 ms and 300 page faults of a shard's 45 ms start here, where a
// fresh page costs 11 µs. The floor keeps the small heap's collections
// away; a large heap is collected at the percent, as before.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// runtimeMinHeap is the Go runtime's minimum heap goal at GOGC=100; it
// scales with the percent.
const runtimeMinHeap = 4 << 20

var (
	mu      sync.Mutex
	percent int    // the percent of growth when the heap is above the floor
	floor   uint64 // the least heap goal
	started bool
)

// Set makes the collector run when the heap has grown by pct percent
// since the last collection's live heap, or when it reaches floor bytes,
// whichever is later. The first call starts a hook that runs after each
// collection (a finalizer) and sets the percent for the next from the
// live heap; later calls change the figures. The memory limit
// (debug.SetMemoryLimit) still makes the collector run sooner near it.
func Set(pct int, floorBytes uint64) {
	mu.Lock()
	percent, floor = pct, floorBytes
	first := !started
	started = true
	mu.Unlock()
	tune(liveHeap()) // 0 before the first collection
	if first {
		arm()
	}
}

// liveHeap is the live heap the last collection found, 0 before the first.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sentinel is garbage at once: its finalizer runs after the collection
// that finds it unreachable. It holds a pointer so that it is not a tiny
// allocation, whose finalizer may never run.
type sentinel struct{ _ *int }

func arm() {
	runtime.SetFinalizer(&sentinel{}, func(*sentinel) {
		tune(liveHeap())
		arm()
	})
}

// tune sets the percent for a live heap of live bytes (0: not known, as
// before the first collection).
func tune(live uint64) {
	mu.Lock()
	p := goalPercent(live, percent, floor)
	mu.Unlock()
	debug.SetGCPercent(p)
}

// goalPercent is the GOGC that puts the next collection at live bytes
// grown by pct percent, or at floor bytes if that is later.
func goalPercent(live uint64, pct int, floor uint64) int {
	if live == 0 {
		// Before any collection the runtime's minimum heap is the goal.
		return max(pct, int(floor*100/runtimeMinHeap))
	}
	if floor <= live {
		return pct
	}
	return max(pct, int((floor-live)*100/live))
}
