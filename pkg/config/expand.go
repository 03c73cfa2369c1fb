package config

import "strings"

// Limits that keep expansion of hostile or looping values bounded.
const (
	maxExpandDepth = 100     // nested parameter references ($a -> $b -> ...)
	maxExpandWork  = 4 << 20 // bytes produced in one top-level expansion, all levels together
	maxLookups     = 100000  // parameter lookups in one top-level expansion
)

// Expand replaces $name, ${name}, $(name), the conditional forms ${name?value},
// ${name?{value}}, ${name:value}, ${name:{value}}, ${name?{v1}:{v2}}, the relational form
// ${{text1} OP {text2} ? {text3} : {text4}} (OP one of == != < <= > >=, or the same followed
// by "level" to compare compatibility levels such as 3.6) and $$ in value, as Postfix's
// mac_expand does.
//
// lookup returns a name's value and whether it is defined; undefined names expand to the empty
// string. The text returned by lookup is inserted literally (NOT expanded again), which is what
// a delivery agent wants for values such as $extension that come from mail; the text inside
// {...} of the conditional forms is part of the template and is expanded. Config.Get is the
// recursive variant used for main.cf parameters.
//
// Expand never panics; malformed references are copied literally.
func Expand(value string, lookup func(string) (string, bool)) string {
	e := &expander{lookup: lookup}
	return e.expand(value, 0)
}

// ExpandRecursive is like Expand but the values returned by lookup are themselves expanded
// (up to a nesting depth of 100), as for main.cf parameters.
func ExpandRecursive(value string, lookup func(string) (string, bool)) string {
	e := &expander{lookup: lookup, recurse: true}
	return e.expand(value, 0)
}

type expander struct {
	lookup  func(string) (string, bool)
	recurse bool
	work    int
	lookups int
	failed  bool // a limit was hit; everything from then on expands to ""
	nest    int  // nesting of computed defaults (see Config.defaultE)
}

func isNameChar(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func (e *expander) add(b *strings.Builder, s string) {
	if e.failed {
		return
	}
	e.work += len(s)
	if e.work > maxExpandWork {
		e.failed = true
		return
	}
	b.WriteString(s)
}

// matching returns the index of the bracket that closes s[0] (which must be open), counting
// nesting of the same bracket kind, or -1.
func matching(s string, open, close byte) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func (e *expander) expand(s string, depth int) string {
	if e.failed || !strings.Contains(s, "$") {
		if e.failed {
			return ""
		}
		var b strings.Builder
		e.add(&b, s)
		return b.String()
	}
	var b strings.Builder
	for len(s) > 0 && !e.failed {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			e.add(&b, s)
			break
		}
		e.add(&b, s[:i])
		s = s[i:]
		if len(s) == 1 {
			e.add(&b, "$")
			break
		}
		switch c := s[1]; {
		case c == '$':
			e.add(&b, "$")
			s = s[2:]
		case c == '{' || c == '(':
			closeCh := byte('}')
			if c == '(' {
				closeCh = ')'
			}
			j := matching(s[1:], c, closeCh)
			if j < 0 {
				// Unterminated: copy the rest literally.
				e.add(&b, s)
				s = ""
				break
			}
			inner := s[2 : 1+j]
			whole := s[:2+j]
			s = s[2+j:]
			e.add(&b, e.bracketed(inner, whole, depth))
		case isNameChar(c):
			j := 1
			for j < len(s) && isNameChar(s[j]) {
				j++
			}
			e.add(&b, e.value(s[1:j], depth))
			s = s[j:]
		default:
			e.add(&b, "$")
			s = s[1:]
		}
	}
	if e.failed {
		return ""
	}
	return b.String()
}

// raw returns the unexpanded value of name ("" when undefined), counting the lookup.
func (e *expander) raw(name string) string {
	e.lookups++
	if e.lookups > maxLookups {
		e.failed = true
		return ""
	}
	if e.lookup == nil {
		return ""
	}
	v, ok := e.lookup(name)
	if !ok {
		return ""
	}
	return v
}

// value returns the value of name, expanded when recursive.
func (e *expander) value(name string, depth int) string {
	v := e.raw(name)
	if !e.recurse || e.failed {
		return v
	}
	if depth+1 > maxExpandDepth {
		e.failed = true
		return ""
	}
	return e.expand(v, depth+1)
}

