package spill

import (
	"io"
	"os"
	"sync"
	"syscall"
)

// FS is the file layer under a Dir, so tests can inject faults. OSFS is the
// real one. Implementations must be safe for concurrent use.
type FS interface {
	MkdirTemp(dir, pattern string) (string, error)
	Create(name string) (File, error) // O_RDWR|O_CREATE|O_EXCL, mode 0600
	Open(name string) (File, error)
	Remove(name string) error
	RemoveAll(path string) error
	ReadDir(name string) ([]os.DirEntry, error)
}

// File is an open spill file. ReadAt must be safe for concurrent use, as
// *os.File's is; the other methods are used by one goroutine.
type File interface {
	io.Reader
	io.Writer
	io.ReaderAt
	io.Closer
	Name() string
}

// OSFS returns the FS of the operating system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) MkdirTemp(dir, pattern string) (string, error) { return os.MkdirTemp(dir, pattern) }

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (osFS) Remove(name string) error                   { return os.Remove(name) }
func (osFS) RemoveAll(path string) error                { return os.RemoveAll(path) }
func (osFS) ReadDir(name string) ([]os.DirEntry, error) { return os.ReadDir(name) }

// FaultFS wraps an FS (OSFS when nil) and simulates a full disk: once Limit
// bytes have been written in total, counting every file created through it,
// a write fails with syscall.ENOSPC (wrapped in an *os.PathError as the os
// package does) after writing whatever still fitted. Use it by pointer; it is
// safe for concurrent use.
type FaultFS struct {
	FS    FS
	Limit int64

	mu      sync.Mutex
	written int64
}

// Written reports the bytes written through f so far.
func (f *FaultFS) Written() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.written
}

func (f *FaultFS) inner() FS {
	if f.FS == nil {
		return OSFS()
	}
	return f.FS
}

func (f *FaultFS) MkdirTemp(dir, pattern string) (string, error) {
	return f.inner().MkdirTemp(dir, pattern)
}

func (f *FaultFS) Create(name string) (File, error) {
	file, err := f.inner().Create(name)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: file, fs: f}, nil
}

func (f *FaultFS) Open(name string) (File, error)             { return f.inner().Open(name) }
func (f *FaultFS) Remove(name string) error                   { return f.inner().Remove(name) }
func (f *FaultFS) RemoveAll(path string) error                { return f.inner().RemoveAll(path) }
func (f *FaultFS) ReadDir(name string) ([]os.DirEntry, error) { return f.inner().ReadDir(name) }

type faultFile struct {
	File
	fs *FaultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	k := int64(len(p))
	if room := f.fs.Limit - f.fs.written; k > room {
		k = max(room, 0)
	}
	f.fs.written += k
	f.fs.mu.Unlock()
	n, err := f.File.Write(p[:k])
	if err == nil && n < len(p) {
		err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return n, err
}
