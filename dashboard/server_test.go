package dashboard

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdask/gdask/engine/exec"
)

func TestListenAddr(t *testing.T) {
	for _, tc := range []struct{ addr, why string }{
		{"nonsense", "no port"},
		{"127.0.0.1", "no port"},
		{"127.0.0.1:99999", `port "99999" is not a number`},
		{"127.0.0.1:http", `port "http" is not a number`},
		{"example.com:8787", `host "example.com" is not an IP address`},
	} {
		_, err := Listen(tc.addr, false)
		var ae *AddrError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Listen(%q) = %v, want an AddrError saying %q", tc.addr, err, tc.why)
		}
	}
	// An address this machine does not have (TEST-NET-1).
	if _, err := Listen("192.0.2.1:8787", false); err == nil || !strings.Contains(err.Error(), "cannot listen") {
		t.Errorf("Listen on a foreign address = %v, want cannot listen", err)
	}
}

// The default port moves on to the next free one when taken; a port
// named explicitly does not.
func TestListenTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	if _, err := Listen(addr, false); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen(%s) on a taken port = %v, want EADDRINUSE", addr, err)
	}
	s, err := Listen(addr, true)
	if err != nil {
		t.Fatalf("Listen(%s, nextFree): %v", addr, err)
	}
	defer s.Close()
	_, port, _ := net.SplitHostPort(addr)
	_, got, _ := net.SplitHostPort(s.Addr())
	p, _ := strconv.Atoi(port)
	if g, _ := strconv.Atoi(got); g <= p || g >= p+portsTried {
		t.Errorf("next free port = %s, want one after %s", got, port)
	}
	if !s.Loopback() || !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("loopback %v, URL %s", s.Loopback(), s.URL())
	}
}

func serve(t *testing.T) (*Server, *Recorder) {
	t.Helper()
	s, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	rec := NewRecorder(Run{Title: "gdask test", Workers: 2, MemoryLimit: 1 << 30})
	s.Serve(rec)
	t.Cleanup(s.Close)
	return s, rec
}

func TestServerReadOnly(t *testing.T) {
	s, rec := serve(t)
	defer rec.Finish(nil, false)
	get := func(method, path, host string) *http.Response {
		req, _ := http.NewRequest(method, s.URL()+strings.TrimPrefix(path, "/"), nil)
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, p := range []string{"/", "/app.js", "/app.css", "/data"} {
		if r := get("GET", p, ""); r.StatusCode != 200 || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: %s, CSP %q", p, r.Status, r.Header.Get("Content-Security-Policy"))
		}
	}
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		if r := get(m, "/data", ""); r.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /data: %s, want 405", m, r.Status)
		}
	}
	if r := get("GET", "/nothing", ""); r.StatusCode != 404 {
		t.Errorf("GET /nothing: %s", r.Status)
	}
	// A name that rebinds to loopback is not this server's name.
	if r := get("GET", "/data", "evil.example:80"); r.StatusCode != http.StatusForbidden {
		t.Errorf("GET with a foreign Host: %s, want 403", r.Status)
	}
}

// readFrames reads n Server-Sent Events frames of /events.
func readFrames(t *testing.T, br *bufio.Reader, n int) []frame {
	t.Helper()
	var out []frame
	for len(out) < n {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, decode(t, []byte(data)))
		}
	}
	return out
}

// A page gets frames while the run goes on, each with what it lacks, and
// a last one when the run ends.
func TestServerEvents(t *testing.T) {
	s, rec := serve(t)
	resp, err := http.Get(s.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	first := readFrames(t, br, 1)[0]
	if first.Head.Status != "running" || first.BarsFrom != 0 {
		t.Fatalf("first frame: %+v", first.Head)
	}
	rec.Plan("head", testPlan())
	morselEvents(rec, 0, 0, time.Now())
	var bars int
	for bars < 2 {
		f := readFrames(t, br, 1)[0]
		if f.BarsFrom != bars {
			t.Fatalf("frame starts at bar %d, the page has %d", f.BarsFrom, bars)
		}
		bars += len(f.Bars)
	}
	rec.Finish(nil, false)
	for {
		f := readFrames(t, br, 1)[0]
		if f.Head.Status == "done" {
			break
		}
	}
}

// A page that connects and never reads costs the run nothing: the events
// go on, and the run ends with that page still connected.
func TestServerStuckPage(t *testing.T) {
	s, rec := serve(t)
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /events HTTP/1.1\r\nHost: "+s.Addr()+"\r\n\r\n")
	// Enough events for frames far larger than the socket buffers.
	rec.Plan("head", testPlan())
	at := time.Now()
	for m := range 20_000 {
		morselEvents(rec, m%2, m, at)
	}
	time.Sleep(3 * frameEvery) // frames pile up unread
	rec.Event(exec.Event{Kind: exec.EvMemory, Op: -1, Bytes: 1})
	rec.Finish(nil, false)
	s.Close() // returns although the page never read
}
