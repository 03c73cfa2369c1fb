package main

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"postern/pkg/cleanup"
	"postern/pkg/printable"
	"postern/pkg/smtpcmd"
)

// session is one SMTP dialogue, from the banner to QUIT or the lost connection: the
// command loop, the HELO state, the MAIL transaction (message.go) and the counts for the
// error limits and the "disconnect from" line. It is Postfix's smtpd_proto loop over a
// command table, reading from and answering through the wire.
type session struct {
	srv *server
	w   *wire

	clientName, clientAddr string
	clientIP               netip.Addr

	helo  string // the client's HELO/EHLO argument; "" when it gave none
	esmtp bool

	// The MAIL transaction.
	mailGiven bool
	from      string // as received
	utf8      bool
	dsnRet    string // ret_flags for cleanup ("1" FULL, "2" HDRS)
	dsnEnvid  string // envelope_id
	rcpts     []string
	cl        *cleanup.Stream
	chunks    *body // the message BDAT is sending; nil outside BDAT

	errors    int // error replies, for smtpd_soft_error_limit and smtpd_hard_error_limit
	junk      int // NOOP, RSET, VRFY commands, for smtpd_junk_command_limit
	authFails int
	counts    [][2]int // ok, total by command (commands' order, then "unknown"), for the disconnect line
	cmd       int      // the command being answered, as counted: its index in counts; -1: none
	answered  bool
	quit      bool // the dialogue ends after this command
}

// command is one entry of the command table, as Postfix's SMTPD_CMD.
type command struct {
	name   string
	flags  int
	action func(s *session, arg string)
}

const (
	preTLS = 1 << iota // allowed before STARTTLS at level encrypt (SMTPD_CMD_FLAG_PRE_TLS)
	junk               // counts toward smtpd_junk_command_limit (SMTPD_CMD_FLAG_LIMIT)
)

// commands is the command table; its order is also the order of the disconnect line's counts.
var commands = []command{
	{"HELO", preTLS, func(s *session, arg string) { s.hello("HELO", arg) }},
	{"EHLO", preTLS, func(s *session, arg string) { s.hello("EHLO", arg) }},
	{"STARTTLS", preTLS, (*session).starttls},
	{"AUTH", 0, (*session).auth},
	{"MAIL", 0, (*session).mail},
	{"RCPT", 0, (*session).rcpt},
	{"DATA", 0, (*session).data},
	{"BDAT", 0, (*session).bdat},
	{"RSET", junk, (*session).rset},
	{"NOOP", preTLS | junk, func(s *session, arg string) { s.answer("250 2.0.0 Ok") }},
	{"VRFY", junk, (*session).vrfy},
	{"QUIT", preTLS, func(s *session, arg string) { s.answer("221 2.0.0 Bye"); s.quit = true }},
}

func newSession(s *server, w *wire) *session {
	return &session{srv: s, w: w, clientName: w.name, clientAddr: w.addr, clientIP: w.ip,
		counts: make([][2]int, len(commands)+1), cmd: -1}
}

// serve runs the dialogue until QUIT, too many errors or the end of the connection.
func (s *session) serve() {
	defer s.abort()
	s.w.reply("220 " + s.srv.banner)
	for !s.quit && !s.w.dead {
		if s.srv.hardErrLimit > 0 && s.errors >= s.srv.hardErrLimit {
			s.w.reply(fmt.Sprintf("421 4.7.0 %s Error: too many errors", s.srv.myhostname))
			s.srv.log.Info("too many errors after %s from %s", s.w.lastCmd, s.w.client())
			break
		}
		line, _, err := s.w.readLine(s.srv.lineLimit)
		if err != nil {
			s.w.lost(err)
			break
		}
		s.command(string(line))
	}
	s.w.flush()
}

// command answers one command line.
func (s *session) command(line string) {
	verb, arg := smtpcmd.Split(line)
	if strings.TrimSpace(line) == "" {
		s.cmd = -1
		s.answer("500 5.5.2 Error: bad syntax")
		return
	}
	// Binary junk and header lines are not SMTP; printable punctuation (such as the "*" a
	// client sends to abort an AUTH that has already failed) is merely an unknown command.
	if c := line[0]; c < 0x20 || c >= 0x7f || strings.HasSuffix(verb, ":") ||
		verb == "CONNECT" || verb == "GET" || verb == "POST" {
		s.srv.log.Warn("non-SMTP command from %s: %s", s.w.client(), printable.String(printable.Head(line, 100), '?'))
		s.w.reply("221 2.7.0 Error: I can break rules, too. Goodbye.")
		s.quit = true
		return
	}
	s.w.lastCmd = verb
	var cmd *command
	s.cmd, s.answered = len(commands), false // "unknown"
	for i := range commands {
		if commands[i].name == verb {
			cmd, s.cmd = &commands[i], i
		}
	}
	if cmd == nil {
		s.answer("500 5.5.2 Error: command not recognized")
		return
	}
	if s.srv.tlsLevel == tlsEncrypt && !s.w.tlsActive && cmd.flags&preTLS == 0 {
		s.answer("530 5.7.0 Must issue a STARTTLS command first")
		return
	}
	// Past smtpd_junk_command_limit each of these counts as an error, so a client cannot
	// idle for ever on them.
	if cmd.flags&junk != 0 {
		if s.junk++; s.srv.junkLimit > 0 && s.junk > s.srv.junkLimit {
			s.errors++
		}
	}
	cmd.action(s, arg)
	if !s.answered { // the connection was lost before the command could be answered
		s.count(s.cmd, false)
	}
}

