// Package writers formats result tables for output: table (aligned, for a
// human at a terminal), csv (RFC 4180), tsv (linear TSV with backslash
// escapes), json (one array of objects) and ndjson (one object per line). It
// also provides AtomicFile, which writes --output files to a temp file in the
// target directory and renames it into place only on Commit, so an error or
// an interrupt leaves any existing file untouched (DESIGN §6), and
// IsClosedPipe, which lets the command layer end quietly when the reader of
// stdout went away.
//
// Buffer lifetime: Writer.Row receives fields that the caller owns and
// reuses; a Writer never keeps a field slice or its bytes after Row returns.
// The streaming formats (csv, tsv, json, ndjson) encode each row at once into
// a reused scratch buffer and hand it to a bufio.Writer, so no allocation is
// made per row or per field; the table format copies the bytes it must keep
// until End.
//
// Concurrency: a Writer belongs to one goroutine. So does an AtomicFile.
package writers
