package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"postern/pkg/dsn"
)

// target is one destination of a nexthop: "[host]:port" (no MX lookup), "host:port" or
// "host" (MX lookup). relayhost may list several, separated by commas or spaces.
type target struct {
	host string
	port int
	noMX bool
}

// hop is one address to connect to.
type hop struct {
	name string // MX host name (or the literal) for logs and SNI
	addr netip.AddrPort
}

func (h hop) label() string { return h.name + "[" + h.addr.Addr().String() + "]" }
func (h hop) relay() string { return h.label() + ":" + strconv.Itoa(int(h.addr.Port())) }

// parseTargets reads a nexthop list; a destination without a port gets defPort.
func parseTargets(s string, defPort int) ([]target, error) {
	var out []target
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		t := target{port: defPort}
		rest := f
		if strings.HasPrefix(f, "[") {
			end := strings.IndexByte(f, ']')
			if end < 0 {
				return nil, errors.New("bad destination " + f)
			}
			t.host, t.noMX, rest = f[1:end], true, f[end+1:]
		} else if i := strings.LastIndexByte(f, ':'); i >= 0 {
			t.host, rest = f[:i], f[i:]
		} else {
			t.host, rest = f, ""
		}
		if rest != "" {
			if rest[0] != ':' {
				return nil, errors.New("bad destination " + f)
			}
			p, err := lookupPort(rest[1:])
			if err != nil {
				return nil, errors.New("bad port in destination " + f)
			}
			t.port = p
		}
		t.host = strings.TrimSuffix(strings.ToLower(t.host), ".")
		if t.host == "" {
			return nil, errors.New("bad destination " + f)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("no destination")
	}
	return out, nil
}

// lookupPort takes a number or a service name (smtp, submission).
func lookupPort(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 65535 {
			return 0, errors.New("bad port")
		}
		return n, nil
	}
	switch s {
	case "smtp":
		return 25, nil
	case "submission":
		return 587, nil
	case "smtps", "submissions":
		return 465, nil
	}
	return net.LookupPort("tcp", s)
}

// literal reads an address literal: "192.0.2.1", "ipv6:2001:db8::1", "2001:db8::1".
func literal(host string) (netip.Addr, bool) {
	if len(host) > 5 && strings.EqualFold(host[:5], "ipv6:") {
		host = host[5:]
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

// resolve turns a target into addresses in the order to try them: the MX hosts by
// preference (Go's resolver shuffles hosts of equal preference), each host's addresses,
// with the domain's own addresses when it has no MX record. The status is for failures.
func (s *server) resolve(ctx context.Context, t target) ([]hop, *result) {
	if a, ok := literal(t.host); ok {
		return []hop{{name: t.host, addr: netip.AddrPortFrom(a, uint16(t.port))}}, nil
	}
	if t.noMX || s.cfg.noMX {
		addrs, res := s.lookupHost(ctx, t.host)
		if res != nil {
			return nil, res
		}
		return s.hops(t.host, addrs, t.port, nil), nil
	}
	mxs, err := s.resolver.LookupMX(ctx, t.host)
	if len(mxs) == 0 && err != nil {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			// No MX record (or no such name): the host itself, as an implicit MX.
			addrs, res := s.lookupHost(ctx, t.host)
			if res != nil {
				return nil, res
			}
			return s.hops(t.host, addrs, t.port, nil), nil
		}
		return nil, dnsFail(t.host, "MX", err)
	}
	if len(mxs) == 1 && (mxs[0].Host == "." || mxs[0].Host == "") {
		return nil, &result{st: dsn.Bounce("5.1.10", "Domain %s does not accept mail (nullMX)", t.host)}
	}
	var out []hop
	var last *result
	for _, mx := range mxs {
		name := strings.TrimSuffix(strings.ToLower(mx.Host), ".")
		if name == "" {
			continue
		}
		addrs, res := s.lookupHost(ctx, name)
		if res != nil {
			if last == nil || res.st.Temporary() {
				last = res
			}
			continue
		}
		out = s.hops(name, addrs, t.port, out)
		if s.cfg.addrLimit > 0 && len(out) >= s.cfg.addrLimit {
			out = out[:s.cfg.addrLimit]
			break
		}
	}
	if len(out) == 0 {
		if last == nil {
			last = &result{st: dsn.Bounce("5.4.4", "Host or domain name not found. Name service error for name=%s type=MX: Host not found", t.host)}
		}
		return nil, last
	}
	return out, nil
}

func (s *server) hops(name string, addrs []netip.Addr, port int, out []hop) []hop {
	for _, a := range addrs {
		out = append(out, hop{name: name, addr: netip.AddrPortFrom(a.Unmap(), uint16(port))})
	}
	if s.cfg.addrLimit > 0 && len(out) > s.cfg.addrLimit {
		out = out[:s.cfg.addrLimit]
	}
	return out
}

// lookupHost finds a host's addresses of the families inet_protocols allows.
func (s *server) lookupHost(ctx context.Context, name string) ([]netip.Addr, *result) {
	network, rtype := "ip", "A"
	switch {
	case s.cfg.ip4 && !s.cfg.ip6:
		network = "ip4"
	case s.cfg.ip6 && !s.cfg.ip4:
		network, rtype = "ip6", "AAAA"
	}
	addrs, err := s.resolver.LookupNetIP(ctx, network, name)
	if len(addrs) == 0 {
		if err == nil {
			err = &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}
		return nil, dnsFail(name, rtype, err)
	}
	return addrs, nil
}

// dnsFail words a lookup failure as Postfix does: not found bounces, anything else defers.
func dnsFail(name, rtype string, err error) *result {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return &result{st: dsn.Bounce("5.4.4", "Host or domain name not found. Name service error for name=%s type=%s: Host not found", name, rtype)}
	}
	return &result{st: dsn.Defer("4.4.3", "Host or domain name not found. Name service error for name=%s type=%s: Host not found, try again", name, rtype)}
}
