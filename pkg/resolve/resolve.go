package resolve

import (
	"errors"
	"fmt"
	"strings"

	"postern/pkg/addr"
	"postern/pkg/config"
	"postern/pkg/table"
)

// Class is the address class of a recipient (Postfix's RESOLVE_CLASS_*).
type Class int

const (
	Default Class = iota // any other domain: default_transport
	Local                // mydestination, inet_interfaces/proxy_interfaces literals
	Alias                // virtual_alias_domains (an address left here matched no alias)
	Virtual              // virtual_mailbox_domains
	Relay                // relay_domains
)

var classNames = [...]string{"default", "local", "alias", "virtual", "relay"}

func (c Class) String() string { return classNames[c] }

// Final tells whether mail of the class is delivered on this host (RESOLVE_CLASS_FINAL).
func (c Class) Final() bool { return c == Local || c == Alias || c == Virtual }

// ErrorTransport is the transport of a recipient that resolves to a failure without any
// delivery agent (Postfix's error service); the next hop is "x.y.z text".
const ErrorTransport = "error"

// Result is the resolution of one recipient.
type Result struct {
	Class     Class
	Transport string // a master.cf service name, or ErrorTransport
	Nexthop   string
	Recipient string // the address after local domains were stripped and rewritten
	Routed    bool   // the local part still holds "@", "!" or "%" (uncertain destination)
	Err       error  // a table that could not answer; Transport is then ErrorTransport (4.3.0)
}

// Resolver answers what an address means to this host. It is safe for concurrent use.
type Resolver struct {
	canon      *Canon
	myhostname string
	emptyAddr  string // empty_address_recipient
	mydest     *List  // mydestination
	relay      *List  // relay_domains
	valias     *List  // virtual_alias_domains
	vmailbox   *List  // virtual_mailbox_domains
	ifaces     *Interfaces
	transports *table.List // transport_maps

	local, virtual, relayT, def route // *_transport, relayhost applied to relay and default
}

type route struct{ transport, nexthop string }

// New reads the parameters of trivial-rewrite from cfg and opens their tables once;
// pkg/table notices a rebuilt table by itself. Table types Postern lacks are warned about
// through o.Warnf and skipped.
func New(cfg *config.Config, o *table.Options) (*Resolver, error) {
	if o == nil {
		o = &table.Options{}
	}
	r := &Resolver{
		canon:      NewCanon(cfg),
		myhostname: cfg.Get("myhostname"),
		emptyAddr:  cfg.Get("empty_address_recipient"),
		ifaces:     NewInterfaces(cfg.List("inet_interfaces"), cfg.List("proxy_interfaces")),
		local:      parseTransport(cfg.Get("local_transport"), "local"),
		virtual:    parseTransport(cfg.Get("virtual_transport"), "virtual"),
		relayT:     parseTransport(cfg.Get("relay_transport"), "relay"),
		def:        parseTransport(cfg.Get("default_transport"), "smtp"),
	}
	if relayhost := cfg.Get("relayhost"); relayhost != "" {
		for _, rt := range []*route{&r.relayT, &r.def} {
			if rt.nexthop == "" {
				rt.nexthop = relayhost
			}
		}
	}
	var err error
	for _, l := range []struct {
		p    **List
		name string
	}{{&r.mydest, "mydestination"}, {&r.relay, "relay_domains"},
		{&r.valias, "virtual_alias_domains"}, {&r.vmailbox, "virtual_mailbox_domains"}} {
		if *l.p, err = OpenList(cfg, l.name, o); err != nil {
			r.Close()
			return nil, err
		}
	}
	if specs := cfg.List("transport_maps"); len(specs) > 0 {
		if r.transports, err = table.OpenList(specs, o); err != nil {
			r.Close()
			return nil, fmt.Errorf("transport_maps: %v", err)
		}
	}
	return r, nil
}

// parseTransport splits "transport:nexthop" as in local_transport = local:$myhostname.
func parseTransport(v, def string) route {
	name, hop, _ := strings.Cut(strings.TrimSpace(v), ":")
	if name == "" {
		name = def
	}
	return route{transport: name, nexthop: hop}
}

// Close releases the tables.
func (r *Resolver) Close() {
	for _, l := range []*List{r.mydest, r.relay, r.valias, r.vmailbox} {
		l.Close()
	}
	r.transports.Close()
}

// Canon is the canonical form used by the resolver (and by its callers).
func (r *Resolver) Canon() *Canon { return r.canon }

// LocalTransport is local_transport split into its transport and next hop.
func (r *Resolver) LocalTransport() (transport, nexthop string) {
	return r.local.transport, r.local.nexthop
}

// Interfaces are inet_interfaces and proxy_interfaces.
func (r *Resolver) Interfaces() *Interfaces { return r.ifaces }

// IsLocal is Postfix's resolve_local: domain is in mydestination or is an address literal
// of inet_interfaces/proxy_interfaces. A trailing dot, upper case and U-labels do not
// matter. mydestination is plain names and files in practice; a table that fails counts
// as "not local".
func (r *Resolver) IsLocal(domain string) bool {
	ok, _ := r.isLocal(domain)
	return ok
}

