package engine

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"
	"github.com/gdask/gdask/readers"
)

// spellInt writes n as one of the ways a CSV file may: leading zeros, a
// plus sign, surrounding spaces, -0.
func spellInt(r *rand.Rand, n int64) string {
	s := strconv.FormatInt(n, 10)
	abs := strings.TrimPrefix(s, "-")
	sign := s[:len(s)-len(abs)]
	switch r.IntN(8) {
	case 0:
		return sign + "0" + abs
	case 1:
		return sign + "00" + abs
	case 2:
		if sign == "" {
			return "+" + abs
		}
	case 3:
		return " " + s
	case 4:
		return s + "  "
	case 5:
		if n == 0 {
			return "-0"
		}
	}
	return s
}

// spellFloat writes x, a whole number or a half, as a float column may
// hold it: as an int spelling, with a fraction of zeros, with an
// exponent, -0.0 for 0.
func spellFloat(r *rand.Rand, x float64) string {
	if x == float64(int64(x)) {
		n := int64(x)
		switch r.IntN(6) {
		case 0:
			return fmt.Sprintf("%d.0", n)
		case 1:
			return fmt.Sprintf("%d.000", n)
		case 2:
			return fmt.Sprintf("%de0", n)
		case 3:
			if n == 0 {
				return "-0.0"
			}
			return fmt.Sprintf("%.3e", x)
		}
		return spellInt(r, n)
	}
	switch r.IntN(4) {
	case 0:
		return strconv.FormatFloat(x, 'f', 3, 64)
	case 1:
		if x > 0 {
			return " +" + strconv.FormatFloat(x, 'g', -1, 64)
		}
	case 2:
		return strconv.FormatFloat(x*10, 'g', -1, 64) + "e-1"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// refKey is a key cell of the reference: parsed as its column's type.
type refKey struct {
	null bool
	i    int64
	f    float64
	s    string
}

// refGroupBy groups recs as pandas does after read_csv: key columns by
// value under their types ('i' int, 'f' float, 's' text; nan and the
// empty field are null), and computes count, sum, min, first and last of
// column v. Rows come in key order, numbers by value, nulls last; cells
// joined by "|" as runGroupBy prints them.
func refGroupBy(recs [][]string, keyCols []int, types string, v int) []string {
	type acc struct {
		keys            []refKey
		count, sum, min int64
		first, last     string
		has             bool
	}
	parse := func(s string, typ byte) refKey {
		t := strings.TrimSpace(s)
		if s == "" || typ != 's' && t == "nan" {
			return refKey{null: true}
		}
		switch typ {
		case 'i':
			n, err := strconv.ParseInt(t, 10, 64)
			if err != nil {
				panic("bad int " + s)
			}
			return refKey{i: n}
		case 'f':
			f, err := strconv.ParseFloat(t, 64)
			if err != nil {
				panic("bad float " + s)
			}
			return refKey{f: f + 0} // -0 is 0
		}
		return refKey{s: s}
	}
	groups := map[string]*acc{}
	for _, rec := range recs {
		var ks []refKey
		for j, c := range keyCols {
			ks = append(ks, parse(rec[c], types[j]))
		}
		id := fmt.Sprint(ks)
		a := groups[id]
		if a == nil {
			a = &acc{keys: ks}
			groups[id] = a
		}
		a.count++
		if rec[v] == "" {
			continue
		}
		x, _ := strconv.ParseInt(rec[v], 10, 64)
		if !a.has {
			a.has, a.min, a.first = true, x, rec[v]
		}
		a.sum += x
		a.min = min(a.min, x)
		a.last = rec[v]
	}
	all := make([]*acc, 0, len(groups))
	for _, a := range groups {
		all = append(all, a)
	}
	slices.SortFunc(all, func(a, b *acc) int {
		for j := range a.keys {
			x, y := a.keys[j], b.keys[j]
			if x.null || y.null {
				if c := cmp.Compare(btoi(x.null), btoi(y.null)); c != 0 {
					return c
				}
				continue
			}
			c := cmp.Compare(x.i, y.i)
			if types[j] == 'f' {
				c = cmp.Compare(x.f, y.f)
			} else if types[j] == 's' {
				c = strings.Compare(x.s, y.s)
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	var out []string
	for _, a := range all {
		var cells []string
		for j, k := range a.keys {
			switch {
			case k.null:
				cells = append(cells, "<null>")
			case types[j] == 'i':
				cells = append(cells, strconv.FormatInt(k.i, 10))
			case types[j] == 'f':
				cells = append(cells, string(exec.AppendFloat(nil, k.f)))
			default:
				cells = append(cells, k.s)
			}
		}
		cells = append(cells, strconv.FormatInt(a.count, 10))
		if a.has {
			cells = append(cells, strconv.FormatInt(a.sum, 10), strconv.FormatInt(a.min, 10), a.first, a.last)
		} else {
			cells = append(cells, "0", "<null>", "<null>", "<null>")
		}
		out = append(out, strings.Join(cells, "|"))
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Differential test: numeric key columns whose equal values are written
// in different ways (leading zeros, +, .0, exponents, surrounding spaces,
// -0, nan) group by value, against a reference that parses, then groups;
// one key and two; small tables, shared parts and spilled runs; several
// worker counts and blocksizes. A column that widens to string past the
// type sample groups by text.
func TestGroupByKeysByValue(t *testing.T) {
	if testing.Short() {
		t.Skip("aggregates 100,000 rows in 25 configurations")
	}
	r := rand.New(rand.NewPCG(13, 17))
	const rows = 100_000
	header := []string{"ki", "kf", "kw", "v"}
	var recs [][]string
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	for i := range rows {
		ki := spellInt(r, r.Int64N(20_000)-10_000)
		kf := spellFloat(r, float64(r.IntN(20_000)-10_000)/2)
		switch r.IntN(50) {
		case 0:
			ki = ""
		case 1:
			kf = ""
		case 2:
			kf = "nan"
		}
		kw := spellInt(r, r.Int64N(30))
		if i == rows-10 {
			kw = "x" // past the sample: the column widens to string
		}
		v := strconv.Itoa(r.IntN(2001) - 1000)
		if r.IntN(20) == 0 {
			v = ""
		}
		rec := []string{ki, kf, kw, v}
		recs = append(recs, rec)
		w.Write(rec)
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "spellings.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	aggs := []string{"count", "sum:v", "min:v", "first:v", "last:v"}
	for _, tc := range []struct {
		keys  []string
		types string
	}{{[]string{"ki"}, "i"}, {[]string{"kf"}, "f"}, {[]string{"ki", "kf"}, "if"}, {[]string{"kw"}, "s"}, {[]string{"kw", "ki"}, "si"}} {
		var keyCols []int
		for _, k := range tc.keys {
			keyCols = append(keyCols, slices.Index(header, k))
		}
		want := refGroupBy(recs, keyCols, tc.types, 3)
		for _, c := range []struct {
			name   string
			cfg    Config
			shared bool
			spill  bool
		}{
			{name: "w1", cfg: Config{Workers: 1}},
			{name: "w2-1KiB", cfg: Config{Workers: 2, Blocksize: readers.MinBlocksize}},
			{name: "w3-64KiB", cfg: Config{Workers: 3, Blocksize: 64 << 10}},
			{name: "shared", cfg: Config{Workers: 2, Blocksize: 16 << 10}, shared: true},
			{name: "spill", cfg: Config{Workers: 2, MemoryLimit: 40 << 20}, spill: true},
		} {
			cfg := c.cfg
			cfg.Dialect = readers.DefaultDialect()
			cfg.SampleBytes = 4 << 10
			cfg.TempDir = t.TempDir()
			if cfg.MemoryLimit == 0 {
				cfg.MemoryLimit = 1 << 30
			}
			saved := hashagg.CachedSlots
			if c.shared {
				hashagg.CachedSlots = 1 << 10
			}
			got, stats := runGroupByPaths(t, []string{path}, tc.keys, aggs, cfg)
			hashagg.CachedSlots = saved
			t.Run(strings.Join(tc.keys, "+")+"/"+c.name, func(t *testing.T) {
				if c.spill && len(want) > 10_000 && stats.SpilledRuns == 0 {
					t.Fatalf("nothing spilled under %d bytes", cfg.MemoryLimit)
				}
				if len(got) != len(want) {
					t.Fatalf("%d groups, want %d", len(got), len(want))
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("row %d = %q, want %q", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// A key column declared string keeps its spellings apart; declared float,
// an int column's keys print as floats.
func TestGroupByDeclaredKeyTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.csv")
	if err := os.WriteFile(path, []byte("k,v\n1,10\n01,20\n+1,30\n2,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ  readers.Type
		want []string
	}{
		{readers.TypeString, []string{"+1|1|30", "01|1|20", "1|1|10", "2|1|5"}},
		{readers.TypeFloat, []string{"1.0|3|60", "2.0|1|5"}},
		{readers.TypeInt, []string{"1|3|60", "2|1|5"}},
	} {
		cfg := DefaultConfig()
		cfg.Types = map[string]readers.Type{"k": tc.typ}
		got := runGroupBy(t, path, []string{"k"}, []string{"count", "sum:v"}, cfg)
		if !slices.Equal(got, tc.want) {
			t.Errorf("--types k:%s: %q, want %q", tc.typ, got, tc.want)
		}
	}
}
