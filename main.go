// Command gdask is the Dask DataFrame workflow for CSV files larger than
// memory, as one Go binary. See README.md.
package main

import (
	"os"

	"github.com/gdask/gdask/cmd"
)

func main() { os.Exit(cmd.Main()) }
