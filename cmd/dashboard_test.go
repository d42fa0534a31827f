package cmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A port named with --dashboard=ADDR that another process holds is a
// usage error; the default port would move on to the next free one.
func TestDashboardTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	path := filepath.Join(t.TempDir(), "f.csv")
	if err := os.WriteFile(path, []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := Run(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, Err: &errOut},
		[]string{"count", path, "--dashboard=" + taken.Addr().String()})
	want := "gdask: --dashboard " + taken.Addr().String() + ": cannot listen: bind: address already in use\n"
	if code != exitUsage || errOut.String() != want || out.Len() != 0 {
		t.Errorf("exit %d, stderr %q, stdout %q; want exit 2, %q", code, errOut.String(), out.String(), want)
	}
}
