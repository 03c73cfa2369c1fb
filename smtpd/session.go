package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/cleanup"
	"postern/pkg/ipc"
)

// session is one go-smtp session: it starts at the first HELO/EHLO (go-smtp's rule; the wire
// supplies a HELO when the client skips it) and lives until the connection closes.
type session struct {
	srv *server
	w   *wire

	clientName, clientAddr string
	clientIP               netip.Addr
	conn                   *smtp.Conn

	mailGiven bool
	from      string // as received
	utf8      bool
	dsnRet    string // ret_flags for cleanup ("1" FULL, "2" HDRS)
	dsnEnvid  string // envelope_id
	rcptTried int
	rcpts     []string // as received, accepted ones

	// mu guards cl and the transaction: with BDAT, go-smtp runs Data in a goroutine of its
	// own while RSET or a disconnect may call Reset or Logout.
	mu sync.Mutex
	cl *cleanup.Stream
}

func (s *server) newSession(c *smtp.Conn) (smtp.Session, error) {
	w, ok := c.Conn().(*wire)
	if !ok {
		return nil, errors.New("internal error: connection without wire")
	}
	sess := &session{srv: s, w: w, clientName: w.name, clientAddr: w.addr, clientIP: w.ip, conn: c}
	w.sess = sess
	return sess, nil
}

// reply makes go-smtp's error value for a reply.
func reply(code int, dsn, format string, args ...any) error {
	return (&replyErr{code: code, dsn: dsn, text: fmt.Sprintf(format, args...)}).smtpError()
}

// unbare removes the domain the wire added to a domain-less address.
func (s *session) unbare(a string) string {
	if s.w.bare {
		return strings.TrimSuffix(a, "@"+bareDomain)
	}
	return a
}

// heloName is the client's HELO/EHLO argument, "" when it gave none (the wire may have said
// HELO for it).
func (s *session) heloName() string {
	if s.w.heloGiven {
		return s.conn.Hostname()
	}
	return ""
}

func (s *session) proto() string {
	p := "SMTP"
	if s.w.esmtp {
		p = "ESMTP"
	}
	if s.utf8 {
		p = "UTF8" + p
	}
	return p
}

// receivedProto is the protocol of the Received: header, with RFC 3848's S for TLS and A
// for an authenticated client (ESMTPS, ESMTPA, ESMTPSA); logs and queue attributes keep
// the plain name, as Postfix's.
func (s *session) receivedProto() string {
	p := s.proto()
	if s.w.esmtp {
		if s.w.tlsActive {
			p += "S"
		}
		if s.w.saslUser != "" {
			p += "A"
		}
	}
	return p
}

