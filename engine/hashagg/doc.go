// Package hashagg is the hash aggregate operator (plan.Aggregate): groups
// in per-worker open-addressing tables while they fit in the cache, then
// in 16 part tables shared by the workers; radix-partitioned runs on disk
// when the memory broker will not lend more, merged a partition at a time
// and cut again by the next hash bits when a partition is too big. Keys
// are compared by text and hashed by value, so numeric keys group by value
// (keys.go). States are engine/agg's: mergeable and serialisable, and the
// spill encoding is theirs, and the shards' (shard.go).
//
// Concurrency: Consume is called by every worker at once, each on its own
// table (aggWorker); the shared parts take a lock each, one at a time; one
// worker spills the shared parts at a time; a shard's workers write their
// partition buffers to its body through one lock (segWriter), as they
// fill, while they consume. The source's morsels (the
// merged table, the parts, the partitions) run on the workers at once,
// each with its own emitter and merge table. Buffer lifetime: a batch the
// source pushes holds views of a table's keys, valid until push returns.
package hashagg
