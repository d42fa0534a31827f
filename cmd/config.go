package cmd

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gdask/gdask/writers"
)

func newConfigCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the effective settings and where each came from",
		Long: `config prints every global setting with its effective value and its
source: a flag, an environment variable GDASK_<NAME>, the config file
($XDG_CONFIG_HOME/gdask/config.yaml or --config), or the default. The
precedence is flag > env > file > default (Dask: dask.config).`,
		Example: `  gdask config
  GDASK_MEMORY_LIMIT=2GB gdask config --workers 4`,
		Args: exactArgs(0),
		RunE: func(c *cobra.Command, _ []string) error {
			s := app.settings
			cfg, err := s.engineConfig(app)
			if err != nil {
				return err
			}
			// Values resolved at run time are shown resolved.
			resolved := map[string]string{
				flagWorkers:  strconv.Itoa(cfg.Workers),
				flagTempDir:  cfg.TempDir,
				flagFormat:   must(s.format(app)),
				flagProgress: s.str(flagProgress),
			}
			if raw := s.str(flagMemoryLimit); raw == "auto" || raw == "" {
				resolved[flagMemoryLimit] = formatSize(cfg.MemoryLimit) + " (auto: half of RAM or cgroup limit)"
			}
			res, err := app.newResult()
			if err != nil {
				return err
			}
			var rows [][][]byte
			for _, name := range s.settingNames() {
				val := s.str(name)
				if s.isList(name) {
					val = strings.Join(s.list(name), ",")
				}
				if r, ok := resolved[name]; ok {
					val = r
				}
				rows = append(rows, [][]byte{[]byte(name), []byte(val), []byte(s.source(name))})
			}
			return res.table([]writers.Column{{Name: "setting"}, {Name: "value"}, {Name: "source"}}, rows)
		},
	}
}

func must(s string, err error) string {
	if err != nil {
		return ""
	}
	return s
}
