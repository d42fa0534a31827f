package agg

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/gdask/gdask/plan"
)

// val is one input value as delivered to an aggregate.
type val struct {
	null bool
	t    plan.Type // Int, Float, String or Bool
	i    int64
	f    float64
	s    string
	b    bool
}

// row is one input row: its group, value and position.
type row struct {
	g   uint32
	v   val
	pos uint64
}

// profile generates values for a column type.
type profile struct {
	name string
	in   plan.Type
	gen  func(r *rand.Rand) val
}

// profileKinds limits the kinds tested over a profile (default: every
// kind that takes its type).
var profileKinds = map[string][]Kind{
	"null-then-strings": {Count, Min, Max, First, Last, NUnique},
}

func iv(i int64) val   { return val{t: plan.Int, i: i} }
func fv(f float64) val { return val{t: plan.Float, f: f} }

func logUniform(r *rand.Rand, lo, hi float64) float64 {
	x := math.Exp(math.Log(lo) + r.Float64()*(math.Log(hi)-math.Log(lo)))
	if r.IntN(2) == 0 {
		x = -x
	}
	return x
}

// hugeFloat returns a value of magnitude 2^996 (about 6.7e299) to
// MaxFloat64 of either sign (logUniform cannot reach up there: math.Exp
// overflows early on some machines).
func hugeFloat(r *rand.Rand) float64 {
	x := math.Ldexp(0.5+0.5*r.Float64(), 997+r.IntN(28))
	if r.IntN(2) == 0 {
		x = -x
	}
	return x
}

var profiles = []profile{
	{"int-small", plan.Int, func(r *rand.Rand) val { return iv(r.Int64N(2001) - 1000) }},
	{"int-huge", plan.Int, func(r *rand.Rand) val { // sums leave int64, partial sums in every order
		return iv(math.MaxInt64 - r.Int64N(1000) - r.Int64N(2)*(math.MaxInt64-r.Int64N(1000)))
	}},
	{"int-near-limit", plan.Int, func(r *rand.Rand) val { // partial sums overflow, totals may fit
		switch r.IntN(3) {
		case 0:
			return iv(math.MaxInt64 - r.Int64N(10))
		case 1:
			return iv(math.MinInt64 + r.Int64N(10))
		}
		return iv(r.Int64N(100) - 50)
	}},
	{"int-with-floats", plan.Int, func(r *rand.Rand) val { // Float batches in an Int column
		switch r.IntN(20) {
		case 0:
			return fv(float64(r.IntN(100))) // integral: still an integer
		case 1:
			return fv(float64(r.IntN(1000)) + 0.5)
		}
		return iv(r.Int64N(1 << 40))
	}},
	{"int-integral-floats", plan.Int, func(r *rand.Rand) val {
		if r.IntN(4) == 0 {
			return fv(float64(r.IntN(100) - 50))
		}
		return iv(r.Int64N(100) - 50)
	}},
	{"float-uniform", plan.Float, func(r *rand.Rand) val { return fv(r.Float64()*2000 - 1000) }},
	{"float-ints", plan.Float, func(r *rand.Rand) val { // Int batches in a Float column
		if r.IntN(3) == 0 {
			return fv(r.Float64() * 100)
		}
		return iv(r.Int64N(1<<53) - 1<<52)
	}},
	{"float-magnitudes", plan.Float, func(r *rand.Rand) val { return fv(logUniform(r, 1e-150, 1e150)) }},
	{"float-extreme", plan.Float, func(r *rand.Rand) val { return fv(logUniform(r, 1e-300, 1e300)) }},
	{"float-huge", plan.Float, func(r *rand.Rand) val { // partial sums far past MaxFloat64, squares too
		switch r.IntN(6) {
		case 0:
			return fv(1.7e308)
		case 1:
			return fv(-1.7e308)
		case 2:
			return fv(hugeFloat(r))
		case 3:
			return fv(logUniform(r, 1e150, 1e160)) // squares near 2^1024
		case 4:
			return fv(logUniform(r, 5e-324, 1)) // subnormals too
		}
		return fv(r.NormFloat64())
	}},
	{"float-offset", plan.Float, func(r *rand.Rand) val { return fv(1e9 + r.Float64()) }},
	{"float-cancel", plan.Float, func(r *rand.Rand) val { // big terms that cancel, small ones that matter
		switch r.IntN(4) {
		case 0:
			return fv(1e20)
		case 1:
			return fv(-1e20)
		}
		return fv(r.Float64())
	}},
	{"float-inf", plan.Float, func(r *rand.Rand) val {
		switch r.IntN(40) {
		case 0:
			return fv(math.Inf(1))
		case 1:
			return fv(math.Inf(-1))
		}
		return fv(r.NormFloat64())
	}},
	{"float-zeros", plan.Float, func(r *rand.Rand) val {
		return fv([]float64{0, math.Copysign(0, -1), 1, -1}[r.IntN(4)])
	}},
	{"string", plan.String, func(r *rand.Rand) val {
		n := r.IntN(4)
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab\xffz"[r.IntN(4)]
		}
		return val{t: plan.String, s: string(b)}
	}},
	{"string-long", plan.String, func(r *rand.Rand) val {
		b := make([]byte, r.IntN(300))
		for i := range b {
			b[i] = byte('a' + r.IntN(3))
		}
		return val{t: plan.String, s: string(b)}
	}},
	{"bool", plan.Bool, func(r *rand.Rand) val { return val{t: plan.Bool, b: r.IntN(2) == 0} }},
	{"null", plan.Null, func(r *rand.Rand) val { return val{null: true} }},
	{"null-then-strings", plan.Null, func(r *rand.Rand) val { // the engine sends text for a Null column
		if r.IntN(10) == 0 {
			return val{t: plan.String, s: string(rune('a' + r.IntN(5)))}
		}
		return val{null: true}
	}},
	{"null-then-numbers", plan.Null, func(r *rand.Rand) val {
		if r.IntN(10) == 0 {
			if r.IntN(2) == 0 {
				return fv(r.Float64())
			}
			return iv(r.Int64N(10))
		}
		return val{null: true}
	}},
}

