package resolve

import (
	"net"
	"net/netip"
	"strings"
	"sync"
)

// Interfaces are the addresses of inet_interfaces and proxy_interfaces: "all" is every
// interface address, "loopback-only" the loopback addresses, names are looked up. They are
// found on first use: most mail never names an address literal.
type Interfaces struct {
	list  []string
	once  sync.Once
	addrs []netip.Addr
}

// SystemAddrs lists this host's interface addresses; tests replace it.
var SystemAddrs = func() []netip.Addr {
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

// NewInterfaces takes the values of inet_interfaces and proxy_interfaces.
func NewInterfaces(inet, proxy []string) *Interfaces {
	return &Interfaces{list: append(append([]string(nil), inet...), proxy...)}
}

func (f *Interfaces) load() {
	for _, v := range f.list {
		switch strings.ToLower(v) {
		case "all":
			f.addrs = append(f.addrs, SystemAddrs()...)
			continue
		case "loopback-only":
			f.addrs = append(f.addrs, netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
			continue
		}
		v = strings.Trim(v, "[]")
		if a, err := netip.ParseAddr(v); err == nil {
			f.addrs = append(f.addrs, a.Unmap())
		} else if ips, err := net.LookupIP(v); err == nil {
			for _, ip := range ips {
				if a, ok := netip.AddrFromSlice(ip); ok {
					f.addrs = append(f.addrs, a.Unmap())
				}
			}
		}
	}
}

// Contains tells whether a is one of the addresses.
func (f *Interfaces) Contains(a netip.Addr) bool {
	if f == nil || !a.IsValid() {
		return false
	}
	f.once.Do(f.load)
	a = a.Unmap()
	for _, x := range f.addrs {
		if x == a {
			return true
		}
	}
	return false
}

// Literal tells whether domain is an address literal ("[192.0.2.1]", "[IPv6:2001:db8::1]")
// of one of the addresses.
func (f *Interfaces) Literal(domain string) bool {
	a, ok := ParseLiteral(domain)
	return ok && f.Contains(a)
}

// ParseLiteral returns the address of an address literal; ok is false for anything else.
func ParseLiteral(domain string) (a netip.Addr, ok bool) {
	if len(domain) < 3 || domain[0] != '[' || domain[len(domain)-1] != ']' {
		return a, false
	}
	lit := domain[1 : len(domain)-1]
	v6 := len(lit) > 5 && strings.EqualFold(lit[:5], "ipv6:")
	if v6 {
		lit = lit[5:]
	}
	a, err := netip.ParseAddr(lit)
	if err != nil || a.Zone() != "" || a.Is6() != v6 {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}
