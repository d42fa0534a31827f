// Package readers turns CSV bytes into records: the dialect, the quote-exact
// byte-range splitter, the zero-copy record scanner, number parsing, type
// inference, decompression, globs and stdin chunking.
//
// Buffer lifetime: the field slices a Scanner returns point into its own
// reused buffer and are valid only until the next call to Next. Callers that
// keep a value must copy it.
//
// Concurrency: a Scanner belongs to one goroutine. Split and Count use their
// own goroutines and return only when those have ended.
package readers
