// Package spill is the disk side of gdask's out-of-core operators: a private
// temp directory per run (Dir), radix-partitioned spill runs of hash-table
// entries (RunWriter, Run, Reader) and an external merge sort of result rows
// (Sorter, SortedIter).
//
// Everything is written s2-compressed into files inside one Dir, and every
// file lives only inside it: Dir.Close removes them all, whatever state the
// writers and readers are in, so a caller that defers Dir.Close (and calls it
// from its signal handler) leaves nothing behind. Directories of runs killed
// with SIGKILL are removed by SweepStale at the start of a later run.
//
// I/O errors are one line naming the spill directory and saying what helps,
// and wrap the underlying error (errors.Is(err, syscall.ENOSPC) holds for a
// full disk). After an error the file being written is already removed.
//
// Concurrency: a Dir may be shared by all workers; RunWriter, Reader, Sorter
// and SortedIter are each used by one goroutine at a time; a closed Run is
// immutable and its partitions may be read concurrently.
package spill
