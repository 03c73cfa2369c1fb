package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"postern/pkg/config"
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
	s := &server{cfg: cfg, log: l, queue: queue.New(cfg.queueDir), resolver: net.DefaultResolver, now: time.Now}
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
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.ipcTimeout))
		a, err := ipc.Read(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				s.log.Warn("read delivery request: %v", err)
			}
			return
		}
		out := s.handle(a)
		c.SetWriteDeadline(time.Now().Add(s.cfg.ipcTimeout))
		if err := ipc.Write(c, out); err != nil {
			s.log.Warn("write delivery reply: %v", err)
			return
		}
	}
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
				setAll(r.Rcpts, result{st: dsn.Defer("4.3.0", "internal error")}, true)
			}
		}()
		m, err := s.openMessage(r)
		if err != nil {
			s.log.Warn("%s: %v", r.QueueID, err)
			setAll(r.Rcpts, result{st: dsn.Defer("4.3.0", "cannot open queue file")}, true)
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
	for _, rc := range r.Rcpts {
		logDelivery(s.log, r, rc, start, ready, end)
		out = append(out, replyAttrs(rc.st)...)
	}
	return out
}

func replyAttrs(res result) ipc.Attrs {
	code := "4"
	switch res.st.Class() {
	case '2':
		code = "0"
	case '5':
		code = "5"
	}
	out := ipc.Attrs{{Name: "status", Value: code}, {Name: "dsn", Value: res.st.Code}, {Name: "reason", Value: res.st.Text}}
	if res.diag != "" {
		out = append(out, ipc.Attr{Name: "diag_type", Value: "smtp"}, ipc.Attr{Name: "diag_text", Value: res.diag})
	}
	if res.mta != "" {
		out = append(out, ipc.Attr{Name: "mta_type", Value: "dns"}, ipc.Attr{Name: "mta_mname", Value: res.mta})
	}
	return out
}

// logDelivery writes the line pflogsumm parses (postfix-behaviour.md §10.2):
//
//	ID: to=<R>, [orig_to=<O>, ]relay=H[A]:P, [conn_use=N, ]delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (TEXT)
//
// a = arrival to active, b = active to this request, c = connection setup (DNS, connect,
// greeting, EHLO, TLS), d = the transaction.
func logDelivery(l *maillog.Logger, r *request, rc *rcpt, start, ready, end time.Time) {
	var b strings.Builder
	b.WriteString(r.QueueID + ": to=<" + printable(rc.Addr) + ">")
	if rc.Orig != "" && !strings.EqualFold(rc.Orig, rc.Addr) {
		b.WriteString(", orig_to=<" + printable(rc.Orig) + ">")
	}
	relay := rc.st.relay
	if relay == "" {
		relay = "none"
	}
	b.WriteString(", relay=" + relay)
	if rc.st.connUse > 1 {
		b.WriteString(", conn_use=")
		b.WriteString(strconv.Itoa(rc.st.connUse))
	}
	arrival, active := r.Arrival, r.Active
	if arrival.IsZero() || arrival.After(start) {
		arrival = start
	}
	if active.IsZero() || active.Before(arrival) || active.After(start) {
		active = start
	}
	if ready.IsZero() || ready.Before(start) || ready.After(end) {
		ready = end
	}
	b.WriteString(", delay=" + maillog.FormatDelay(end.Sub(arrival)))
	b.WriteString(", delays=" + maillog.FormatDelay(active.Sub(arrival)) + "/" + maillog.FormatDelay(start.Sub(active)) +
		"/" + maillog.FormatDelay(ready.Sub(start)) + "/" + maillog.FormatDelay(end.Sub(ready)))
	b.WriteString(", dsn=" + rc.st.st.Code + ", status=" + rc.st.st.Word() + " (" + printable(rc.st.st.Text) + ")")
	l.Info("%s", b.String())
}
