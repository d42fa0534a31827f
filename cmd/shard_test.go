package cmd

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// runIn runs gdask in this process and returns its stdout, stderr and
// exit status.
func runIn(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), IOStreams{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return out.String(), errb.String(), code
}

// shardInputs writes the inputs of the shard tests: two plain files whose
// fields hold quoted commas, quotes and line ends (LF and CRLF), and a
// .zst one, with columns k (few keys, some numbers written two ways), n
// (ints), v (floats, some empty) and s (text).
func shardInputs(t *testing.T, r *rand.Rand) []string {
	t.Helper()
	dir := t.TempDir()
	// "a" and `"a"` are one key; a csv output quotes the second as the
	// input did.
	keys := []string{"a", `"a"`, "b", `"c,d"`, `"e""f"`, "1", "01", "2.0", "", `"g` + "\n" + `h"`}
	file := func(rows int, crlf bool) []byte {
		var b bytes.Buffer
		b.WriteString("k,n,v,s\n")
		for i := range rows {
			v := fmt.Sprintf("%.3f", r.Float64()*100)
			if r.IntN(10) == 0 {
				v = ""
			}
			s := fmt.Sprintf("t%d", r.IntN(50))
			switch r.IntN(6) {
			case 0:
				s = fmt.Sprintf("\"x,%d\ny\"", i)
			case 1:
				s = fmt.Sprintf("\"q\"\"%d\"", r.IntN(9))
			case 2:
				s = fmt.Sprintf("\"t%d\"", r.IntN(50))
			}
			end := "\n"
			if crlf && i%3 == 0 {
				end = "\r\n"
			}
			fmt.Fprintf(&b, "%s,%d,%s,%s%s", keys[r.IntN(len(keys))], r.IntN(200)-20, v, s, end)
		}
		return b.Bytes()
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(file(700, false))
	zw.Close()
	return []string{write("a.csv", file(3000, true)), write("b.csv.zst", z.Bytes()), write("c.csv", file(2500, false))}
}

// TestShardInvariance: every shardable verb and a few chains, run as N
// shards by hand and merged, print the bytes the local run prints.
func TestShardInvariance(t *testing.T) {
	paths := shardInputs(t, rand.New(rand.NewPCG(7, 8)))
	chains := [][]string{
		{"groupby", "--by", "k", "--count", "--sum", "v", "--mean", "n", "--min", "s", "--first", "v", "--last", "s"},
		{"groupby", "--by", "k,n", "--max", "v", "--nunique", "s", "--sort", "v_max:desc,k,n"},
		{"groupby", "--by", "k", "--nunique", "s,n", "--having", "s_nunique > 3"},
		{"count"},
		{"value-counts", "k"},
		{"value-counts", "k", "--normalize"},
		{"distinct", "--by", "k"},
		{"distinct", "--by", "k,s", "--keep", "last"},
		{"sort", "--by", "v:desc,n"},
		{"sort", "--by", "s", "--limit", "25"},
		{"filter", "--where", "n > 50"},
		{"select", "k,s", "--with", "w = n * 2 + v"},
		{"head", "-n", "37"},
		{"filter", "--where", "v > 10", "then", "groupby", "--by", "k", "--sum", "n", "then", "sort", "--by", "n_sum:desc", "then", "head", "-n", "4"},
		{"filter", "--where", "n % 3 == 0", "then", "count"},
		{"select", "k,v", "then", "distinct", "then", "sort", "--by", "v"},
		{"sort", "--by", "n", "then", "head", "-n", "5", "then", "groupby", "--by", "k", "--count"},
	}
	for _, chain := range chains {
		for _, format := range []string{"csv", "json"} {
			args := append(append([]string{chain[0]}, paths...), chain[1:]...)
			args = append(args, "-o", format, "--blocksize", "4KiB", "--workers", "3")
			local, stderr, code := runIn(t, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
			for _, n := range []int{1, 2, 3, 7} {
				dir := t.TempDir()
				for i := range n {
					if _, stderr, code := runIn(t, append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--state-out", dir)...); code != 0 {
						t.Fatalf("%v shard %d/%d: exit %d: %s", args, i, n, code, stderr)
					}
				}
				got, stderr, code := runIn(t, "merge", dir, "-o", format)
				if code != 0 {
					t.Fatalf("%v: merge of %d: exit %d: %s", args, n, code, stderr)
				}
				if got != local {
					t.Fatalf("%v: merge of %d shards differs from the local run:\n%.3000s\nlocal:\n%.3000s", args, n, got, local)
				}
			}
		}
	}
}
