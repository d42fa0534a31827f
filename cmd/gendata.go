package cmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spf13/cobra"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/writers"
)

type genDataOptions struct {
	Path       string
	Rows       int64
	Categories int64
}

func newGenDataCmd(app *App, runF func(*genDataOptions) error) *cobra.Command {
	opts := &genDataOptions{}
	c := &cobra.Command{
		Use:   "gen-data [FILE|-]",
		Short: "Write the seed program's CSV: id, category, value",
		Long: `gen-data writes the data set of the Dask program gdask mirrors, byte for
byte what pandas' to_csv(index=False) writes: a header id,category,value and
rows i, cat_{i % categories}, float(i % 1000). The default 1,000,000 rows
make large_data.csv. A .gz or .zst suffix compresses; - writes to stdout.
The file appears only when complete.`,
		Example: `  gdask gen-data                              # large_data.csv, 1,000,000 rows
  gdask gen-data big.csv --rows 50000000      # about 1 GB
  gdask gen-data logs.csv.zst --categories 5000000
  gdask gen-data - --rows 10 | gdask head -`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("gen-data takes at most one file, got %d", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = "large_data.csv"
			if len(args) == 1 {
				opts.Path = args[0]
			}
			var err error
			if opts.Rows, err = int64Flag(c, "rows", 0); err != nil {
				return err
			}
			if opts.Categories, err = int64Flag(c, "categories", 1); err != nil {
				return err
			}
			return runF(opts)
		},
	}
	c.Flags().Int64("rows", 1_000_000, "rows to write")
	c.Flags().Int64("categories", 100, "distinct categories (cat_0 ...)")
	if runF == nil {
		runF = func(o *genDataOptions) error { return genDataRun(c.Context(), app, o) }
	}
	return c
}

// int64Flag is flag name's value, at least least.
func int64Flag(c *cobra.Command, name string, least int64) (int64, error) {
	n, _ := c.Flags().GetInt64(name)
	if n < least {
		return 0, usagef("invalid --%s %d: must be at least %d", name, n, least)
	}
	return n, nil
}

func genDataRun(ctx context.Context, app *App, opts *genDataOptions) error {
	cfg, err := app.settings.engineConfig(app)
	if err != nil {
		return err
	}
	app.watchWork(app.commandLine(), "Generate id,category,value")
	if opts.Path == "-" {
		bw := bufio.NewWriterSize(app.IO.Out, 1<<20)
		if err := engine.Generate(ctx, bw, opts.Rows, opts.Categories, cfg.Workers, app.events(nil)); err != nil {
			return err
		}
		return bw.Flush()
	}
	f, err := writers.CreateAtomic(opts.Path)
	if err != nil {
		return err
	}
	defer f.Abort() // no-op after Commit
	f.NoSync = true // the data can be generated again: see AtomicFile.NoSync
	p := &engine.Progress{}
	stop := app.startProgress(ctx, p, "writing "+fsname.Quote(opts.Path))
	err = generateTo(ctx, f, opts, cfg.Workers, app.events(p))
	stop()
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", fsname.Quote(opts.Path), fsname.Cause(err))
	}
	return f.Commit()
}

// generateTo writes the data to w, compressed as path's suffix asks.
func generateTo(ctx context.Context, w *writers.AtomicFile, opts *genDataOptions, workers int, ev exec.Events) error {
	if wa, ok := w.WriterAt(); ok && !strings.HasSuffix(opts.Path, ".gz") && !strings.HasSuffix(opts.Path, ".zst") {
		return engine.GenerateAt(ctx, wa, opts.Rows, opts.Categories, workers, ev)
	}
	var enc io.WriteCloser
	switch {
	case strings.HasSuffix(opts.Path, ".gz"):
		enc, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case strings.HasSuffix(opts.Path, ".zst"):
		z, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(max(runtime.GOMAXPROCS(0), 1)))
		if err != nil {
			return err
		}
		enc = z
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	if enc != nil {
		bw = bufio.NewWriterSize(enc, 1<<20)
	}
	if err := engine.Generate(ctx, bw, opts.Rows, opts.Categories, workers, ev); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if enc != nil {
		return enc.Close()
	}
	return nil
}
