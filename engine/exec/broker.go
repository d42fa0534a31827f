package exec

import (
	"sync"
	"sync/atomic"
	"time"
)

// Broker lends the run's memory (--memory-limit) to its operators. What
// every run needs whatever the data (the runtime, read buffers) is taken
// first; operators then borrow in chunks through Loans and spill when the
// broker cannot lend. Safe for concurrent use.
type Broker struct {
	limit int64
	used  atomic.Int64
	ev    Events
}

// LoanChunk is the least a Loan borrows at a time, so a growing table asks
// the broker once per chunk, not once per batch.
const LoanChunk = 1 << 20

func NewBroker(limit int64, ev Events) *Broker {
	if ev == nil {
		ev = NoEvents{}
	}
	return &Broker{limit: limit, ev: ev}
}

// Limit is the memory the run may use.
func (b *Broker) Limit() int64 { return b.limit }

// Lent is what the broker lends now.
func (b *Broker) Lent() int64 { return b.used.Load() }

// Available is what is left to lend.
func (b *Broker) Available() int64 { return b.limit - b.used.Load() }

// TryBorrow lends n bytes if they fit under the limit.
func (b *Broker) TryBorrow(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			b.ev.Event(Event{Kind: EvMemory, Op: -1, Bytes: u + n, At: time.Now()})
			return true
		}
	}
}

// Return gives n bytes back.
func (b *Broker) Return(n int64) {
	if n == 0 {
		return
	}
	u := b.used.Add(-n)
	b.ev.Event(Event{Kind: EvMemory, Op: -1, Bytes: u, At: time.Now()})
}

// Loan is one consumer's borrowing (a worker's hash table, a sort's
// buffer): it grows in chunks of at least LoanChunk up to its cap. Safe
// for concurrent use.
type Loan struct {
	b    *Broker
	mu   sync.Mutex
	held int64
	cap  int64
}

// NewLoan starts a loan that may grow to cap bytes.
func (b *Broker) NewLoan(cap int64) *Loan { return &Loan{b: b, cap: cap} }

// Cover makes the loan hold at least n bytes, borrowing what it lacks. It
// reports false, borrowing nothing more, when n passes the cap or the
// broker cannot lend it: the consumer then spills and Releases.
func (l *Loan) Cover(n int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n <= l.held {
		return true
	}
	if n > l.cap {
		return false
	}
	want := min(max(n-l.held, LoanChunk), l.cap-l.held)
	if !l.b.TryBorrow(want) {
		return false
	}
	l.held += want
	return true
}

// Held is what the loan holds.
func (l *Loan) Held() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held
}

// Cap is the most the loan may hold.
func (l *Loan) Cap() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cap
}

// Raise lets the loan grow by n bytes more.
func (l *Loan) Raise(n int64) {
	l.mu.Lock()
	l.cap += n
	l.mu.Unlock()
}

// Release gives back everything the loan holds; it may borrow again.
func (l *Loan) Release() {
	l.mu.Lock()
	h := l.held
	l.held = 0
	l.mu.Unlock()
	l.b.Return(h)
}
