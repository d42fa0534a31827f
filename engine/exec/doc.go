// Package exec holds what every operator of the engine shares: the batch
// that flows between operators, the operator and sink contracts, the
// worker pool, the memory broker and the event stream. The engine's
// builder (package engine) wires operators from the operator packages
// (engine/stream, engine/hashagg, engine/sorter) into pipelines with
// these contracts; none of those packages imports the engine.
//
// Concurrency: a pipeline runs on a pool of workers; each worker has its
// own instance of every streaming Operator, so an Operator is never used
// by two goroutines. A Sink is shared by the workers and must be safe for
// concurrent Consume and EndMorsel calls from different workers. The
// Broker and Events are safe for concurrent use.
//
// Buffer lifetime: a Batch, its vectors and the bytes they point at belong
// to the producer and are valid only until the call that passed them on
// returns. An operator may change the batch it is given in place (a filter
// compacts it) or return one it owns; a sink copies whatever it keeps.
package exec
