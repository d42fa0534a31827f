package cmd

import (
	"fmt"

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
			if _, err := s.engineConfig(app); err != nil {
				return err
			}
			res, err := app.newResult()
			if err != nil {
				return err
			}
			var rows [][][]byte
			for _, name := range s.settingNames() {
				v := s.v.Get(name)
				val := fmt.Sprint(v)
				if l, ok := v.([]string); ok {
					val = fmt.Sprint(l)
				}
				rows = append(rows, [][]byte{[]byte(name), []byte(val), []byte(s.source(name))})
			}
			return res.table([]writers.Column{{Name: "setting"}, {Name: "value"}, {Name: "source"}}, rows)
		},
	}
}
