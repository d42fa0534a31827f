package cmd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/gdask/gdask/dashboard"
	"github.com/gdask/gdask/engine"
	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/internal/gctune"
	"github.com/gdask/gdask/readers"
	"github.com/gdask/gdask/writers"
)

// Global flag names; each is also a config key and GDASK_<NAME> variable.
const (
	flagConfig          = "config"
	flagWorkers         = "workers"
	flagMemoryLimit     = "memory-limit"
	flagBlocksize       = "blocksize"
	flagTempDir         = "temp-dir"
	flagProgress        = "progress"
	flagExplain         = "explain"
	flagFormat          = "format"
	flagOutput          = "output"
	flagDelimiter       = "delimiter"
	flagNoHeader        = "no-header"
	flagNull            = "null"
	flagMaxRecordSize   = "max-record-size"
	flagSample          = "sample"
	flagTypes           = "types"
	flagSkipBadRows     = "skip-bad-rows"
	flagDashboard       = "dashboard"
	flagDashboardLinger = "dashboard-linger"
	flagReport          = "report"
)

func addGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.String(flagConfig, "", "config file (default $XDG_CONFIG_HOME/gdask/config.yaml)")
	f.Int(flagWorkers, 0, "worker goroutines (default: CPUs available to the process)")
	f.String(flagMemoryLimit, "auto", "memory for the whole run, e.g. 2GB or 512MiB (auto: half of RAM or of the cgroup limit)")
	f.String(flagBlocksize, "auto", "partition size, e.g. 64MiB, at least 1KiB (auto: 1–64 MiB, enough partitions for every worker)")
	f.String(flagTempDir, "", "directory for spill files (default the system temp dir)")
	f.String(flagProgress, "auto", "progress bar on stderr: auto (on a terminal), always or never")
	f.StringP(flagFormat, "o", "", "output format: table, csv, tsv, json or ndjson (default table on a terminal, csv otherwise)")
	f.String(flagOutput, "", "write the result to this file (atomically) instead of stdout")
	f.String(flagDelimiter, ",", `field delimiter: one character, or "tab"`)
	f.Bool(flagNoHeader, false, "the first line is data; columns are named column0, column1, ...")
	f.StringSlice(flagNull, nil, "extra tokens read as null besides the empty field, e.g. NA,NULL")
	f.String(flagMaxRecordSize, "16MiB", "longest record accepted")
	f.String(flagSample, "1MiB", "bytes of the first input read to infer column types (Dask: sample)")
	f.String(flagExplain, "", "print the optimised plan and run nothing; --explain analyze runs it and prints what each operator did")
	f.Lookup(flagExplain).NoOptDefVal = "plan"
	f.String(flagDashboard, "", "serve a live dashboard of the run at ADDR (--dashboard alone: "+dashboard.DefaultAddr+", or the next free port)")
	f.Lookup(flagDashboard).NoOptDefVal = dashboard.DefaultAddr
	f.String(flagDashboardLinger, "0s", "keep the dashboard up this long after the run ends, e.g. 1m")
	f.String(flagReport, "", "write the dashboard's views of the run to this self-contained HTML file at the end")
	f.Bool(flagSkipBadRows, false, "skip rows whose value is not a number where a number is needed, and report how many")
	f.String(flagShard, "", "run shard i of N (i/N, i from 0) of the plan over its share of the inputs, with --state-out")
	f.String(flagStateOut, "", "with --shard: the directory the shard writes its state to, for gdask merge DIR")
	f.String(flagShardAttempt, "", "with --shard: this run's attempt at its shard (0 first), named in the failure record it leaves")
	f.StringSlice(flagTypes, nil, "declared column types instead of inferred ones, COL:TYPE with TYPE string, int or float; COL:string keeps a column's text (keys \"01\" and \"1\" stay apart)")
}

// settings are the effective values of one invocation, after viper has
// applied precedence flag > env > file > default.
type settings struct {
	v          *viper.Viper
	cmd        *cobra.Command
	configFile string // "" when none was read
}

func configPath(c *cobra.Command) (path string, explicit bool) {
	if p, _ := c.Flags().GetString(flagConfig); p != "" {
		return p, true
	}
	if p := os.Getenv("GDASK_CONFIG"); p != "" {
		return p, true
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", false
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "gdask", "config.yaml"), false
}

