package writers

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestIsClosedPipe(t *testing.T) {
	tests := []struct {
		Name string
		Err  error
		Want bool
	}{
		{"Nil", nil, false},
		{"EOF", io.EOF, false},
		{"Other", errors.New("disk full"), false},
		{"ENOSPC", syscall.ENOSPC, false},
		{"EPIPE", syscall.EPIPE, true},
		{"PathErrorEPIPE", &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}, true},
		{"WrappedEPIPE", fmt.Errorf("cannot write output: %w", &os.PathError{Op: "write", Err: syscall.EPIPE}), true},
		{"ErrClosedPipe", io.ErrClosedPipe, true},
		{"WrappedErrClosedPipe", fmt.Errorf("cannot write output: %w", io.ErrClosedPipe), true},
	}
	for _, tt := range tests {
		t.Run(tt.Name, func(t *testing.T) {
			if got := IsClosedPipe(tt.Err); got != tt.Want {
				t.Errorf("IsClosedPipe(%v) = %v, want %v", tt.Err, got, tt.Want)
			}
		})
	}
}

// TestIsClosedPipeOS writes through a csv Writer into a real pipe whose read
// end is closed. The write end is not fd 1 or 2, so the Go runtime returns
// EPIPE instead of dying of SIGPIPE.
func TestIsClosedPipeOS(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r.Close()

	cw, _ := New("csv", w)
	if err := cw.Begin([]Column{{Name: "a"}}); err != nil {
		t.Fatal(err)
	}
	if err := cw.Row(row("1")); err != nil {
		t.Fatal(err)
	}
	err = cw.End()
	if err == nil {
		t.Fatal("End on a closed pipe: no error")
	}
	if !IsClosedPipe(err) {
		t.Errorf("IsClosedPipe(%v) = false, want true", err)
	}
	if runtime.GOOS != "windows" && !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("error %q does not say broken pipe", err)
	}
}

func TestIsClosedPipeIOPipe(t *testing.T) {
	r, w := io.Pipe()
	r.Close()
	cw, _ := New("ndjson", w)
	cw.Begin([]Column{{Name: "a"}})
	cw.Row(row("1"))
	if err := cw.End(); !IsClosedPipe(err) {
		t.Errorf("IsClosedPipe(%v) = false, want true", err)
	}
}
