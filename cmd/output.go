package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/writers"
)

// result is where a command writes its answer. Nothing reaches stdout (or
// the --output file) until the answer is known: rows are buffered and
// written at commit, so an error never leaves partial output behind, or,
// for an answer wholly in memory, streamed once it is complete.
type result struct {
	app    *App
	path   string // --output, "" for stdout
	format string
	buf    spool
	w      writers.Writer
}

// spoolMem is how much of an answer is held in memory before it moves to a
// temp file: a large result must not take memory the engine budgeted for
// its own work.
const spoolMem = 4 << 20

// spool holds bytes in memory up to spoolMem, then in a temp file in dir.
type spool struct {
	dir  string
	mem  bytes.Buffer
	file *os.File
	bw   *bufio.Writer
}

func (s *spool) Write(p []byte) (int, error) {
	if s.file == nil && s.mem.Len()+len(p) <= spoolMem {
		return s.mem.Write(p)
	}
	if s.file == nil {
		f, err := os.CreateTemp(s.dir, "gdask-result-*")
		if err != nil {
			return 0, s.fail(err)
		}
		os.Remove(f.Name()) // unlinked: gone with the process whatever happens
		s.file, s.bw = f, bufio.NewWriterSize(f, 1<<20)
		if _, err := s.bw.Write(s.mem.Bytes()); err != nil {
			return 0, s.fail(err)
		}
		s.mem = bytes.Buffer{}
	}
	n, err := s.bw.Write(p)
	if err != nil {
		return n, s.fail(err)
	}
	return n, nil
}

// fail is the error of the spool's temp file: it names the directory, not
// the file, which the user never sees.
func (s *spool) fail(err error) error {
	dir := s.dir
	if dir == "" {
		dir = os.TempDir()
	}
	return fmt.Errorf("cannot hold the result in %s: %w (set --temp-dir)", fsname.Quote(dir), fsname.Cause(err))
}

// writeTo copies everything held to w and releases the temp file.
func (s *spool) writeTo(w io.Writer) error {
	if s.file == nil {
		_, err := w.Write(s.mem.Bytes())
		return err
	}
	defer s.file.Close()
	if err := s.bw.Flush(); err != nil {
		return s.fail(err)
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return s.fail(err)
	}
	_, err := io.Copy(w, s.file) // *os.File to *os.File: copy_file_range
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == s.file.Name() {
		return s.fail(err) // reading back, not writing
	}
	return err
}

func (s *spool) close() {
	if s.file != nil {
		s.file.Close()
	}
}

func (app *App) newResult() (*result, error) {
	s := app.settings
	format, err := s.format(app)
	if err != nil {
		return nil, err
	}
	r := &result{app: app, path: s.str(flagOutput), format: format}
	if r.path != "" {
		// Checked before any input is read, as a mistake in a flag: a
		// run of minutes must not end in "cannot create".
		if err := writers.CheckCreate(r.path); err != nil {
			return nil, usagef("invalid --output %s: %w", fsname.Quote(r.path), err)
		}
	}
	r.buf.dir = s.str(flagTempDir)
	r.w, err = r.writerTo(&r.buf)
	return r, err
}

// writerTo returns a writer of the result's format to dst. A table keeps
// its rows until the end, past the first MiB in --temp-dir.
func (r *result) writerTo(dst io.Writer) (writers.Writer, error) {
	if r.format == "table" {
		return writers.NewTable(dst, r.buf.dir), nil
	}
	return writers.New(r.format, dst)
}

// commit writes the buffered answer to its destination.
func (r *result) commit() error {
	defer r.buf.close()
	return r.deliver(r.buf.writeTo)
}

