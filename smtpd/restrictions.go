package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"postern/pkg/addr"
	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/printable"
	"postern/pkg/table"
)

// accessTable is one table of a check_*_access restriction or of smtpd_sender_login_maps.
// Fixed-string tables are asked partial keys too (domain, parent domains, user@, address
// prefixes); regexp: and cidr: tables only the whole string, as Postfix.
type accessTable struct {
	t     table.Table
	fixed bool
}

// argRestrictions take the next list item as their table.
var argRestrictions = map[string]bool{
	"check_client_access": true, "check_sender_access": true, "check_recipient_access": true,
	"check_helo_access": true,
}

// openAccess opens the tables named in the restriction lists and smtpd_sender_login_maps,
// and makes the resolver of reject_unknown_*_domain.
func (p *policy) openAccess(cfg *config.Config, log *maillog.Logger) error {
	opts := &table.Options{Warnf: func(f string, a ...any) { log.Warn(f, a...) }}
	p.access = map[string]*accessTable{}
	open := func(spec string) (*accessTable, error) {
		typ, _, err := table.SplitSpec(spec, "")
		if err != nil {
			return nil, err
		}
		l, err := table.OpenList([]string{spec}, opts)
		if err != nil {
			return nil, err
		}
		return &accessTable{t: l, fixed: table.Fixed(typ)}, nil
	}
	for _, name := range rcptLists {
		items := cfg.List(name)
		for i := 0; i < len(items); i++ {
			if !argRestrictions[strings.ToLower(items[i])] {
				continue
			}
			if i+1 >= len(items) {
				return fmt.Errorf("%s: restriction %s needs a table", name, items[i])
			}
			i++
			if p.access[items[i]] == nil {
				t, err := open(items[i])
				if err != nil {
					return fmt.Errorf("%s: %v", name, err)
				}
				p.access[items[i]] = t
			}
		}
	}
	if specs := cfg.List("smtpd_sender_login_maps"); len(specs) > 0 {
		l, err := table.OpenList(specs, opts)
		if err != nil {
			return fmt.Errorf("smtpd_sender_login_maps: %v", err)
		}
		p.loginMaps = &accessTable{t: l, fixed: true}
		for _, s := range specs {
			if typ, _, err := table.SplitSpec(s, ""); err == nil && !table.Fixed(typ) {
				p.loginMaps.fixed = false
			}
		}
	}
	p.accessRejectCode = int(cfg.Int("access_map_reject_code"))
	p.accessDeferCode = int(cfg.Int("access_map_defer_code"))
	p.nonFQDNCode = int(cfg.Int("non_fqdn_reject_code"))
	p.unknownAddrCode = int(cfg.Int("unknown_address_reject_code"))
	p.nullKey = cfg.Get("smtpd_null_access_lookup_key")
	p.resolver = net.DefaultResolver
	if a := strings.TrimSpace(cfg.Get("smtpd_dns_resolver_address")); a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return errors.New("smtpd_dns_resolver_address: want ip:port, got " + a)
		}
		p.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, a)
		}}
	}
	return nil
}

// subjectOf is the "<x>: Class address" of a reply about the client, sender or recipient.
func (c *rcptCheck) subjectOf(kind string) string {
	s := c.s
	switch kind {
	case "client":
		return fmt.Sprintf("<%s[%s]>: Client host", s.clientName, s.clientAddr)
	case "helo":
		return fmt.Sprintf("<%s>: Helo command", s.heloName())
	case "sender":
		return fmt.Sprintf("<%s>: Sender address", s.from)
	}
	return fmt.Sprintf("<%s>: Recipient address", c.rcpt)
}

