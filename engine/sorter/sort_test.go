package sorter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

func testEnv(t *testing.T, workers int, memory int64) *exec.Env {
	return &exec.Env{Workers: workers, Broker: exec.NewBroker(memory, nil), Events: exec.NoEvents{}, Temp: exec.NewTempDir(nil, t.TempDir(), nil)}
}

// intBatch is a batch of one Int column k and one String column s.
func intBatch(ks []int64) *exec.Batch {
	k, s := &plan.Vector{}, &plan.Vector{}
	k.Reset(plan.Int, len(ks))
	s.Reset(plan.String, len(ks))
	for i, v := range ks {
		k.Ints[i] = v
		s.Strs[i] = []byte(fmt.Sprint("s", v))
	}
	b := &exec.Batch{}
	b.N = len(ks)
	b.Cols = []*plan.Vector{k, s}
	return b
}

var sortSchema = plan.Schema{{Name: "k", Type: plan.Int}, {Name: "s", Type: plan.String}}

// sortAll sorts values spread over morsels (each morsel's batches pushed
// by worker morsel%workers) and returns the k column in the order the
// source gives, and whether the sort spilled.
func sortAll(t *testing.T, env *exec.Env, vals []int64, morsels int, keys []plan.SortKey, topN int64) ([]int64, bool) {
	t.Helper()
	s := NewSort(env, 0, Spec{Keys: keys, TopN: topN})
	defer s.Close()
	per := (len(vals) + morsels - 1) / morsels
	for m := range morsels {
		part := vals[min(m*per, len(vals)):min((m+1)*per, len(vals))]
		for lo := 0; lo < len(part); lo += plan.BatchSize {
			if err := s.Consume(m%env.Workers, m, intBatch(part[lo:min(lo+plan.BatchSize, len(part))])); err != nil {
				t.Fatal(err)
			}
			if topN > 0 {
				if r := s.cur[m%env.Workers]; r != nil && int64(len(r.keys)) > 2*topN+2*plan.BatchSize {
					t.Fatalf("top %d: a run holds %d rows", topN, len(r.keys))
				}
			}
		}
		if err := s.EndMorsel(m%env.Workers, m); err != nil {
			t.Fatal(err)
		}
	}
	src, err := s.Finish(sortSchema)
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	err = src.Run(context.Background(), 0, 0, func(b *exec.Batch) error {
		for r := range b.N {
			if string(b.Cols[1].Strs[r]) != fmt.Sprint("s", b.Cols[0].Ints[r]) {
				t.Fatalf("row %d: k %d with s %q", r, b.Cols[0].Ints[r], b.Cols[1].Strs[r])
			}
			got = append(got, b.Cols[0].Ints[r])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, s.Spilled()
}

// The sort orders rows from any number of morsels, in memory and, when the
// broker will not lend enough, through the external sort; a top-N keeps
// each run to a bound and gives the first N.
func TestSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := make([]int64, 60_000)
	for i := range vals {
		vals[i] = r.Int64N(20_000) - 10_000
	}
	asc := slices.Clone(vals)
	slices.Sort(asc)
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	for _, tc := range []struct {
		name    string
		memory  int64
		morsels int
		keys    []plan.SortKey
		topN    int64
		want    []int64
		spill   bool
	}{
		{"one morsel", 1 << 30, 1, []plan.SortKey{{Col: 0}}, 0, asc, false},
		{"16 morsels", 1 << 30, 16, []plan.SortKey{{Col: 0}}, 0, asc, false},
		{"desc", 1 << 30, 5, []plan.SortKey{{Col: 0, Desc: true}}, 0, desc, false},
		{"spilled", 4 << 20, 40, []plan.SortKey{{Col: 0}}, 0, asc, true},
		{"top 7", 1 << 30, 3, []plan.SortKey{{Col: 0}}, 7, asc[:7], false},
		{"top 2000 desc", 1 << 30, 9, []plan.SortKey{{Col: 0, Desc: true}}, 2000, desc[:2000], false},
	} {
		env := testEnv(t, 3, tc.memory)
		got, spilled := sortAll(t, env, vals, tc.morsels, tc.keys, tc.topN)
		if tc.topN > 0 && int64(len(got)) > tc.topN*int64(env.Workers) {
			t.Errorf("%s: %d rows from %d workers' runs of top %d", tc.name, len(got), env.Workers, tc.topN)
		}
		if tc.topN > 0 {
			got = got[:min(len(got), int(tc.topN))]
		}
		if !slices.Equal(got, tc.want) || spilled != tc.spill {
			t.Errorf("%s: %d rows, in order %v, spilled %v (want %v)", tc.name, len(got), slices.Equal(got, tc.want), spilled, tc.spill)
		}
	}
}

// A push that fails stops the source at once, with its error, and leaves
// no goroutine behind (a hang fails the test).
func TestSortStopsOnError(t *testing.T) {
	env := testEnv(t, 2, 1<<30)
	s := NewSort(env, 0, Spec{Keys: []plan.SortKey{{Col: 0}}})
	defer s.Close()
	vals := make([]int64, 50_000)
	for i := range vals {
		vals[i] = int64(len(vals) - i)
	}
	for m := range 4 {
		for lo := m * 12500; lo < (m+1)*12500; lo += plan.BatchSize {
			s.Consume(0, m, intBatch(vals[lo:min(lo+plan.BatchSize, (m+1)*12500)]))
		}
		s.EndMorsel(0, m)
	}
	src, err := s.Finish(sortSchema)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	batches := 0
	err = src.Run(context.Background(), 0, 0, func(*exec.Batch) error {
		if batches++; batches == 3 {
			return stop
		}
		return nil
	})
	if err != stop || batches != 3 {
		t.Fatalf("err %v after %d batches", err, batches)
	}
}

// A finished run counts as the rows it holds: once a morsel's run is
// compacted, the Sort's memory is its runs' rows, not the keys and arena
// they were sorted in (which go to the worker's next run).
func TestSortCountsFinishedRuns(t *testing.T) {
	env := testEnv(t, 2, 1<<30)
	s := NewSort(env, 0, Spec{Keys: []plan.SortKey{{Col: 0}}})
	defer s.Close()
	r := rand.New(rand.NewPCG(11, 12))
	for m := range 6 {
		vals := make([]int64, 5000+r.IntN(5000))
		for i := range vals {
			vals[i] = r.Int64N(1 << 40)
		}
		for lo := 0; lo < len(vals); lo += plan.BatchSize {
			if err := s.Consume(m%2, m, intBatch(vals[lo:min(lo+plan.BatchSize, len(vals))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.EndMorsel(m%2, m); err != nil {
			t.Fatal(err)
		}
		var want int64
		for _, run := range s.done {
			if run.keys != nil {
				t.Fatalf("morsel %d: a finished run kept its keys", m)
			}
			want += run.memBytes()
		}
		if got := s.mem.Load(); got != want {
			t.Fatalf("after morsel %d: the Sort counts %d bytes, its runs hold %d", m, got, want)
		}
	}
}
