package main

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"postern/pkg/addr"
	"postern/pkg/config"
)

// netList is a parsed address-pattern list such as mynetworks: CIDR blocks, bare addresses,
// [IPv6] forms, /file indirection and !negation, first match wins.
type netList struct {
	items []netItem
}

type netItem struct {
	neg    bool
	prefix netip.Prefix
	host   string // host or domain name pattern (lower case); "" for address items
}

// parseNetList parses list items; problems are returned as warnings, and the item is skipped,
// as Postfix skips a table it cannot open only after complaining.
func parseNetList(items []string) (*netList, []string) {
	nl := &netList{}
	var warns []string
	nl.add(items, 0, &warns)
	return nl, warns
}

func (nl *netList) add(items []string, depth int, warns *[]string) {
	for _, it := range items {
		neg := false
		for strings.HasPrefix(it, "!") {
			neg = !neg
			it = it[1:]
		}
		switch {
		case it == "":
			continue
		case strings.HasPrefix(it, "/"):
			if depth > 5 {
				*warns = append(*warns, fmt.Sprintf("%s: file nesting too deep", it))
				continue
			}
			words, err := readListFile(it)
			if err != nil {
				*warns = append(*warns, err.Error())
				continue
			}
			nl.add(words, depth+1, warns)
			continue
		case strings.Contains(it, ":") && !strings.HasPrefix(it, "[") && !looksIPv6(it):
			*warns = append(*warns, fmt.Sprintf("unsupported table %q in address list: ignored", it))
			continue
		}
		p, err := parsePrefix(it)
		if err != nil {
			if strings.ContainsAny(it, "/[]") {
				*warns = append(*warns, fmt.Sprintf("bad address pattern %q: ignored", it))
				continue
			}
			nl.items = append(nl.items, netItem{neg: neg, host: strings.ToLower(strings.TrimSuffix(it, "."))})
			continue
		}
		nl.items = append(nl.items, netItem{neg: neg, prefix: p})
	}
}

func looksIPv6(s string) bool {
	h, _, _ := strings.Cut(s, "/")
	a, err := netip.ParseAddr(h)
	return err == nil && a.Is6()
}

// parsePrefix accepts a.b.c.d, a.b.c.d/n, [v6], [v6]/n and bare v6 forms.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Prefix{}, fmt.Errorf("bad pattern")
		}
		s = s[1:end] + s[end+1:]
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, err
		}
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-unmapBits(p.Addr())).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func unmapBits(a netip.Addr) int {
	if a.Is4In6() {
		return 96
	}
	return 0
}

func readListFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out, sc.Err()
}

// match reports whether the client (address, verified name) is in the list.
func (nl *netList) match(ip netip.Addr, name string) bool {
	ip = ip.Unmap()
	name = strings.ToLower(name)
	for _, it := range nl.items {
		var hit bool
		if it.host != "" {
			hit = name != "" && name != "unknown" && (name == it.host || strings.HasSuffix(name, "."+it.host))
		} else {
			hit = ip.IsValid() && it.prefix.Contains(ip)
		}
		if hit {
			return !it.neg
		}
	}
	return false
}

