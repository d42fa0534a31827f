// Package plan is gdask's logical plan: immutable nodes (Scan, Filter,
// Project, Aggregate, Sort, Limit) with their schemas, expressions parsed,
// type-checked and compiled to typed evaluation over columnar batches,
// optimizer rules (projection, predicate and limit pushdown) and Explain.
//
// The plan never imports the engine: the engine builds operators from plan
// nodes with one type switch.
package plan