func isASCII(a string) bool {
	for i := 0; i < len(a); i++ {
		if a[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if s.mailGiven {
		return reply(503, "5.5.1", "Error: nested MAIL command")
	}
	from = s.unbare(from)
	utf8 := opts != nil && opts.UTF8
	if !utf8 && !isASCII(from) {
		return reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
	}
	if e := s.checkStorage(opts); e != nil {
		return e
	}
	s.mailGiven, s.from, s.utf8 = true, from, utf8
	s.rcptTried, s.rcpts = 0, nil
	s.dsnRet, s.dsnEnvid = "", ""
	if opts != nil {
		// RFC 3461 RET and ENVID travel to cleanup as Postfix's ret_flags (FULL=1, HDRS=2)
		// and envelope_id, for the bounce service.
		switch opts.Return {
		case smtp.DSNReturnFull:
			s.dsnRet = "1"
		case smtp.DSNReturnHeaders:
			s.dsnRet = "2"
		}
		s.dsnEnvid = printable(opts.EnvelopeID, 100)
	}
	return nil
}

// notifyFlags is RCPT's NOTIFY as Postfix's bit mask: NEVER=1 SUCCESS=2 FAILURE=4 DELAY=8.
func notifyFlags(opts *smtp.RcptOptions) int {
	if opts == nil {
		return 0
	}
	n := 0
	for _, v := range opts.Notify {
		switch v {
		case smtp.DSNNotifyNever:
			n |= 1
		case smtp.DSNNotifySuccess:
			n |= 2
		case smtp.DSNNotifyFailure:
			n |= 4
		case smtp.DSNNotifyDelayed:
			n |= 8
		}
	}
	return n
}

func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	to = s.unbare(to)
	s.rcptTried++
	if !s.utf8 && !isASCII(to) {
		return reply(553, "5.6.7", "Must declare SMTPUTF8 to send unicode address")
	}
	if s.srv.rcptLimit > 0 && len(s.rcpts) >= s.srv.rcptLimit {
		return reply(452, "4.5.3", "Error: too many recipients")
	}
	canon := s.srv.policy.canon.Address(to)
	chk := &rcptCheck{s: s, rcpt: to, canonical: canon}
	if e := chk.run(); e != nil {
		said := e.String()
		if s.srv.softBounce {
			said = softReply(said) // logged as queueReply sends it
		}
		id := "NOQUEUE"
		if s.cl != nil {
			id = s.cl.ID()
		}
		helo := ""
		if s.heloName() != "" {
			helo = " helo=<" + s.heloName() + ">"
		}
		s.srv.log.Info("%s: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=%s%s",
			id, s.w.client(), said, s.from, to, s.proto(), helo)
		return e.smtpError()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		cl, err := cleanup.Open(s.srv.cleanupPath, s.srv.timeout)
		if err != nil {
			s.srv.log.Warn("connect to cleanup service %s: %v", s.srv.cleanupPath, err)
			return reply(451, "4.3.0", "Error: queue file write error")
		}
		cl.LineLimit = s.srv.lineLimit
		s.cl = cl
		sasl := ""
		if s.w.saslUser != "" {
			sasl = fmt.Sprintf(", sasl_method=%s, sasl_username=%s", s.w.saslMethod, printable(s.w.saslUser, 100))
		}
		s.srv.log.Info("%s: client=%s%s", cl.ID(), s.w.client(), sasl)
		s.writeEnvelope()
	}
	r := cleanup.Recipient{Addr: canon, Orig: to, Notify: notifyFlags(opts)}
	if opts != nil && opts.OriginalRecipient != "" {
		typ := strings.ToLower(string(opts.OriginalRecipientType))
		if typ == "" {
			typ = "rfc822"
		}
		r.DSNOrig = typ + ";" + printable(opts.OriginalRecipient, 1000)
	}
	s.cl.Recipient(r)
	if err := s.cl.Err(); err != nil {
		s.srv.log.Warn("%s: write to cleanup: %v", s.cl.ID(), err)
		s.cl.Abort()
		s.cl = nil
		s.endTransaction()
		return reply(451, "4.3.0", "Error: queue file write error")
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// writeEnvelope sends the attributes and the sender: everything before the recipients.
func (s *session) writeEnvelope() {
	ctx := "remote"
	if s.rewriteLocal() {
		ctx = "local"
	}
	s.cl.Attrs(ipc.Attrs{
		{Name: "rewrite_context", Value: ctx},
		{Name: "log_client_name", Value: s.clientName},
		{Name: "log_client_address", Value: s.clientAddr},
		{Name: "log_helo_name", Value: s.heloName()},
		{Name: "log_protocol_name", Value: s.proto()},
		{Name: "client_name", Value: s.clientName},
		{Name: "client_address", Value: s.clientAddr},
		{Name: "helo_name", Value: s.heloName()},
		{Name: "protocol_name", Value: s.proto()},
		{Name: "sasl_method", Value: s.w.saslMethod},
		{Name: "sasl_username", Value: s.w.saslUser},
		{Name: "ret_flags", Value: s.dsnRet},
		{Name: "envelope_id", Value: s.dsnEnvid},
	})
	s.cl.Sender(s.srv.policy.canon.Address(s.from))
}

// rewriteLocal applies local_header_rewrite_clients.
func (s *session) rewriteLocal() bool {
	p := s.srv.policy
	for _, r := range p.rewriteLocal {
		switch strings.ToLower(r) {
		case "permit_inet_interfaces":
			if s.clientIP.IsValid() && containsAddr(p.localAddrs, s.clientIP) {
				return true
			}
		case "permit_mynetworks":
			if p.mynetworks.match(s.clientIP, s.clientName) {
				return true
			}
		case "static:all":
			return true
		}
	}
	return false
}

func (s *session) Data(r io.Reader) error {
	s.mu.Lock()
	cl, from, proto := s.cl, s.from, s.proto()
	hdr := s.received(cl, time.Now())
	s.mu.Unlock()
	if cl == nil {
		io.Copy(io.Discard, r)
		return reply(451, "4.3.0", "Error: queue file write error")
	}
	cl.Content()
	for _, h := range hdr {
		cl.Line([]byte(h))
	}
	err := cl.Text(r)
	if err != nil {
		s.drop(cl)
		if errors.Is(err, smtp.ErrDataTooLarge) || err == smtp.ErrDataTooLarge {
			s.srv.log.Info("%s: reject: DATA from %s: 552 5.3.4 Message size exceeds fixed limit; from=<%s> proto=%s",
				cl.ID(), s.w.client(), from, proto)
			return reply(552, "5.3.4", "Error: message file too big")
		}
		return reply(451, "4.3.0", "Error: queue file write error")
	}
	cl.Extracted()
	id, err := cl.Close()
	s.drop(cl)
	var refused *cleanup.Error
	if errors.As(err, &refused) { // e.g. "552 5.3.4 Error: message file too big"
		return reply(refused.Code, refused.DSN, "%s", refused.Text())
	}
	if err != nil {
		s.srv.log.Warn("%s: cleanup: %v", cl.ID(), err)
		return reply(451, "4.3.0", "Error: queue file write error")
	}
	return reply(250, "2.0.0", "Ok: queued as %s", id)
}

// received is smtpd's Received: header, one string per physical line.
func (s *session) received(cl *cleanup.Stream, now time.Time) []string {
	if cl == nil {
		return nil
	}
	id := cl.ID()
	helo := s.heloName()
	if helo == "" {
		helo = s.clientName
	}
	a := s.clientAddr
	if s.clientIP.Is6() {
		a = "IPv6:" + a
	}
	date := now.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
	lines := []string{fmt.Sprintf("Received: from %s (%s [%s])", helo, s.clientName, a)}
	by := fmt.Sprintf("\tby %s (%s) with %s id %s", s.srv.myhostname, s.srv.mailName, s.receivedProto(), id)
	if len(s.rcpts) == 1 {
		lines = append(lines, by, fmt.Sprintf("\tfor <%s>; %s", s.rcpts[0], date))
	} else {
		lines = append(lines, by+";", "\t"+date)
	}
	return lines
}

// abort drops the transaction's queue file: cleanup discards a stream that ends without E.
func (s *session) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl != nil {
		s.cl.Abort()
		s.cl = nil
	}
	s.endTransaction()
}

// drop ends the transaction whose stream is cl, if it is still the current one.
func (s *session) drop(cl *cleanup.Stream) {
	cl.Abort()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == cl {
		s.cl = nil
		s.endTransaction()
	}
}

func (s *session) endTransaction() {
	s.mailGiven, s.from, s.utf8, s.rcpts = false, "", false, nil
}

func (s *session) Reset() {
	s.abort()
	s.mu.Lock()
	s.rcptTried = 0
	s.mu.Unlock()
}

func (s *session) Logout() error {
	s.abort()
	return nil
}
