package agg

import "github.com/gdask/gdask/plan"

// Kind is an aggregate function: plan's registry (plan/agg.go) names them
// and decides their result types; the states here implement them.
type Kind = plan.AggKind

// The kinds, as plan names them.
const (
	Count   = plan.AggCount
	Sum     = plan.AggSum
	Mean    = plan.AggMean
	Min     = plan.AggMin
	Max     = plan.AggMax
	Std     = plan.AggStd
	Var     = plan.AggVar
	First   = plan.AggFirst
	Last    = plan.AggLast
	NUnique = plan.AggNUnique
)
