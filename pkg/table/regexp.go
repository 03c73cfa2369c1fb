package table

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
)

// regexpRule is one line of a regexp_table(5) or pcre_table(5) file.
type regexpRule struct {
	re     *regexp.Regexp
	negate bool
	result string // "" for if
	subst  bool   // result has $N
	isIf   bool
	endIf  int // for isIf: index of the rule after the matching endif
	line   int
}

// RegexpTable is a parsed regexp: or pcre: table. Rules are tried in order; the first match
// wins.
type RegexpTable struct {
	rules []regexpRule
}

func openRegexp(typ, name string, o *Options) (Table, error) {
	pcre := typ == "pcre"
	warn := func(s string) { o.warnf("%s", s) }
	if inner, ok := braced(name); ok && strings.HasPrefix(strings.TrimSpace(name), "{") {
		// regexp:{ {rule}, {rule} } (Postfix 3.7)
		items, err := splitItems(inner)
		if err != nil {
			return nil, fmt.Errorf("%s:%s: %v", typ, name, err)
		}
		var b strings.Builder
		for _, it := range items {
			s, _ := braced(it)
			b.WriteString(s + "\n")
		}
		return ParseRegexp(strings.NewReader(b.String()), typ+":"+name, pcre, o.NoRegsub, warn)
	}
	return newFileTable(name, o, func() (Table, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, pathError("open", name, err)
		}
		defer f.Close()
		return ParseRegexp(f, name, pcre, o.NoRegsub, warn)
	})
}

// ParseRegexp reads regexp_table(5) syntax (pcre_table(5) when pcre is set): "/pattern/flags
// result", "!/pattern/flags result", "if /pattern/flags" ... "endif". Patterns are translated
// to Go's RE2; a rule RE2 cannot express (back-references, look-around) is reported through
// warn and skipped, as Postfix skips a rule it cannot compile. With noRegsub, rules whose
// result uses $N are skipped (local(8) refuses them in alias tables).
func ParseRegexp(r io.Reader, file string, pcre, noRegsub bool, warn func(string)) (*RegexpTable, error) {
	rules, err := readRules[regexpRule](r, file, warn, ruleSyntax[regexpRule]{
		ifMore: "/",
		parse: func(t ruleText) (regexpRule, error) {
			pat, flags, rest, err := splitPattern(t.text)
			if err != nil {
				return regexpRule{}, err
			}
			re, err := compilePattern(pat, flags, pcre)
			if err != nil {
				return regexpRule{}, err
			}
			rest = strings.TrimSpace(rest)
			if t.isIf {
				if rest != "" {
					t.warn(fmt.Sprintf("%s: ignoring extra text after IF statement: \"%s\"", t.where, rest))
				}
				return regexpRule{re: re, negate: t.neg, isIf: true, line: t.line}, nil
			}
			if rest == "" {
				return regexpRule{}, errors.New("no replacement text")
			}
			subst := hasSubst(rest)
			if subst {
				if noRegsub {
					return regexpRule{}, errors.New("regular expression substitution is not allowed")
				}
				if t.neg {
					return regexpRule{}, errors.New("$number in negative pattern result")
				}
				if n := maxGroupRef(rest); n > re.NumSubexp() {
					return regexpRule{}, fmt.Errorf("out of range replacement index \"%d\"", n)
				}
			} else {
				rest = expand(rest, func(int) string { return "" }) // "$$" -> "$"
			}
			return regexpRule{re: re, negate: t.neg, result: rest, subst: subst, line: t.line}, nil
		},
		// An IF without a pattern never matches (see Lookup).
		deadIf: func(line int) regexpRule { return regexpRule{isIf: true, line: line} },
	})
	if err != nil {
		return nil, err
	}
	return &RegexpTable{rules: rules}, nil
}

