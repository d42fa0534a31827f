// Package sorter is the sort operator (plan.Sort): rows encoded with their
// order (codec.go), sorted a morsel at a time on the workers, merged by a
// loser tree, and spilled to an external merge sort (engine/spill) when
// they do not fit in what the memory broker lends. With a top-N, each run
// keeps only its first N rows.
//
// Concurrency: Consume and EndMorsel are called by every worker at once;
// a morsel's run is filled by the one worker running that morsel. The
// source (Run) is used by one goroutine and starts two of its own, which
// end before Run returns. Buffer lifetime: a batch Run pushes is valid
// until push returns.
package sorter
