package dashboard

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The dashboard in a real headless Chromium (chromedp), against a live
// run of the gdask binary and against the report it saved: no console
// error, no request but to the gdask server (none at all for the report),
// one lane per worker, one bar per partition and operator the run
// reported, a memory chart within the limit the run stayed in, and a
// screenshot that is not blank. .ci/run installs chromium.
func TestBrowser(t *testing.T) {
	browser := findBrowser(t)
	bin := buildGdask(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "large_data.csv")
	gdask(t, bin, "gen-data", data, "--rows", "300000")
	csv, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t, browser)

	// A live run over stdin: the page connects while half the input is
	// in, so it must show the run going on, then the end.
	report := filepath.Join(dir, "live.html")
	run := exec.Command(bin, "groupby", "-", "--by", "category", "--mean", "value", "--workers", "2",
		"--blocksize", "64KiB", "--memory-limit", "64MB", "--progress", "never",
		"--dashboard=127.0.0.1:0", "--dashboard-linger", "5m", "--report", report)
	stdin, err := run.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := run.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	run.Stdout = &stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var pageURL string
	if lines.Scan() {
		pageURL, _ = strings.CutPrefix(lines.Text(), "gdask: dashboard at ")
	}
	if !strings.HasPrefix(pageURL, "http://127.0.0.1:") {
		t.Fatalf("first line on stderr: %q, want the dashboard's URL", lines.Text())
	}
	half := bytes.IndexByte(csv[len(csv)/2:], '\n') + len(csv)/2 + 1
	if _, err := stdin.Write(csv[:half]); err != nil {
		t.Fatal(err)
	}

	live := newTab(t, ctx, pageURL)
	live.poll(`document.body.dataset.status === "running" && document.querySelectorAll("#tasks rect.bar").length > 0`)
	if _, err := stdin.Write(csv[half:]); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	live.poll(`document.body.dataset.status === "done"`)
	recorded := fetchData(t, pageURL)
	checkPage(t, live, recorded)
	live.checkRequests(func(u *url.URL) bool { return "http://"+u.Host+"/" == pageURL })

	// Ctrl-C ends the linger; the run had succeeded.
	go io.Copy(io.Discard, stderr)
	run.Process.Signal(syscall.SIGINT)
	if err := run.Wait(); err != nil {
		t.Fatalf("gdask after Ctrl-C in the linger: %v", err)
	}
	if !strings.Contains(stdout.String(), "cat_99,") {
		t.Errorf("the run's answer is missing: %.200q", stdout.String())
	}

	// The report of that run opens with no server and asks for nothing.
	saved := newTab(t, ctx, "file://"+report)
	saved.poll(`document.body.dataset.status === "done"`)
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	checkPage(t, saved, readReport(t, page))
	saved.checkRequests(func(u *url.URL) bool { return u.String() == "file://"+report })

	// A run over the file: one bar per partition that `info` counts.
	fileReport := filepath.Join(dir, "file.html")
	gdask(t, bin, "groupby", data, "--by", "category", "--mean", "value", "--blocksize", "64KiB", "--report", fileReport)
	m := regexp.MustCompile(`(?m)^partitions +(\d+)$`).FindStringSubmatch(gdask(t, bin, "info", data, "--blocksize", "64KiB", "-o", "table"))
	if m == nil {
		t.Fatal("info shows no partitions")
	}
	partitions, _ := strconv.Atoi(m[1])
	tab := newTab(t, ctx, "file://"+fileReport)
	tab.poll(`document.body.dataset.status === "done"`)
	scanBars := tab.eval(`(() => { const ops = JSON.parse(document.getElementById("gdask-data").textContent).jobs[0].ops;
		const scan = ops[ops.length - 1].id;
		return [...document.querySelectorAll("#tasks rect.bar")].filter((r) => +r.dataset.op === scan && +r.dataset.lane < 2).length; })()`)
	if scanBars != partitions || partitions < 50 {
		t.Errorf("%d scan bars for %d partitions", scanBars, partitions)
	}
}

