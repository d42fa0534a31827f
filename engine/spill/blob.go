package spill

import (
	"bufio"
	"io"
)

// Blob is a spill file written once, in order, and then read at any
// offset: bytes a consumer would hold in memory but the broker will not
// lend for (a merge's copy of its shards' states). Unlike a Run, it is
// written as it comes, not compressed: it is read back in pieces, each
// once. Writes come from one goroutine; once Done, ReadAt is safe for
// concurrent use.
type Blob struct {
	d   *Dir
	f   File
	bw  *bufio.Writer
	n   int64
	err error
}

// NewBlob creates an empty Blob in d.
func (d *Dir) NewBlob() (*Blob, error) {
	f, err := d.create("blob")
	if err != nil {
		return nil, err
	}
	return &Blob{d: d, f: f, bw: bufio.NewWriterSize(f, fileBufSize)}, nil
}

// Len is how many bytes were written.
func (b *Blob) Len() int64 { return b.n }

// Write appends p.
func (b *Blob) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.bw.Write(p)
	b.n += int64(n)
	b.d.bytes.Add(int64(n))
	if err != nil {
		b.err = newError("write spill file", b.d.path, err)
	}
	return n, b.err
}

// Done ends the writing; the Blob may then be read.
func (b *Blob) Done() error {
	if b.err == nil {
		if err := b.bw.Flush(); err != nil {
			b.err = newError("write spill file", b.d.path, err)
		}
	}
	return b.err
}

// ReadAt reads len(p) bytes at off.
func (b *Blob) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.f.ReadAt(p, off)
	if err != nil && !(err == io.EOF && n == len(p)) {
		return n, newError("read spill file", b.d.path, err)
	}
	return n, nil
}

// Remove closes and deletes the file. It is idempotent.
func (b *Blob) Remove() error {
	if b.f == nil {
		return nil
	}
	name := b.f.Name()
	b.f.Close()
	b.f = nil
	if err := b.d.fs.Remove(name); err != nil && !isNotExist(err) {
		return newError("remove spill file", b.d.path, err)
	}
	return nil
}