// evalMore evaluates the restrictions of restrictions.go; handled is false for a name it
// does not know.
func (c *rcptCheck) evalMore(r, list, arg string) (v verdict, e *replyErr, handled bool) {
	s, p := c.s, c.s.srv.policy
	switch r {
	case "check_client_access":
		v, e = c.checkAccess(arg, "client", c.clientKeys)
	case "check_helo_access":
		v, e = c.checkAccess(arg, "helo", func(fixed bool) []string { return domainKeys(s.heloName(), fixed) })
	case "check_sender_access":
		v, e = c.checkAccess(arg, "sender", func(fixed bool) []string { return c.addressKeys(s.from, fixed) })
	case "check_recipient_access":
		v, e = c.checkAccess(arg, "recipient", func(fixed bool) []string { return c.addressKeys(c.rcpt, fixed) })
	case "reject_non_fqdn_recipient":
		if !isFQDNAddress(c.rcpt) {
			e = &replyErr{code: p.nonFQDNCode, dsn: dsnFor(p.nonFQDNCode, "5.5.2"), text: c.subjectOf("recipient") + " rejected: need fully-qualified address"}
		}
	case "reject_non_fqdn_sender":
		if s.from != "" && !isFQDNAddress(s.from) {
			e = &replyErr{code: p.nonFQDNCode, dsn: dsnFor(p.nonFQDNCode, "5.5.2"), text: c.subjectOf("sender") + " rejected: need fully-qualified address"}
		}
	case "reject_unknown_recipient_domain":
		e = c.unknownDomain(c.canonical, "recipient", "5.1.2")
	case "reject_unknown_sender_domain":
		if s.from != "" {
			e = c.unknownDomain(p.canon.Address(s.from), "sender", "5.1.8")
		}
	case "reject_sender_login_mismatch":
		e = c.loginMismatch(true, true)
	case "reject_authenticated_sender_login_mismatch":
		e = c.loginMismatch(true, false)
	case "reject_unauthenticated_sender_login_mismatch":
		e = c.loginMismatch(false, true)
	default:
		return vDunno, nil, false
	}
	if e != nil && v == vDunno && !e.deferIfPermit {
		v = vReject
	}
	return v, e, true
}

// dsnFor gives a default DSN the class of code (a 450 reject_code gives 4.x.y).
func dsnFor(code int, dsn string) string {
	return strconv.Itoa(code/100) + dsn[1:]
}

// checkAccess looks keys up in an access table and acts on the first result found.
func (c *rcptCheck) checkAccess(spec, kind string, keys func(fixed bool) []string) (verdict, *replyErr) {
	at := c.s.srv.policy.access[spec]
	if at == nil {
		c.s.srv.log.Warn("access table %s is not open", spec)
		return vReject, &replyErr{code: 451, dsn: "4.3.5", text: "Server configuration error"}
	}
	for _, k := range keys(at.fixed) {
		if k == "" {
			continue
		}
		val, found, err := at.t.Lookup(k)
		if err != nil {
			return vReject, c.lookupFailure(err)
		}
		if found {
			return c.accessResult(val, spec, kind)
		}
	}
	return vDunno, nil
}

// accessResult acts on an access(5) result: OK, REJECT/DEFER [text], NNN text, DUNNO, or a
// restriction name. Actions Postern does not have (HOLD, DISCARD, FILTER, REDIRECT,
// PREPEND, WARN, ...) are logged and ignored.
func (c *rcptCheck) accessResult(val, spec, kind string) (verdict, *replyErr) {
	p := c.s.srv.policy
	word, text, _ := strings.Cut(strings.TrimSpace(val), " ")
	text = strings.TrimSpace(text)
	subject := c.subjectOf(kind)
	deny := func(code int, dsn string) (verdict, *replyErr) {
		if text == "" {
			text = "Access denied"
		}
		return vReject, &replyErr{code: code, dsn: dsnFor(code, dsn), text: subject + " rejected: " + text}
	}
	switch up := strings.ToUpper(word); {
	case up == "OK" || up == "PERMIT":
		return vPermit, nil
	case up == "DUNNO" || up == "":
		return vDunno, nil
	case up == "REJECT":
		return deny(p.accessRejectCode, "5.7.1")
	case up == "DEFER":
		return deny(p.accessDeferCode, "4.7.1")
	case up == "DEFER_IF_PERMIT":
		_, e := deny(p.accessDeferCode, "4.7.1")
		e.deferIfPermit = true
		return vDunno, e
	case isAllDigits(up):
		code, _ := strconv.Atoi(up)
		if len(up) != 3 || code < 400 || code > 599 {
			return vPermit, nil // a number: OK, for compatibility with old tables
		}
		dsn := fmt.Sprintf("%d.7.1", code/100)
		if d, rest, ok := strings.Cut(text, " "); ok && isDSN(d) && d[0] == up[0] {
			dsn, text = d, strings.TrimSpace(rest)
		} else if isDSN(text) && text[0] == up[0] {
			dsn, text = text, ""
		}
		if text == "" {
			text = "Access denied"
		}
		return vReject, &replyErr{code: code, dsn: dsn, text: subject + " rejected: " + text}
	}
	r := strings.ToLower(word)
	if (strings.HasPrefix(r, "permit") || strings.HasPrefix(r, "reject") || strings.HasPrefix(r, "defer")) && !argRestrictions[r] {
		return c.eval(r, "", "")
	}
	c.s.srv.log.Warn("access table %s: action %s is not supported: ignored", spec, printable.String(printable.Head(word, 50), '?'))
	return vDunno, nil
}

func isAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isDSN(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || (s[0] != '4' && s[0] != '5') || len(parts[0]) != 1 {
		return false
	}
	for _, p := range parts {
		if !isAllDigits(p) || len(p) > 3 {
			return false
		}
	}
	return true
}

// addressKeys are access(5)'s lookups for an address: user+ext@domain, user@domain,
// domain and its parent domains, user+ext@, user@. The null sender is
// $smtpd_null_access_lookup_key.
func (c *rcptCheck) addressKeys(a string, fixed bool) []string {
	p := c.s.srv.policy
	if a == "" {
		return []string{p.nullKey}
	}
	if !fixed {
		return []string{a}
	}
	local, domain := addr.Split(a)
	base := ""
	if p.delimiter != "" {
		if i := strings.IndexAny(local, p.delimiter); i > 0 {
			base = local[:i]
		}
	}
	keys := []string{a}
	if base != "" && domain != "" {
		keys = append(keys, base+"@"+domain)
	}
	keys = append(keys, domainKeys(domain, true)...)
	keys = append(keys, local+"@")
	if base != "" {
		keys = append(keys, base+"@")
	}
	return keys
}

// domainKeys are a domain and, in a fixed table, its parent domains (Postfix's default
// parent_domain_matches_subdomains includes smtpd_access_maps).
func domainKeys(d string, fixed bool) []string {
	d = strings.TrimSuffix(d, ".")
	if d == "" {
		return nil
	}
	keys := []string{d}
	if !fixed || strings.HasPrefix(d, "[") {
		return keys
	}
	for {
		_, rest, ok := strings.Cut(d, ".")
		if !ok || rest == "" {
			return keys
		}
		keys = append(keys, rest)
		d = rest
	}
}

// clientKeys are the client's verified name and parent domains, its address, and for a
// fixed table the address with trailing octets (or IPv6 groups) removed.
func (c *rcptCheck) clientKeys(fixed bool) []string {
	s := c.s
	var keys []string
	if s.clientName != "" && s.clientName != "unknown" {
		keys = append(keys, domainKeys(s.clientName, fixed)...)
	}
	keys = append(keys, s.clientAddr)
	if fixed {
		sep := "."
		if strings.Contains(s.clientAddr, ":") {
			sep = ":"
		}
		a := s.clientAddr
		for {
			i := strings.LastIndex(a, sep)
			if i <= 0 {
				break
			}
			a = strings.TrimRight(a[:i], sep)
			if a == "" {
				break
			}
			keys = append(keys, a)
		}
	}
	return keys
}

// isFQDNAddress: the domain of a is an address literal or a dotted host name.
func isFQDNAddress(a string) bool {
	_, domain := addr.Split(a)
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return true
	}
	domain = strings.TrimSuffix(domain, ".")
	if !strings.Contains(domain, ".") {
		return false
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch >= 0x80) {
				return false
			}
		}
	}
	return true
}

// dnsTimeout bounds the lookups of reject_unknown_*_domain.
const dnsTimeout = 10 * time.Second