// checkPage checks a page against the recording f it shows.
func checkPage(t *testing.T, p *tab, f frame) {
	t.Helper()
	if got := p.eval(`document.querySelectorAll("#lane-labels .lane.worker").length`); got != f.Head.Workers || got != 2 {
		t.Errorf("%d worker lanes, the run had %d workers", got, f.Head.Workers)
	}
	if got := p.eval(`document.querySelectorAll("#tasks rect.bar").length`); got != len(f.Bars) || got == 0 {
		t.Errorf("%d bars on the page, %d recorded", got, len(f.Bars))
	}
	// Every operator that ran on the workers: one bar per partition it
	// reported, on the page as in the recording.
	for _, o := range f.Jobs[0].Ops {
		var recorded int
		for _, b := range f.Bars {
			if int(b[4]) == o.ID && int(b[2]) < f.Head.Workers { // op, lane
				recorded++
			}
		}
		shown := p.eval(fmt.Sprintf(`[...document.querySelectorAll("#tasks rect.bar")].filter((r) => +r.dataset.op === %d && +r.dataset.lane < %d).length`, o.ID, f.Head.Workers))
		if shown != recorded {
			t.Errorf("operator %d (%s): %d bars shown, %d recorded", o.ID, o.Label, shown, recorded)
		}
		if strings.HasPrefix(o.Label, "Scan") && (recorded == 0 || int64(recorded) != o.Morsels) {
			t.Errorf("scan: %d bars for %d partitions read", recorded, o.Morsels)
		}
	}
	// The memory chart: the limit is drawn, and no point is above it.
	above := p.eval(`(() => {
		const l = document.querySelector("#memory line.limit");
		if (!l) return -1;
		const y = +l.getAttribute("y1");
		let n = 0;
		for (const pl of document.querySelectorAll("#memory polyline"))
			for (const pt of pl.getAttribute("points").trim().split(" ")) if (+pt.split(",")[1] < y) n++;
		return n; })()`)
	if above != 0 {
		t.Errorf("memory chart: %d points above the limit (-1: no limit drawn)", above)
	}
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	colors := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colors) < 50 {
		t.Errorf("screenshot has %d colours: blank", len(colors))
	}
	p.checkConsole()
}

// tab is one page in the browser and what it logged and asked for.
type tab struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	errors   []string
	requests []string
}

func newTab(t *testing.T, browser context.Context, pageURL string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	p := &tab{t: t, ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			p.requests = append(p.requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
				var args []string
				for _, a := range e.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p.errors = append(p.errors, fmt.Sprintf("console.%s(%s)", e.Type, strings.Join(args, ", ")))
			}
		case *runtime.EventExceptionThrown:
			p.errors = append(p.errors, (&chromedp.ExceptionError{ExceptionDetails: e.ExceptionDetails}).Error())
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				p.errors = append(p.errors, e.Entry.Text+" "+e.Entry.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(pageURL)); err != nil {
		t.Fatalf("open %s: %v", pageURL, err)
	}
	return p
}

func (p *tab) poll(cond string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		p.t.Fatalf("waiting for %s: %v (errors: %v)", cond, err, p.errors)
	}
}

func (p *tab) eval(expr string) int {
	p.t.Helper()
	n, err := chromedp.Run(p.ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return n
}

func (p *tab) checkConsole() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("console: %s", e)
	}
}

func (p *tab) checkRequests(allowed func(*url.URL) bool) {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.requests) == 0 {
		p.t.Errorf("no request seen: the listener is deaf")
	}
	for _, r := range p.requests {
		u, err := url.Parse(r)
		if err != nil || !allowed(u) && u.Scheme != "data" {
			p.t.Errorf("request to %s", r)
		}
	}
}

// fetchData is the recording the server holds.
func fetchData(t *testing.T, pageURL string) frame {
	t.Helper()
	resp, err := http.Get(pageURL + "data")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, b)
}

// findBrowser finds Chromium or Chrome; the test fails without one.
func findBrowser(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium to drive: install it (apt-get install chromium)")
	return ""
}

func newBrowser(t *testing.T, path string) context.Context {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 1200), chromedp.Flag("disable-dev-shm-usage", true))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// buildGdask builds the gdask binary into a temp dir.
func buildGdask(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gdask")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gdask/gdask").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gdask runs the binary and returns its stdout; it must succeed.
func gdask(t *testing.T, bin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	c := exec.Command(bin, args...)
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		t.Fatalf("gdask %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

// A run interrupted by Ctrl-C still writes its report, which says so.
func TestReportInterrupted(t *testing.T) {
	bin := buildGdask(t)
	report := filepath.Join(t.TempDir(), "r.html")
	run := exec.Command(bin, "count", "-", "--report", report)
	stdin, err := run.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	run.Stderr = &stderr
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	io.WriteString(stdin, "a,b\n")
	for i := 0; i < 2000; i++ { // rows keep coming: the run goes on
		fmt.Fprintf(stdin, "%d,%d\n", i, i)
	}
	time.Sleep(300 * time.Millisecond)
	run.Process.Signal(syscall.SIGINT)
	err = run.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit: %v (stderr %q), want status 130", err, stderr.String())
	}
	page, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no report after Ctrl-C: %v", err)
	}
	if f := readReport(t, page); f.Head.Status != "interrupted" || !strings.Contains(f.Head.Message, "interrupt") {
		t.Errorf("report of an interrupted run: status %q, message %q", f.Head.Status, f.Head.Message)
	}
}
