// Package cmd is gdask's command layer: Cobra, viper and the progress bar
// live only here. A command line is split into a chain's segments at
// `then` (chain.go); each verb's file is a triad: its options, its command
// (flags parsed into the options, then a runF that tests replace to check
// parsing without running anything) and apply, which puts the verb's plan
// nodes over the plan below it. The chain's plan is optimised, handed to
// the engine, and its rows written; nothing below this package knows about
// flags.
//
// Concurrency: a command runs on one goroutine; the engine's workers call
// back only into the progress listener (engine.Progress, atomic counters)
// and the output writer, which the engine calls from one goroutine at a
// time. Buffer lifetime: rows handed to a writer are valid only during the
// call.
package cmd