// answer sends the final reply to the current command and counts it: a 4XX or 5XX reply
// is an error, and past smtpd_soft_error_limit errors each error reply waits
// smtpd_error_sleep_time, as Postfix's smtpd_chat_reply.
func (s *session) answer(reply string) {
	s.answered = true
	code, _ := strconv.Atoi(reply[:min(3, len(reply))])
	if s.cmd >= 0 {
		s.count(s.cmd, code > 0 && code < 400)
	}
	if code >= 400 {
		s.errors++
		if s.srv.softErrLimit > 0 && s.errors > s.srv.softErrLimit && s.srv.errSleep > 0 {
			s.w.flush()
			time.Sleep(s.srv.errSleep)
		}
	}
	s.w.reply(reply)
}

func (s *session) count(cmd int, ok bool) {
	c := &s.counts[cmd]
	c[1]++
	if ok {
		c[0]++
	}
}

// stats formats the disconnect line's command counts, as Postfix does.
func (s *session) stats() string {
	var b strings.Builder
	ok, total := 0, 0
	for i := 0; i <= len(commands); i++ {
		name := "unknown"
		if i < len(commands) {
			name = strings.ToLower(commands[i].name)
		}
		c := s.counts[i]
		if c[1] == 0 {
			continue
		}
		ok += c[0]
		total += c[1]
		if c[0] == c[1] {
			fmt.Fprintf(&b, " %s=%d", name, c[0])
		} else {
			fmt.Fprintf(&b, " %s=%d/%d", name, c[0], c[1])
		}
	}
	if ok == total && total > 0 {
		fmt.Fprintf(&b, " commands=%d", ok)
	} else {
		fmt.Fprintf(&b, " commands=%d/%d", ok, total)
	}
	return b.String()
}

// hello is HELO and EHLO: either resets the transaction.
func (s *session) hello(verb, arg string) {
	if arg == "" {
		s.answer("501 Syntax: " + verb + " hostname")
		return
	}
	s.abort()
	s.helo = printable.String(printable.Head(strings.Join(strings.Fields(arg), " "), s.srv.lineLimit), '?')
	s.esmtp = verb == "EHLO"
	if verb == "HELO" {
		s.answer("250 " + s.srv.myhostname)
		return
	}
	lines := s.ehloKeywords()
	for _, l := range lines[:len(lines)-1] {
		s.w.reply("250-" + l)
	}
	s.answer("250 " + lines[len(lines)-1])
}

// ehloKeywords is the EHLO reply, in Postfix's order, without what
// smtpd_discard_ehlo_keywords removes. (No ETRN, XCLIENT or XFORWARD: not implemented.)
func (s *session) ehloKeywords() []string {
	size := "SIZE"
	if s.srv.sizeLimit > 0 {
		size = "SIZE " + strconv.FormatInt(s.srv.sizeLimit, 10)
	}
	offer := []struct {
		keyword string
		on      bool
	}{
		{"PIPELINING", true},
		{size, true},
		{"VRFY", !s.srv.disableVrfy},
		{"STARTTLS", s.w.tlsOffered()},
		{"AUTH " + saslMechs, s.w.authOffered()},
		{"AUTH=" + saslMechs, s.w.authOffered() && s.srv.brokenAuth},
		{"ENHANCEDSTATUSCODES", true},
		{"8BITMIME", true},
		{"DSN", true},
		{"SMTPUTF8", s.srv.smtputf8},
		{"CHUNKING", true},
	}
	lines := []string{s.srv.myhostname}
	for _, o := range offer {
		k, _, _ := strings.Cut(o.keyword, " ")
		k, _, _ = strings.Cut(k, "=")
		if o.on && !s.srv.discardEhlo[k] {
			lines = append(lines, o.keyword)
		}
	}
	return lines
}

func (s *session) rset(arg string) {
	if arg != "" {
		s.answer("501 5.5.4 Syntax: RSET")
		return
	}
	s.abort()
	s.answer("250 2.0.0 Ok")
}

func (s *session) vrfy(arg string) {
	switch {
	case s.srv.disableVrfy:
		s.answer("502 5.5.1 VRFY command is disabled")
	case arg == "":
		s.answer("501 5.5.4 Syntax: VRFY address")
	default:
		s.answer("252 2.0.0 " + printable.String(printable.Head(arg, 200), '?'))
	}
}

// heloName is the client's HELO/EHLO argument, "" when it gave none.
func (s *session) heloName() string { return s.helo }

func (s *session) proto() string {
	p := "SMTP"
	if s.esmtp {
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
	if s.esmtp {
		if s.w.tlsActive {
			p += "S"
		}
		if s.w.saslUser != "" {
			p += "A"
		}
	}
	return p
}
