package engine

import (
	"bytes"
	"context"
	"testing"

	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/engine/hashagg"
	"github.com/gdask/gdask/plan"
	"github.com/gdask/gdask/readers"
)

// BenchmarkScanAggregate is the seed query's inner loop on one worker:
// scan gen-data rows, materialise their batches, group by category, mean
// of value. After warm-up it must not allocate (0 allocs/op).
func BenchmarkScanAggregate(b *testing.B) {
	var data bytes.Buffer
	if err := Generate(context.Background(), &data, 200_000, 100, 1, nil); err != nil {
		b.Fatal(err)
	}
	body := data.Bytes()[len(genHeader):]
	in := plan.Schema{{Name: "id", Type: plan.Int}, {Name: "category", Type: plan.String}, {Name: "value", Type: plan.Float}}
	ag, err := plan.NewAggregate(plan.NewScan([]string{"bench"}, in), []int{1}, []plan.AggFunc{{Kind: plan.AggMean, Col: 2}})
	if err != nil {
		b.Fatal(err)
	}
	env := &exec.Env{Workers: 1, Broker: exec.NewBroker(1<<40, nil), Events: exec.NoEvents{}, Temp: exec.NewTempDir(nil, b.TempDir(), nil)}
	a, err := hashagg.New(env, 0, ag)
	if err != nil {
		b.Fatal(err)
	}
	d := readers.DefaultDialect()
	mat := newMaterializer(&scanSpec{input: in, numeric: []int{2}, text: []int{1}}, &d)
	br := bytes.NewReader(body)
	sc := readers.NewScanner(br, d, "bench", 0, -1, 1)
	run := func() {
		br.Reset(body)
		sc.Reset(br, 0, -1, 1)
		for sc.Next() {
			full, err := mat.add(sc, 0)
			if err != nil {
				b.Fatal(err)
			}
			if full {
				if err := a.Consume(0, 0, mat.flush()); err != nil {
					b.Fatal(err)
				}
			}
		}
		if bt := mat.flush(); bt != nil {
			if err := a.Consume(0, 0, bt); err != nil {
				b.Fatal(err)
			}
		}
		if err := sc.Err(); err != nil {
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
