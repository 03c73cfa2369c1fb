package main

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-sasl"

	"postern/pkg/auth"
	"postern/pkg/config"
	"postern/pkg/printable"
)

// saslSettings reads the AUTH parameters. Passwords are always checked by authd(8) through
// pkg/auth (smtpd_sasl_type and smtpd_sasl_path are not used: authd is Postern's one
// credential checker, in the place of Cyrus or Dovecot).
func (s *server) saslSettings(cfg *config.Config) {
	s.saslEnable = cfg.Bool("smtpd_sasl_auth_enable")
	s.tlsAuthOnly = cfg.Bool("smtpd_tls_auth_only") || s.tlsLevel == tlsEncrypt
	s.brokenAuth = cfg.Bool("broken_sasl_auth_clients")
	s.saslRespLimit = int(cfg.Int("smtpd_sasl_response_limit"))
	if s.saslRespLimit <= 0 {
		s.saslRespLimit = 12288
	}
	s.saslService = cfg.Get("smtpd_sasl_service")
	if s.saslService == "" {
		s.saslService = "smtp"
	}
	if s.saslEnable {
		s.authd = auth.New(cfg)
	}
}

// saslMechs are the mechanisms offered, in the EHLO AUTH line's order.
var saslMechs = "PLAIN LOGIN"

// authOffered tells whether AUTH is advertised and accepted now: enabled, and not before
// TLS when smtpd_tls_auth_only (or level encrypt) says so.
func (w *wire) authOffered() bool {
	return w.srv.saslEnable && w.srv.authd != nil && !(w.srv.tlsAuthOnly && !w.tlsActive) && !w.srv.discardEhlo["AUTH"]
}

// Outcomes of one SASL exchange, besides success.
var (
	errSASLFailed = errors.New("authentication failure")
	errSASLAbort  = errors.New("aborted")
)

type saslTempError struct{ reason string }

func (e *saslTempError) Error() string { return e.reason }

// maxAuthDelay caps the growing delay after failed AUTH commands in one session.
const maxAuthDelay = 10 * time.Second

// auth is the AUTH command.
func (s *session) auth(arg string) {
	w := s.w
	switch {
	case !w.authOffered():
		s.answer("503 5.5.1 Error: authentication not enabled")
		return
	case s.mailGiven:
		s.answer("503 5.5.1 Error: MAIL transaction in progress")
		return
	case w.saslUser != "":
		s.answer("503 5.5.1 Error: already authenticated")
		return
	}
	f := strings.Fields(arg)
	if len(f) < 1 || len(f) > 2 {
		s.answer("501 5.5.4 Syntax: AUTH mechanism")
		return
	}
	mech := strings.ToUpper(f[0])
	var user string // as the client gave it, for the log
	check := func(u, p string) error {
		user = u
		_, err := w.srv.authd.Authenticate(w.srv.saslService, u, p, w.addr)
		var te *auth.TempError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &te):
			return &saslTempError{reason: te.Reason}
		}
		return errSASLFailed
	}
	var srv sasl.Server
	switch mech {
	case "PLAIN":
		srv = sasl.NewPlainServer(func(identity, u, p string) error {
			if identity != "" && identity != u {
				user = u
				return errSASLFailed // no proxy authorization
			}
			return check(u, p)
		})
	case "LOGIN":
		srv = auth.NewLoginServer(check)
	default:
		s.answer("504 5.5.4 Unsupported authentication mechanism")
		return
	}
	var resp []byte
	if len(f) == 2 {
		if f[1] == "=" {
			resp = []byte{}
		} else if b, err := base64.StdEncoding.DecodeString(f[1]); err == nil {
			resp = b
		} else {
			s.answer("501 5.5.2 Cannot decode response")
			return
		}
	}
	err := s.saslExchange(srv, resp)
	if w.dead {
		return
	}
	var te *saslTempError
	switch {
	case err == nil:
		w.saslUser, w.saslMethod = user, mech
		s.answer("235 2.7.0 Authentication successful")
	case errors.Is(err, errSASLAbort):
		w.srv.log.Warn("%s: SASL %s authentication aborted", w.client(), mech)
		s.answer("501 5.7.0 Authentication aborted")
	case errors.As(err, &te):
		w.srv.log.Warn("%s: SASL %s authentication failed: %s, sasl_username=%s", w.client(), mech,
			printable.String(printable.Head(te.reason, 200), '?'), logUser(user))
		s.answer("454 4.7.0 Temporary authentication failure: authentication service unavailable")
	case err == errSASLResponseLimit:
		s.answer("500 5.5.6 SASL response limit exceeded")
	case err == errSASLDecode:
		s.answer("501 5.5.2 Cannot decode response")
	default:
		w.srv.log.Warn("%s: SASL %s authentication failed: authentication failure, sasl_username=%s",
			w.client(), mech, logUser(user))
		s.authFails++
		// Each failure in a session waits longer before its answer (on top of authd's own
		// delay, which follows the client address across sessions); the failures count as
		// errors for smtpd_hard_error_limit too.
		if d := min(time.Duration(s.authFails)*w.srv.errSleep, maxAuthDelay); d > 0 {
			w.flush()
			time.Sleep(d)
		}
		s.answer("535 5.7.8 Error: authentication failed: authentication failure")
	}
}

var (
	errSASLResponseLimit = errors.New("response limit")
	errSASLDecode        = errors.New("cannot decode")
)

// saslExchange runs the challenges and responses until the mechanism is done.
func (s *session) saslExchange(srv sasl.Server, resp []byte) error {
	w := s.w
	for {
		ch, done, err := srv.Next(resp)
		if err != nil {
			var te *saslTempError
			if errors.As(err, &te) {
				return te
			}
			return errSASLFailed
		}
		if done {
			return nil
		}
		w.reply("334 " + base64.StdEncoding.EncodeToString(ch))
		line, long, err := w.readLine(w.srv.saslRespLimit)
		if err != nil {
			w.lost(err)
			return err
		}
		if long {
			return errSASLResponseLimit
		}
		if string(line) == "*" {
			return errSASLAbort
		}
		if resp, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(line))); err != nil {
			return errSASLDecode
		}
	}
}

func logUser(u string) string {
	if u == "" {
		return "(unavailable)"
	}
	return printable.String(printable.Head(u, 100), '?')
}
