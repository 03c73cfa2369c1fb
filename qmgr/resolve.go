package main

import (
	"net"
	"strings"
	"sync"

	"postern/pkg/addr"
	"postern/pkg/config"
	"postern/pkg/rewrite"
	"postern/pkg/table"
)

// errorTransport marks a recipient that resolves to a permanent error without any delivery
// agent, as trivial-rewrite's error:5.1.1 results in Postfix; nexthop holds the status text.
const errorTransport = "error"

// route is where a recipient goes: a transport (master.cf service name) and its next hop.
type route struct {
	transport string
	nexthop   string
}

// resolver is qmgr's stand-in for trivial-rewrite's resolve step: transport_maps first (as
// transport(5)), then local domains to local_transport, virtual alias domains to an error,
// everything else to default_transport with relayhost as next hop.
type resolver struct {
	mydest       []string
	local        route
	remote       route
	doubleBounce string              // double_bounce_sender@myorigin
	valias       *rewrite.DomainList // virtual_alias_domains
	transports   *table.List         // transport_maps

	ifaceOnce  sync.Once
	ifaceAddrs map[string]bool // canonical IP strings of inet_interfaces and proxy_interfaces
	ifaceList  []string
}

func newResolver(cfg *config.Config) *resolver {
	r := &resolver{
		mydest:       cfg.List("mydestination"),
		local:        parseTransport(cfg.Get("local_transport"), "local"),
		remote:       parseTransport(cfg.Get("default_transport"), "smtp"),
		doubleBounce: cfg.Get("double_bounce_sender") + "@" + cfg.MyOrigin(),
	}
	r.ifaceList = append(cfg.List("inet_interfaces"), cfg.List("proxy_interfaces")...)
	// Mail that reaches qmgr still addressed to a virtual alias domain matched no virtual
	// alias (cleanup rewrote the ones that did): it can only bounce. smtpd rejects such
	// recipients at RCPT; this catches local submissions.
	if dl, err := rewrite.OpenDomainList(cfg.List("virtual_alias_domains"), &table.Options{}); err == nil && dl.Len() > 0 {
		r.valias = dl
	}
	if specs := cfg.List("transport_maps"); len(specs) > 0 {
		if l, err := table.OpenList(specs, &table.Options{}); err == nil {
			r.transports = l
		}
	}
	if relay := cfg.Get("relayhost"); relay != "" && r.remote.nexthop == "" {
		r.remote.nexthop = relay
	}
	return r
}

// parseTransport splits "transport:nexthop" as in local_transport = local:$myhostname.
func parseTransport(v, def string) route {
	v = strings.TrimSpace(v)
	name, hop, _ := strings.Cut(v, ":")
	if name == "" {
		name = def
	}
	return route{transport: name, nexthop: hop}
}

// resolve picks the route of one recipient.
func (r *resolver) resolve(rcpt string) route {
	_, domain := addr.Split(rcpt)
	isLocal := domain == "" || addr.DomainIn(domain, r.mydest) || r.localLiteral(domain)
	if r.transports != nil {
		def := r.remote
		if isLocal {
			def = r.local
		}
		if rt, ok := r.transportMap(rcpt, domain, def); ok {
			return rt
		}
	}
	if isLocal {
		return r.local
	}
	if r.valias != nil {
		if ok, err := r.valias.Match(domain); err == nil && ok {
			return route{transport: errorTransport, nexthop: "5.1.1 User unknown in virtual alias table"}
		}
	}
	rt := r.remote
	if rt.nexthop == "" {
		rt.nexthop = strings.ToLower(domain)
	}
	return rt
}

// localLiteral tells whether domain is an address literal ([192.0.2.1], [IPv6:...]) of one
// of this host's interfaces in inet_interfaces/proxy_interfaces.
func (r *resolver) localLiteral(domain string) bool {
	if len(domain) < 3 || domain[0] != '[' || domain[len(domain)-1] != ']' {
		return false
	}
	lit := domain[1 : len(domain)-1]
	if len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:") {
		lit = lit[5:]
	}
	ip := net.ParseIP(lit)
	if ip == nil {
		return false
	}
	r.ifaceOnce.Do(r.loadInterfaces)
	return r.ifaceAddrs[ip.String()]
}

func (r *resolver) loadInterfaces() {
	r.ifaceAddrs = map[string]bool{}
	for _, v := range r.ifaceList {
		switch strings.ToLower(v) {
		case "all":
			if addrs, err := net.InterfaceAddrs(); err == nil {
				for _, a := range addrs {
					if n, ok := a.(*net.IPNet); ok {
						r.ifaceAddrs[n.IP.String()] = true
					}
				}
			}
		case "loopback-only":
			r.ifaceAddrs["127.0.0.1"] = true
			r.ifaceAddrs["::1"] = true
		default:
			v = strings.Trim(v, "[]")
			if ip := net.ParseIP(v); ip != nil {
				r.ifaceAddrs[ip.String()] = true
			} else if ips, err := net.LookupIP(v); err == nil {
				for _, ip := range ips {
					r.ifaceAddrs[ip.String()] = true
				}
			}
		}
	}
}

// transportMap looks rcpt up in transport_maps as transport(5) says: the full address, the
// domain, then each parent domain as ".parent", then "*". A result "transport:nexthop" with an
// empty part keeps that part of def; the recipient's domain is the default next hop of a
// non-local route. A table that cannot be read defers the recipient.
func (r *resolver) transportMap(rcpt, domain string, def route) (route, bool) {
	keys := []string{strings.ToLower(rcpt)}
	if domain != "" {
		d := strings.ToLower(domain)
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
			return route{transport: errorTransport, nexthop: "4.3.0 transport_maps lookup failure"}, true
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
		if rt.nexthop == "" && rt.transport != errorTransport && rt.transport != r.local.transport {
			rt.nexthop = strings.ToLower(domain)
		}
		return rt, true
	}
	return route{}, false
}