// interfaceAddrs lists this host's addresses; tests replace it.
var interfaceAddrs = func() []netip.Addr {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// localAddrs expands inet_interfaces and proxy_interfaces into addresses: "all" means every
// interface address, "loopback-only" the loopback addresses; names are resolved.
func localAddrs(inet, proxy []string) []netip.Addr {
	var out []netip.Addr
	for _, v := range append(append([]string(nil), inet...), proxy...) {
		switch strings.ToLower(v) {
		case "all":
			out = append(out, interfaceAddrs()...)
			continue
		case "loopback-only":
			out = append(out, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
			continue
		}
		v = strings.Trim(v, "[]")
		if a, err := netip.ParseAddr(v); err == nil {
			out = append(out, a.Unmap())
			continue
		}
		if ips, err := net.LookupIP(v); err == nil {
			for _, ip := range ips {
				if a, ok := netip.AddrFromSlice(ip); ok {
					out = append(out, a.Unmap())
				}
			}
		}
	}
	return out
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	a = a.Unmap()
	for _, x := range list {
		if x == a {
			return true
		}
	}
	return false
}

// hasRouting tells whether a local part carries sender-specified routing (a@b@c, a%b, a!b),
// which is never an authorized destination.
func hasRouting(local string) bool {
	return strings.ContainsAny(local, "@%!")
}

// isLocalDomain tells whether domain is this host's: mydestination or an address literal
// of inet_interfaces/proxy_interfaces.
func (p *policy) isLocalDomain(domain string) bool {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		lit := strings.TrimPrefix(domain[1:len(domain)-1], "IPv6:")
		a, err := netip.ParseAddr(lit)
		return err == nil && containsAddr(p.localAddrs, a)
	}
	return addr.DomainIn(domain, p.mydestination)
}

// isVirtualAliasDomain tells whether domain is in virtual_alias_domains (and not local:
// trivial-rewrite gives the local class precedence).
func (p *policy) isVirtualAliasDomain(domain string) (bool, error) {
	if p.virtualAliasDomains.Len() == 0 {
		return false, nil
	}
	return p.virtualAliasDomains.Match(domain)
}

// authorized tells whether canonical recipient rcpt may be accepted from anybody. err is a
// table (virtual_alias_domains) that could not answer.
func (p *policy) authorized(rcpt string) (bool, error) {
	local, domain := addr.Split(rcpt)
	if hasRouting(local) {
		return false, nil
	}
	if p.isLocalDomain(domain) || addr.DomainIn(domain, p.relayDomains) {
		return true, nil
	}
	return p.isVirtualAliasDomain(domain)
}

// recipient check results
type verdict int

const (
	vDunno verdict = iota
	vPermit
	vReject
)

// rcptCheck is the state for evaluating restrictions on one RCPT command.
type rcptCheck struct {
	s         *session
	rcpt      string // as received
	canonical string
}

// restriction lists evaluated at RCPT (smtpd_delay_reject = yes): client, helo, sender,
// relay, recipient, in that order; a permit ends only its own list.
var rcptLists = config.SMTPDRestrictionLists

// workingRejects are the restrictions of which relay or recipient restrictions need one.
var workingRejects = map[string]bool{
	"reject_unauth_destination": true, "defer_unauth_destination": true,
	"reject": true, "defer": true, "defer_if_permit": true, "check_relay_domains": true,
}

const workingRejectsText = "reject_unauth_destination, defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains"

// checkRcpt evaluates the restriction lists and the unlisted-recipient check; nil = accept.
func (c *rcptCheck) run() *replyErr {
	p := c.s.srv.policy
	var deferred *replyErr // the first defer_if_permit
	for _, name := range rcptLists {
		items := p.lists[name]
		for i := 0; i < len(items); i++ {
			r, arg := strings.ToLower(items[i]), ""
			if argRestrictions[r] && i+1 < len(items) {
				i++
				arg = items[i]
			}
			v, e := c.eval(r, name, arg)
			if e != nil {
				if e.deferIfPermit {
					if deferred == nil {
						deferred = e
					}
					continue
				}
				return e
			}
			if v == vPermit {
				break
			}
		}
	}
	if deferred != nil {
		if deferred.code == 0 {
			return &replyErr{code: p.deferCode, dsn: "4.7.1", text: fmt.Sprintf("<%s>: Recipient address rejected: defer_if_permit requested", c.rcpt)}
		}
		deferred.deferIfPermit = false
		return deferred
	}
	if p.rejectUnlisted {
		if e := c.unlisted(); e != nil {
			return e
		}
	}
	return nil
}

func (c *rcptCheck) eval(r, list, arg string) (verdict, *replyErr) {
	s, p := c.s, c.s.srv.policy
	switch r {
	case "permit":
		return vPermit, nil
	case "dunno":
		return vDunno, nil
	case "reject":
		return vReject, &replyErr{code: p.rejectCode, dsn: "5.7.1", text: c.subject(list) + " rejected: Access denied"}
	case "defer":
		return vReject, &replyErr{code: p.deferCode, dsn: "4.3.2", text: c.subject(list) + " rejected: Try again later"}
	case "defer_if_permit":
		return vDunno, &replyErr{deferIfPermit: true}
	case "permit_mynetworks":
		if p.mynetworks.match(s.clientIP, s.clientName) {
			return vPermit, nil
		}
	case "permit_sasl_authenticated":
		if s.w.saslUser != "" {
			return vPermit, nil
		}
	case "permit_auth_destination":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if ok {
			return vPermit, nil
		}
	case "reject_unauth_destination", "check_relay_domains":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if !ok {
			return vReject, &replyErr{code: p.relayCode, dsn: "5.7.1", text: fmt.Sprintf("<%s>: Relay access denied", c.rcpt)}
		}
	case "defer_unauth_destination":
		if ok, err := p.authorized(c.canonical); err != nil {
			return vReject, c.lookupFailure(err)
		} else if !ok {
			return vReject, &replyErr{code: p.relayCode - 100, dsn: "4.7.1", text: fmt.Sprintf("<%s>: Relay access denied", c.rcpt)}
		}
	case "reject_unlisted_recipient", "check_recipient_maps":
		if e := c.unlisted(); e != nil {
			return vReject, e
		}
	default:
		if v, e, ok := c.evalMore(r, list, arg); ok {
			return v, e
		}
		// 451 as Postfix for a name it does not know; postfix check warned about it already.
		if config.PostfixRestriction(r) {
			s.srv.log.Warn("restriction %s is not implemented by Postern", r)
		} else {
			s.srv.log.Warn("unknown smtpd restriction: \"%s\"", r)
		}
		return vReject, &replyErr{code: 451, dsn: "4.3.5", text: "Server configuration error"}
	}
	return vDunno, nil
}

// subject is "<x>: Class address" for reject texts, by restriction list.
func (c *rcptCheck) subject(list string) string {
	s := c.s
	switch list {
	case "smtpd_client_restrictions":
		return fmt.Sprintf("<%s[%s]>: Client host", s.clientName, s.clientAddr)
	case "smtpd_helo_restrictions":
		return fmt.Sprintf("<%s>: Helo command", s.heloName())
	case "smtpd_sender_restrictions":
		return fmt.Sprintf("<%s>: Sender address", s.from)
	}
	return fmt.Sprintf("<%s>: Recipient address", c.rcpt)
}

// lookupFailure is the reply for a table that could not answer; the table's complaint is
// logged.
func (c *rcptCheck) lookupFailure(err error) *replyErr {
	c.s.srv.log.Warn("%v", err)
	return &replyErr{code: 451, dsn: "4.3.0", text: fmt.Sprintf("<%s>: Temporary lookup failure", c.rcpt)}
}

// unlisted is smtpd_reject_unlisted_recipient, as Postfix's check_rcpt_maps: an address
// that recipient_canonical_maps, canonical_maps or virtual_alias_maps knows is accepted;
// otherwise a recipient in a local domain must be in local_recipient_maps (postmaster,
// MAILER-DAEMON and the double-bounce name always are), and a recipient in a virtual alias
// domain is unknown. Lookups use cleanup's key order (pkg/rewrite), so user+ext falls back
// to user, and a wildcard @domain entry makes every address of the domain known.
func (c *rcptCheck) unlisted() *replyErr {
	p := c.s.srv.policy
	local, domain := addr.Split(c.canonical)
	if hasRouting(local) || domain == "" {
		return nil
	}
	isLocal := p.isLocalDomain(domain)
	isAlias := false
	if !isLocal {
		var err error
		if isAlias, err = p.isVirtualAliasDomain(domain); err != nil {
			return c.lookupFailure(err)
		}
	}
	if !isLocal && !isAlias {
		return nil
	}
	if isLocal && p.localMaps == nil {
		return nil
	}
	for _, f := range p.knownMaps {
		_, _, found, err := f.Find(c.canonical)
		if err != nil {
			return c.lookupFailure(err)
		}
		if found {
			return nil
		}
	}
	if isAlias {
		return &replyErr{code: p.unknownVirtualCode, dsn: "5.1.1",
			text: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in virtual alias table", c.rcpt)}
	}
	switch strings.ToLower(local) {
	case "postmaster", "mailer-daemon", p.doubleBounce:
		return nil
	}
	_, _, found, err := p.localMaps.Find(c.canonical)
	if err != nil {
		return c.lookupFailure(err)
	}
	if found {
		return nil
	}
	return &replyErr{code: p.unknownLocalCode, dsn: "5.1.1",
		text: fmt.Sprintf("<%s>: Recipient address rejected: User unknown in local recipient table", c.rcpt)}
}
