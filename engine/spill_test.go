package engine

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gdask/gdask/engine/spill"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// keysFile writes gen-data's rows with `categories` distinct keys.
func keysFile(t *testing.T, rows, categories int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Generate(context.Background(), bw, rows, categories, 2, nil); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func countingConfig(tmp string, limit int64) Config {
	return Config{Workers: 2, MemoryLimit: limit, TempDir: tmp, Dialect: readers.DefaultDialect()}
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("%s holds %d entries after the run, want none (first: %s)", dir, len(ents), ents[0].Name())
	}
}

// Spill invariance: with >= 1,000,000 distinct keys, a memory limit small
// enough for several spill rounds (and recursive repartitioning) gives
// byte-identical output to an unlimited run, and leaves the temp dir empty.
func TestSpillInvariance(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and aggregates 1.2M rows")
	}
	path := keysFile(t, 1_200_000, 1_000_000)
	aggs := []string{"count", "sum:value", "mean:value", "min:id", "max:id", "first:id", "last:id", "nunique:value"}
	want := runGroupBy(t, path, []string{"category"}, aggs, countingConfig(t.TempDir(), 8<<30))
	if len(want) != 1_000_000 {
		t.Fatalf("%d groups, want 1000000", len(want))
	}
	for _, tc := range []struct {
		limit       int64
		repartition bool
	}{{40 << 20, true}, {80 << 20, false}} {
		limit := tc.limit
		tmp := t.TempDir()
		got, stats := runGroupByStats(t, path, []string{"category"}, aggs, countingConfig(tmp, limit))
		if stats.SpilledRuns < 3 || (tc.repartition && stats.Repartitions == 0) {
			t.Errorf("limit %d: %d spill runs, %d repartitions; want several runs%s", limit, stats.SpilledRuns, stats.Repartitions,
				map[bool]string{true: " and a repartition"}[tc.repartition])
		}
		if len(got) != len(want) {
			t.Fatalf("limit %d: %d groups, want %d", limit, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("limit %d: row %d = %q, want %q", limit, i, got[i], want[i])
			}
		}
		emptyDir(t, tmp)
	}
}

// groupByErr runs count+sum by category and returns the error.
func groupByErr(t *testing.T, path string, cfg Config) error {
	t.Helper()
	ctx := context.Background()
	ds, err := Open(ctx, &cfg, []string{path})
	if err != nil {
		return err
	}
	defer ds.Close()
	in := plan.Schema{{Name: "id", Type: plan.Int}, {Name: "category", Type: plan.String}, {Name: "value", Type: plan.Float}}
	root := plan.Optimize(groupByNode(t, plan.NewScan([]string{path}, in), []string{"category"}, []string{"count", "sum:value"}))
	_, _, err = tryRows(ds, root)
	return err
}

// The disk filling up while spilling: a clear error naming the temp dir and
// --temp-dir, and nothing left behind.
func TestSpillDiskFull(t *testing.T) {
	path := keysFile(t, 300_000, 300_000)
	for _, limit := range []int64{0, 64 << 10, 2 << 20} {
		tmp := t.TempDir()
		cfg := countingConfig(tmp, 40<<20)
		cfg.SpillFS = &spill.FaultFS{Limit: limit}
		err := groupByErr(t, path, cfg)
		if err == nil || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), tmp) || !strings.Contains(err.Error(), "--temp-dir") {
			t.Fatalf("limit %d: error %v, want ENOSPC naming %s and --temp-dir", limit, err, tmp)
		}
		emptyDir(t, tmp)
	}
}

func TestMemoryLimitTooSmall(t *testing.T) {
	path := keysFile(t, 10, 5)
	err := groupByErr(t, path, countingConfig(t.TempDir(), 1<<20))
	if err == nil || !strings.Contains(err.Error(), "--memory-limit") || !strings.Contains(err.Error(), "too small to run at all") || !strings.Contains(err.Error(), "needs at least") {
		t.Fatalf("error %v, want the minimum memory limit", err)
	}
}

func TestUnwritableTempDir(t *testing.T) {
	path := keysFile(t, 300_000, 300_000)
	tmp := filepath.Join(t.TempDir(), "missing")
	err := groupByErr(t, path, countingConfig(tmp, 40<<20))
	if err == nil || !strings.Contains(err.Error(), "cannot create spill directory in "+tmp) || !strings.Contains(err.Error(), "--temp-dir") {
		t.Fatalf("error %v, want the spill directory error", err)
	}
}

// A worker's table that spills starts again empty, and so must its memo
// of short keys: keys of 7 bytes or fewer, each seen again soon after, on
// both sides of every spill, count what a run without a limit counts.
func TestSpillShortKeysSeenAgain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.csv")
	var b strings.Builder
	b.WriteString("k,v\n")
	const keys = 200_000
	for i := range keys {
		k := "k" + strconv.Itoa(i)
		fmt.Fprintf(&b, "%s,1\n%s,2\n", k, k) // the second finds it: memoized
		if i >= 3 {
			fmt.Fprintf(&b, "k%d,4\n", i-3)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		tmp := t.TempDir()
		cfg := countingConfig(tmp, 40<<20)
		cfg.Workers = workers
		got, stats := runGroupByStats(t, path, []string{"k"}, []string{"count", "sum:v"}, cfg)
		if stats.SpilledRuns < 2 {
			t.Errorf("workers %d: %d spill runs, want several", workers, stats.SpilledRuns)
		}
		if len(got) != keys {
			t.Fatalf("workers %d: %d groups, want %d", workers, len(got), keys)
		}
		for _, row := range got {
			k, rest, _ := strings.Cut(row, "|")
			i, _ := strconv.Atoi(k[1:])
			want := "3|7"
			if i >= keys-3 {
				want = "2|3"
			}
			if rest != want {
				t.Fatalf("workers %d: group %s = %s, want %s", workers, k, rest, want)
			}
		}
		emptyDir(t, tmp)
	}
}

// Runs that share their keys overstate a partition: each run holds an
// entry for most keys. The merge finds that the partition fits and cuts
// nothing, and the output is still that of an unlimited run.
func TestSpillSharedKeysNoRepartition(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and aggregates 1.5M rows")
	}
	path := keysFile(t, 1_500_000, 100_000)
	aggs := []string{"count", "sum:value", "max:id"}
	want := runGroupBy(t, path, []string{"category"}, aggs, countingConfig(t.TempDir(), 8<<30))
	tmp := t.TempDir()
	got, stats := runGroupByStats(t, path, []string{"category"}, aggs, countingConfig(tmp, 40<<20))
	if stats.SpilledRuns < 4 || stats.Repartitions != 0 {
		t.Errorf("%d spill runs, %d repartitions; want several runs and no repartition", stats.SpilledRuns, stats.Repartitions)
	}
	if !slices.Equal(got, want) {
		t.Errorf("limited run differs from the unlimited one (%d and %d groups)", len(got), len(want))
	}
	emptyDir(t, tmp)
}
