package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/smtpcmd"
)

// The MAIL transaction: MAIL, RCPT, DATA and BDAT, and the stream to cleanup that the
// first accepted recipient opens.

// reply formats one reply line.
func reply(code int, dsn, format string, args ...any) string {
	return fmt.Sprintf("%d %s %s", code, dsn, fmt.Sprintf(format, args...))
}

// paramOptions tells the parameter parser what EHLO offers.
func (s *session) paramOptions() smtpcmd.Options {
	return smtpcmd.Options{SMTPUTF8: s.srv.smtputf8 && !s.srv.discardEhlo["SMTPUTF8"], DSN: !s.srv.discardEhlo["DSN"]}
}

// unicode refuses a non-ASCII address in a transaction that did not declare SMTPUTF8.
func unicode(a string, utf8 bool) string {
	for i := 0; i < len(a) && !utf8; i++ {
		if a[i] >= 0x80 {
			return "553 5.6.7 Must declare SMTPUTF8 to send unicode address"
		}
	}
	return ""
}

func (s *session) mail(arg string) {
	if s.mailGiven {
		s.answer("503 5.5.1 Error: nested MAIL command")
		return
	}
	from, opts, r := smtpcmd.MailArg(arg, s.paramOptions())
	switch {
	case r != "":
	case s.srv.sizeLimit > 0 && opts.Size > s.srv.sizeLimit:
		r = "552 5.3.4 Message size exceeds fixed limit"
	default:
		if r = unicode(from, opts.UTF8); r == "" {
			r = s.checkStorage(opts.Size)
		}
	}
	if r != "" {
		s.answer(r)
		return
	}
	s.mailGiven, s.from, s.utf8, s.rcpts = true, from, opts.UTF8, nil
	// RFC 3461 RET and ENVID travel to cleanup as Postfix's ret_flags and envelope_id, for
	// the bounce service.
	s.dsnRet, s.dsnEnvid = "", printable.String(printable.Head(opts.Envid, 100), '?')
	if opts.Ret != 0 {
		s.dsnRet = strconv.Itoa(opts.Ret)
	}
	s.answer("250 2.1.0 Ok")
}

func (s *session) rcpt(arg string) {
	if !s.mailGiven {
		s.answer("503 5.5.1 Error: need MAIL command")
		return
	}
	if s.chunks != nil {
		s.answer("503 5.5.1 Error: RCPT after BDAT")
		return
	}
	to, opts, r := smtpcmd.RcptArg(arg, s.paramOptions())
	if r == "" && s.srv.rcptLimit > 0 && len(s.rcpts) >= s.srv.rcptLimit {
		r = "452 4.5.3 Error: too many recipients"
	}
	if r == "" {
		r = unicode(to, s.utf8)
	}
	if r != "" {
		s.answer(r)
		return
	}
	canon := s.srv.policy.canon.Address(to)
	chk := &rcptCheck{s: s, rcpt: to, canonical: canon}
	if e := chk.run(); e != nil {
		said := e.String()
		if s.srv.softBounce {
			said = softReply(said) // logged as the wire sends it
		}
		s.srv.log.Info("%s: reject: RCPT from %s: %s; from=<%s> to=<%s> proto=%s%s",
			s.queueID(), s.w.client(), said, s.from, to, s.proto(), s.heloLog())
		s.answer(e.String())
		return
	}
	if s.cl == nil {
		cl, err := cleanup.Open(s.srv.cleanupPath, s.srv.timeout)
		if err != nil {
			s.srv.log.Warn("connect to cleanup service %s: %v", s.srv.cleanupPath, err)
			s.answer("451 4.3.0 Error: queue file write error")
			return
		}
		cl.LineLimit = s.srv.lineLimit
		s.cl = cl
		sasl := ""
		if s.w.saslUser != "" {
			sasl = fmt.Sprintf(", sasl_method=%s, sasl_username=%s", s.w.saslMethod, printable.String(printable.Head(s.w.saslUser, 100), '?'))
		}
		s.srv.log.Info("%s: client=%s%s", cl.ID(), s.w.client(), sasl)
		s.writeEnvelope()
	}
	rec := cleanup.Recipient{Addr: canon, Orig: to, Notify: opts.Notify}
	if opts.OrcptType != "" {
		rec.DSNOrig = strings.ToLower(opts.OrcptType) + ";" + printable.String(printable.Head(opts.Orcpt, 1000), '?')
	}
	s.cl.Recipient(rec)
	if err := s.cl.Err(); err != nil {
		s.srv.log.Warn("%s: write to cleanup: %v", s.cl.ID(), err)
		s.abort()
		s.answer("451 4.3.0 Error: queue file write error")
		return
	}
	s.rcpts = append(s.rcpts, to)
	s.answer("250 2.1.5 Ok")
}

