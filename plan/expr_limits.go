package plan

import (
	"fmt"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser/lexer"
	"github.com/expr-lang/expr/parser/operator"
)

// Limits on an expression. expr's parser, the checker, the compiled
// Program and its evaluation all recurse once per level of nesting, and a
// Program keeps a batch-sized vector per node; an expression may come from
// a script or a generated file, so none of that may grow with its length
// unchecked (500,000 parentheses overflowed the stack; 500,000 signs took
// gigabytes). People write expressions far inside these bounds.
const (
	maxExprBytes = 1 << 20 // the source, in bytes
	maxExprDepth = 1000    // levels of parentheses, operators and signs
	maxExprNodes = 10_000  // operators and operands; list elements do not count
)

// limitError is an error about the expression as a whole: one line, no
// caret (the source may be a megabyte on one line).
func limitError(src, flag, msg string) error {
	return &ExprError{Flag: flag, Source: src, Msg: msg, whole: true}
}

func depthError(src, flag string) error {
	return limitError(src, flag, fmt.Sprintf("nests deeper than %d levels (each parenthesis, operator and sign is one)", maxExprDepth))
}

// Marks on tooDeep's stack, below every operator precedence.
const (
	markBracket = -1 // an open bracket: popped by its closing one
	markSticky  = -2 // ?, :, if, else, let: popped by a comma or a closing bracket, not by ;
)

// tooDeep reports whether expr's parser would recurse more than
// maxExprDepth levels on src, before it runs: the parser recurses for
// each bracket, each sign and not, the right side of each operator that
// binds tighter than the one before it (a + b * c) or to the right
// (a ** b ** c), each branch of ?:, each let and if. The scan keeps one
// stack entry for each such pending call (the precedence that ends it, or
// a mark) and pops them where the parser's calls return. It may count a
// few more than the parser does, never fewer. Operators that bind alike
// (a + b + c) the parser builds in a loop; their depth in the tree is
// checked by the checker. Lexical errors end the scan: the parser reports
// them.
func tooDeep(src string) bool {
	lx := lexer.New()
	lx.Reset(file.NewSource(src))
	var stack []int32
	// popAbove ends the pending calls whose operands stop at an operator
	// of precedence p: those that continue only over tighter operators.
	popAbove := func(p int32) {
		for len(stack) > 0 && stack[len(stack)-1] > p {
			stack = stack[:len(stack)-1]
		}
	}
	// popTo ends everything pending back to the innermost bracket, which
	// it pops too when closing.
	popTo := func(closing bool) {
		for len(stack) > 0 && stack[len(stack)-1] != markBracket {
			stack = stack[:len(stack)-1]
		}
		if closing && len(stack) > 0 {
			stack = stack[:len(stack)-1]
		}
	}
	operand := false // the last token ended an operand: an operator is binary
	for {
		t, err := lx.Next()
		if err != nil || t.Kind == lexer.EOF {
			return false
		}
		switch t.Kind {
		case lexer.Bracket:
			switch t.Value {
			case "(", "[", "{":
				stack = append(stack, markBracket)
				operand = false
			default:
				popTo(true)
				operand = true
			}
		case lexer.Operator:
			switch v := t.Value; {
			case v == ",":
				popTo(false)
				operand = false
			case v == ";":
				popAbove(-1) // ends operands, not a let: the rest is its body
				operand = false
			case v == "?" || v == ":" || v == "if" || v == "else" || v == "let":
				popAbove(0)
				stack = append(stack, markSticky)
				operand = false
			case v == "." || v == "?.":
				operand = false // a property name follows: not an operator
			case !operand:
				if op, ok := operator.Unary[v]; ok {
					stack = append(stack, int32(op.Precedence))
				}
			case v == "not":
				// a not in, not contains, ...: the operator follows
			default:
				op, ok := operator.Binary[v]
				if !ok {
					operand = false
					break
				}
				p := int32(op.Precedence)
				popAbove(p)
				if op.Associativity == operator.Left {
					p++
				}
				stack = append(stack, p)
				operand = false
			}
		default: // identifiers, numbers, strings
			operand = true
		}
		if len(stack) > maxExprDepth {
			return true
		}
	}
}
