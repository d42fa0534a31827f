package dashboard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// DefaultAddr is where the dashboard listens when --dashboard names no
// address: Dask's port, on loopback.
const DefaultAddr = "127.0.0.1:8787"

// portsTried is how many ports from the default one Listen tries when
// they are taken.
const portsTried = 100

// frameEvery is how often a page gets a frame; stuckAfter is how long a
// frame may take to write before the page is dropped.
const (
	frameEvery = 250 * time.Millisecond
	stuckAfter = 10 * time.Second
)

// Server serves the dashboard of one Recorder over HTTP. Every endpoint
// is read-only. A page gets frames from its own goroutine, which reads
// the Recorder under its lock and writes outside it: a page that reads
// slowly or not at all delays only its own frames (counted as dropped),
// never the run.
type Server struct {
	rec      *Recorder
	ln       net.Listener
	host     string // as asked for: "" is every interface
	srv      *http.Server
	loopback bool
	closing  chan struct{}
	once     sync.Once
}

// AddrError is an ADDR that is not HOST:PORT.
type AddrError struct{ Addr, Why string }

func (e *AddrError) Error() string {
	return fmt.Sprintf("--dashboard %q: %s (want HOST:PORT, as %s)", e.Addr, e.Why, DefaultAddr)
}

// Listen binds addr (HOST:PORT; an empty HOST is every interface, port 0
// any free port). When nextFree is set and the port is taken, it tries
// the next ones. It does not serve yet: Serve does.
func Listen(addr string, nextFree bool) (*Server, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, &AddrError{addr, "no port"}
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, &AddrError{addr, fmt.Sprintf("port %q is not a number from 0 to 65535", portText)}
	}
	loopback := host == "localhost"
	if ip := net.ParseIP(host); ip != nil {
		loopback = ip.IsLoopback()
	} else if host != "" && host != "localhost" {
		return nil, &AddrError{addr, fmt.Sprintf("host %q is not an IP address or localhost", host)}
	}
	tries := 1
	if nextFree && port != 0 {
		tries = min(portsTried, 65536-int(port))
	}
	var ln net.Listener
	for i := range tries {
		ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(int(port)+i)))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--dashboard %s: cannot listen: %w", addr, unwrapOp(err))
	}
	return &Server{ln: ln, host: host, loopback: loopback, closing: make(chan struct{})}, nil
}

// unwrapOp drops net.OpError's repetition of the address.
func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}

// Addr is the address the server listens on: the host asked for, the
// port bound.
func (s *Server) Addr() string { return net.JoinHostPort(s.host, s.port()) }

func (s *Server) port() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return port
}

// URL is the page's address.
func (s *Server) URL() string {
	host := s.host
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, s.port()) + "/"
}

// Loopback reports whether only this machine can reach the server.
func (s *Server) Loopback() bool { return s.loopback }

// Serve serves rec's page until Close.
func (s *Server) Serve(rec *Recorder) {
	s.rec = rec
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.page)
	mux.HandleFunc("/app.js", asset("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("/app.css", asset("app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("/data", s.data)
	mux.HandleFunc("/events", s.events)
	s.srv = &http.Server{Handler: s.guard(mux), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(s.ln)
}

// guard lets through GET and HEAD requests addressed to this server: a
// page of another site that a DNS name rebinds to loopback cannot read it.
func (s *Server) guard(next http.Handler) http.Handler {
	port := s.port()
	allowed := map[string]bool{"127.0.0.1:" + port: true, "localhost:" + port: true, "[::1]:" + port: true}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "read-only", http.StatusMethodNotAllowed)
			return
		}
		if s.loopback && !allowed[req.Host] {
			http.Error(w, "unknown host", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, req)
	})
}

func (s *Server) page(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/" {
		http.NotFound(w, req)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writePage(w, nil)
}

func asset(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Write(assetBytes(name))
	}
}

// cursorOf reads what a page already has from its query.
func cursorOf(req *http.Request) cursor {
	q := req.URL.Query()
	n := func(k string) int {
		v, _ := strconv.Atoi(q.Get(k))
		return max(v, 0)
	}
	return cursor{bars: n("bars"), samples: n("samples"), epoch: n("epoch")}
}

func (s *Server) data(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(s.rec.snapshot(cursorOf(req), 0).appendJSON(nil))
}

// events streams frames to one page as Server-Sent Events: each frame
// holds what the page lacks, so a frame dropped costs nothing but time.
func (s *Server) events(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "text/event-stream")
	rc := http.NewResponseController(w)
	c := cursorOf(req)
	tick := time.NewTicker(frameEvery)
	defer tick.Stop()
	var buf []byte
	var dropped int64
	var last time.Time
	for {
		now := time.Now()
		if gap := now.Sub(last); !last.IsZero() && gap >= 2*frameEvery {
			dropped += int64(gap/frameEvery) - 1 // the frames a slow page did not take
		}
		last = now
		snap := s.rec.snapshot(c, dropped)
		buf = append(buf[:0], "data: "...)
		buf = snap.appendJSON(buf)
		buf = append(buf, "\n\n"...)
		rc.SetWriteDeadline(now.Add(stuckAfter))
		if _, err := w.Write(buf); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		c = snap.next
		if snap.head.Status != "running" {
			// The last frame is sent: the page keeps it until the server
			// closes (the linger ends).
			select {
			case <-req.Context().Done():
			case <-s.closing:
			}
			return
		}
		select {
		case <-tick.C:
		case <-s.rec.Ended():
		case <-req.Context().Done():
			return
		case <-s.closing:
			return
		}
	}
}

// Close stops the server, also for pages still connected.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closing)
		if s.srv == nil {
			s.ln.Close()
			return
		}
		// Not Shutdown: a page's goroutine blocked writing to a page that
		// does not read would hold it up. Every page has had its last frame
		// (the run's end) unless it was not reading.
		s.srv.Close()
	})
}
