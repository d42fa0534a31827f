package engine

import (
	"bytes"
	"context"
	"hash/maphash"
	"testing"

	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// BenchmarkScanAggregate is the seed query's inner loop: scan gen-data
// rows, group by category, mean of value. After warm-up it must not
// allocate (0 allocs/op).
func BenchmarkScanAggregate(b *testing.B) {
	var data bytes.Buffer
	if err := Generate(context.Background(), &data, 200_000, 100, 1, nil); err != nil {
		b.Fatal(err)
	}
	body := data.Bytes()[len(genHeader):]
	in := plan.Schema{{Name: "id", Type: plan.Int}, {Name: "category", Type: plan.String}, {Name: "value", Type: plan.Float}}
	ag, err := plan.NewAggregate(plan.NewScan([]string{"bench"}, in), []int{1}, []plan.AggFunc{{Func: "mean", Col: 2}})
	if err != nil {
		b.Fatal(err)
	}
	q, err := decompose(plan.Optimize(plan.NewSort(ag, []plan.SortKey{{Col: 0}})))
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	ds := &Dataset{cfg: &cfg, Names: in.Names()}
	w := newAggWorker(ds, q, maphash.MakeSeed(), GroupByOptions{}, &spillState{ds: ds}, &sharedParts{}, 1<<40)
	ctx := context.Background()
	br := bytes.NewReader(body)
	sc := readers.NewScanner(br, cfg.Dialect, "bench", 0, -1, 1)
	run := func() {
		br.Reset(body)
		sc.Reset(br, 0, -1, 1)
		if err := w.scan(ctx, sc, 0); err != nil {
			b.Fatal(err)
		}
	}
	run() // warm up: groups and buffers exist
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}
