package engine

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/plan"
)

// unitInputs writes the inputs of the unit tests, all with columns
// a,b,c,n: files with LF, CRLF and mixed line ends and quoted fields
// holding them, blank lines, a file with quotes inside unquoted fields
// (Split's parity cannot be trusted there), and a .gz stream.
func unitInputs(t *testing.T, r *rand.Rand) []string {
	t.Helper()
	lf, _ := streamFile(t, r, 400, "lf", false, true)
	crlf, _ := streamFile(t, r, 300, "crlf", false, false)
	mixed, _ := streamFile(t, r, 500, "mixed", false, true)
	var b strings.Builder
	b.WriteString("a,b,c,n\n")
	for i := range 300 {
		switch i % 7 {
		case 0:
			fmt.Fprintf(&b, "ab\"c,x,\"q\nq\",%d\n", i)
		case 3:
			fmt.Fprintf(&b, "\"multi\r\nline\",y,z\"z,%d\n", i)
		default:
			fmt.Fprintf(&b, "p%d,q,r,%d\n", i, i)
		}
	}
	bare := filepath.Join(t.TempDir(), "bare.csv")
	if err := os.WriteFile(bare, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var pb strings.Builder // no quotes, CRs or blank lines: counted by the split's pre-pass
	pb.WriteString("a,b,c,n\n")
	for i := range 700 {
		fmt.Fprintf(&pb, "k%d,y,z,%d\n", i%13, i)
	}
	plain := filepath.Join(t.TempDir(), "plain.csv")
	if err := os.WriteFile(plain, []byte(pb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	gz, _ := gzipped(t, mixed, "mixed.csv.gz")
	return []string{lf, gz, crlf, bare, plain, mixed}
}

// unitSetup is unitInputs of seed (a, b) and a config of workers over
// 1 KiB partitions, several inside each unit.
func unitSetup(t *testing.T, a, b uint64, workers int) ([]string, Config) {
	t.Helper()
	paths := unitInputs(t, rand.New(rand.NewPCG(a, b)))
	cfg := DefaultConfig()
	cfg.Workers = workers
	cfg.Blocksize = 1 << 10
	return paths, cfg
}

// layoutOf opens paths with cfg and returns their layout.
func layoutOf(t *testing.T, cfg Config, paths []string, blocksize int64) []Unit {
	t.Helper()
	ds, err := Open(context.Background(), &cfg, paths)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	units, err := ds.Layout(context.Background(), blocksize)
	if err != nil {
		t.Fatal(err)
	}
	return units
}

// rowsWith runs build over paths reading only units (nil: all).
func rowsWith(t *testing.T, cfg Config, paths []string, units []Unit, build func(scan plan.Node) plan.Node) []string {
	t.Helper()
	cfg.Units = units
	ds, in := openTyped(t, &cfg, paths)
	defer ds.Close()
	rows, _ := runRows(t, ds, plan.Optimize(build(plan.NewScan(paths, in))))
	return rows
}

func TestUnitsShards(t *testing.T) {
	paths, cfg := unitSetup(t, 31, 32, 3)
	units := layoutOf(t, cfg, paths, 2<<10)

	// The layout does not depend on the process's workers or blocksize.
	for _, w := range []int{1, 2, 7} {
		for _, bs := range []int64{0, 1 << 10, 5 << 10} {
			c := DefaultConfig()
			c.Workers, c.Blocksize = w, bs
			if got := layoutOf(t, c, paths, 2<<10); !reflect.DeepEqual(got, units) {
				t.Fatalf("workers %d blocksize %d: layout differs:\n%v\n%v", w, bs, got, units)
			}
		}
	}
	checkCoverage(t, cfg, paths, units)

	filter := func(s plan.Node) plan.Node { return plan.NewFilter(s, mustPred(t, "n > 100", s.Schema())) }
	scan := func(s plan.Node) plan.Node { return s }
	count := func(s plan.Node) plan.Node { return plan.NewCount(s) }
	groups := func(s plan.Node) plan.Node { return groupByNode(t, s, []string{"a"}, []string{"count:"}) }
	header := "a,b,c,n\n"
	for _, build := range []func(plan.Node) plan.Node{filter, scan} {
		local, err := runOutput(t, cfg, paths, "csv", build)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 2, 3, 7} {
			var cat strings.Builder
			cat.WriteString(header)
			for i := range n {
				c := cfg
				c.Units = ShardUnits(units, i, n)
				out, err := runOutput(t, c, paths, "csv", build)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(out, header) {
					t.Fatalf("shard %d/%d: output %q", i, n, out[:min(len(out), 40)])
				}
				cat.WriteString(out[len(header):])
			}
			if cat.String() != local {
				t.Fatalf("%d shards: concatenated output (%d bytes) differs from the local run's (%d bytes)", n, cat.Len(), len(local))
			}
		}
	}
	localCount := rowsWith(t, cfg, paths, nil, count)
	localGroups := rowsWith(t, cfg, paths, nil, groups)
	for _, n := range []int{1, 2, 3, 7} {
		sum := int64(0)
		perKey := map[string]int64{}
		for i := range n {
			part := ShardUnits(units, i, n)
			c, _ := strconv.ParseInt(rowsWith(t, cfg, paths, part, count)[0], 10, 64)
			sum += c
			for _, row := range rowsWith(t, cfg, paths, part, groups) {
				k, v, _ := strings.Cut(row, "|")
				x, _ := strconv.ParseInt(v, 10, 64)
				perKey[k] += x
			}
		}
		if want := localCount[0]; strconv.FormatInt(sum, 10) != want {
			t.Fatalf("%d shards: counts sum to %d, the local count is %s", n, sum, want)
		}
		var got []string
		for k, v := range perKey {
			got = append(got, k+"|"+strconv.FormatInt(v, 10))
		}
		want := slices.Clone(localGroups)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("%d shards: group counts\n%v\nlocal\n%v", n, got, want)
		}
	}
}

// checkCoverage checks that units cover every input's data exactly, in
// order: a stream is one whole unit, and a file's units are contiguous
// from its data's start to its end.
func checkCoverage(t *testing.T, cfg Config, paths []string, units []Unit) {
	t.Helper()
	ds, err := Open(context.Background(), &cfg, paths)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	k := 0
	for i, s := range ds.inputs {
		if s.chunker != nil {
			if k >= len(units) || units[k] != (Unit{Input: i, Start: 0, End: -1, Line: s.header.DataLine}) {
				t.Fatalf("input %d: stream unit %v", i, units[k:])
			}
			k++
			continue
		}
		at, n := s.header.DataStart, 0
		for ; k < len(units) && units[k].Input == i; k++ {
			if units[k].Start != at || units[k].End <= at {
				t.Fatalf("input %d: unit %v after %d", i, units[k], at)
			}
			at = units[k].End
			n++
		}
		if at != s.in.Size {
			t.Fatalf("input %d: units end at %d, not at %d", i, at, s.in.Size)
		}
		if strings.HasSuffix(paths[i], "bare.csv") && n != 1 {
			t.Fatalf("a file with quotes in unquoted fields is %d units, not one", n)
		} else if !strings.HasSuffix(paths[i], "bare.csv") && n < 3 {
			t.Fatalf("input %d: %d units, want several", i, n)
		}
	}
	if k != len(units) {
		t.Fatalf("%d units past the inputs", len(units)-k)
	}
}

// TestUnitsBadRow puts a bad row (a non-number where one is needed, a
// short record) in one shard: that shard reports it at the local run's
// file:line:column, the others read clean.
func TestUnitsBadRow(t *testing.T) {
	for _, bad := range []string{"x,y,z,abc", "x,y"} {
		var b strings.Builder
		b.WriteString("a,b,c,n\r\n")
		for i := range 600 {
			if i == 437 {
				b.WriteString(bad + "\n")
				continue
			}
			if i%5 == 0 {
				fmt.Fprintf(&b, "\"two\nlines\",\"cr\rlf\r\n\",c,%d\r\n", i)
			} else {
				fmt.Fprintf(&b, "a%d,b,c,%d\n", i, i)
			}
			if i%9 == 0 {
				b.WriteString("\n")
			}
		}
		path := filepath.Join(t.TempDir(), "bad.csv")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Blocksize = 1 << 10
		cfg.SampleBytes = 1 << 10 // the bad row is past the type sample: n is a number
		units := layoutOf(t, cfg, []string{path}, 2<<10)
		build := func(s plan.Node) plan.Node { return plan.NewFilter(s, mustPred(t, "n > 100", s.Schema())) }
		_, localErr := runOutput(t, cfg, []string{path}, "csv", build)
		if localErr == nil {
			t.Fatalf("%q: no error from the local run", bad)
		}
		for _, n := range []int{2, 3, 7} {
			failed := 0
			for i := range n {
				c := cfg
				c.Units = ShardUnits(units, i, n)
				for _, w := range []int{1, 4} {
					c.Workers = w
					_, err := runOutput(t, c, []string{path}, "csv", build)
					if err == nil {
						continue
					}
					if err.Error() != localErr.Error() {
						t.Fatalf("%q shard %d/%d: %v, the local run: %v", bad, i, n, err, localErr)
					}
					failed++
				}
			}
			if failed != 2 {
				t.Fatalf("%q %d shards: %d shard runs failed, want one shard (twice)", bad, n, failed)
			}
		}
		t.Logf("%q: %v", bad, localErr)
	}
}

// openTyped opens paths under cfg with the schema of their type sample;
// the caller closes the dataset.
func openTyped(t *testing.T, cfg *Config, paths []string) (*Dataset, plan.Schema) {
	t.Helper()
	ds, err := Open(context.Background(), cfg, paths)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ds.Schema()
	if err != nil {
		ds.Close()
		t.Fatal(err)
	}
	return ds, in
}

// TestUnitsMismatch: a unit that does not end at a record end (a layout
// of another file) is an error naming it, never rows read twice or lost.
func TestUnitsMismatch(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b,c,n\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "k%d,\"x\ny\",z,%d\n", i%7, i)
	}
	path := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Workers = 2
	cfg.Blocksize = 1 << 10
	units := layoutOf(t, cfg, []string{path}, 4<<10)
	if len(units) < 3 {
		t.Fatalf("want several units, got %v", units)
	}
	// Unit 1 ends 5 bytes early: inside a record.
	bad := slices.Clone(units[:2])
	bad[1].End -= 5
	cfg.Units = bad
	ds, in := openTyped(t, &cfg, []string{path})
	defer ds.Close()
	for _, root := range []plan.Node{plan.NewCount(plan.NewScan([]string{path}, in)), groupByNode(t, plan.NewScan([]string{path}, in), []string{"a"}, []string{"count:"})} {
		_, _, err := tryRows(ds, plan.Optimize(root))
		if err == nil || !strings.Contains(err.Error(), "the layout does not match the file") {
			t.Fatalf("%s: err %v, want the layout mismatch", root, err)
		}
	}
}

