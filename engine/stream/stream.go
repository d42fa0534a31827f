package stream

import (
	"github.com/gdask/gdask/engine/exec"
	"github.com/gdask/gdask/plan"
)

// Filter keeps the rows for which a predicate is true.
type Filter struct {
	prog *plan.Program
	sel  []int32
}

func NewFilter(pred *plan.Expr) *Filter { return &Filter{prog: pred.Compile()} }

func (f *Filter) Process(b *exec.Batch) (*exec.Batch, error) {
	f.sel = f.prog.Filter(&b.Batch, f.sel)
	b.Compact(f.sel)
	return b, nil
}

// Project makes each row's columns a Project's: its input's columns,
// renamed or reordered, and values derived from them.
type Project struct {
	cols  []plan.ProjCol
	progs []*plan.Program // per column: the derived value's, nil for a passed-through column
	out   exec.Batch
}

func NewProject(cols []plan.ProjCol) *Project {
	p := &Project{cols: cols, progs: make([]*plan.Program, len(cols))}
	for i, c := range cols {
		if c.Derived() {
			p.progs[i] = c.Expr.Compile()
		}
	}
	return p
}

func (p *Project) Process(b *exec.Batch) (*exec.Batch, error) {
	out := &p.out
	out.Reset(len(p.cols))
	out.N = b.N
	for i, c := range p.cols {
		if p.progs[i] != nil {
			out.Cols[i] = p.progs[i].Eval(&b.Batch)
			continue
		}
		out.Cols[i] = b.Cols[c.Col]
		if c.Col < len(b.Text) {
			out.Text[i] = b.Text[c.Col]
		}
	}
	out.Pos = b.Pos
	return out, nil
}

// Limit passes the first n rows of a pipeline that runs on one worker, in
// order, then stops it with exec.ErrStop.
type Limit struct {
	left int64
}

func NewLimit(n int64) *Limit { return &Limit{left: n} }

func (l *Limit) Process(b *exec.Batch) (*exec.Batch, error) {
	if l.left <= 0 {
		return nil, exec.ErrStop
	}
	if int64(b.N) > l.left {
		sel := make([]int32, l.left)
		for i := range sel {
			sel[i] = int32(i)
		}
		b.Compact(sel)
	}
	l.left -= int64(b.N)
	return b, nil
}

// Share turns a column of counts into their shares of total: Float
// count/total (a total of 0 has no rows to share).
type Share struct {
	col   int
	total float64
	out   plan.Vector
	batch exec.Batch // what Process returns: b's columns, col replaced
}

func NewShare(col int, total int64) *Share { return &Share{col: col, total: float64(total)} }

func (s *Share) Process(b *exec.Batch) (*exec.Batch, error) {
	v := b.Cols[s.col]
	s.out.Reset(plan.Float, b.N)
	for r := range b.N {
		switch {
		case v.Nulls[r]:
			s.out.Nulls[r] = true
		case v.Type == plan.Float:
			s.out.Floats[r] = v.Floats[r] / s.total
		default:
			s.out.Floats[r] = float64(v.Ints[r]) / s.total
		}
	}
	// A batch of its own: b's slices belong to its producer, which
	// reuses them.
	out := &s.batch
	out.Reset(len(b.Cols))
	out.N, out.Pos = b.N, b.Pos
	copy(out.Cols, b.Cols)
	out.Cols[s.col] = &s.out
	for i := range out.Text {
		if i < len(b.Text) && i != s.col {
			out.Text[i] = b.Text[i]
		}
	}
	return out, nil
}
