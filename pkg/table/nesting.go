package table

import (
	"fmt"
	"strings"
)

// nesting is the if/endif framing that regexp_table(5) and cidr_table(5) share: each IF rule
// records the index just past its matching ENDIF, so a lookup can skip a block that did not
// match. open holds the indexes of the IF rules not yet closed.
type nesting struct {
	open []int
}

// conditionalRule is what nesting needs of a rule: its line and a place for the block end.
type conditionalRule interface {
	setEnd(end int)
	lineNo() int
}

// header strips a leading "if" (followed by blank, "!" or one of more, e.g. "/" for regexp
// patterns) and a leading "!" from a rule's text.
func header(text, more string) (isIf, neg bool, rest string) {
	if len(text) > 2 && strings.EqualFold(text[:2], "if") && strings.ContainsRune(" \t!"+more, rune(text[2])) {
		isIf, text = true, strings.TrimSpace(text[2:])
	}
	if strings.HasPrefix(text, "!") {
		neg, text = true, strings.TrimLeft(text[1:], " \t")
	}
	return isIf, neg, text
}

// endif handles an "endif" line: it closes the innermost open IF, whose rule is rules[i],
// given that n rules exist now; a stray ENDIF is reported and ignored.
func (s *nesting) endif(where string, warn func(string), rule func(i int) conditionalRule, n int) {
	if len(s.open) == 0 {
		warn(where + ": ignoring ENDIF without matching IF")
		return
	}
	rule(s.open[len(s.open)-1]).setEnd(n)
	s.open = s.open[:len(s.open)-1]
}

// push opens the block of the IF rule at index i.
func (s *nesting) push(i int) { s.open = append(s.open, i) }

// finish closes the IFs left open at the end of the file, as Postfix does, with a warning.
func (s *nesting) finish(file string, warn func(string), rule func(i int) conditionalRule, n int) {
	for _, i := range s.open {
		r := rule(i)
		warn(fmt.Sprintf("%s, line %d: IF has no matching ENDIF", file, r.lineNo()))
		r.setEnd(n)
	}
	s.open = nil
}
