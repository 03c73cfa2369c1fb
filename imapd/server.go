package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"postern/pkg/auth"
	"postern/pkg/config"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
	"postern/pkg/printable"
)

type server struct {
	*handoff.Login // imapd_* settings, authd, how a session is run
	log            *maillog.Logger
	appendLimit    uint32
	args           []string // our own command line, for the session server

	// Session servers, one per user identity (child.go).
	maxServers int
	serverIdle time.Duration
	poolOnce   sync.Once
	pool       *handoff.Sessions

	asOnce sync.Once
	as     *authServer
}

func newServer(c *config.Config, log *maillog.Logger, args []string) (*server, error) {
	l, err := handoff.NewLogin(c, "imapd")
	if err != nil {
		return nil, err
	}
	return &server{Login: l, log: log, appendLimit: appendLimit(c), args: args,
		maxServers: int(c.Int("imapd_session_servers")), serverIdle: c.Duration("imapd_session_idle")}, nil
}

func appendLimit(c *config.Config) uint32 {
	n := c.Int("message_size_limit")
	if n <= 0 || n > 1<<31 {
		return 1 << 31
	}
	return uint32(n)
}

// Capabilities before and after login. The post-login list is what
// go-imap announces for the session (see authServer).
func (s *server) preCaps(tlsOn bool) string {
	c := "IMAP4rev1 LITERAL+ SASL-IR ID"
	if s.TLS != nil && !tlsOn {
		c += " STARTTLS"
	}
	if s.TLSAuthOnly && !tlsOn {
		c += " LOGINDISABLED"
	} else {
		c += " AUTH=PLAIN"
	}
	return c
}

func (s *server) postCaps() string {
	return fmt.Sprintf("IMAP4rev1 SASL-IR LITERAL- UNSELECT ENABLE IDLE UTF8=ACCEPT NAMESPACE UIDPLUS LIST-STATUS MOVE STATUS=SIZE CHILDREN LITERAL+ APPENDLIMIT=%d", s.appendLimit)
}

// client is one connection before login.
type client struct {
	raw      net.Conn
	tlsConn  *tls.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	rip, lip string
}

func (c *client) conn() net.Conn {
	if c.tlsConn != nil {
		return c.tlsConn
	}
	return c.raw
}

func (c *client) reply(lines ...string) error {
	for _, l := range lines {
		c.w.WriteString(l)
		c.w.WriteString("\r\n")
	}
	return c.w.Flush()
}

func (s *server) handle(conn net.Conn) {
	c := &client{raw: conn}
	handedOff := false
	defer func() {
		if !handedOff {
			c.conn().Close()
		}
	}()
	var ok bool
	if c.tlsConn, c.rip, c.lip, ok = s.Begin(conn, s.log); !ok {
		return
	}
	c.r = bufio.NewReaderSize(c.conn(), 4096)
	c.w = bufio.NewWriterSize(c.conn(), 4096)
	if c.reply("* OK [CAPABILITY "+s.preCaps(c.tlsConn != nil)+"] Postern IMAP ready.") != nil {
		return
	}
	bad, failed := 0, 0
	for {
		c.conn().SetDeadline(time.Now().Add(s.Timeout))
		line, err := readLine(c.r)
		if err != nil {
			if err == errLineTooLong {
				c.reply("* BYE Command line too long.")
			}
			return
		}
		cr := &cmdReader{line: line, r: c.r, cont: func() error { return c.reply("+ Ready for literal data") }}
		tag := cr.atom()
		if tag == "" || !cr.skipSP() {
			bad++
			if c.reply("* BAD Error in IMAP command received by server.") != nil || bad >= 10 {
				return
			}
			continue
		}
		cmd := strings.ToUpper(cr.atom())
		var user *auth.User
		var done bool
		switch cmd {
		case "CAPABILITY":
			done = c.reply("* CAPABILITY "+s.preCaps(c.tlsConn != nil), tag+" OK CAPABILITY completed") != nil
		case "NOOP":
			done = c.reply(tag+" OK NOOP completed") != nil
		case "ID":
			done = c.reply(`* ID ("name" "Postern")`, tag+" OK ID completed") != nil
		case "LOGOUT":
			c.reply("* BYE Postern IMAP server shutting down", tag+" OK LOGOUT completed")
			return
		case "STARTTLS":
			if s.TLS == nil || c.tlsConn != nil || !cr.atEnd() {
				done = c.reply(tag+" BAD STARTTLS not available.") != nil
				break
			}
			if c.reply(tag+" OK Begin SSL/TLS negotiation now.") != nil {
				return
			}
			if c.r.Buffered() > 0 {
				return // plaintext injected after STARTTLS (CVE-2011-0411 style)
			}
			c.tlsConn = tls.Server(conn, s.TLS)
			if err := c.tlsConn.Handshake(); err != nil {
				s.log.Info("TLS handshake failed: rip=%s, lip=%s: %v", c.rip, c.lip, err)
				return
			}
			c.r = bufio.NewReaderSize(c.tlsConn, 4096)
			c.w = bufio.NewWriterSize(c.tlsConn, 4096)
		case "LOGIN", "AUTHENTICATE":
			if s.TLSAuthOnly && c.tlsConn == nil {
				done = c.reply(tag+" NO [PRIVACYREQUIRED] Login only after STARTTLS.") != nil
				break
			}
			var name, pass string
			var err error
			if cmd == "LOGIN" {
				name, pass, err = loginArgs(cr)
			} else {
				name, pass, err = s.authenticateArgs(c, cr)
			}
			if err != nil {
				if errors.Is(err, errCancelled) {
					done = c.reply(tag+" BAD AUTHENTICATE cancelled.") != nil
				} else if errors.Is(err, errSyntax) || errors.Is(err, errLineTooLong) || errors.Is(err, errMechanism) {
					bad++
					done = c.reply(tag+" BAD "+err.Error()+".") != nil || bad >= 10
				} else {
					return
				}
				break
			}
			user, done = s.login(c, tag, name, pass)
			if user == nil && !done {
				failed++
				if failed >= 3 {
					c.reply("* BYE Too many failed logins.")
					return
				}
			}
		default:
			bad++
			done = c.reply(tag+" BAD Error in IMAP command received by server.") != nil || bad >= 10
		}
		if done {
			return
		}
		if user != nil {
			handedOff = true
			s.handoff(c, user)
			return
		}
	}
}