// genRows makes n rows over ngroups groups, with nulls, at unique
// positions in a random order.
func genRows(r *rand.Rand, p profile, n, ngroups int) []row {
	rows := make([]row, n)
	for i := range rows {
		v := p.gen(r)
		if r.IntN(8) == 0 {
			v = val{null: true}
		}
		rows[i] = row{g: uint32(r.IntN(ngroups)), v: v, pos: uint64(i)*3 + 7}
	}
	r.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

// feed updates a with rows in batches of random sizes, as the engine does:
// a numeric batch is Float when any of its values is, a batch of nulls may
// be a Null vector. String bytes are overwritten after each Update, to
// prove the Agg copied what it keeps. perm maps global to local groups.
func feed(r *rand.Rand, a Agg, in plan.Type, rows []row, perm []uint32) {
	var v plan.Vector
	var groups []uint32
	var pos []uint64
	for lo := 0; lo < len(rows); {
		hi := min(len(rows), lo+1+r.IntN(plan.BatchSize))
		if r.IntN(4) == 0 {
			hi = min(len(rows), lo+plan.BatchSize)
		}
		b := rows[lo:hi]
		t := batchType(in, b)
		if t == plan.Null && r.IntN(2) == 0 {
			t = in
		}
		v.Reset(t, len(b))
		groups, pos = groups[:0], pos[:0]
		var scratch []byte
		for i, x := range b {
			groups = append(groups, perm[x.g])
			pos = append(pos, x.pos)
			if x.v.null {
				v.Nulls[i] = true
				continue
			}
			switch t {
			case plan.Int:
				v.Ints[i] = x.v.i
			case plan.Float:
				if x.v.t == plan.Int {
					v.Floats[i] = float64(x.v.i)
				} else {
					v.Floats[i] = x.v.f
				}
			case plan.Bool:
				v.Bools[i] = x.v.b
			case plan.String:
				scratch = append(scratch, x.v.s...)
			}
		}
		if t == plan.String {
			off := 0
			for i, x := range b {
				if !x.v.null {
					v.Strs[i] = scratch[off : off+len(x.v.s) : off+len(x.v.s)]
					off += len(x.v.s)
				} else {
					v.Strs[i] = nil
				}
			}
		}
		if t != plan.Null && r.IntN(3) == 0 && !slices.ContainsFunc(b, func(x row) bool { return x.v.null }) {
			v.Nulls = nil // producers may omit Nulls when no row is null
		}
		a.Update(groups, &v, pos)
		for i := range scratch {
			scratch[i] = '#'
		}
		lo = hi
	}
}

// batchType is the vector type the engine would deliver for rows.
func batchType(in plan.Type, rows []row) plan.Type {
	t := plan.Null
	for _, x := range rows {
		if x.v.null {
			continue
		}
		switch {
		case x.v.t == plan.Float:
			return plan.Float
		case t == plan.Null:
			t = x.v.t
		}
	}
	return t
}

// exp is one expected (or actual) result.
type exp struct {
	null bool
	t    plan.Type
	i    int64
	f    float64
	s    string
	b    bool
}

func (e exp) String() string {
	if e.null {
		return "null"
	}
	switch e.t {
	case plan.Int:
		return strconv.FormatInt(e.i, 10)
	case plan.Float:
		return strconv.FormatFloat(e.f, 'g', -1, 64) + fmt.Sprintf("(%#x)", math.Float64bits(e.f))
	case plan.Bool:
		return strconv.FormatBool(e.b)
	}
	return strconv.Quote(e.s)
}

// collect reads every group's result the way the engine does: the column
// becomes Float when the Agg is Widened.
func collect(a Agg, in plan.Type, ngroups int, perm []uint32) ([]exp, bool) {
	t, err := a.Kind().ResultType(in)
	if err != nil {
		panic(err)
	}
	widened := false
	if w, ok := a.(Widener); ok && w.Widened() {
		widened = true
		t = plan.Float
	}
	if ty, ok := a.(Typer); ok {
		t = ty.ResultType()
	}
	var out plan.Vector
	out.Reset(t, ngroups)
	res := make([]exp, ngroups)
	for g := range ngroups {
		a.Result(perm[g], &out, g)
		e := exp{null: out.Nulls[g], t: t}
		if !e.null {
			switch t {
			case plan.Int:
				e.i = out.Ints[g]
			case plan.Float:
				e.f = out.Floats[g]
			case plan.Bool:
				e.b = out.Bools[g]
			case plan.String:
				e.s = string(out.Strs[g])
			}
		}
		res[g] = e
	}
	return res, widened
}

// --- the naive reference: plain maps, big.Rat, sorting ---

func ratOf(v val) *big.Rat {
	switch v.t {
	case plan.Int:
		return new(big.Rat).SetInt64(v.i)
	case plan.Bool:
		if v.b {
			return big.NewRat(1, 1)
		}
		return new(big.Rat)
	}
	return new(big.Rat).SetFloat64(v.f)
}

func isInf(v val) bool { return v.t == plan.Float && math.IsInf(v.f, 0) }

// integral reports whether v counts as an integer: an int, a bool, or a
// float that is a whole number within int64's range.
func integral(v val) bool {
	if v.t != plan.Float {
		return true
	}
	if isInf(v) {
		return false
	}
	r := ratOf(v)
	lim := new(big.Rat).SetFloat64(0x1p63)
	return r.IsInt() && r.Cmp(lim) < 0 && r.Cmp(new(big.Rat).Neg(lim)) >= 0
}

func ratFloat(r *big.Rat) float64 {
	f, _ := r.Float64()
	return f
}

// reference computes kind k over rows, per group, the slow and obvious way,
// and whether the column needs Float.
func reference(k Kind, in plan.Type, rows []row, ngroups int) ([]exp, bool) {
	byGroup := make([][]row, ngroups)
	for _, x := range rows {
		byGroup[x.g] = append(byGroup[x.g], x)
	}
	rt, err := k.ResultType(in)
	if err != nil {
		panic(err)
	}
	intCol := in == plan.Int || in == plan.Bool
	res := make([]exp, ngroups)
	widened, stringy := false, false
	for g, all := range byGroup {
		var vals []row
		for _, x := range all {
			if !x.v.null {
				vals = append(vals, x)
			}
		}
		e := &res[g]
		e.t = rt
		posInf, negInf, nonInt := false, false, false
		sum, sq := new(big.Rat), new(big.Rat)
		for _, x := range vals {
			if !integral(x.v) {
				nonInt = true
			}
			switch {
			case isInf(x.v) && x.v.f > 0:
				posInf = true
			case isInf(x.v):
				negInf = true
			case x.v.t != plan.String:
				r := ratOf(x.v)
				sum.Add(sum, r)
				sq.Add(sq, new(big.Rat).Mul(r, r))
			}
		}
		special := func() bool {
			switch {
			case posInf && negInf:
				e.null = true
			case posInf:
				e.f = math.Inf(1)
			case negInf:
				e.f = math.Inf(-1)
			default:
				return false
			}
			return true
		}
		n := int64(len(vals))
		switch k {
		case Count:
			e.i = int64(len(all))
		case NUnique:
			set := map[string]bool{}
			for _, x := range vals {
				switch {
				case x.v.t == plan.String:
					set["s"+x.v.s] = true
				case isInf(x.v):
					set[fmt.Sprint(x.v.f)] = true
				default:
					set[ratOf(x.v).RatString()] = true
				}
			}
			e.i = int64(len(set))
		case Sum:
			if intCol && !nonInt && sum.Num().IsInt64() {
				e.i = sum.Num().Int64()
				break
			}
			if intCol {
				widened = true
			}
			e.t = plan.Float
			if !special() {
				e.f = ratFloat(sum)
			}
		case Mean:
			if n == 0 {
				e.null = true
			} else if !special() {
				e.f = ratFloat(sum.Quo(sum, new(big.Rat).SetInt64(n)))
			}
		case Var, Std:
			if n < 2 || posInf || negInf {
				e.null = true
				break
			}
			nr := new(big.Rat).SetInt64(n)
			m2 := new(big.Rat).Sub(sq, new(big.Rat).Quo(new(big.Rat).Mul(sum, sum), nr))
			m2.Quo(m2, new(big.Rat).SetInt64(n-1))
			if k == Var {
				e.f = ratFloat(m2)
				break
			}
			x := new(big.Float).SetPrec(1000).SetRat(m2)
			e.f, _ = x.Sqrt(x).Float64()
		case Min, Max, First, Last:
			if n == 0 {
				e.null = true
				break
			}
			// Normalise as documented: a Float column is all floats, other
			// columns keep integral floats as integers.
			type cand struct {
				v   val
				pos uint64
			}
			cs := make([]cand, len(vals))
			for i, x := range vals {
				v := x.v
				switch {
				case in == plan.Float && v.t == plan.Int:
					v = fv(float64(v.i))
				case in != plan.Float && v.t == plan.Float && integral(v):
					v = iv(int64(v.f))
				case v.t == plan.Bool:
					v = iv(map[bool]int64{false: 0, true: 1}[v.b])
				}
				cs[i] = cand{v, x.pos}
			}
			byValue := func(a, b cand) int {
				if a.v.t == plan.String {
					return bytes.Compare([]byte(a.v.s), []byte(b.v.s))
				}
				ai, bi := isInf(a.v), isInf(b.v)
				switch {
				case ai || bi:
					fa, fb := a.v.f, b.v.f
					if !ai {
						fa = ratFloat(ratOf(a.v))
					}
					if !bi {
						fb = ratFloat(ratOf(b.v))
					}
					if c := cmp.Compare(fa, fb); c != 0 || ai && bi {
						return c
					}
					if ai {
						return cmp.Compare(fa, 0)
					}
					return -cmp.Compare(fb, 0)
				}
				if c := ratOf(a.v).Cmp(ratOf(b.v)); c != 0 {
					return c
				}
				// -0 before +0
				return cmp.Compare(b2i(!math.Signbit(a.v.f)), b2i(!math.Signbit(b.v.f)))
			}
			switch k {
			case Min, Max:
				slices.SortStableFunc(cs, byValue)
			default:
				slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(a.pos, b.pos) })
			}
			c := cs[0]
			if k == Max || k == Last {
				c = cs[len(cs)-1]
			}
			switch c.v.t {
			case plan.Int:
				e.i = c.v.i
				if in == plan.Bool {
					e.b = c.v.i != 0
				}
				if in == plan.Null {
					widened = true
					e.t = plan.Int
				}
			case plan.Float:
				e.f = c.v.f
				e.t = plan.Float
				if in != plan.Float {
					widened = true
				}
			case plan.String:
				e.s = c.v.s
				if in == plan.Null {
					e.t = plan.String
					stringy = true
				}
			}
		}
	}
	if stringy {
		for g := range res {
			if res[g].t != plan.String {
				res[g] = exp{null: true}
			}
			res[g].t = plan.String
		}
		return res, false
	}
	if widened {
		for g := range res {
			e := &res[g]
			if e.t != plan.Float && !e.null {
				e.f = float64(e.i)
			}
			e.t = plan.Float
		}
	}
	for g := range res {
		if res[g].null {
			res[g] = exp{null: true, t: res[g].t}
			if widened {
				res[g].t = plan.Float
			}
		}
	}
	return res, widened
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kinds lists the aggregates tested over p.
func (p profile) kindList() []Kind {
	if ks, ok := profileKinds[p.name]; ok {
		return ks
	}
	return kindsFor(p.in)
}

// kindsFor lists the aggregates that take a column of type in.
func kindsFor(in plan.Type) []Kind {
	var ks []Kind
	for k := range plan.NumAggKinds {
		if _, err := k.ResultType(in); err == nil {
			ks = append(ks, k)
		}
	}
	return ks
}
