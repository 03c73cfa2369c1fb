package resolve

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"golang.org/x/net/idna"

	"postern/pkg/config"
	"postern/pkg/table"
)

// List is one match list (Postfix's match_list): the first item that matches decides, and a
// "!item" that matches means "not in the list". Items are names ("example.com", ".example.com"
// for its subdomains), "/file" (the file's words, one level of items each), "type:table" (a
// lookup of the name, then of its parent domains), and for host lists addresses, "[v6]" forms
// and CIDR blocks ("192.0.2.0/24", "[2001:db8::]/32").
type List struct {
	param  string
	parent bool // parent_domain_matches_subdomains lists this parameter
	items  []listItem
}

type listItem struct {
	neg    bool
	name   string       // lower case A-label form; "" for a table
	prefix netip.Prefix // valid when the item is an address or network
	maps   *table.List  // a type:table item
}

// OpenList parses the list parameter param of cfg, with the parent-domain style that
// parent_domain_matches_subdomains gives it. Tables Postern lacks are warned about through
// o.Warnf and skipped, as table.OpenList does; an unreadable "/file" is an error.
func OpenList(cfg *config.Config, param string, o *table.Options) (*List, error) {
	return NewList(param, cfg.List(param), ParentStyle(cfg, param), o)
}

// ParentStyle tells whether parent_domain_matches_subdomains names param: then "example.com"
// also matches its subdomains; otherwise only ".example.com" does.
func ParentStyle(cfg *config.Config, param string) bool {
	for _, p := range cfg.List("parent_domain_matches_subdomains") {
		if strings.EqualFold(p, param) {
			return true
		}
	}
	return false
}

// NewList parses items as the list parameter param.
func NewList(param string, items []string, parent bool, o *table.Options) (*List, error) {
	l := &List{param: param, parent: parent}
	if o == nil {
		o = &table.Options{}
	}
	err := l.add(items, o, 0)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("%s: %v", param, err)
	}
	return l, nil
}

func (l *List) add(items []string, o *table.Options, depth int) error {
	for _, it := range items {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg, it = !neg, it[1:]
		}
		switch {
		case it == "":
		case strings.HasPrefix(it, "/"):
			if depth > 5 {
				return errors.New(it + ": file nesting too deep")
			}
			words, err := readWords(it)
			if err != nil {
				return err
			}
			if err := l.add(words, o, depth+1); err != nil {
				return err
			}
		case isTable(it):
			t, err := table.OpenList([]string{it}, o)
			if err != nil {
				return err
			}
			if t.Len() > 0 {
				l.items = append(l.items, listItem{neg: neg, maps: t})
			}
		default:
			li := listItem{neg: neg, name: normalize(it)}
			if p, ok := parsePrefix(it); ok {
				li.prefix = p
			} else if strings.ContainsAny(it, "/[]") && o.Warnf != nil {
				o.Warnf("%s: bad address pattern %q: ignored", l.param, it)
				continue
			}
			l.items = append(l.items, li)
		}
	}
	return nil
}

// isTable tells a "type:name" item from an address: [v6] forms and bare IPv6 addresses or
// networks hold colons too.
func isTable(it string) bool {
	if !strings.Contains(it, ":") || strings.HasPrefix(it, "[") {
		return false
	}
	_, ok := parsePrefix(it)
	return !ok
}

// parsePrefix accepts a.b.c.d, a.b.c.d/n, [v6], [v6]/n, bare v6 and v6/n forms.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Prefix{}, false
		}
		s = s[1:end] + s[end+1:]
		if len(s) > 5 && strings.EqualFold(s[:5], "ipv6:") {
			s = s[5:]
		}
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, false
		}
		bits := p.Bits()
		if p.Addr().Is4In6() {
			bits -= 96
		}
		if bits < 0 {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(p.Addr().Unmap(), bits).Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

func readWords(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, config.SplitList(line)...)
	}
	return out, sc.Err()
}

// normalize is the form in which domains compare: lower case, no trailing dot, and a
// Unicode (U-label) name in its A-label form, so "bücher.example" and
// "xn--bcher-kva.example" are one domain, as Postfix's midna_domain_to_ascii makes them for
// lookups.
func normalize(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			if a, err := idna.Lookup.ToASCII(d); err == nil {
				return a
			}
			break
		}
	}
	return d
}

// Len is the number of items (0: the list is empty and matches nothing).
func (l *List) Len() int {
	if l == nil {
		return 0
	}
	return len(l.items)
}

// MatchDomain tells whether domain is in the list (Postfix's domain_list). err is a table
// that could not answer.
func (l *List) MatchDomain(domain string) (bool, error) {
	if l == nil {
		return false, nil
	}
	domain = normalize(domain)
	if domain == "" {
		return false, nil
	}
	for _, it := range l.items {
		hit, err := l.matchName(it, domain)
		if err != nil {
			return false, err
		}
		if hit {
			return !it.neg, nil
		}
	}
	return false, nil
}

// MatchHost tells whether a client with verified name (or "", "unknown") and address ip is
// in the list (Postfix's namadr_list): an item matches the name as in MatchDomain or the
// address as an address or network; a table is asked for the name, then the address.
func (l *List) MatchHost(name string, ip netip.Addr) (bool, error) {
	if l == nil {
		return false, nil
	}
	name = normalize(name)
	if name == "unknown" {
		name = ""
	}
	ip = ip.Unmap()
	for _, it := range l.items {
		hit := false
		var err error
		if name != "" {
			hit, err = l.matchName(it, name)
		}
		if !hit && err == nil && ip.IsValid() {
			if it.maps != nil {
				_, hit, err = it.maps.Lookup(ip.String())
			} else {
				hit = it.prefix.IsValid() && it.prefix.Contains(ip)
			}
		}
		if err != nil {
			return false, err
		}
		if hit {
			return !it.neg, nil
		}
	}
	return false, nil
}

// matchName is match_hostname: an exact name, then a parent domain (parent style) or a
// ".domain" item; a table is asked for the name and then each parent, as "example.com"
// (parent style) or ".example.com".
func (l *List) matchName(it listItem, name string) (bool, error) {
	if it.maps != nil {
		for d := name; ; {
			_, found, err := it.maps.Lookup(d)
			if err != nil || found {
				return found, err
			}
			i := strings.IndexByte(d[1:], '.')
			if i < 0 {
				return false, nil
			}
			d = d[i+1:]
			if l.parent {
				d = d[1:]
			}
		}
	}
	if it.name == "" {
		return false, nil
	}
	if name == it.name {
		return true, nil
	}
	if l.parent {
		return strings.HasSuffix(name, "."+it.name), nil
	}
	return strings.HasPrefix(it.name, ".") && strings.HasSuffix(name, it.name), nil
}

// Close releases the tables.
func (l *List) Close() {
	if l == nil {
		return
	}
	for _, it := range l.items {
		it.maps.Close()
	}
}
