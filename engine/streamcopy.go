package engine

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/readers"
)

// streamCopy is what a stream that a plan reads more than once has given
// so far: its decompressed bytes, at their offsets, in an unlinked file of
// the temp dir, and where each chunk the chunker cut lies in it.
//
// Every scan of the stream takes its chunks in order, from the first:
// those kept, read back from the file, then the chunker's next ones, kept
// in turn. So a scan that stops early (a limit that has its rows) leaves
// the stream where it stopped, and the next scan sees the very chunks a
// scan of the stream alone would: the same bytes, cut at the same places,
// with the same lines. The rest of the stream is read only when some scan
// needs it, which keeps head over a big .gz quick even when the plan scans
// it twice.
type streamCopy struct {
	file *os.File
	name string // the input's name in messages

	// live is held while the chunker is read: one reader at a time, and a
	// reader of kept chunks never waits for it (a stopped scan's reader
	// may still be in a read of a quiet stdin).
	live sync.Mutex
	// mu guards what follows, which only grows.
	mu       sync.Mutex
	kept     []keptChunk
	seen     int64 // raw input bytes consumed when the last chunk was cut
	end      int64 // the offset just past the last kept chunk
	complete bool  // the chunker is at its end: kept is the whole stream
	err      error // the chunker's error, every later reader's too
}

// keptChunk is a chunk of the stream as it was cut, its bytes in the
// copy, and the raw input bytes consumed to cut it (for the progress).
type keptChunk struct {
	offset, line int64
	size         int
	last         bool
	consumed     int64
}

// newStreamCopy keeps the stream named name, whose data starts at offset
// dataStart (after its header), in f, an unlinked file.
func newStreamCopy(f *os.File, name string, dataStart int64) *streamCopy {
	return &streamCopy{file: f, name: name, end: dataStart}
}

// chunk returns chunk i of the stream, the raw bytes it consumed, or
// io.EOF after the last: the kept one, read back into buf, or the
// chunker's next, kept first. The readers of one scan ask for 0, 1, ...
// in turn; chunks come from chunker only in order, so i is at most one
// past the last kept.
func (c *streamCopy) chunk(i int, buf []byte, chunker *readers.Chunker, consumed *readers.CountingReader) (readers.Chunk, int64, error) {
	if ch, n, ok, err := c.replay(i, buf); ok || err != nil {
		return ch, n, err
	}
	c.live.Lock()
	defer c.live.Unlock()
	// Another scan's reader may have cut it while this one waited.
	if ch, n, ok, err := c.replay(i, buf); ok || err != nil {
		return ch, n, err
	}
	c.mu.Lock()
	done, err := c.complete, c.err
	if !done && err == nil && i != len(c.kept) {
		err = fmt.Errorf("BUG: chunk %d of %s asked for, %d kept", i, fsname.Quote(c.name), len(c.kept))
	}
	c.mu.Unlock()
	if err != nil {
		return readers.Chunk{}, 0, err
	}
	if done {
		return readers.Chunk{}, 0, io.EOF
	}
	ch, err := chunker.Next(buf)
	if err == nil {
		// Kept whatever becomes of this reader (its scan may stop before
		// it takes the chunk): the chunker has moved past it for good.
		if _, werr := c.file.WriteAt(ch.Data, ch.Offset); werr != nil {
			err = fmt.Errorf("cannot keep a copy of %s in --temp-dir: %w", fsname.Quote(c.name), fsname.Cause(werr))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == io.EOF:
		c.complete = true
		return readers.Chunk{}, 0, io.EOF
	case err != nil:
		c.err = err
		return readers.Chunk{}, 0, err
	}
	now := consumed.Bytes()
	k := keptChunk{offset: ch.Offset, line: ch.Line, size: len(ch.Data), last: ch.Last, consumed: now - c.seen}
	c.seen, c.end = now, ch.Offset+int64(len(ch.Data))
	c.kept = append(c.kept, k)
	return ch, k.consumed, nil
}

// replay returns chunk i read back from the copy, ok false when it is not
// kept (yet).
func (c *streamCopy) replay(i int, buf []byte) (ch readers.Chunk, consumed int64, ok bool, err error) {
	c.mu.Lock()
	if i >= len(c.kept) {
		c.mu.Unlock()
		return readers.Chunk{}, 0, false, nil
	}
	k := c.kept[i]
	c.mu.Unlock()
	// Kept bytes are never written again: read without the lock.
	data := slices.Grow(buf[:0], k.size)[:k.size]
	if n, err := c.file.ReadAt(data, k.offset); n < k.size {
		return readers.Chunk{}, 0, false, fmt.Errorf("cannot read the copy of %s in --temp-dir: %w", fsname.Quote(c.name), fsname.Cause(err))
	}
	return readers.Chunk{Index: i, Data: data, Offset: k.offset, Line: k.line, Last: k.last}, k.consumed, true, nil
}

// size is the bytes the copy holds, header included (as a hole): the
// size of the file the stream becomes once it is complete.
func (c *streamCopy) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}