func loginArgs(cr *cmdReader) (string, string, error) {
	if !cr.skipSP() {
		return "", "", errSyntax
	}
	u, err := cr.astring()
	if err != nil {
		return "", "", err
	}
	if !cr.skipSP() {
		return "", "", errSyntax
	}
	p, err := cr.astring()
	if err != nil {
		return "", "", err
	}
	if !cr.atEnd() {
		return "", "", errSyntax
	}
	return u, p, nil
}

var (
	errCancelled = errors.New("cancelled")
	errMechanism = errors.New("Unsupported authentication mechanism")
)

// authenticateArgs runs AUTHENTICATE PLAIN (RFC 4616), with or without an
// initial response (SASL-IR).
func (s *server) authenticateArgs(c *client, cr *cmdReader) (string, string, error) {
	if !cr.skipSP() {
		return "", "", errSyntax
	}
	if mech := strings.ToUpper(cr.atom()); mech != "PLAIN" {
		return "", "", errMechanism
	}
	var resp string
	if cr.skipSP() {
		resp = cr.atom()
		if resp == "" && strings.HasPrefix(cr.line, "=") {
			resp, cr.line = "=", cr.line[1:]
		}
	} else {
		if err := c.reply("+ "); err != nil {
			return "", "", err
		}
		line, err := readLine(c.r)
		if err != nil {
			return "", "", err
		}
		resp = line
	}
	if !cr.atEnd() {
		return "", "", errSyntax
	}
	if resp == "*" {
		return "", "", errCancelled
	}
	if resp == "=" {
		resp = ""
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", "", errSyntax
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 || (parts[0] != "" && parts[0] != parts[1]) {
		return "", "", errSyntax
	}
	return parts[1], parts[2], nil
}

// login asks authd and answers. It returns the user on success, done when
// the connection must end.
func (s *server) login(c *client, tag, name, pass string) (*auth.User, bool) {
	tlsNote := ""
	if c.tlsConn != nil {
		tlsNote = ", TLS"
	}
	c.conn().SetDeadline(time.Time{}) // authd delays failures
	u, err := s.Auth.Authenticate("imap", name, pass, c.rip)
	var temp *auth.TempError
	switch {
	case errors.As(err, &temp):
		s.log.Warn("authentication service: %s; user=<%s>, rip=%s", temp.Reason, printable.String(name, '?'), c.rip)
		c.reply("* BYE Temporary problem, please try again later")
		return nil, true
	case err != nil:
		s.log.Info("Login failed: user=<%s>, method=PLAIN, rip=%s, lip=%s%s", printable.String(name, '?'), c.rip, c.lip, tlsNote)
		return nil, c.reply(tag+" NO [AUTHENTICATIONFAILED] Login failed.") != nil
	}
	if !s.canServe(u) {
		s.log.Warn("cannot serve user=<%s> (uid %d) as uid %d: imapd must run as root for other users", printable.String(u.Username, '?'), u.UID, os.Geteuid())
		return nil, c.reply(tag+" NO [UNAVAILABLE] Login failed.") != nil
	}
	s.log.Info("Login: user=<%s>, method=PLAIN, rip=%s, lip=%s%s", printable.String(u.Username, '?'), c.rip, c.lip, tlsNote)
	if c.reply(tag+" OK [CAPABILITY "+s.postCaps()+"] LOGIN Ok.") != nil {
		return nil, true
	}
	return u, false
}

func (s *server) canServe(u *auth.User) bool {
	if s.InProcess {
		return true
	}
	if os.Geteuid() == 0 {
		return u.UID != 0 // never serve mail as root
	}
	return u.UID == os.Geteuid()
}

// handoff serves the logged-in connection as the user.
func (s *server) handoff(c *client, u *auth.User) {
	var pending []byte
	if n := c.r.Buffered(); n > 0 {
		pending, _ = c.r.Peek(n)
		pending = append([]byte(nil), pending...)
	}
	c.conn().SetDeadline(time.Time{})
	su := &sessionUser{name: u.Username, maildir: u.Maildir, rip: c.rip, lip: c.lip}
	if os.Geteuid() == 0 && !s.InProcess {
		s.runChild(c, u, su, pending)
		return
	}
	s.authServer().serve(newAuthedConn(c.conn(), pending, su))
}

func (s *server) authServer() *authServer {
	s.asOnce.Do(func() { s.as = newAuthServer(s.log, s.appendLimit) })
	return s.as
}
