package hashagg

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// The hashes are part of the state format: shards and their merge, maybe
// different builds of gdask, must put a key in the same partition. A
// change of these values is a change of cluster.Version.
func TestHashBytesStable(t *testing.T) {
	seed := newHashSeed(0x67646173_6b736864)
	for _, c := range []struct {
		key  string
		want uint64
	}{
		{"", 0x504228378d309517}, {"a", 0x3985c815f40dd994}, {"k1065668", 0x1ca62cdc83d5696b},
		{"some-category-name-x", 0xdfd24215079ad6a1}, {strings.Repeat("0123456789", 7), 0xc5f51c3fdead1085},
	} {
		if got := hashBytes(seed, []byte(c.key)); got != c.want {
			t.Errorf("hash of %q = %#x, want %#x", c.key, got, c.want)
		}
	}
}

const testShardSeed = 0x5eed

// countSum is the plan "count and sum of v by k" over rows (k string, v int).
func countSum(t *testing.T) *plan.Aggregate {
	t.Helper()
	in := plan.Schema{{Name: "k", Type: plan.String}, {Name: "v", Type: plan.Int}}
	a, err := plan.NewAggregate(plan.NewScan([]string{"t"}, in), []int{0},
		[]plan.AggFunc{{Kind: plan.AggCount, Col: -1, Name: "n"}, {Kind: plan.AggSum, Col: 1, Name: "s"}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func testEnv(t *testing.T, limit int64, seed uint64) *exec.Env {
	return &exec.Env{Workers: 2, Broker: exec.NewBroker(limit, nil), Events: exec.NoEvents{},
		Temp: exec.NewTempDir(nil, t.TempDir(), nil), HashSeed: seed}
}

// shardBody groups rows (key, value) as a shard does and returns its
// States.
func shardBody(t *testing.T, pa *plan.Aggregate, seed uint64, keys []string, vals []int64) []byte {
	t.Helper()
	b, _, _ := shardBodyPassing(t, pa, seed, keys, vals, false, 1<<30)
	return b
}

// shardBodyPassing is shardBody under a memory limit, with the
// pass-through on when pass is set; it reports whether the shard passed
// rows through, and its Stats.
func shardBodyPassing(t *testing.T, pa *plan.Aggregate, seed uint64, keys []string, vals []int64, pass bool, limit int64) ([]byte, bool, Stats) {
	t.Helper()
	a, err := New(testEnv(t, limit, seed), 0, pa)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var progress func() float64
	if pass {
		progress = func() float64 { return float64(a.RowsIn()) / float64(len(keys)) }
	}
	a.WritesStates(&out, progress)
	var b exec.Batch
	var kc, vc plan.Vector
	for lo := 0; lo < len(keys); lo += plan.BatchSize {
		hi := min(lo+plan.BatchSize, len(keys))
		b.Reset(2)
		kc.Reset(plan.String, hi-lo)
		vc.Reset(plan.Int, hi-lo)
		for r := lo; r < hi; r++ {
			kc.Strs[r-lo] = []byte(keys[r])
			vc.Ints[r-lo] = vals[r]
		}
		b.N, b.Cols[0], b.Cols[1] = hi-lo, &kc, &vc
		if err := a.Consume(lo/plan.BatchSize%2, 0, &b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Finish(context.Background()); err != nil {
		t.Fatal(err)
	}
	passed := a.pass.passing.Load()
	if err := a.States(context.Background()); err != nil {
		t.Fatal(err)
	}
	stats := a.Stats()
	a.Close()
	return out.Bytes(), passed, stats
}

// memBody is a shard's body in memory, as a merge reads it. reread, if
// set, may change what ReadAt reads.
type memBody struct {
	*bytes.Reader
	reread func(p []byte)
}

func newMemBody(b []byte, reread func(p []byte)) *memBody {
	return &memBody{Reader: bytes.NewReader(b), reread: reread}
}

func (m *memBody) Offset() int64 { return m.Size() - int64(m.Len()) }

func (m *memBody) ReadAt(p []byte, off int64) (int, error) {
	n, err := m.Reader.ReadAt(p, off)
	if m.reread != nil {
		m.reread(p[:n])
	}
	return n, err
}

// mergeBodies merges shard bodies as gdask merge does and returns each
// key's "count sum".
func mergeBodies(t *testing.T, pa *plan.Aggregate, env *exec.Env, bodies [][]byte) (map[string]string, *Aggregate, error) {
	t.Helper()
	rs := make([]ShardReader, len(bodies))
	for i, b := range bodies {
		rs[i] = newMemBody(b, nil)
	}
	return mergeReaders(t, pa, env, rs)
}

// mergeReaders is mergeBodies over the bodies' readers.
func mergeReaders(t *testing.T, pa *plan.Aggregate, env *exec.Env, rs []ShardReader) (map[string]string, *Aggregate, error) {
	t.Helper()
	a, err := New(env, 0, pa)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	bad := func(i int, what string) error { return fmt.Errorf("shard %d: %s", i, what) }
	if err := a.LoadShards(context.Background(), rs, bad); err != nil {
		return nil, a, err
	}
	src, err := a.Finish(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = exec.Parallel(context.Background(), env.Workers, src.Morsels(), func(ctx context.Context, w, m int) error {
		return src.Run(ctx, w, m, func(b *exec.Batch) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			for r := range b.N {
				k := string(b.Cols[0].Strs[r])
				if _, dup := got[k]; dup {
					return fmt.Errorf("key %q comes twice", k)
				}
				got[k] = fmt.Sprint(b.Cols[1].Ints[r], b.Cols[2].Ints[r])
			}
			return nil
		})
	})
	return got, a, err
}

// checkCountSums fails t unless got (mergeBodies') holds each key of want
// with its count and sum, and no other.
func checkCountSums(t *testing.T, got map[string]string, want map[string][2]int64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != fmt.Sprint(w[0], w[1]) {
			t.Fatalf("key %q: %s, want %d %d", k, got[k], w[0], w[1])
		}
	}
}

// A merge of shards' states is every key's count and sum over all of the
// shards' rows: with memory to spare; with more states than memory (the
// merge holds none of them: it reads them again a partition at a time);
// and with a partition too big for a worker's table, cut again.
func TestShardStatesMerge(t *testing.T) {
	pa := countSum(t)
	r := rand.New(rand.NewPCG(1, 2))
	seed := newHashSeed(testShardSeed)
	for _, c := range []struct {
		name  string
		keys  func() []string
		limit int64
	}{
		{"memory to spare", func() []string { return randKeys(r, 30_000, false, all) }, 1 << 30},
		{"states beyond memory", func() []string { return randKeys(r, 160_000, false, all) }, 8 << 20},
		// Long keys, all in partition 3: the partition's table outgrows
		// a worker's share of 8 MB.
		{"partition cut", func() []string {
			return randKeys(r, 8_000, true, func(k []byte) bool { return shardPart(hashBytes(seed, k)) == 3 })
		}, 8 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			distinct := c.keys()
			want := map[string][2]int64{}
			var bodies [][]byte
			for range 3 {
				keys, vals := randRows(r, distinct, 2*len(distinct), want)
				bodies = append(bodies, shardBody(t, pa, testShardSeed, keys, vals))
			}
			got, a, err := mergeBodies(t, pa, testEnv(t, c.limit, testShardSeed), bodies)
			if err != nil {
				t.Fatal(err)
			}
			checkCountSums(t, got, want)
			size := 0
			for _, b := range bodies {
				size += len(b)
			}
			cuts := a.Stats().Repartitions
			switch c.name {
			case "memory to spare":
				if cuts != 0 {
					t.Errorf("%d partitions cut: want none", cuts)
				}
			case "states beyond memory":
				if int64(size) <= c.limit {
					t.Errorf("%d bytes of states under a limit of %d: the case no longer tests more states than memory", size, c.limit)
				}
			case "partition cut":
				if cuts == 0 {
					t.Error("no partition was cut: the case no longer tests it")
				}
			}
		})
	}
}

// randKeys returns n distinct keys that keep says to keep; long (400
// bytes) when long is set, so few of them fill a table.
func randKeys(r *rand.Rand, n int, long bool, keep func([]byte) bool) []string {
	var pad []byte
	if long {
		pad = bytes.Repeat([]byte("x"), 400)
	}
	seen := map[string]bool{}
	var keys []string
	var k []byte
	for len(keys) < n {
		k = append(strconv.AppendUint(append(k[:0], "key"...), r.Uint64(), 10), pad...)
		if keep(k) && !seen[string(k)] {
			seen[string(k)] = true
			keys = append(keys, string(k))
		}
	}
	return keys
}

func all([]byte) bool { return true }

// randRows returns n rows (key, value) with keys drawn from distinct, and
// adds each row to its key's count and sum in want.
func randRows(r *rand.Rand, distinct []string, n int, want map[string][2]int64) ([]string, []int64) {
	keys, vals := make([]string, n), make([]int64, n)
	for i := range n {
		keys[i], vals[i] = distinct[r.IntN(len(distinct))], r.Int64N(1000)
		w := want[keys[i]]
		want[keys[i]] = [2]int64{w[0] + 1, w[1] + vals[i]}
	}
	return keys, vals
}

// A merge refuses states it cannot have been given by a shard of its own
// plan: groups made with another seed are in other partitions (merged,
// a key would come out twice).
func TestShardStatesRefused(t *testing.T) {
	pa := countSum(t)
	r := rand.New(rand.NewPCG(3, 4))
	keys := randKeys(r, 5_000, false, all)
	vals := make([]int64, len(keys))
	other := shardBody(t, pa, testShardSeed+1, keys, vals)
	if _, _, err := mergeBodies(t, pa, testEnv(t, 1<<30, testShardSeed), [][]byte{other}); err == nil ||
		!strings.Contains(err.Error(), "shard 0: its groups are not in this gdask's partitions") {
		t.Errorf("another seed: %v", err)
	}
}

// A segment of a shard's states that reads otherwise when it is merged
// than when it was indexed is refused, not merged.
func TestShardStatesChanged(t *testing.T) {
	pa := countSum(t)
	r := rand.New(rand.NewPCG(5, 6))
	keys := randKeys(r, 5_000, false, all)
	vals := make([]int64, len(keys))
	body := shardBody(t, pa, testShardSeed, keys, vals)
	flip := func(p []byte) {
		if len(p) > 100 {
			p[100] ^= 1
		}
	}
	_, _, err := mergeReaders(t, pa, testEnv(t, 1<<30, testShardSeed), []ShardReader{newMemBody(body, flip)})
	if err == nil || !strings.Contains(err.Error(), "shard 0: its state file changed while it was merged") {
		t.Errorf("a segment changed: %v", err)
	}
}

// passEarly makes shards decide whether to pass rows through after 4096
// rows, and join the shared parts after 768 groups, until t ends.
func passEarly(t *testing.T) {
	savedAfter, savedSlots := PassThroughAfter, CachedSlots
	PassThroughAfter, CachedSlots = 4096, 1<<10
	t.Cleanup(func() { PassThroughAfter, CachedSlots = savedAfter, savedSlots })
}

// A shard that meets nearly as many keys as rows passes its rows through
// once it has seen PassThroughAfter of them, and the merge still gives
// every key's count and sum; a shard whose keys come back often enough
// keeps grouping.
func TestShardPassThrough(t *testing.T) {
	passEarly(t)
	pa := countSum(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		keys, rows int
		pass       bool
	}{
		{keys: 200_000, rows: 40_000, pass: true},  // a shard of 40K rows meets 36K keys
		{keys: 10_000, rows: 100_000, pass: false}, // each key 10 times: group
	} {
		distinct := randKeys(r, c.keys, false, all)
		want := map[string][2]int64{}
		var bodies [][]byte
		for range 3 {
			keys, vals := randRows(r, distinct, c.rows, want)
			body, passed, _ := shardBodyPassing(t, pa, testShardSeed, keys, vals, true, 1<<30)
			if passed != c.pass {
				t.Fatalf("%d keys, %d rows a shard: passed through %v, want %v", c.keys, c.rows, passed, c.pass)
			}
			bodies = append(bodies, body)
		}
		got, _, err := mergeBodies(t, pa, testEnv(t, 1<<30, testShardSeed), bodies)
		if err != nil {
			t.Fatal(err)
		}
		checkCountSums(t, got, want)
	}
}

// A shard that passes rows through under a tight memory limit stops
// passing when the broker will not lend for its workers' partition
// buffers, groups the rest, spills
// its groups, and writes both; the merge gives every key's count and sum.
func TestShardPassThroughSpills(t *testing.T) {
	passEarly(t)
	pa := countSum(t)
	r := rand.New(rand.NewPCG(7, 8))
	distinct := randKeys(r, 400_000, false, all)
	want := map[string][2]int64{}
	var bodies [][]byte
	for range 2 {
		keys, vals := randRows(r, distinct, 200_000, want)
		body, passed, stats := shardBodyPassing(t, pa, testShardSeed, keys, vals, true, 8<<20)
		if !passed || stats.PassedRows == 0 {
			t.Fatal("the shard did not pass rows through: the test no longer tests it")
		}
		if stats.PassedRows > int64(len(keys))/2 {
			t.Fatalf("the shard passed %d of %d rows: it never ran out of memory to pass them, and the test no longer tests that", stats.PassedRows, len(keys))
		}
		if stats.SpilledRuns == 0 {
			t.Fatal("the shard did not spill: the test no longer tests a spilled shard that passed rows")
		}
		bodies = append(bodies, body)
	}
	got, _, err := mergeBodies(t, pa, testEnv(t, 1<<30, testShardSeed), bodies)
	if err != nil {
		t.Fatal(err)
	}
	checkCountSums(t, got, want)
}

func TestWorthPassing(t *testing.T) {
	for _, c := range []struct {
		r, d, total float64
		want        bool
	}{
		{1000, 1000, 1e6, true},            // no key twice yet
		{2e6, 1.65e6, 5e6, true},           // 5M keys, a shard of 5M rows: 3.2M groups
		{2e6, 1.26e6, 25e6, false},         // 2M keys, a shard of 25M rows: 2M groups
		{262144, 226000, 25e6, false},      // 1M keys, early: the shard's 25M rows make 1M groups
		{262144, 262000, 262144 * 4, true}, // nearly all distinct, a shard 4 times as big
	} {
		if got := worthPassing(c.r, c.d, c.total); got != c.want {
			t.Errorf("worthPassing(%g rows, %g groups, %g in all) = %v, want %v", c.r, c.d, c.total, got, c.want)
		}
	}
}
