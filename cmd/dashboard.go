package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gdask/gdask/dashboard"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// watch is what --dashboard and --report watch of one invocation: one
// recording, served live and/or saved as a report at the end.
type watch struct {
	rec    *dashboard.Recorder
	srv    *dashboard.Server // nil without --dashboard
	report string            // --report, "" for none
	linger time.Duration
}

// startWatch starts the dashboard and the recording for --report before
// any input is read: a bad ADDR, a port that cannot be bound or a report
// that cannot be written is a usage error, found at once.
func (app *App) startWatch() error {
	s := app.settings
	addr, report := s.str(flagDashboard), s.str(flagReport)
	linger, err := time.ParseDuration(s.str(flagDashboardLinger))
	if err != nil || linger < 0 {
		return usagef("invalid --dashboard-linger %q: want a duration such as 30s or 5m", s.str(flagDashboardLinger))
	}
	if addr == "" && report == "" {
		return nil
	}
	if report != "" {
		if err := writers.CheckCreate(report); err != nil {
			return usagef("invalid --report %s: %w", fsname.Quote(report), err)
		}
	}
	cfg, err := s.engineConfig(app)
	if err != nil {
		return err
	}
	w := &watch{report: report, linger: linger}
	if addr != "" {
		// The default port moves on when taken, as Dask's does; a port
		// the user names is that port or an error.
		w.srv, err = dashboard.Listen(addr, addr == dashboard.DefaultAddr)
		if err != nil {
			return &usageError{err}
		}
		if !w.srv.Loopback() {
			fmt.Fprintf(app.IO.Err, "gdask: warning: the dashboard listens on %s: other machines can reach it (it shows the plan, file names, counts and times, never data values)\n", w.srv.Addr())
		}
		if addr == dashboard.DefaultAddr && w.srv.Addr() != addr {
			fmt.Fprintf(app.IO.Err, "gdask: port %s is taken: ", strings.TrimPrefix(addr, "127.0.0.1:"))
		} else {
			fmt.Fprint(app.IO.Err, "gdask: ")
		}
		fmt.Fprintf(app.IO.Err, "dashboard at %s\n", w.srv.URL())
	}
	w.rec = dashboard.NewRecorder(dashboard.Run{Title: app.commandLine(), Workers: cfg.Workers,
		MemoryLimit: cfg.MemoryLimit, TempDir: cfg.TempDir})
	if w.srv != nil {
		w.srv.Serve(w.rec)
	}
	app.watch = w
	return nil
}

// events adds the recording to ev, when there is one.
func (app *App) events(ev exec.Events) exec.Events {
	if app.watch == nil {
		return ev
	}
	if ev == nil {
		return app.watch.rec
	}
	return exec.Tee{ev, app.watch.rec}
}

// watchPlan tells the recording that the plan root runs next.
func (app *App) watchPlan(title string, root plan.Node) {
	if app.watch != nil {
		app.watch.rec.Plan(title, root)
	}
}

// watchWork tells the recording that work other than a plan runs next
// (gen-data, info, tail), named title: one operator, called name.
func (app *App) watchWork(title, name string) {
	if app.watch != nil {
		app.watch.rec.Work(title, name)
	}
}

// commandLine is how the user called gdask, to name what it runs.
func (app *App) commandLine() string { return "gdask " + strings.Join(app.args, " ") }

// finishWatch ends the recording with the run's error: it writes the
// report (also of a run that failed or was interrupted), keeps the page
// up for --dashboard-linger unless ctx ends first, and stops the server.
// It returns the run's error, or the report's when the run had none.
func (app *App) finishWatch(ctx context.Context, runErr error) error {
	w := app.watch
	if w == nil {
		return runErr
	}
	var se *signalError
	w.rec.Finish(runErr, errors.As(runErr, &se))
	err := runErr
	if w.report != "" {
		if rerr := writeReport(w.report, w.rec); rerr != nil && err == nil {
			err = rerr
		}
	}
	if w.srv != nil {
		if w.linger > 0 && ctx.Err() == nil {
			fmt.Fprintf(app.IO.Err, "gdask: dashboard stays up for %s at %s (Ctrl-C ends it)\n", w.linger, w.srv.URL())
			select {
			case <-time.After(w.linger):
			case <-ctx.Done():
			}
		}
		w.srv.Close()
	}
	return err
}

func writeReport(path string, rec *dashboard.Recorder) error {
	f, err := writers.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := dashboard.WriteReport(f, rec); err != nil {
		return fmt.Errorf("cannot write --report %s: %w", fsname.Quote(path), fsname.Cause(err))
	}
	return f.Commit()
}
