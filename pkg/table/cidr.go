package table

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

type cidrRule struct {
	prefix netip.Prefix
	negate bool
	result string
	isIf   bool
	endIf  int
	line   int
}

// CIDRTable is a parsed cidr_table(5): "network/prefix result", "address result",
// "!pattern result", "if pattern" ... "endif"; first match wins.
type CIDRTable struct {
	rules []cidrRule
}

func openCIDR(name string, o *Options) (Table, error) {
	warn := func(s string) { o.warnf("%s", s) }
	if inner, ok := braced(name); ok {
		items, err := splitItems(inner)
		if err != nil {
			return nil, fmt.Errorf("cidr:%s: %v", name, err)
		}
		var b strings.Builder
		for _, it := range items {
			s, _ := braced(it)
			b.WriteString(s + "\n")
		}
		return ParseCIDR(strings.NewReader(b.String()), "cidr:"+name, warn)
	}
	return newFileTable(name, o, func() (Table, error) {
		f, err := os.Open(name)
		if err != nil {
			return nil, pathError("open", name, err)
		}
		defer f.Close()
		return ParseCIDR(f, name, warn)
	})
}

// parseNet accepts a.b.c.d, a.b.c.d/n, IPv6 with or without [], with /n inside or outside.
func parseNet(s string) (netip.Prefix, error) {
	s = strings.Replace(strings.Replace(s, "[", "", 1), "]", "", 1)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		if p.Masked() != p {
			return p, fmt.Errorf("non-null host address bits in \"%s\", perhaps you should use \"%s\" instead", s, p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// ParseCIDR reads cidr_table(5) syntax; bad rules are reported through warn and skipped.
func ParseCIDR(r io.Reader, file string, warn func(string)) (*CIDRTable, error) {
	rules, err := readRules[cidrRule](r, file, warn, ruleSyntax[cidrRule]{
		parse: func(t ruleText) (cidrRule, error) {
			pat, rest, _ := strings.Cut(t.text, " ")
			if i := strings.IndexByte(pat, '\t'); i >= 0 {
				pat, rest = pat[:i], pat[i+1:]+" "+rest
			}
			rest = strings.TrimSpace(rest)
			p, err := parseNet(pat)
			if err != nil {
				return cidrRule{}, fmt.Errorf("bad net/mask pattern: \"%s\": %v", pat, err)
			}
			if t.isIf {
				return cidrRule{prefix: p, negate: t.neg, isIf: true, line: t.line}, nil
			}
			if rest == "" {
				return cidrRule{}, errors.New("no lookup result")
			}
			return cidrRule{prefix: p, negate: t.neg, result: rest, line: t.line}, nil
		},
		// An IF without a valid prefix never matches (see Lookup).
		deadIf: func(line int) cidrRule { return cidrRule{isIf: true, line: line} },
	})
	if err != nil {
		return nil, err
	}
	return &CIDRTable{rules: rules}, nil
}

// Lookup implements Table; the key is an IPv4 or IPv6 address (brackets allowed). A key that
// is not an address matches nothing.
func (t *CIDRTable) Lookup(key string) (string, bool, error) {
	a, err := netip.ParseAddr(strings.Trim(key, "[]"))
	if err != nil {
		return "", false, nil
	}
	a = a.Unmap()
	for i := 0; i < len(t.rules); i++ {
		r := &t.rules[i]
		match := r.prefix.IsValid() && r.prefix.Contains(a)
		if r.isIf {
			if !r.prefix.IsValid() || match == r.negate {
				i = r.endIf - 1
			}
			continue
		}
		if match != r.negate {
			return r.result, true, nil
		}
	}
	return "", false, nil
}

func (r *cidrRule) setEnd(end int) { r.endIf = end }
func (r *cidrRule) lineNo() int    { return r.line }