// heloLog is the " helo=<h>" of reject log lines, "" without HELO.
func (s *session) heloLog() string {
	if s.helo == "" {
		return ""
	}
	return " helo=<" + s.helo + ">"
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
			if s.clientIP.IsValid() && p.res.Interfaces().Contains(s.clientIP) {
				return true
			}
		case "permit_mynetworks":
			if ok, _ := p.mynetworks.MatchHost(s.clientName, s.clientIP); ok {
				return true
			}
		case "static:all":
			return true
		}
	}
	return false
}

// noRecipients is DATA's or BDAT's answer without an accepted recipient; "" when there is one.
func (s *session) noRecipients() string {
	switch {
	case len(s.rcpts) > 0 && s.cl != nil:
		return ""
	case s.mailGiven:
		return "554 5.5.1 Error: no valid recipients"
	}
	return "503 5.5.1 Error: need RCPT command"
}

func (s *session) data(arg string) {
	if s.chunks != nil {
		s.answer("503 5.5.1 Error: DATA after BDAT")
		return
	}
	if r := s.noRecipients(); r != "" {
		s.answer(r)
		return
	}
	if arg != "" {
		s.answer("501 5.5.4 Syntax: DATA")
		return
	}
	s.w.reply("354 End data with <CR><LF>.<CR><LF>")
	b := s.newBody()
	if s.w.readData(b.write) != nil {
		return
	}
	s.w.lastCmd = "END-OF-MESSAGE"
	s.answer(s.endMessage(b, false))
}

// bdat is RFC 3030's BDAT: the chunks of one message, each with its byte count. A
// malformed command cannot be answered and skipped (the chunk's size is unknown), so the
// session ends, as Postfix's.
func (s *session) bdat(arg string) {
	size, last, ok := smtpcmd.Chunk(arg)
	if !ok {
		s.srv.log.Warn("%s: malformed BDAT command syntax from %s: %s", s.queueID(), s.w.client(), printable.String(printable.Head("BDAT "+arg, 100), '?'))
		s.answer("521 5.5.4 Syntax: BDAT count [LAST]")
		s.quit = true
		return
	}
	skip := func(reply string) {
		if s.w.readChunk(size, func([]byte) {}) == nil {
			s.answer(reply)
		}
	}
	switch {
	case s.srv.discardEhlo["CHUNKING"]:
		s.answer("521 5.5.1 Error: command not implemented")
		s.quit = true
		return
	case size == 0 && !last:
		s.srv.log.Warn("%s: null BDAT request from %s", s.queueID(), s.w.client())
		skip("551 5.7.1 Null BDAT request")
		return
	case s.chunks == nil && s.noRecipients() != "":
		skip(s.noRecipients())
		return
	case s.srv.sizeLimit > 0 && size > s.srv.sizeLimit-s.chunkBytes():
		s.srv.log.Warn("%s: BDAT request from %s exceeds message size limit", s.queueID(), s.w.client())
		s.abort()
		skip("552 5.3.4 Chunk exceeds message size limit")
		return
	}
	if s.chunks == nil {
		s.chunks = s.newBody()
	}
	b := s.chunks
	if s.w.readChunk(size, b.write) != nil {
		return
	}
	if !last {
		s.answer(fmt.Sprintf("250 2.0.0 Ok: %d bytes", size))
		return
	}
	b.cl.EndLine()
	s.w.lastCmd = "END-OF-MESSAGE"
	s.answer(s.endMessage(b, true))
}

