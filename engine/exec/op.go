package exec

import (
	"context"
	"errors"

	"github.com/gdask/gdask/plan"
)

// Operator is one streaming step of a pipeline on one worker: a filter, a
// projection. Not safe for concurrent use: the builder makes one per
// worker.
type Operator interface {
	// Process returns the rows of b that go on: b itself, changed in
	// place, or a batch the operator owns, valid until its next call. It
	// may return a batch of no rows.
	Process(b *Batch) (*Batch, error)
}

// Sink ends a pipeline: a pipeline breaker (hash aggregate, sort, count)
// or the output. Consume and EndMorsel are called by every worker,
// concurrently.
type Sink interface {
	// Consume takes batch b of morsel m from worker w. b is valid only
	// during the call: the sink copies what it keeps.
	Consume(w, m int, b *Batch) error
	// EndMorsel says worker w has passed every batch of morsel m.
	EndMorsel(w, m int) error
}

// Source makes the batches of a pipeline that starts at a pipeline
// breaker: what a finished sink holds (a hash aggregate's groups, a
// sort's rows). Its morsels may run on several workers at once.
type Source interface {
	// Morsels is how many units of work the source has. When Ordered,
	// their order is the rows' order.
	Morsels() int
	Ordered() bool
	// Schema is the rows' columns; final reports whether their types are
	// settled (a hash aggregate's may still widen while its morsels run;
	// they are final once every morsel has run).
	Schema() (s plan.Schema, final bool)
	// Run passes every batch of morsel m to push, on worker w. A batch is
	// valid only during the push.
	Run(ctx context.Context, w, m int, push func(b *Batch) error) error
	// Close frees what the source holds (memory, spill files). It is
	// called once, when the run ends, whether it succeeded or not.
	Close() error
}

// ErrStop says a pipeline's consumer has all the rows it wants (a limit):
// the source stops, and the run goes on as if the source had ended.
var ErrStop = errors.New("the consumer has the rows it wants")
