package detail

import (
	"regexp/syntax"
	"strings"
)

// A search runs over every line of a 4 MiB buffer: a pattern whose program
// is large, or whose nested repeats multiply (`(.{0,20}){5}`), costs
// seconds per key however the work is sliced. Such patterns are refused
// (matched literally) and the input says so.
const (
	maxSearchInsts  = 300 // instructions of the compiled program
	maxNestedRepeat = 64  // product of the counts of nested repeats
)

// tooComplex says why expr is too costly to run over the buffer, or "".
// It reports "" for a pattern that does not parse: compiling says that.
func tooComplex(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return ""
	}
	if repeatProduct(re) > maxNestedRepeat {
		return "nested repeats too large: literal"
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) > maxSearchInsts {
		return "pattern too large: literal"
	}
	return ""
}

// repeatProduct is the largest product of repeat counts along a chain of
// nested repeats (a star or plus counts as its minimum, at least 1). A lone
// repeat counts 1, so `a{100}` alone is left to the program size limit but
// `(a{10}){10}` is 100.
func repeatProduct(re *syntax.Regexp) int {
	best := 1
	var walk func(re *syntax.Regexp, prod, depth int)
	walk = func(re *syntax.Regexp, prod, depth int) {
		switch re.Op {
		case syntax.OpRepeat, syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
			n := max(re.Max, re.Min, 1)
			prod, depth = prod*n, depth+1
			if depth >= 2 {
				best = max(best, prod)
			}
		}
		for _, sub := range re.Sub {
			walk(sub, min(prod, 1<<20), depth)
		}
	}
	walk(re, 1, 0)
	return best
}

// plainASCII reports whether expr is an ASCII text with no regular
// expression metacharacters: such a search is a case-folded substring
// test, far cheaper than running a regexp over each line.
func plainASCII(expr string) bool {
	for i := 0; i < len(expr); i++ {
		if expr[i] >= 0x80 {
			return false
		}
	}
	return !strings.ContainsAny(expr, `\.+*?()|[]{}^$`)
}