// splitPattern takes "/pattern/flags rest": the delimiter is the first character (any
// non-alphanumeric, non-space character, as Postfix allows).
func splitPattern(s string) (pat, flags, rest string, err error) {
	if s == "" {
		return "", "", "", fmt.Errorf("no regular expression")
	}
	d := s[0]
	if d == ' ' || d == '\t' || d == '\\' || (d >= '0' && d <= '9') || (d|0x20 >= 'a' && d|0x20 <= 'z') {
		return "", "", "", fmt.Errorf("bad regexp delimiter: \"%c\"", d)
	}
	var b strings.Builder
	i := 1
	for ; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] == d {
			// An escaped delimiter stands for itself.
			b.WriteByte(d)
			i++
			continue
		}
		if s[i] == d {
			break
		}
		b.WriteByte(s[i])
	}
	if i >= len(s) {
		return "", "", "", fmt.Errorf("unmatched delimiter \"%c\"", d)
	}
	rest = s[i+1:]
	j := 0
	for j < len(rest) && rest[j] != ' ' && rest[j] != '\t' {
		j++
	}
	return b.String(), rest[:j], rest[j:], nil
}

// compilePattern translates a POSIX ERE (regexp:) or Perl (pcre:) pattern with Postfix's
// flags to an RE2 program.
func compilePattern(pat, flags string, pcre bool) (*regexp.Regexp, error) {
	icase, multi, extended, dotall, ungreedy, anchored := true, false, true, false, false, false
	for _, f := range flags {
		switch f {
		case 'i':
			icase = !icase
		case 'm':
			multi = !multi
		case 'x':
			extended = !extended
		case 's':
			if !pcre {
				return nil, fmt.Errorf("unknown regexp option \"%c\"", f)
			}
			dotall = !dotall
		case 'U':
			if !pcre {
				return nil, fmt.Errorf("unknown regexp option \"%c\"", f)
			}
			ungreedy = !ungreedy
		case 'A':
			if !pcre {
				return nil, fmt.Errorf("unknown regexp option \"%c\"", f)
			}
			anchored = !anchored
		case 'E', 'X':
			if !pcre {
				return nil, fmt.Errorf("unknown regexp option \"%c\"", f)
			}
			// PCRE_DOLLAR_ENDONLY / PCRE_EXTRA: no RE2 equivalent needed for mail keys.
		default:
			return nil, fmt.Errorf("unknown regexp option \"%c\"", f)
		}
	}
	if !pcre && !extended {
		return nil, fmt.Errorf("POSIX basic regular expressions (flag x) are not supported; use extended syntax")
	}
	if pcre && flags != "" && strings.ContainsRune(flags, 'x') {
		// In pcre_table x means PCRE_EXTENDED (whitespace and comments in the pattern),
		// which RE2 lacks.
		return nil, fmt.Errorf("pcre flag x (extended pattern syntax) is not supported by Go's RE2")
	}
	p, err := translate(pat, pcre)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if icase {
		prefix += "i"
	}
	if multi {
		prefix += "m"
	}
	// POSIX '.' matches a newline unless REG_NEWLINE (flag m); PCRE's only with s.
	if (!pcre && !multi) || dotall {
		prefix += "s"
	}
	if ungreedy {
		prefix += "U"
	}
	if prefix != "" {
		p = "(?" + prefix + ")" + p
	}
	if anchored {
		p = `\A(?:` + p + `)`
	}
	var re *regexp.Regexp
	re, err = regexp.Compile(p)
	if err != nil {
		if se, ok := err.(*syntax.Error); ok {
			return nil, fmt.Errorf("unsupported or invalid regular expression \"%s\": %v (Go RE2 syntax)", pat, se.Code)
		}
		return nil, err
	}
	if !pcre {
		re.Longest() // POSIX leftmost-longest
	}
	return re, nil
}