// braced parses optional whitespace, then "{text}", returning text and the remainder.
func braced(s string) (text, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t\r\n")
	if len(s) == 0 || s[0] != '{' {
		return "", s, false
	}
	j := matching(s, '{', '}')
	if j < 0 {
		return "", s, false
	}
	return strings.TrimSpace(s[1:j]), s[j+1:], true
}

func (e *expander) bracketed(inner, whole string, depth int) string {
	t := strings.TrimLeft(inner, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		if out, ok := e.relational(t, depth); ok {
			return out
		}
		return whole
	}
	n := 0
	for n < len(inner) && isNameChar(inner[n]) {
		n++
	}
	if n == 0 {
		return whole
	}
	name, rest := inner[:n], inner[n:]
	if rest == "" {
		return e.value(name, depth)
	}
	op := rest[0]
	if op != '?' && op != ':' {
		return whole
	}
	arg := rest[1:]
	var then, otherwise string
	hasElse := false
	if t1, r, ok := braced(arg); ok {
		r = strings.TrimLeft(r, " \t\r\n")
		switch {
		case r == "":
			then = t1
		case op == '?' && r[0] == ':':
			t2, r2, ok2 := braced(r[1:])
			if !ok2 || strings.TrimSpace(r2) != "" {
				return whole
			}
			then, otherwise, hasElse = t1, t2, true
		default:
			return whole
		}
	} else {
		then = arg // old syntax: the rest is the value
	}
	set := e.raw(name) != ""
	if e.failed {
		return ""
	}
	switch {
	case op == '?' && set:
		return e.expand(then, depth)
	case op == '?' && hasElse:
		return e.expand(otherwise, depth)
	case op == ':' && !set:
		return e.expand(then, depth)
	}
	return ""
}

// relational evaluates "{a} OP {b} ? {x} : {y}" (the ": {y}" part optional).
func (e *expander) relational(s string, depth int) (string, bool) {
	a, rest, ok := braced(s)
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	n := 0
	for n < len(rest) && strings.IndexByte("=!<>", rest[n]) >= 0 {
		n++
	}
	op := rest[:n]
	rest = rest[n:]
	level := false
	if strings.HasPrefix(rest, "level") {
		level = true
		rest = rest[len("level"):]
	}
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
	default:
		return "", false
	}
	b, rest, ok := braced(rest)
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if rest == "" || rest[0] != '?' {
		return "", false
	}
	x, rest, ok := braced(rest[1:])
	if !ok {
		return "", false
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	var y string
	if rest != "" {
		if rest[0] != ':' {
			return "", false
		}
		y, rest, ok = braced(rest[1:])
		if !ok || strings.TrimSpace(rest) != "" {
			return "", false
		}
	}
	av := strings.TrimSpace(e.expand(a, depth))
	bv := strings.TrimSpace(e.expand(b, depth))
	if e.failed {
		return "", true
	}
	var cmp int
	if level {
		cmp = compareLevels(av, bv)
	} else {
		cmp = compareValues(av, bv)
	}
	var res bool
	switch op {
	case "==":
		res = cmp == 0
	case "!=":
		res = cmp != 0
	case "<":
		res = cmp < 0
	case "<=":
		res = cmp <= 0
	case ">":
		res = cmp > 0
	case ">=":
		res = cmp >= 0
	}
	if res {
		return e.expand(x, depth), true
	}
	return e.expand(y, depth), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareNumbers compares two all-digit strings numerically without overflow.
func compareNumbers(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// compareValues compares numerically when both are all digits, else lexically.
func compareValues(a, b string) int {
	if allDigits(a) && allDigits(b) {
		return compareNumbers(a, b)
	}
	return strings.Compare(a, b)
}

// compareLevels compares compatibility levels "major[.minor[.patch]]"; missing parts are 0.
// A malformed level is compared lexically.
func compareLevels(a, b string) int {
	pa, oka := parseLevel(a)
	pb, okb := parseLevel(b)
	if !oka || !okb {
		return strings.Compare(a, b)
	}
	for i := 0; i < 3; i++ {
		if c := compareNumbers(pa[i], pb[i]); c != 0 {
			return c
		}
	}
	return 0
}

func parseLevel(s string) ([3]string, bool) {
	var out [3]string
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return out, false
	}
	for i := range out {
		out[i] = "0"
	}
	for i, p := range parts {
		if !allDigits(p) {
			return out, false
		}
		out[i] = p
	}
	return out, true
}

// CompareLevels compares two compatibility levels ("0", "1", "2", "3.6", "3.6.1"),
// returning -1, 0 or 1. Malformed levels compare lexically.
func CompareLevels(a, b string) int { return compareLevels(a, b) }
