// Package engine executes gdask's work over partitions: it opens inputs,
// schedules partitions onto a bounded worker pool, checks the seams between
// partitions and reports progress. It knows nothing about flags: cmd hands
// it a Config.
//
// Concurrency: every exported function returns only after the goroutines it
// started have ended; the first error cancels the rest.
package engine
