package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"postern/pkg/auth"
	"postern/pkg/printable"
)

var mechanisms = []string{"PLAIN", "LOGIN"}

// capa answers CAPA (RFC 2449) in Courier's order.
func (s *server) capa(c *client, loggedIn, tlsActive bool) error {
	lines := []string{"+OK Here's what I can do:"}
	if !loggedIn {
		if !s.TLSAuthOnly || tlsActive {
			lines = append(lines, "SASL "+strings.Join(mechanisms, " "))
		}
		if s.TLS != nil && !tlsActive {
			lines = append(lines, "STLS")
		}
	}
	lines = append(lines, "TOP")
	if !loggedIn && (!s.TLSAuthOnly || tlsActive) {
		lines = append(lines, "USER")
	}
	lines = append(lines, "LOGIN-DELAY 10", "PIPELINING", "UIDL")
	if loggedIn {
		lines = append(lines, "UTF8")
	} else {
		lines = append(lines, "UTF8 USER")
	}
	lines = append(lines, "IMPLEMENTATION Postern", ".")
	return c.reply("%s", strings.Join(lines, "\r\n"))
}

// authorization runs one command in the AUTHORIZATION state. It returns
// done when the connection must end, or the logged-in user.
func (s *server) authorization(c *client, cmd command) (done bool, u *auth.User, method string) {
	tlsActive := c.tlsConn != nil
	mayAuth := !s.TLSAuthOnly || tlsActive
	switch cmd.verb {
	case "CAPA":
		return s.capa(c, false, tlsActive) != nil, nil, ""
	case "QUIT":
		c.reply("+OK Better luck next time.")
		return true, nil, ""
	case "NOOP":
		return c.reply("+OK Yup.") != nil, nil, ""
	case "STLS":
		if s.TLS == nil || tlsActive {
			return c.reply("-ERR TLS support not available.") != nil, nil, ""
		}
		if c.reply("+OK Begin SSL/TLS negotiation now.") != nil {
			return true, nil, ""
		}
		c.tlsConn = tls.Server(c.conn, s.TLS)
		if err := c.tlsConn.Handshake(); err != nil {
			s.log.Info("STLS handshake failed: rip=%s, lip=%s: %v", c.rip, c.lip, err)
			return true, nil, ""
		}
		// Anything the client pipelined before the handshake is dropped
		// (RFC 2595 §3.1): it was not protected.
		c.r = bufio.NewReaderSize(c.tlsConn, 4096)
		c.w = bufio.NewWriterSize(c.tlsConn, 4096)
		c.user = ""
		return false, nil, ""
	case "USER":
		if !mayAuth {
			return c.reply("-ERR Authentication requires TLS (use STLS first).") != nil, nil, ""
		}
		if len(cmd.args) != 1 {
			return c.reply("-ERR Invalid command.") != nil, nil, ""
		}
		c.user = cmd.args[0]
		return c.reply("+OK Password required.") != nil, nil, ""
	case "PASS":
		if c.user == "" || !mayAuth {
			return c.reply("-ERR USER/PASS required.") != nil, nil, ""
		}
		user := c.user
		c.user = ""
		return s.login(c, user, cmd.rest, "PLAIN")
	case "AUTH":
		if !mayAuth {
			return c.reply("-ERR Authentication requires TLS (use STLS first).") != nil, nil, ""
		}
		return s.sasl(c, cmd)
	}
	return c.reply("-ERR Invalid command.") != nil, nil, ""
}

var errCancelled = errors.New("cancelled")

// sasl runs AUTH (RFC 5034). Without a mechanism it lists them (RFC 1734
// clients ask that way).
func (s *server) sasl(c *client, cmd command) (bool, *auth.User, string) {
	if len(cmd.args) == 0 {
		return c.reply("+OK\r\n%s\r\n.", strings.Join(mechanisms, "\r\n")) != nil, nil, ""
	}
	mech := strings.ToUpper(cmd.args[0])
	var username, password string
	capture := func(u, p string) error { username, password = u, p; return nil }
	var srv sasl.Server
	switch mech {
	case "PLAIN":
		srv = sasl.NewPlainServer(func(identity, u, p string) error {
			if identity != "" && identity != u {
				return errors.New("proxy authorization not supported")
			}
			return capture(u, p)
		})
	case "LOGIN":
		srv = auth.NewLoginServer(capture)
	default:
		return c.reply("-ERR Unsupported authentication mechanism.") != nil, nil, ""
	}
	var resp []byte
	if len(cmd.args) > 1 {
		ir := cmd.args[1]
		if ir != "=" {
			b, err := base64.StdEncoding.DecodeString(ir)
			if err != nil {
				return c.reply("-ERR Invalid base64 data.") != nil, nil, ""
			}
			resp = b
		} else {
			resp = []byte{}
		}
	}
	for {
		chal, done, err := srv.Next(resp)
		if err != nil {
			if username == "" && password == "" {
				return c.reply("-ERR Invalid authentication data.") != nil, nil, ""
			}
			break
		}
		if done {
			break
		}
		if c.reply("+ %s", base64.StdEncoding.EncodeToString(chal)) != nil {
			return true, nil, ""
		}
		c.current().SetDeadline(time.Now().Add(s.Timeout))
		line, err := readLine(c.r)
		if err != nil {
			return true, nil, ""
		}
		if line == "*" {
			return c.reply("-ERR Authentication cancelled.") != nil, nil, ""
		}
		if resp, err = base64.StdEncoding.DecodeString(line); err != nil {
			return c.reply("-ERR Invalid base64 data.") != nil, nil, ""
		}
	}
	return s.login(c, username, password, mech)
}

// login asks authd. authd has already slowed a failure down.
func (s *server) login(c *client, username, password, method string) (bool, *auth.User, string) {
	u, err := s.Auth.Authenticate("pop3", username, password, c.rip)
	var te *auth.TempError
	switch {
	case err == nil:
		return false, u, method
	case errors.As(err, &te):
		s.log.Warn("authentication unavailable: user=<%s>, rip=%s: %v", printable.String(printable.Trunc(username, 100), '?'), c.rip, err)
		return c.reply("-ERR [SYS/TEMP] Temporary problem, please try again later.") != nil, nil, ""
	}
	c.failures++
	s.log.Info("Login failed: user=<%s>, method=%s, rip=%s, lip=%s%s", printable.String(printable.Trunc(username, 100), '?'), method, c.rip, c.lip, tlsNote(c.tlsConn != nil))
	if c.reply("-ERR Login failed.") != nil {
		return true, nil, ""
	}
	if c.failures >= s.maxFailures {
		s.log.Info("Disconnected: too many authentication failures: rip=%s, lip=%s", c.rip, c.lip)
		return true, nil, ""
	}
	return false, nil, ""
}

func tlsNote(on bool) string {
	if on {
		return ", TLS"
	}
	return ""
}
