package plan

import (
	"fmt"
	"strings"
)

// ExplainEnv is what the engine will run the plan with.
type ExplainEnv struct {
	Partitions int // partitions of the splittable inputs at the blocksize
	Streams    int // inputs read as streams (stdin, .gz, .zst)
	Workers    int
	Memory     string // the memory budget, formatted
}

// Explain prints the plan tree, root first, and what it will run with.
func Explain(n Node, env ExplainEnv) string { return ExplainWith(n, env, nil) }

// ExplainWith is Explain with a note after each node (what it did, for
// --explain analyze; where a shard stops); note may be nil, and a node
// whose note is "" has none.
func ExplainWith(n Node, env ExplainEnv, note func(Node) string) string {
	var b strings.Builder
	var walk func(n Node, prefix, childPrefix string)
	walk = func(n Node, prefix, childPrefix string) {
		fmt.Fprintf(&b, "%s%s", prefix, n.String())
		if note != nil {
			if s := note(n); s != "" {
				fmt.Fprintf(&b, "  [%s]", s)
			}
		}
		b.WriteString("\n")
		ch := n.Children()
		for i, c := range ch {
			if i == len(ch)-1 {
				walk(c, childPrefix+"└─ ", childPrefix+"   ")
			} else {
				walk(c, childPrefix+"├─ ", childPrefix+"│  ")
			}
		}
	}
	walk(n, "", "")
	fmt.Fprintf(&b, "partitions: %d", env.Partitions)
	if env.Streams > 0 {
		fmt.Fprintf(&b, " (+%d streamed inputs, cut into chunks as read)", env.Streams)
	}
	fmt.Fprintf(&b, ", workers: %d, memory: %s\n", env.Workers, env.Memory)
	return b.String()
}
