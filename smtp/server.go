package main

import (
	"context"
	"errors"
	"net"
	"time"

	"postern/pkg/config"
	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// server is one smtp process: it serves any number of qmgr connections and shares one
// connection cache between them.
type server struct {
	cfg      settings
	log      *maillog.Logger
	queue    *queue.Queue
	resolver *net.Resolver
	cache    *cache
	tls      *tlsState
	now      func() time.Time
}

func newServer(c *config.Config, l *maillog.Logger) (*server, error) {
	cfg, err := loadSettings(c)
	if err != nil {
		return nil, err
	}
	if cfg.queueDir == "" {
		return nil, errors.New("queue_directory is not set")
	}
	s := &server{cfg: cfg, log: l, queue: queue.New(cfg.queueDir), resolver: net.DefaultResolver, tls: newTLSState(c), now: time.Now}
	if cfg.dnsAddr != "" {
		if _, _, err := net.SplitHostPort(cfg.dnsAddr); err != nil {
			return nil, errors.New("smtp_dns_resolver_address: want ip:port, got " + cfg.dnsAddr)
		}
		addr := cfg.dnsAddr
		s.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	}
	s.cache = newCache(func(ss *session) { ss.close(cfg.quitTimeout, true) })
	go func() {
		for range time.Tick(time.Second) {
			s.cache.expire(time.Now(), cfg.cacheTime)
		}
	}()
	return s, nil
}

// serve handles one qmgr connection: requests one after another, each answered before
// the next is read.
func (s *server) serve(c net.Conn) {
	deliver.Serve(c, s.cfg.ipcTimeout, s.log, s.handle)
}

// handle performs one request, logs one line per recipient and builds the reply: status,
// dsn, reason, and diag_type/diag_text (the remote reply) and mta_type/mta_mname (the
// remote host) when known, repeated per recipient in request order.
func (s *server) handle(a ipc.Attrs) ipc.Attrs {
	r, err := parseRequest(a)
	if err != nil {
		s.log.Warn("malformed delivery request: %v", err)
		return replyAttrs(result{st: dsn.Defer("4.3.0", "malformed delivery request")})
	}
	start := s.now()
	ready := time.Time{}
	func() {
		defer func() {
			// A panic becomes a deferral: hostile input must not take the process down
			// with the deliveries of other connections.
			if p := recover(); p != nil {
				s.log.Error("%s: internal error: %v", r.QueueID, p)
				setAll(r.rcpts, result{st: dsn.Defer("4.3.0", "internal error")}, true)
			}
		}()
		m, err := s.openMessage(r)
		if err != nil {
			s.log.Warn("%s: %v", r.QueueID, err)
			setAll(r.rcpts, result{st: dsn.Defer("4.3.0", "cannot open queue file")}, true)
			return
		}
		defer m.f.Close()
		// The whole request is bounded, whatever the server does between deadlines.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ipcTimeout)
		defer cancel()
		ready = s.deliver(ctx, r, m)
	}()
	end := s.now()
	var out ipc.Attrs
	d := deliver.Span(r.Arrival, r.Active, start, ready, end)
	for _, rc := range r.rcpts {
		if s.cfg.softBounce {
			rc.st.st = rc.st.st.SoftBounce()
		}
		s.log.Info("%s", deliver.LogLine(r.QueueID, rc.Recipient, rc.st.relay, rc.st.connUse, d, rc.st.st))
		out = append(out, replyAttrs(rc.st)...)
	}
	return out
}

func replyAttrs(res result) ipc.Attrs {
	return deliver.Reply{Status: res.st, DiagType: "smtp", DiagText: res.diag, MTAType: "dns", MTAName: res.mta}.Attrs()
}