func (r *Resolver) isLocal(domain string) (bool, error) {
	domain = strings.TrimSuffix(domain, ".")
	if domain == "" {
		return false, nil
	}
	if strings.HasPrefix(domain, "[") {
		return r.ifaces.Literal(domain), nil
	}
	return r.mydest.MatchDomain(domain)
}

// IsVirtualAlias tells whether domain is in virtual_alias_domains.
func (r *Resolver) IsVirtualAlias(domain string) (bool, error) {
	return r.valias.MatchDomain(domain)
}

// routingOps are the characters that route mail in a local part.
func (r *Resolver) hasOps(local string) bool {
	return strings.Contains(local, "@") ||
		(r.canon.SwapBangpath && strings.Contains(local, "!")) ||
		(r.canon.PercentHack && strings.Contains(local, "%"))
}

// Resolve is Postfix's resolve_addr for a recipient in internal form: local domains are
// stripped ("user%dom@local" becomes "user@dom" with allow_percent_hack, "dom!user@local"
// becomes "user@dom" with swap_bangpath, "u@a@local" becomes "u@a") until the domain left is
// not local or a plain local user remains; then the domain gives the class, and the class
// the transport and next hop, which transport_maps may override (not for virtual alias
// domains, whose recipients are unknown here).
func (r *Resolver) Resolve(address string) Result {
	a := address
	saved := "" // the local domain last stripped
	remote := false
	for n := 0; n < len(address)+100; n++ {
		if k := len(a); k > 1 && a[k-1] == '.' && a[k-2] != '.' && a[k-2] != '@' && strings.Contains(a, "@") {
			a = a[:k-1]
		}
		if i := strings.LastIndexByte(a, '@'); i >= 0 {
			d := a[i+1:]
			if d == "" {
				a = a[:i] // a trailing "@"
				continue
			}
			ok, err := r.isLocal(d)
			if err != nil {
				return r.fail("mydestination", a, err)
			}
			if !ok {
				remote = true
				break
			}
			saved, a = d, a[:i]
		}
		if r.hasOps(a) {
			a = r.canon.Address(a)
			continue
		}
		if a == "" {
			a = r.emptyAddr
			continue
		}
		if saved == "" {
			a += "@" + r.myhostname
			continue
		}
		break
	}
	res := Result{Class: Local, Recipient: a}
	if !remote {
		res.Recipient = a + "@" + saved
	}
	local, domain := addr.Split(res.Recipient)
	res.Routed = strings.ContainsAny(local, "@!%")
	rt := r.local
	if remote {
		if ok, err := r.valias.MatchDomain(domain); err != nil {
			return r.fail("virtual_alias_domains", res.Recipient, err)
		} else if ok {
			res.Class, res.Transport, res.Nexthop = Alias, ErrorTransport, "5.1.1 User unknown in virtual alias table"
			return res
		}
		if ok, err := r.vmailbox.MatchDomain(domain); err != nil {
			return r.fail("virtual_mailbox_domains", res.Recipient, err)
		} else if ok {
			res.Class, rt = Virtual, r.virtual
		} else if ok, err := r.relay.MatchDomain(domain); err != nil {
			return r.fail("relay_domains", res.Recipient, err)
		} else if ok {
			res.Class, rt = Relay, r.relayT
		} else {
			res.Class, rt = Default, r.def
		}
	}
	res.Transport, res.Nexthop = rt.transport, rt.nexthop
	if res.Nexthop == "" {
		res.Nexthop = strings.ToLower(domain)
	}
	if r.transports != nil {
		if err := r.transportMap(&res, domain, rt); err != nil {
			return r.fail("transport_maps", res.Recipient, err)
		}
	}
	return res
}

// fail is a resolution that a table could not answer: the recipient is deferred.
func (r *Resolver) fail(param, rcpt string, err error) Result {
	return Result{Class: Default, Recipient: rcpt, Transport: ErrorTransport,
		Nexthop: "4.3.0 " + param + " lookup failure", Err: errors.Join(fmt.Errorf("%s lookup failure", param), err)}
}

// transportMap looks the recipient up in transport_maps as transport(5) says: the full
// address, the domain, then each parent domain as ".parent", then "*". A result
// "transport:nexthop" with an empty part keeps that part of the class's route; the
// recipient's domain is the default next hop of a route other than local or error.
func (r *Resolver) transportMap(res *Result, domain string, def route) error {
	keys := []string{strings.ToLower(res.Recipient)}
	if domain != "" {
		d := normalize(domain)
		keys = append(keys, d)
		for i := strings.IndexByte(d, '.'); i >= 0; i = strings.IndexByte(d, '.') {
			d = d[i+1:]
			keys = append(keys, "."+d)
		}
	}
	keys = append(keys, "*")
	for _, k := range keys {
		v, found, err := r.transports.Lookup(k)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		name, hop, _ := strings.Cut(strings.TrimSpace(v), ":")
		rt := def
		if name != "" {
			rt.transport = name
			rt.nexthop = ""
			if name == def.transport {
				rt.nexthop = def.nexthop
			}
		}
		if hop != "" {
			rt.nexthop = hop
		}
		if rt.nexthop == "" && rt.transport != ErrorTransport && rt.transport != r.local.transport {
			rt.nexthop = strings.ToLower(domain)
		}
		res.Transport, res.Nexthop = rt.transport, rt.nexthop
		return nil
	}
	return nil
}
