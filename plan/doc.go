// Package plan is gdask's logical plan: immutable nodes (Scan, Filter,
// Project, Aggregate, Sort, Limit, Count) with their schemas; the
// aggregate registry (names, result types); expressions parsed,
// type-checked and compiled to typed evaluation over columnar batches;
// optimizer rules, each a Transform over every node (predicate,
// projection and limit pushdown); and Explain.
//
// The plan never imports the engine: the engine builds operators from plan
// nodes with one type switch.
//
// Concurrency: nodes and expressions are immutable and safe to share; a
// compiled Program holds scratch vectors and serves one goroutine. Buffer
// lifetime: a Program's result vector is valid until its next call.
package plan