// chunkBytes counts the bytes of the BDAT chunks so far.
func (s *session) chunkBytes() int64 {
	if s.chunks == nil {
		return 0
	}
	return s.chunks.bytes
}

func (s *session) queueID() string {
	if s.cl != nil {
		return s.cl.ID()
	}
	return "NOQUEUE"
}

// body is the message content on its way to cleanup (pkg/cleanup makes the records), with
// the size that message_size_limit bounds: past the limit nothing more is sent.
type body struct {
	cl     *cleanup.Stream
	max    int64 // message_size_limit, 0: none
	bytes  int64 // content bytes received, dot-unstuffed
	tooBig bool
}

// newBody starts the message content: the M record and smtpd's Received: header.
func (s *session) newBody() *body {
	b := &body{cl: s.cl, max: s.srv.sizeLimit}
	b.cl.Content()
	for _, h := range s.received(time.Now()) {
		b.cl.Line([]byte(h))
	}
	return b
}

// write takes the next piece of content, of any size.
func (b *body) write(p []byte) {
	if b.bytes += int64(len(p)); b.max > 0 && b.bytes > b.max {
		b.tooBig = true
	}
	if !b.tooBig {
		b.cl.Write(p)
	}
}

// endMessage ends the transaction after the content: cleanup's verdict is the reply.
func (s *session) endMessage(b *body, bdat bool) string {
	cl := b.cl
	defer s.abort()
	if b.tooBig {
		verb := "DATA"
		if bdat {
			verb = "BDAT"
		}
		s.srv.log.Info("%s: reject: %s from %s: 552 5.3.4 Message size exceeds fixed limit; from=<%s> proto=%s",
			cl.ID(), verb, s.w.client(), s.from, s.proto())
		return reply(552, "5.3.4", "Error: message file too big")
	}
	cl.Extracted()
	id, err := cl.Close()
	var refused *cleanup.Error
	switch {
	case errors.As(err, &refused): // e.g. "552 5.3.4 Error: message file too big"
		return reply(refused.Code, refused.DSN, "%s", refused.Text())
	case err != nil:
		s.srv.log.Warn("%s: cleanup: %v", cl.ID(), err)
		return reply(451, "4.3.0", "Error: queue file write error")
	}
	// A message received forgives the client's earlier errors, as Postfix does.
	s.errors, s.junk = 0, 0
	if bdat {
		return reply(250, "2.0.0", "Ok: %d bytes queued as %s", b.bytes, id)
	}
	return reply(250, "2.0.0", "Ok: queued as %s", id)
}

// received is smtpd's Received: header, one string per physical line.
func (s *session) received(now time.Time) []string {
	helo := s.helo
	if helo == "" {
		helo = s.clientName
	}
	a := s.clientAddr
	if s.clientIP.Is6() {
		a = "IPv6:" + a
	}
	date := now.Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
	lines := []string{fmt.Sprintf("Received: from %s (%s [%s])", helo, s.clientName, a)}
	by := fmt.Sprintf("\tby %s (%s) with %s id %s", s.srv.myhostname, s.srv.mailName, s.receivedProto(), s.cl.ID())
	if len(s.rcpts) == 1 {
		lines = append(lines, by, fmt.Sprintf("\tfor <%s>; %s", s.rcpts[0], date))
	} else {
		lines = append(lines, by+";", "\t"+date)
	}
	return lines
}

// abort ends the transaction; a queue file cleanup has begun is dropped (cleanup discards a
// stream that ends without its E record).
func (s *session) abort() {
	if s.cl != nil {
		s.cl.Abort()
		s.cl = nil
	}
	s.mailGiven, s.from, s.utf8, s.rcpts, s.chunks = false, "", false, nil, nil
	s.dsnRet, s.dsnEnvid = "", ""
}