// loadSettings reads the settings of c's invocation. A config file named
// with --config or GDASK_CONFIG must be readable; the default one may be
// missing (silently) or unreadable, as when HOME is another user's
// directory: then a warning goes to stderr and the run goes on without it,
// as git does. A default file that is read but is not valid stays an
// error: it is the user's own.
func loadSettings(c *cobra.Command, stderr io.Writer) (*settings, error) {
	v := viper.New()
	v.SetEnvPrefix("GDASK")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	s := &settings{v: v, cmd: c}
	path, explicit := configPath(c)
	if path != "" {
		v.SetConfigFile(path)
		v.SetConfigType("yaml")
		err := v.ReadInConfig()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the file
		}
		switch {
		case err == nil:
			s.configFile = path
		case !explicit && errors.Is(err, fs.ErrNotExist):
		case !explicit && pe != nil:
			fmt.Fprintf(stderr, "gdask: warning: cannot read config file %s: %v (going on without it)\n", fsname.Quote(path), err)
		default:
			return nil, usagef("cannot read config file %s: %v", fsname.Quote(path), err)
		}
	}
	var bindErr error
	bind := func(f *pflag.Flag) {
		if err := v.BindPFlag(f.Name, f); err != nil && bindErr == nil {
			bindErr = err
		}
	}
	// Global flags only: a verb's flags belong to its segment of a chain,
	// and are flags, not settings.
	c.PersistentFlags().VisitAll(bind)
	c.InheritedFlags().VisitAll(bind)
	if bindErr != nil {
		return nil, bindErr
	}
	known := flagNames(c.Root())
	for _, k := range v.AllKeys() {
		if v.InConfig(k) && !known[k] {
			return nil, usagef("config file %s: unknown setting %q", fsname.Quote(path), k)
		}
	}
	return s, nil
}

// flagNames returns the global flags: the settings a config file may hold.
func flagNames(root *cobra.Command) map[string]bool {
	names := map[string]bool{}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) { names[f.Name] = true })
	return names
}

// source says where the effective value of a flag came from.
func (s *settings) source(name string) string {
	f := s.cmd.Flags().Lookup(name)
	if f == nil {
		f = s.cmd.InheritedFlags().Lookup(name)
	}
	switch {
	case f != nil && f.Changed:
		return "flag --" + name
	case os.Getenv("GDASK_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_"))) != "":
		return "env GDASK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	case s.v.InConfig(name):
		return "file " + s.configFile
	}
	return "default"
}

func (s *settings) str(name string) string { return s.v.GetString(name) }

func (s *settings) boolean(name string) (bool, error) {
	raw := s.v.GetString(name)
	b, err := strconv.ParseBool(raw)
	if err != nil {
		return false, usagef("invalid --%s %q: want true or false", name, raw)
	}
	return b, nil
}

func (s *settings) integer(name string) (int, error) {
	raw := s.v.GetString(name)
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil {
		return 0, usagef("invalid --%s %q: want a whole number", name, raw)
	}
	return n, nil
}

// isList reports whether the flag takes a list of values.
func (s *settings) isList(name string) bool {
	f := s.cmd.Flags().Lookup(name)
	if f == nil {
		f = s.cmd.InheritedFlags().Lookup(name)
	}
	return f != nil && f.Value.Type() == "stringSlice"
}

func (s *settings) list(name string) []string {
	raw := s.v.Get(name)
	var out []string
	switch x := raw.(type) {
	case []string:
		out = x
	case []any:
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
	case string:
		x = strings.Trim(x, "[]")
		if x != "" {
			out = strings.Split(x, ",")
		}
	}
	return out
}