// unknownDomain is reject_unknown_recipient_domain / reject_unknown_sender_domain: the
// domain (of the canonical address) needs an MX or an address record, unless it is local.
// Not found: unknown_address_reject_code (450) "Domain not found"; a DNS failure:
// defer_if_permit with the same text (unknown_address_tempfail_action's default); a null
// MX: "556 5.1.10 ... Domain D does not accept mail (nullMX)".
func (c *rcptCheck) unknownDomain(a, kind, dsn string) *replyErr {
	p := c.s.srv.policy
	_, domain := addr.Split(a)
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" || strings.HasPrefix(domain, "[") || p.res.IsLocal(domain) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), dnsTimeout)
	defer cancel()
	notFound := func(err error) bool {
		var de *net.DNSError
		return errors.As(err, &de) && de.IsNotFound
	}
	mx, err := p.resolver.LookupMX(ctx, domain)
	if err == nil && len(mx) > 0 {
		if len(mx) == 1 && (mx[0].Host == "." || mx[0].Host == "") {
			return &replyErr{code: 556, dsn: "5.1.10", text: fmt.Sprintf("%s rejected: Domain %s does not accept mail (nullMX)", c.subjectOf(kind), domain)}
		}
		return nil
	}
	temp := err != nil && !notFound(err)
	if !temp {
		ips, err := p.resolver.LookupNetIP(ctx, "ip", domain)
		if err == nil && len(ips) > 0 {
			return nil
		}
		temp = err != nil && !notFound(err)
	}
	text := c.subjectOf(kind) + " rejected: Domain not found"
	if temp {
		return &replyErr{code: 450, dsn: "4" + dsn[1:], text: text, deferIfPermit: true}
	}
	return &replyErr{code: p.unknownAddrCode, dsn: dsnFor(p.unknownAddrCode, dsn), text: text}
}

// loginMismatch is reject_*sender_login_mismatch with smtpd_sender_login_maps: an
// authenticated client may send only as an address the map gives to its login name;
// with unauth, an unauthenticated client may not use an address the map knows.
func (c *rcptCheck) loginMismatch(authed, unauth bool) *replyErr {
	s, p := c.s, c.s.srv.policy
	if s.from == "" || p.loginMaps == nil {
		return nil
	}
	owners, found := "", false
	for _, k := range c.loginKeys(p.canon.Address(s.from)) {
		v, ok, err := p.loginMaps.t.Lookup(k)
		if err != nil {
			c.s.srv.log.Warn("%v", err)
			return &replyErr{code: 451, dsn: "4.3.0", text: fmt.Sprintf("<%s>: Temporary lookup failure", s.from)}
		}
		if ok {
			owners, found = v, true
			break
		}
	}
	user := s.w.saslUser
	if user != "" && authed {
		for _, o := range strings.FieldsFunc(owners, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
			if strings.EqualFold(o, user) {
				return nil
			}
		}
		return &replyErr{code: 553, dsn: "5.7.1", text: fmt.Sprintf("%s rejected: not owned by user %s", c.subjectOf("sender"), printable.String(printable.Head(user, 100), '?'))}
	}
	if user == "" && unauth && found {
		return &replyErr{code: 553, dsn: "5.7.1", text: c.subjectOf("sender") + " rejected: not logged in"}
	}
	return nil
}

// loginKeys are smtpd_sender_login_maps' lookups: the address, without its extension,
// the local part for a local domain, and @domain.
func (c *rcptCheck) loginKeys(a string) []string {
	p := c.s.srv.policy
	if !p.loginMaps.fixed {
		return []string{a}
	}
	local, domain := addr.Split(a)
	keys := []string{a}
	if p.delimiter != "" {
		if i := strings.IndexAny(local, p.delimiter); i > 0 {
			keys = append(keys, local[:i]+"@"+domain)
			if p.res.IsLocal(domain) {
				keys = append(keys, local[:i])
			}
		}
	}
	if p.res.IsLocal(domain) {
		keys = append(keys, local)
	}
	if domain != "" {
		keys = append(keys, "@"+domain)
	}
	return keys
}
