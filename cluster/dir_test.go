package cluster

import (
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestStatusMix looks at a directory of 10 shards where each shard stands
// differently.
func TestStatusMix(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	dir := t.TempDir()
	const n = 10
	other := sha256.Sum256([]byte("another plan"))
	write := func(plan [32]byte, i, n int) string {
		return writeState(t, rng, dir, plan, i, n, AggregateStates, DefaultBlockSize, randBytes(rng, 600000), testUnits)
	}
	write(testPlan, 0, n) // done
	write(testPlan, 1, n) // done
	// 2: missing, with no trace
	// 3: missing, with a temp file of a writer
	w, _ := Create(dir, testPlan, 3, n, AggregateStates)
	w.Write([]byte("running"))
	defer w.Abort()
	// 4: truncated
	p := write(testPlan, 4, n)
	os.Truncate(p, 1000)
	// 5: a bit flipped in the body: done unless bodies are verified
	p = write(testPlan, 5, n)
	f, _ := os.ReadFile(p)
	f[prologueLen+300000] ^= 4
	os.WriteFile(p, f, 0o666)
	// 6: another plan's
	write(other, 6, n)
	// 7: shard 7 of 12 renamed as shard 7 of 10
	os.Rename(write(testPlan, 7, 12), Path(dir, 7, n))
	// 8: shard 9's file renamed as shard 8's
	os.Rename(write(testPlan, 9, n), Path(dir, 8, n))
	// 9: not a state file
	os.WriteFile(Path(dir, 9, n), []byte("k,mean\na,1.5\n"), 0o666)
	// Strays: shards of a run of 4 shards, and files that are no shard's.
	write(testPlan, 2, 4)
	write(other, 3, 4)
	os.WriteFile(filepath.Join(dir, "plan.json"), []byte("{}"), 0o666)
	os.WriteFile(filepath.Join(dir, "shard-2-of-10.state"), nil, 0o666)

	type want struct {
		state ShardState
		kind  error
		msg   string
	}
	name := func(i int) string { return Path(dir, i, n) }
	wants := []want{
		{Done, nil, ""},
		{Done, nil, ""},
		{Missing, ErrMissing, name(2) + ": missing (run shard 2/10)"},
		{Missing, ErrMissing, name(3) + ": missing: a temp file shows the shard running, or killed before it finished (run shard 3/10 if it is not running)"},
		{Invalid, ErrTruncated, name(4) + ": truncated: 1000 bytes of 600204 (run shard 4/10 again)"},
		{Done, nil, ""},
		{Invalid, ErrForeignPlan, name(6) + ": written for another plan: its plan hash is " + shortHash(other) + "..., this merge's is " + shortHash(testPlan) + "... (run shard 6/10 again for this plan, or merge the directory of its plan)"},
		{Invalid, ErrShardCount, name(7) + ": written for another shard count: it holds shard 7/12, this merge has 10 shards (run shard 7/10 again)"},
		{Invalid, ErrWrongShard, name(8) + ": holds another shard: it holds shard 9/10 (run shard 8/10 again)"},
		{Invalid, ErrNotState, name(9) + ": not a gdask state file (remove it and run shard 9/10 again)"},
	}
	for _, verify := range []bool{false, true} {
		if verify {
			wants[5] = want{Invalid, ErrCorrupt, name(5) + ": corrupt: body block 1 (body bytes 262144 to 524288) does not match its checksum (run shard 5/10 again)"}
		}
		rep, err := Status(dir, n, testPlan, func(int) []Unit { return testUnits }, verify)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range wants {
			sh := rep.Shards[i]
			if sh.Shard != i || sh.Shards != n || sh.Path != name(i) || sh.State != w.state {
				t.Errorf("verify %v, shard %d: %+v, want %v", verify, i, sh, w.state)
				continue
			}
			if w.kind == nil {
				if sh.Err != nil || sh.Header == nil || sh.Header.Shard != i {
					t.Errorf("verify %v, shard %d: done with %v, header %v", verify, i, sh.Err, sh.Header)
				}
				continue
			}
			if !errors.Is(sh.Err, w.kind) || sh.Err.Error() != w.msg {
				t.Errorf("verify %v, shard %d:\n got %v\nwant %s", verify, i, sh.Err, w.msg)
			}
		}
		if len(rep.Shards[3].Temp) != 1 || !strings.HasPrefix(filepath.Base(rep.Shards[3].Temp[0]), ".gdask-shard-0003-of-0010.state-") {
			t.Errorf("temp files of shard 3: %v", rep.Shards[3].Temp)
		}
		if len(rep.Stray) != 2 {
			t.Fatalf("strays: %+v", rep.Stray)
		}
		for k, s := range rep.Stray {
			want := Path(dir, 2+k, 4) + ": written for another shard count: a state file of 4 shards, this merge has 10 (remove it: it is another run's)"
			if s.State != Invalid || s.Shard != 2+k || s.Shards != 4 || s.Err.Error() != want {
				t.Errorf("stray %d: %+v\n got %v\nwant %s", k, s, s.Err, want)
			}
		}
		done, missing, invalid := []int{0, 1, 5}, []int{2, 3}, []int{4, 6, 7, 8, 9}
		if verify {
			done, invalid = []int{0, 1}, []int{4, 5, 6, 7, 8, 9}
		}
		if !slices.Equal(rep.Done(), done) || !slices.Equal(rep.Missing(), missing) || !slices.Equal(rep.Invalid(), invalid) {
			t.Errorf("verify %v: done %v missing %v invalid %v", verify, rep.Done(), rep.Missing(), rep.Invalid())
		}

		err = rep.Err()
		var de *DirError
		var first *Error
		if !errors.As(err, &de) || !errors.As(err, &first) || first != rep.Shards[2].Err {
			t.Fatalf("Err: %#v", err)
		}
		for _, kind := range []error{ErrMissing, ErrTruncated, ErrForeignPlan, ErrShardCount, ErrWrongShard, ErrNotState} {
			if !errors.Is(err, kind) {
				t.Errorf("Err is not %v", kind)
			}
		}
		if errors.Is(err, ErrCorrupt) != verify {
			t.Errorf("verify %v: Err is corrupt: %v", verify, !verify)
		}
		msg := name(2) + ": missing (run shard 2/10); and 8 more in " + dir + ": shard 3/10 missing, shard 4/10 truncated, shard 6/10 written for another plan, shard 7/10 written for another shard count, shard 8/10 holds another shard, shard 9/10 not a gdask state file, shard 2/4 written for another shard count, shard 3/4 written for another shard count"
		if verify {
			msg = name(2) + ": missing (run shard 2/10); and 9 more in " + dir + ": shard 3/10 missing, shard 4/10 truncated, shard 5/10 corrupt, shard 6/10 written for another plan, shard 7/10 written for another shard count, shard 8/10 holds another shard, shard 9/10 not a gdask state file, shard 2/4 written for another shard count, ..."
		}
		if err.Error() != msg {
			t.Errorf("verify %v: Err:\n got %s\nwant %s", verify, err, msg)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Err is more than a line")
		}
	}
}

func TestStatusComplete(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	dir := t.TempDir()
	for i := range 3 {
		writeState(t, rng, dir, testPlan, i, 3, Count, MinBlockSize, []byte("42"), []Unit{{i, 0, 100}})
	}
	for _, verify := range []bool{false, true} {
		rep, err := Status(dir, 3, testPlan, unitOf, verify)
		if err != nil || rep.Err() != nil || !slices.Equal(rep.Done(), []int{0, 1, 2}) || rep.Missing() != nil || rep.Invalid() != nil {
			t.Fatalf("verify %v: %v, %v", verify, err, rep.Err())
		}
	}
	// A merge with another N finds every shard missing and the three as
	// strays; with another plan, each one foreign.
	rep, _ := Status(dir, 4, testPlan, unitOf, false)
	if !slices.Equal(rep.Missing(), []int{0, 1, 2, 3}) || len(rep.Stray) != 3 || !errors.Is(rep.Err(), ErrShardCount) {
		t.Fatalf("N=4: %v", rep.Err())
	}
	rep, _ = Status(dir, 3, sha256.Sum256(nil), unitOf, false)
	if !slices.Equal(rep.Invalid(), []int{0, 1, 2}) || !errors.Is(rep.Err(), ErrForeignPlan) {
		t.Fatalf("another plan: %v", rep.Err())
	}
	// A plan that now cuts shard 1 otherwise: shard 1 is invalid, named
	// with what it read and what the plan gives it.
	rep, _ = Status(dir, 3, testPlan, func(i int) []Unit {
		if i == 1 {
			return []Unit{{1, 0, 90}, {1, 90, 120}}
		}
		return unitOf(i)
	}, true)
	want := Path(dir, 1, 3) + ": read other parts of the inputs: 1 units 2:[0,100), where the plan gives it 2 units 2:[0,90) 2:[90,120): the plan's cuts were made exact after it ran (run shard 1/3 again)"
	if !slices.Equal(rep.Invalid(), []int{1}) || !errors.Is(rep.Err(), ErrOtherUnits) || rep.Err().Error() != want {
		t.Fatalf("other units:\n got %v\nwant %s", rep.Err(), want)
	}
}

// unitOf is the units TestStatusComplete's shard i covers.
func unitOf(i int) []Unit { return []Unit{{i, 0, 100}} }

func TestStatusErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Status(filepath.Join(dir, "none"), 2, testPlan, unitOf, false); err == nil || err.Error() != "cannot read "+filepath.Join(dir, "none")+": no such file or directory" {
		t.Errorf("no dir: %v", err)
	}
	if _, err := Status(dir, 0, testPlan, unitOf, false); err == nil {
		t.Errorf("N=0: no error")
	}
}
