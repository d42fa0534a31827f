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
// Determinism: every result is a function of the exact values alone, so
// output is byte-identical for every worker count, partitioning and merge
// order. Integer sums are exact in 128 bits. Float sums (and Σx, Σx² for
// var and std) are kept exactly: a double-double whose additions are
// checked to be exact (realistic data: no allocation, a few ns a row), and
// an expansion of non-overlapping float64s (Shewchuk; Python's math.fsum)
// for a group whose exact sum needs more bits, with levels weighing
// 2^1024 each for what passes 2^1022, so no partial sum overflows. Results
// round once: sum is the correctly rounded exact sum (±Inf beyond
// float64's range), mean the correctly rounded exact quotient, var and std
// the correctly rounded exact sample variance and its square root,
// computed in double-double when an error bound certifies the rounding
// and with math/big otherwise. Min, max, first and last use total orders
// with deterministic tie breaks. The squares of values below about 1e-154
// lose bits to underflow, the same bits in every order.
//
// Concurrency: an Agg is not safe for concurrent use; each worker owns its
// own and they are merged after the workers end.
package agg
