// Package agg holds gdask's aggregate functions (count, sum, mean, min, max,
// std, var, first, last, nunique) for groupby.
//
// An Agg holds the states of every group of one hash table, column-wise, in
// slices indexed by group number: Update folds a batch of rows in one tight
// loop with no interface call or allocation per row. States merge
// (MergeGroup), and serialise (AppendState, MergeState) in one compact,
// versioned, portable encoding that is used both for spill files and for
// partial results sent between machines.
//
// Determinism: every result is independent of the order in which rows and
// partial states are combined, so output is byte-identical for every worker
// count and partitioning. Integer sums are exact (128-bit); float sums,
// means and variances are accumulated in double-double arithmetic (about
// 106 bits), which is exact for realistic data (the exact sum spans fewer
// than about 100 bits) and otherwise rounds to the same float64 unless the
// exact result lies within about 2^-100 (relative to the largest partial
// sum) of a rounding boundary; min, max, first and last use total orders
// with deterministic tie breaks.
//
// Concurrency: an Agg is not safe for concurrent use; each worker owns its
// own and they are merged after the workers end.
package agg