// TestLineLayout: cuts guessed at line ends are Layout's wherever no
// quoted field spans one, and a unit's scan proves or refutes its end: a
// unit that starts at a record start reads clean exactly when it ends at
// one, so shards of a LineLayout that all read clean read the local run's
// records.
func TestLineLayout(t *testing.T) {
	paths, cfg := unitSetup(t, 41, 42, 2)
	const bs = 2 << 10
	exact := layoutOf(t, cfg, paths, bs)
	ds, err := Open(context.Background(), &cfg, paths)
	if err != nil {
		t.Fatal(err)
	}
	guessed, err := ds.LineLayout(context.Background(), bs)
	ds.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkCoverage(t, cfg, paths[:3], guessed[:unitsOf(guessed, 3)])
	starts := map[[2]int64]bool{} // the exact record starts, and each file's end
	for _, u := range exact {
		starts[[2]int64{int64(u.Input), u.Start}] = true
		starts[[2]int64{int64(u.Input), u.End}] = true
	}
	// Every scan path: count's, an unordered one (groupby) and an ordered
	// one (rows out in order).
	plans := map[string]func(plan.Node) plan.Node{
		"count":   func(s plan.Node) plan.Node { return plan.NewCount(s) },
		"groupby": func(s plan.Node) plan.Node { return groupByNode(t, s, []string{"a"}, []string{"count:"}) },
		"rows":    func(s plan.Node) plan.Node { return s },
	}
	wrong := 0 // guessed units that end inside a record
	for k, u := range guessed {
		first := k == 0 || guessed[k-1].Input != u.Input
		if first != (u.Line != 0) {
			t.Fatalf("unit %v: a file's first unit has its line, the others 0", u)
		}
		if strings.HasSuffix(paths[u.Input], "plain.csv") && !starts[[2]int64{int64(u.Input), u.End}] {
			t.Fatalf("plain.csv: guessed cut %d is not an exact one", u.End)
		}
		if u.End < 0 || !starts[[2]int64{int64(u.Input), u.Start}] || strings.HasSuffix(paths[u.Input], "bare.csv") {
			continue // a stream; a start inside a record; a file of one exact unit
		}
		ok := starts[[2]int64{int64(u.Input), u.End}]
		if !ok {
			wrong++
		}
		for name, build := range plans {
			c := cfg
			c.Units = []Unit{u}
			_, err := runOutput(t, c, paths, "csv", build)
			switch {
			case !ok && err == nil:
				t.Fatalf("%s: unit %v ends inside a record, and read clean", name, u)
			case !ok && !errors.Is(err, ErrUnitMismatch):
				t.Fatalf("%s: unit %v: %v", name, u, err)
			case ok && err != nil:
				t.Fatalf("%s: unit %v: %v", name, u, err)
			}
		}
	}
	if wrong == 0 {
		t.Fatal("no guessed cut is inside a record: the test cuts no quoted line end")
	}
}

// unitsOf is the number of units of the first n inputs.
func unitsOf(units []Unit, n int) int {
	return slices.IndexFunc(units, func(u Unit) bool { return u.Input >= n })
}
