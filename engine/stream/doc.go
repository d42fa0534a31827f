// Package stream holds the streaming operators: Filter and Project keep
// their input's order and hold no state between batches; Limit counts the
// rows of a pipeline that runs on one worker in order.
//
// Concurrency: an operator belongs to one worker (exec.Operator); the
// builder makes one per worker. Buffer lifetime: Filter compacts the batch
// it is given in place; Project returns a batch it owns whose vectors are
// its input's or its programs', valid until its next call.
package stream
