package table

import (
	"fmt"
	"io"
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

// ruleText is one rule of a regexp_table(5) or cidr_table(5) file as readRules hands it over.
type ruleText struct {
	where     string // "file, line N", the prefix of every warning about the rule
	line      int
	isIf, neg bool   // the rule began with "if", with "!"
	text      string // the rule, "if" and "!" taken off
	warn      func(string)
}

// ruleSyntax is what one table syntax supplies to readRules.
type ruleSyntax[R any] struct {
	// ifMore lists the characters besides blank and "!" that may follow "if" (see header).
	ifMore string
	// parse turns one rule into a rule of the table; an error skips the rule and is reported
	// as "where: err: skipping this rule".
	parse func(t ruleText) (R, error)
	// deadIf makes the rule that stands for an IF whose pattern is bad: it never matches,
	// so its block is skipped and the if/endif structure stays balanced.
	deadIf func(line int) R
}

// readRules reads a file of if/endif framed rules: it joins logical lines and handles
// "endif", the "if" and "!" headers, and IFs left open at the end; syn parses each rule.
// Bad rules are reported through warn (nil: not reported) and skipped, as Postfix does.
func readRules[R any, P interface {
	*R
	conditionalRule
}](r io.Reader, file string, warn func(string), syn ruleSyntax[R]) ([]R, error) {
	if warn == nil {
		warn = func(string) {}
	}
	var rules []R
	var ifs nesting
	rule := func(i int) conditionalRule { return P(&rules[i]) }
	err := ReadLogical(r, func(text string, line int) error {
		where := fmt.Sprintf("%s, line %d", file, line)
		text = strings.TrimSpace(text)
		if strings.EqualFold(text, "endif") {
			ifs.endif(where, warn, rule, len(rules))
			return nil
		}
		isIf, neg, text := header(text, syn.ifMore)
		r, err := syn.parse(ruleText{where: where, line: line, isIf: isIf, neg: neg, text: text, warn: warn})
		if err != nil {
			warn(fmt.Sprintf("%s: %v: skipping this rule", where, err))
			if !isIf {
				return nil
			}
			r = syn.deadIf(line)
		}
		rules = append(rules, r)
		if isIf {
			ifs.push(len(rules) - 1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	ifs.finish(file, warn, rule, len(rules))
	return rules, nil
}
