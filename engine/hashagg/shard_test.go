package hashagg

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
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
	a, err := New(testEnv(t, 1<<30, seed), 0, pa)
	if err != nil {
		t.Fatal(err)
	}
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
	var out bytes.Buffer
	if err := a.States(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	a.Close()
	return out.Bytes()
}

// mergeBodies merges shard bodies as gdask merge does and returns each
// key's "count sum".
func mergeBodies(t *testing.T, pa *plan.Aggregate, env *exec.Env, bodies [][]byte) (map[string]string, *Aggregate, error) {
	t.Helper()
	a, err := New(env, 0, pa)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	rs := make([]ShardReader, len(bodies))
	for i, b := range bodies {
		rs[i] = bufio.NewReader(bytes.NewReader(b))
	}
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

// A merge of shards' states is every key's count and sum over all of the
// shards' rows: with memory to spare; with the states in a spill file; and
// with a partition too big for a worker's table, cut again.
func TestShardStatesMerge(t *testing.T) {
	pa := countSum(t)
	r := rand.New(rand.NewPCG(1, 2))
	seed := newHashSeed(testShardSeed)
	for _, c := range []struct {
		name  string
		keys  func() []string
		limit int64
	}{
		{"in memory", func() []string { return randKeys(r, 30_000, false, all) }, 1 << 30},
		{"states spilled", func() []string { return randKeys(r, 80_000, false, all) }, 8 << 20},
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
				n := 2 * len(distinct)
				keys, vals := make([]string, n), make([]int64, n)
				for i := range n {
					keys[i], vals[i] = distinct[r.IntN(len(distinct))], r.Int64N(1000)
					w := want[keys[i]]
					want[keys[i]] = [2]int64{w[0] + 1, w[1] + vals[i]}
				}
				bodies = append(bodies, shardBody(t, pa, testShardSeed, keys, vals))
			}
			got, a, err := mergeBodies(t, pa, testEnv(t, c.limit, testShardSeed), bodies)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d groups, want %d", len(got), len(want))
			}
			for k, w := range want {
				if got[k] != fmt.Sprint(w[0], w[1]) {
					t.Fatalf("key %q: %s, want %d %d", k, got[k], w[0], w[1])
				}
			}
			blobs := 0
			for i := range a.shards {
				if a.shards[i].blob != nil {
					blobs++
				}
			}
			cuts := a.Stats().Repartitions
			switch c.name {
			case "in memory":
				if blobs+cuts != 0 {
					t.Errorf("%d shards' states in spill files, %d partitions cut: want none", blobs, cuts)
				}
			case "states spilled":
				if blobs == 0 {
					t.Error("no shard's states went to a spill file: the case no longer tests it")
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

// A merge refuses states it cannot have been given by a shard of its own
// plan: groups made with another seed are in other partitions (merged,
// a key would come out twice), and partitions out of order.
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
	// Two segments, of partitions 5 then 2.
	seg := func(p int) []byte {
		return fmt.Appendf(nil, "%c%c", byte(p+1), 0)
	}
	body := append([]byte{0, 1, byte(readers.TypeString), 0}, seg(5)...) // no rows; one key column, a string one
	body = append(append(body, seg(2)...), 0)
	if _, _, err := mergeBodies(t, pa, testEnv(t, 1<<30, testShardSeed), [][]byte{body}); err == nil ||
		err.Error() != "shard 0: its groups are not in partition order" {
		t.Errorf("partitions out of order: %v", err)
	}
}