// deliver calls write with the destination: stdout, or the --output file,
// written atomically (nothing of it stays if write fails).
func (r *result) deliver(write func(dst io.Writer) error) error {
	if r.path == "" {
		return write(r.app.IO.Out)
	}
	f, err := writers.CreateAtomic(r.path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}

// table writes a whole small table and commits it.
func (r *result) table(cols []writers.Column, rows [][][]byte) error {
	if err := r.w.Begin(cols); err != nil {
		return err
	}
	for _, row := range rows {
		if err := r.w.Row(row); err != nil {
			return err
		}
	}
	if err := r.w.End(); err != nil {
		return err
	}
	return r.commit()
}

// writeAll copies data to the destination (stdout or an atomic file),
// for commands whose output is not a table.
func (app *App) writeAll(data []byte) error {
	r := &result{app: app, path: app.settings.str(flagOutput)}
	r.buf.mem.Write(data)
	return r.commit()
}

// startProgress shows a progress bar on stderr for p while work runs, when
// --progress says so (auto: only when stderr is a terminal). The returned
// stop function removes it.
func (app *App) startProgress(ctx context.Context, p *engine.Progress, what string) (stop func()) {
	mode := app.settings.str(flagProgress)
	if mode == "never" || (mode != "always" && !app.IO.ErrIsTTY) {
		return func() {}
	}
	newBar := func(max int64, bytes bool, desc string) *progressbar.ProgressBar {
		return progressbar.NewOptions64(max,
			progressbar.OptionSetWriter(app.IO.Err),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowBytes(bytes),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	// The scan's bar counts input bytes; once an external sort merges,
	// a second bar counts the rows it has merged.
	bar, merging := newBar(-1, true, what), false
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		total := int64(-1)
		update := func() {
			spilled := ""
			if sp := p.Spilled.Load(); sp > 0 {
				spilled = " (spilled " + formatSize(sp) + ")"
			}
			if mt := p.MergeTotal.Load(); mt > 0 {
				desc := fmt.Sprintf("%s, merging %d sorted runs%s", what, p.MergeRuns.Load(), spilled)
				if !merging {
					// Made with its description, so the merge phase shows
					// at once, however soon it ends.
					_ = bar.Finish()
					bar, merging, total = newBar(mt, false, desc), true, mt
				}
				if mt != total {
					total = mt
					bar.ChangeMax64(mt)
				}
				bar.Describe(desc)
				_ = bar.Set64(p.MergeDone.Load())
			} else {
				if n := p.Total.Load(); n > 0 && n != total {
					total = n
					bar.ChangeMax64(n)
				}
				bar.Describe(what + spilled)
				_ = bar.Set64(p.Done.Load())
			}
		}
		for {
			update()
			select {
			case <-ctx.Done():
				update() // a phase shorter than a tick is still shown
				_ = bar.Finish()
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
		io.WriteString(app.IO.Err, "") // the bar cleared its own line
	}
}

// open opens the inputs and warns, one line each, about inputs that hold
// a header but no rows: their answer (0 rows) is right but probably not
// what the user meant.
func (app *App) open(ctx context.Context, cfg *engine.Config, paths []string) (*engine.Dataset, error) {
	ds, err := engine.Open(ctx, cfg, paths)
	if uc := (*plan.UnknownColumnError)(nil); errors.As(err, &uc) {
		return nil, &usageError{err} // --types names a column the inputs lack
	}
	if err != nil {
		return nil, err
	}
	empty, err := ds.HeaderOnly()
	if err != nil {
		ds.Close()
		return nil, err
	}
	for _, p := range empty {
		fmt.Fprintf(app.IO.Err, "gdask: warning: %s: header only, no rows\n", fsname.Quote(p))
	}
	return ds, nil
}

// job is what a command that reads inputs needs: the settings resolved,
// the result's destination ready and the inputs open.
type job struct {
	paths    []string
	cfg      *engine.Config
	res      *result
	ds       *engine.Dataset
	progress *engine.Progress // the progress bar's figures, fed by the run's events
}

func (app *App) startJob(ctx context.Context, paths []string) (*job, error) {
	cfg, err := app.settings.engineConfig(app)
	if err != nil {
		return nil, err
	}
	res, err := app.newResult()
	if err != nil {
		return nil, err
	}
	progress := &engine.Progress{}
	cfg.Events = app.events(progress)
	ds, err := app.open(ctx, cfg, paths)
	if err != nil {
		return nil, err
	}
	return &job{paths: paths, cfg: cfg, res: res, ds: ds, progress: progress}, nil
}

func (j *job) close() { j.ds.Close() }

// reopen replaces the job's dataset with the inputs opened again, for a
// second run (a stream cannot be read twice).
func (j *job) reopen(ctx context.Context, app *App) error {
	ds, err := app.open(ctx, j.cfg, j.paths)
	if err != nil {
		return err
	}
	j.ds.Close()
	j.ds = ds
	return nil
}

// run calls fn while the progress bar, if any, shows the job's progress.
func (j *job) run(ctx context.Context, app *App, what string, fn func() error) error {
	stop := app.startProgress(ctx, j.progress, what)
	defer stop()
	return fn()
}
