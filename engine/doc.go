// Package engine is the executor. Run turns an optimised plan into
// operators with one switch (build.go): a Scan becomes the scan driver
// (driver.go: inputs, the split ladder with seam checks and fallbacks,
// streams, batch materialisation, positioned errors), Filter, Project and
// a Limit on one worker become streaming operators (engine/stream), an
// Aggregate a hash aggregate (engine/hashagg), a Sort the sort operator
// (engine/sorter), a Count a counting sink. Streaming operators run per
// worker between a source and a sink: a pipeline. A sink that breaks the
// pipeline (aggregate, sort, count) becomes the source of the next one.
// The root's rows leave through an ordered sink (ordered.go), in order,
// while the workers run ahead with a bounded window of partitions; a limit
// there stops the run once it has its rows. Memory is lent by one broker
// per run, and everything the run does is reported on one event stream
// (engine/exec). info, count, gen-data and tail use the same driver or
// are their own small loops; nothing here knows about flags: cmd hands it
// a Config.
//
// Concurrency: every exported function returns only after the goroutines
// it started have ended (but a read blocked on a quiet stdin, which ends
// with the process); the first error cancels the rest. A worker's panic
// becomes an error carrying its stack.
//
// Buffer lifetime: a batch the driver materialises lives in its worker's
// arena until that worker's next batch; operators and sinks copy what
// they keep (see engine/exec).
package engine
