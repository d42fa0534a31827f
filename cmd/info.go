package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

type infoOptions struct {
	Paths []string
	Exact bool
}

func newInfoCmd(app *App, runF func(*infoOptions) error) *cobra.Command {
	opts := &infoOptions{}
	c := &cobra.Command{
		Use:   "info FILE...",
		Short: "Show columns and inferred types, size, partitions and rows",
		Long: `info describes the inputs as Dask's dtypes and npartitions do: each column
with the type inferred from a sample (int, float or string; types widen,
they never fail), the bytes, the partitions at the current --blocksize,
and the rows, estimated from the sample's mean record size. --exact reads
everything: types widen over every value, rows are counted.

-o table prints a report; csv and tsv print the column,type table; json and
ndjson print one object with everything.`,
		Example: `  gdask info large_data.csv
  gdask info large_data.csv --exact --blocksize 4MiB
  gdask info 'logs/*.csv.gz' -o json
  gdask info trips.csv && ` + strings.TrimSpace(chainExample),
		Args: minArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if opts.Paths, err = readers.Expand(args); err != nil {
				return err
			}
			opts.Exact, _ = c.Flags().GetBool("exact")
			return runF(opts)
		},
	}
	c.Flags().Bool("exact", false, "read everything: exact types and row count")
	if runF == nil {
		runF = func(o *infoOptions) error { return infoRun(c.Context(), app, o) }
	}
	return c
}

func infoRun(ctx context.Context, app *App, opts *infoOptions) error {
	j, err := app.startJob(ctx, opts.Paths)
	if err != nil {
		return err
	}
	defer j.close()
	app.watchWork(app.commandLine(), "Info (the types, partitions and rows of every input)")
	var info *engine.Info
	err = j.run(ctx, app, "reading", func() (err error) {
		info, err = j.ds.Info(ctx, opts.Exact)
		return err
	})
	if err != nil {
		return err
	}
	switch j.res.format {
	case "table":
		return app.writeAll([]byte(infoReport(info)))
	case "json", "ndjson":
		b, err := json.Marshal(infoJSON(info))
		if err != nil {
			return err
		}
		return app.writeAll(append(b, '\n'))
	}
	rows := make([][][]byte, len(info.Names))
	for i, n := range info.Names {
		rows[i] = [][]byte{[]byte(n), []byte(info.Types[i].String())}
	}
	return j.res.table([]writers.Column{{Name: "column"}, {Name: "type"}}, rows)
}

func rowsText(info *engine.Info) string {
	switch {
	case info.Rows < 0:
		return "unknown (compressed input; --exact counts them)"
	case info.Exact:
		return strconv.FormatInt(info.Rows, 10)
	}
	return fmt.Sprintf("~%d (estimated from a sample; --exact counts them)", info.Rows)
}

func infoReport(info *engine.Info) string {
	var b strings.Builder
	for _, f := range info.Files {
		fmt.Fprintf(&b, "file         %s\n", fsname.Quote(f.Path))
		if f.Bytes >= 0 {
			fmt.Fprintf(&b, "bytes        %d (%s)\n", f.Bytes, formatSize(f.Bytes))
		}
		if f.Compression != readers.None {
			fmt.Fprintf(&b, "compression  %s\n", f.Compression)
		}
		if f.Partitions > 0 {
			fmt.Fprintf(&b, "partitions   %d\n", f.Partitions)
		} else {
			fmt.Fprintf(&b, "partitions   streamed (cut into chunks while decompressing)\n")
		}
	}
	if info.Blocksize > 0 {
		fmt.Fprintf(&b, "blocksize    %s\n", formatSize(info.Blocksize))
	}
	fmt.Fprintf(&b, "rows         %s\n", rowsText(info))
	fmt.Fprintf(&b, "columns      %d\n\n", len(info.Names))
	w := len("column")
	for _, n := range info.Names {
		w = max(w, len(n))
	}
	fmt.Fprintf(&b, "%-*s  type\n%s  ----\n", w, "column", strings.Repeat("-", w))
	for i, n := range info.Names {
		fmt.Fprintf(&b, "%-*s  %s\n", w, n, info.Types[i])
	}
	return b.String()
}

type infoFileJSON struct {
	Path        string `json:"path"`
	Bytes       *int64 `json:"bytes"`
	Compression string `json:"compression"`
	Partitions  *int   `json:"partitions"`
}

type infoColumnJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type infoObjectJSON struct {
	Files     []infoFileJSON   `json:"files"`
	Blocksize int64            `json:"blocksize,omitempty"`
	Rows      *int64           `json:"rows"`
	RowsExact bool             `json:"rows_exact"`
	Columns   []infoColumnJSON `json:"columns"`
}

func infoJSON(info *engine.Info) infoObjectJSON {
	o := infoObjectJSON{Blocksize: info.Blocksize, RowsExact: info.Exact}
	if info.Rows >= 0 {
		o.Rows = &info.Rows
	}
	for _, f := range info.Files {
		fj := infoFileJSON{Path: f.Path, Compression: f.Compression.String()}
		if f.Bytes >= 0 {
			fj.Bytes = &f.Bytes
		}
		if f.Partitions > 0 {
			fj.Partitions = &f.Partitions
		}
		o.Files = append(o.Files, fj)
	}
	for i, n := range info.Names {
		o.Columns = append(o.Columns, infoColumnJSON{Name: n, Type: info.Types[i].String()})
	}
	return o
}
