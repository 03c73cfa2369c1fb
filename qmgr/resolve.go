package main

import (
	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/resolve"
	"postern/pkg/table"
)

// errorTransport marks a recipient that resolves to a failure without any delivery agent,
// as trivial-rewrite's error:5.1.1 results in Postfix; nexthop holds the status text.
const errorTransport = resolve.ErrorTransport

// route is where a recipient goes: a transport (master.cf service name) and its next hop.
type route struct {
	transport string
	nexthop   string
}

// resolver is qmgr's use of pkg/resolve (trivial-rewrite's resolve step): the address class
// of each recipient gives its transport and next hop, transport_maps may override them. A
// recipient still in a virtual alias domain matched no virtual alias (cleanup rewrote the
// ones that did): it bounces with error:5.1.1 without any agent.
type resolver struct {
	*resolve.Resolver
	local        route  // local_transport, for tests
	doubleBounce string // double_bounce_sender@myorigin
	log          *maillog.Logger
}

func newResolver(cfg *config.Config, log *maillog.Logger) (*resolver, error) {
	o := &table.Options{}
	if log != nil {
		o.Warnf = func(f string, a ...any) { log.Warn(f, a...) }
	}
	rs, err := resolve.New(cfg, o)
	if err != nil {
		return nil, err
	}
	r := &resolver{Resolver: rs, log: log,
		doubleBounce: cfg.Get("double_bounce_sender") + "@" + cfg.MyOrigin()}
	r.local.transport, r.local.nexthop = rs.LocalTransport()
	return r, nil
}

// resolve picks the route of one recipient. A table that cannot answer defers it
// (error:4.3.0) and is logged.
func (r *resolver) resolve(rcpt string) route {
	res := r.Resolve(rcpt)
	if res.Err != nil && r.log != nil {
		r.log.Warn("%v", res.Err)
	}
	return route{res.Transport, res.Nexthop}
}
