package fsname

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

func TestQuote(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Ordinary names, non-ASCII letters included, stay as they are.
		{"data/trips.csv", "data/trips.csv"},
		{"/tmp/gdask-spill-1-2", "/tmp/gdask-spill-1-2"},
		{"my data.csv", "my data.csv"},
		{"données/été.csv", "données/été.csv"},
		{"データ.csv", "データ.csv"},
		{`C:\data\x.csv`, `C:\data\x.csv`},
		{"data[1].csv", "data[1].csv"},
		{"<stdin>", "<stdin>"},
		// Names that would break a line or reach the terminal as a command.
		{"evil\nname\x1b]2J.csv", `"evil\nname\x1b]2J.csv"`},
		{"a\rb.csv", `"a\rb.csv"`},
		{"tab\there.csv", `"tab\there.csv"`},
		{"del\x7f.csv", `"del\x7f.csv"`},
		{"bad\xffutf8.csv", `"bad\xffutf8.csv"`},
		{"c1\u0085.csv", `"c1\u0085.csv"`},
		{"line\u2028sep.csv", `"line\u2028sep.csv"`},
		{"rtl\u202egnp.csv", `"rtl\u202egnp.csv"`},
		{"nb\u00a0sp.csv", `"nb\u00a0sp.csv"`},
		{"trailing.csv ", `"trailing.csv "`},
		{" leading.csv", `" leading.csv"`},
		{"", `""`},
	} {
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestCause(t *testing.T) {
	pe := &fs.PathError{Op: "open", Path: "x\ny", Err: syscall.ENOENT}
	if got := Cause(pe); got != syscall.ENOENT || !errors.Is(got, fs.ErrNotExist) {
		t.Errorf("Cause(PathError) = %v", got)
	}
	if got := Cause(fmt.Errorf("reading: %w", pe)); got != syscall.ENOENT {
		t.Errorf("Cause(wrapped PathError) = %v", got)
	}
	le := &os.LinkError{Op: "rename", Old: "a", New: "b\x1b", Err: syscall.EXDEV}
	if got := Cause(le); got != syscall.EXDEV {
		t.Errorf("Cause(LinkError) = %v", got)
	}
	other := errors.New("corrupt gzip data")
	if got := Cause(other); got != other {
		t.Errorf("Cause(other) = %v", got)
	}
}
