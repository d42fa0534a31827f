// Package paged holds per-group data of hash tables in fixed-size pages
// that never move: a Column of values and an Arena of byte strings.
//
// A slice grown by append copies everything it holds at every growth and
// leaves the old array to the collector. With millions of groups that was
// a third of a groupby's time, and the long copies, which cannot be
// preempted, stalled the collector besides. Paged storage grows without
// copying (only the first page, while small, doubles) and leaves no garbage.
//
// Neither type is safe for concurrent use.
//
// Buffer lifetime: a value's pointer (Column.At) and a string (Arena.Get)
// stay valid while the column or arena lives: pages never move; Reset
// makes them reusable.
package paged
