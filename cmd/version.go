package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Stamped at build time by -ldflags "-X github.com/gdask/gdask/cmd.version=..."
// (see .goreleaser.yaml). Without stamping, the module build info fills them in.
var (
	version = ""
	commit  = ""
	date    = ""
)

func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

func newVersionCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version, commit and Go version gdask was built with",
		Example: `  gdask version`,
		Args:    exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			v, cm, d := buildInfo()
			_, err := fmt.Fprintf(app.IO.Out, "gdask %s (commit %s, built %s, %s %s/%s)\n",
				v, cm, d, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
