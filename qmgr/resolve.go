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

// resolver is qmgr's stand-in for trivial-rewrite's resolve step: local domains go to
// local_transport, everything else to default_transport. (transport_maps, relayhost and
// virtual domains come with the smtp transport.)
type resolver struct {
	mydest       []string
	local        route
	remote       route
	doubleBounce string              // double_bounce_sender@myorigin
	valias       *rewrite.DomainList // virtual_alias_domains

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
	if domain == "" || addr.DomainIn(domain, r.mydest) || r.localLiteral(domain) {
		return r.local
	}
	if r.valias != nil {
		if ok, err := r.valias.Match(domain); err == nil && ok {
			return route{transport: errorTransport, nexthop: "User unknown in virtual alias table"}
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
