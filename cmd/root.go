package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gdask/gdask/internal/fsname"
	"github.com/gdask/gdask/writers"
)

// IOStreams holds the three streams so tests can swap them; terminal
// detection is made once, here.
type IOStreams struct {
	In       io.Reader
	Out      io.Writer
	Err      io.Writer
	OutIsTTY bool
	ErrIsTTY bool
}

// SystemIO returns the process's streams.
func SystemIO() IOStreams {
	return IOStreams{
		In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutIsTTY: term.IsTerminal(int(os.Stdout.Fd())),
		ErrIsTTY: term.IsTerminal(int(os.Stderr.Fd())),
	}
}

// App is the state shared by the commands of one invocation.
type App struct {
	IO       IOStreams
	settings *settings
	args     []string   // the command line, for the dashboard's title
	watch    *watch     // --dashboard and --report, nil when neither is given
	later    [][]string // the segments of a chain after its first (chain.go)
	inChain  bool       // a later segment is being parsed: it names no inputs
	merge    *mergeRun  // the chain is a merge of shards' states (merge.go)
	submit   *submitRun // the chain is prepared for gdask submit (submitslurm.go)
}

// Exit statuses (DESIGN §2).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT
	exitTerminated  = 143 // 128 + SIGTERM
)

// usageError is a mistake in how gdask was called: exit status 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return &usageError{fmt.Errorf(format, a...)} }

// signalError is a run stopped by a signal.
type signalError struct{ sig os.Signal }

func (e *signalError) Error() string { return "interrupted by " + e.sig.String() }

// signalGrace is how long a signalled run may take to clean up.
const signalGrace = 5 * time.Second

// Main runs gdask with os.Args and returns the process exit status.
func Main() int {
	return Run(context.Background(), SystemIO(), os.Args[1:])
}

// Run runs gdask with args and returns the exit status. A SIGINT or SIGTERM
// cancels the run's context; the command stops its workers and cleans up.
func Run(ctx context.Context, io IOStreams, args []string) int {
	// Writes to a closed stdout pipe must return EPIPE, not kill the
	// process, so `gdask head big.csv | head -1` can end quietly.
	signal.Ignore(syscall.SIGPIPE)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			cancel(&signalError{sig})
		case <-ctx.Done():
		}
	}()

	// GDASK_CPUPROFILE=FILE writes a CPU profile of the run, for
	// `go tool pprof` (profile before optimising).
	if path := os.Getenv("GDASK_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer func() { pprof.StopCPUProfile(); f.Close() }()
			}
		}
	}
	app := &App{IO: io, args: args}
	root := newRootCmd(app)
	first, later, splitErr := splitChain(args, root.PersistentFlags())
	if splitErr != nil {
		return report(io.Err, splitErr)
	}
	app.later = later
	root.SetArgs(first)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Give the command time to stop its workers and remove its temp
		// files; a read blocked on a quiet stdin cannot be interrupted, so
		// do not wait for ever.
		select {
		case err = <-done:
		case <-time.After(signalGrace):
			err = context.Cause(ctx)
		}
	}
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = &usageError{err} // cobra's own, before any RunE
	}
	if cause := context.Cause(ctx); err != nil && cause != nil && cause != context.Canceled {
		err = cause
	}
	return report(io.Err, app.finishWatch(ctx, err))
}

// report prints err as one line and returns the exit status for it.
func report(stderr io.Writer, err error) int {
	var se *signalError
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case err == errQuietFailure:
		return exitError
	case writers.IsClosedPipe(err):
		return exitOK
	case errors.As(err, &se):
		fmt.Fprintf(stderr, "gdask: %v\n", err)
		if se.sig == syscall.SIGTERM {
			return exitTerminated
		}
		return exitInterrupted
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "gdask: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "gdask: %v\n", err)
	return exitError
}

func newRootCmd(app *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "gdask",
		Short: "Dask DataFrame workflows for CSV files larger than memory, as one fast binary",
		Long: `gdask answers questions about CSV files larger than memory: it splits them
into byte-range partitions, streams them through a bounded pool of workers
and prints exact results in a form that fits shell pipelines.

Every flag can also be set as an environment variable GDASK_<FLAG>
(GDASK_MEMORY_LIMIT=2GB) or in $XDG_CONFIG_HOME/gdask/config.yaml;
a flag wins over the environment, which wins over the file.`,
		Example: `  gdask gen-data large_data.csv
  gdask head large_data.csv
  gdask info large_data.csv
  gdask count 'logs/*.csv.gz'
  gdask groupby large_data.csv --by category --mean value --having 'value_mean > 500'
` + chainExample + `
  gdask demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			s, err := loadSettings(c, app.IO.Err)
			if err != nil {
				return err
			}
			app.settings = s
			if c.Name() == "merge" {
				return nil // its run of the plan watches itself (runMerge)
			}
			return app.startWatch()
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	addGlobalFlags(root)
	root.AddCommand(
		newGenDataCmd(app, nil),
		newHeadCmd(app, nil),
		newTailCmd(app, nil),
		newInfoCmd(app, nil),
		newCountCmd(app, nil),
		newFilterCmd(app, nil),
		newSelectCmd(app, nil),
		newGroupByCmd(app, nil),
		newSortCmd(app, nil),
		newDistinctCmd(app, nil),
		newValueCountsCmd(app, nil),
		newMergeCmd(app, nil),
		newSubmitCmd(app),
		newDemoCmd(app, nil),
		newConfigCmd(app),
		newVersionCmd(app),
	)
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

// exactArgs and minArgs make argument-count mistakes usage errors.
func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			want := map[int]string{0: "no arguments", 1: "one input file (or - for stdin)"}[n]
			return usagef("%s takes %s, got %d: %s", c.Name(), want, len(args), quoteArgs(args))
		}
		return nil
	}
}

// quoteArgs shows command-line arguments, which are often file names, in
// a message: each as fsname.Quote shows a name, separated by spaces.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fsname.Quote(a)
	}
	return strings.Join(q, " ")
}

func minArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(c, args); err != nil {
			return &usageError{fmt.Errorf("%s needs at least %d input file (or - for stdin)", c.Name(), n)}
		}
		return nil
	}
}
