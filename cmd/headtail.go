package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

type headOptions struct {
	Paths []string
	N     int
	Tail  bool
}

func newHeadCmd(app *App) *cobra.Command {
	return newHeadTailCmd(app, false)
}

func newTailCmd(app *App) *cobra.Command {
	return newHeadTailCmd(app, true)
}

func newHeadTailCmd(app *App, tail bool) *cobra.Command {
	opts := &headOptions{Tail: tail}
	c := &cobra.Command{
		Use:   "head FILE...",
		Short: "Print the first rows of a file, reading only the first block",
		Long: `head prints the first n rows (default 5) with the header, as the file has
them: -o csv reproduces the first lines of a plain file byte for byte. It
reads one block from the start, whatever the size of the file.`,
		Example: `  gdask head large_data.csv
  gdask head large_data.csv -n 20 -o json
  zcat big.csv.gz | gdask head -`,
	}
	if tail {
		c.Use = "tail FILE..."
		c.Short = "Print the last rows of a file, reading only the last block"
		c.Long = `tail prints the last n rows (default 5) with the header. On a plain or
uncompressed file it reads from the end, a block at a time, until the
last rows are certain even when quoted fields hold newlines; a stream
(stdin, .gz, .zst) is read through.`
		c.Example = `  gdask tail large_data.csv
  gdask tail large_data.csv -n 20 -o ndjson`
	}
	c.Args = minArgs(1)
	c.Flags().IntP("n", "n", 5, "rows to print")
	c.RunE = func(c *cobra.Command, args []string) error {
		var err error
		if opts.Paths, err = readers.Expand(args); err != nil {
			return err
		}
		n, err := app.settings.integer("n")
		if err != nil {
			return err
		}
		if n < 0 {
			return usagef("invalid -n %d: must be 0 or more", n)
		}
		opts.N = n
		return headRun(c.Context(), app, opts)
	}
	return c
}

func headRun(ctx context.Context, app *App, opts *headOptions) error {
	j, err := app.startJob(ctx, opts.Paths)
	if err != nil {
		return err
	}
	defer j.close()
	var rows [][][]byte
	if opts.Tail {
		rows, err = j.ds.Tail(ctx, opts.N)
	} else {
		err = j.ds.Head(ctx, opts.N, func(fields [][]byte) error {
			rows = append(rows, copyFields(fields))
			return nil
		})
	}
	if err != nil {
		return err
	}
	d := &j.cfg.Dialect
	inf := j.ds.NewInferrer()
	for _, r := range rows {
		inf.Add(r)
	}
	return j.res.table(columns(j.ds.Names, inf.Types), nullify(rows, d, j.res.format))
}

// nullify marks null fields for typed formats (json, ndjson, table); csv
// and tsv print fields exactly as the file has them.
func nullify(rows [][][]byte, d *readers.Dialect, format string) [][][]byte {
	if format == "csv" || format == "tsv" {
		return rows
	}
	for _, r := range rows {
		for i, f := range r {
			if d.IsNull(f) {
				r[i] = nil
			}
		}
	}
	return rows
}

func copyFields(fields [][]byte) [][]byte {
	n := 0
	for _, f := range fields {
		n += len(f)
	}
	buf := make([]byte, 0, n)
	out := make([][]byte, len(fields))
	for i, f := range fields {
		buf = append(buf, f...)
		out[i] = buf[len(buf)-len(f) : len(buf) : len(buf)]
	}
	return out
}

// columns pairs names with writer types.
func columns(names []string, types []readers.Type) []writers.Column {
	cols := make([]writers.Column, len(names))
	for i, n := range names {
		cols[i] = writers.Column{Name: n, Type: writerType(types[i])}
	}
	return cols
}

func writerType(t readers.Type) writers.Type {
	switch t {
	case readers.TypeInt:
		return writers.Int
	case readers.TypeFloat:
		return writers.Float
	}
	return writers.String
}