// engineConfig resolves the run settings into a plain engine.Config.
func (s *settings) engineConfig(app *App) (*engine.Config, error) {
	cfg := &engine.Config{Stdin: app.IO.In, Dialect: readers.DefaultDialect()}
	workers, err := s.integer(flagWorkers)
	if err != nil {
		return nil, err
	}
	switch {
	case workers < 0:
		return nil, usagef("invalid --workers %d: must be 1 or more (0 means one per CPU)", workers)
	case workers == 0:
		workers = runtime.GOMAXPROCS(0) // respects the cgroup CPU quota
	}
	cfg.Workers = workers

	if raw := s.str(flagMemoryLimit); raw == "auto" || raw == "" {
		cfg.MemoryLimit = defaultMemoryLimit()
	} else if cfg.MemoryLimit, err = parseSize(raw); err != nil || cfg.MemoryLimit < 1 {
		return nil, usagef("invalid --memory-limit %q: want a size such as 2GB, 512MiB or auto", raw)
	}
	// The Go runtime collects garbage harder as the heap nears the limit,
	// so the process stays within what the engine budgets.
	debug.SetMemoryLimit(cfg.MemoryLimit)
	// Collect when the heap has grown by a quarter, not doubled. What the
	// engine holds is mostly pages without pointers, cheap to mark; the
	// garbage is mostly outgrown hash slot arrays and finished tables.
	// Collecting it sooner lets new tables and rows reuse its memory
	// instead of faulting in fresh pages, which cost more than the
	// collections: 5M keys took 4.43 s and 986 MB at 100, 4.28 s and
	// 678 MB at 25. But not before the heap is 16 MiB: a quarter of a
	// small heap is a collection every few hundred KiB, three of them
	// for the buffers a run allocates at start (gctune).
	gctune.Set(25, 16<<20)
	if raw := s.str(flagBlocksize); raw != "auto" && raw != "" {
		bs, err := parseSize(raw)
		if err != nil {
			return nil, usagef("invalid --blocksize %q: want a size such as 64MiB, 1KiB or auto", raw)
		}
		if bs < readers.MinBlocksize {
			return nil, usagef("invalid --blocksize %s: must be at least 1KiB (or auto)", raw)
		}
		cfg.Blocksize = bs
	}
	switch p := s.str(flagProgress); p {
	case "auto", "always", "never":
	default:
		return nil, usagef("invalid --progress %q: want auto, always or never", p)
	}
	cfg.TempDir = s.str(flagTempDir)
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	d := &cfg.Dialect
	switch raw := s.str(flagDelimiter); {
	case raw == "tab" || raw == `\t`:
		d.Delimiter = '\t'
	case len(raw) == 1:
		d.Delimiter = raw[0]
	default:
		return nil, usagef("invalid --delimiter %q: want one single-byte character, or tab", raw)
	}
	if d.NoHeader, err = s.boolean(flagNoHeader); err != nil {
		return nil, err
	}
	d.Nulls = s.list(flagNull)
	if raw := s.str(flagSample); raw != "" {
		n, err := parseSize(raw)
		if err != nil || n < 1 {
			return nil, usagef("invalid --sample %q: want a size such as 1MiB or 256KB", raw)
		}
		cfg.SampleBytes = n
	}
	raw := s.str(flagMaxRecordSize)
	mrs, err := parseSize(raw)
	if err != nil || mrs < 1 || mrs > 1<<31-1 {
		return nil, usagef("invalid --max-record-size %q: want a size from 1B to 2GiB, such as 16MiB", raw)
	}
	d.MaxRecordSize = int(mrs)
	if cfg.Types, err = parseTypes(s.list(flagTypes)); err != nil {
		return nil, err
	}
	if err := d.Validate(); err != nil {
		return nil, &usageError{err}
	}
	return cfg, nil
}

// format returns the output format: -o, or table on a terminal and csv
// otherwise (a file given with --output is not a terminal).
func (s *settings) format(app *App) (string, error) {
	f := s.str(flagFormat)
	if f == "" {
		return writers.Default(app.IO.OutIsTTY && s.str(flagOutput) == ""), nil
	}
	for _, known := range writers.Formats() {
		if f == known {
			return f, nil
		}
	}
	_, err := writers.New(f, nil)
	return "", &usageError{err}
}

// settingNames lists every flag of c with its effective value, for
// `gdask config`.
func (s *settings) settingNames() []string {
	seen := map[string]bool{}
	var names []string
	add := func(f *pflag.Flag) {
		if f.Name == "help" || seen[f.Name] {
			return
		}
		seen[f.Name] = true
		names = append(names, f.Name)
	}
	s.cmd.PersistentFlags().VisitAll(add)
	s.cmd.InheritedFlags().VisitAll(add)
	sort.Strings(names)
	return names
}

// parseTypes reads --types: COL:TYPE items, TYPE string, int or float.
func parseTypes(items []string) (map[string]readers.Type, error) {
	if len(items) == 0 {
		return nil, nil
	}
	types := map[string]readers.Type{}
	for _, item := range items {
		item = strings.TrimSpace(item)
		at := strings.LastIndexByte(item, ':') // a column name may hold a colon
		col, typ, ok := item[:max(at, 0)], item[at+1:], at > 0
		var t readers.Type
		switch typ {
		case "string":
			t = readers.TypeString
		case "int":
			t = readers.TypeInt
		case "float":
			t = readers.TypeFloat
		default:
			ok = false
		}
		if !ok || col == "" {
			return nil, usagef("invalid --types %q: want COL:TYPE with TYPE string, int or float", item)
		}
		types[col] = t
	}
	return types, nil
}