// translate rewrites what RE2 spells differently and rejects what it cannot do.
func translate(pat string, pcre bool) (string, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if inClass {
			b.WriteByte(c)
			if c == '[' && i+1 < len(pat) && (pat[i+1] == ':' || pat[i+1] == '.' || pat[i+1] == '=') {
				end := strings.Index(pat[i+2:], string(pat[i+1])+"]")
				if end >= 0 {
					b.WriteString(pat[i+1 : i+2+end+2])
					i += 1 + end + 2
				}
				continue
			}
			if c == '\\' && pcre && i+1 < len(pat) {
				i++
				b.WriteByte(pat[i])
				continue
			}
			if c == '\\' && !pcre {
				// A POSIX bracket expression has no escapes: '\' is literal.
				b.WriteByte('\\')
				continue
			}
			if c == ']' {
				inClass = false
			}
			continue
		}
		switch c {
		case '[':
			inClass = true
			b.WriteByte(c)
			// A ']' (after an optional '^') first in the class is literal.
			if i+1 < len(pat) && pat[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(pat) && pat[i+1] == ']' {
				b.WriteString(`\]`)
				i++
			}
		case '\\':
			if i+1 >= len(pat) {
				return "", fmt.Errorf("trailing backslash")
			}
			n := pat[i+1]
			i++
			switch {
			case n >= '1' && n <= '9':
				return "", fmt.Errorf("back-reference \\%c is not supported by Go's RE2", n)
			case !pcre && (n == '<' || n == '>'):
				b.WriteString(`\b`)
			case !pcre && n == '`':
				b.WriteString(`\A`)
			case !pcre && n == '\'':
				b.WriteString(`\z`)
			default:
				b.WriteByte('\\')
				b.WriteByte(n)
			}
		case '(':
			if strings.HasPrefix(pat[i:], "(?=") || strings.HasPrefix(pat[i:], "(?!") ||
				strings.HasPrefix(pat[i:], "(?<=") || strings.HasPrefix(pat[i:], "(?<!") {
				return "", fmt.Errorf("look-around assertions are not supported by Go's RE2")
			}
			if pcre && strings.HasPrefix(pat[i:], "(?>") {
				return "", fmt.Errorf("atomic groups are not supported by Go's RE2")
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func hasSubst(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '$' {
			n := s[i+1]
			if n >= '0' && n <= '9' || n == '{' || n == '(' {
				return true
			}
			if n == '$' {
				i++
			}
		}
	}
	return false
}

func maxGroupRef(s string) int {
	max := 0
	expand(s, func(n int) string {
		if n > max {
			max = n
		}
		return ""
	})
	return max
}

// expand substitutes $N, ${N} and $(N); "$$" is a literal '$'.
func expand(s string, group func(int) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		n := s[i+1]
		switch {
		case n == '$':
			b.WriteByte('$')
			i++
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString(group(atoi(s[i+1 : j])))
			i = j - 1
		case n == '{' || n == '(':
			cl := byte('}')
			if n == '(' {
				cl = ')'
			}
			end := strings.IndexByte(s[i+2:], cl)
			num := ""
			if end >= 0 {
				num = s[i+2 : i+2+end]
			}
			if end < 0 || num == "" || strings.Trim(num, "0123456789") != "" {
				b.WriteByte('$')
				continue
			}
			b.WriteString(group(atoi(num)))
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1000 {
			return 1000
		}
	}
	return n
}

// Lookup implements Table.
func (t *RegexpTable) Lookup(key string) (string, bool, error) {
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		if r.isIf {
			// A rule that failed to compile (re nil) skips its block.
			if r.re == nil || r.re.MatchString(key) == r.negate {
				i = r.endIf - 1
			}
			continue
		}
		if r.negate {
			if !r.re.MatchString(key) {
				return r.result, true, nil
			}
			continue
		}
		if !r.subst {
			if r.re.MatchString(key) {
				return r.result, true, nil
			}
			continue
		}
		m := r.re.FindStringSubmatchIndex(key)
		if m == nil {
			continue
		}
		return expand(r.result, func(n int) string {
			if 2*n+1 < len(m) && m[2*n] >= 0 {
				return key[m[2*n]:m[2*n+1]]
			}
			return ""
		}), true, nil
	}
	return "", false, nil
}

// Len is the number of rules in effect (if lines included).
func (t *RegexpTable) Len() int { return len(t.rules) }

func (r *regexpRule) setEnd(end int) { r.endIf = end }
func (r *regexpRule) lineNo() int    { return r.line }
