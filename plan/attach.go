package plan

import (
	"fmt"
	"strings"
)

// Attach puts beside each row of Main the last column of the row of each
// of Parts with the same first Keys columns. Main and every part hold one
// row per key, the same keys, sorted by them the same way: Attach zips
// them, and a row whose keys differ is an error, never a silent match. Its
// schema is Main's, then each part's last column.
type Attach struct {
	Main   Node
	Parts  []Node
	Keys   int
	schema Schema
}

// NewAttach attaches the last column of each of parts to main's rows by
// their first keys columns.
func NewAttach(main Node, parts []Node, keys int) *Attach {
	a := &Attach{Main: main, Parts: parts, Keys: keys}
	a.schema = append(Schema(nil), main.Schema()...)
	for _, p := range parts {
		s := p.Schema()
		a.schema = append(a.schema, s[len(s)-1])
	}
	return a
}

func (a *Attach) Children() []Node { return append([]Node{a.Main}, a.Parts...) }
func (a *Attach) WithChildren(children ...Node) Node {
	if len(children) != 1+len(a.Parts) {
		panic(fmt.Sprintf("BUG: Attach takes %d children, got %d", 1+len(a.Parts), len(children)))
	}
	return NewAttach(children[0], children[1:], a.Keys)
}
func (a *Attach) Schema() Schema { return a.schema }

func (a *Attach) String() string {
	keys := make([]string, a.Keys)
	for i := range keys {
		keys[i] = a.schema[i].Name
	}
	cols := make([]string, len(a.Parts))
	for i := range cols {
		cols[i] = a.schema[len(a.Main.Schema())+i].Name
	}
	return fmt.Sprintf("Attach by [%s] %s", strings.Join(keys, ", "), strings.Join(cols, ", "))
}

// cloneTree copies every node of n, so a subtree used twice in a plan is
// two subtrees, each node with its own place in it.
func cloneTree(n Node) Node {
	if s, ok := n.(*Scan); ok {
		c := *s
		return &c
	}
	ch := n.Children()
	out := make([]Node, len(ch))
	for i, c := range ch {
		out[i] = cloneTree(c)
	}
	return n.WithChildren(out...)
}
