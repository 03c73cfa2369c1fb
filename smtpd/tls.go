package main

import (
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/printable"
	"postern/pkg/service"
)

// TLS levels of smtpd_tls_security_level.
const (
	tlsNone = iota
	tlsMay
	tlsEncrypt
)

// tlsSettings reads smtpd_tls_security_level (or the obsolete smtpd_use_tls and
// smtpd_enforce_tls), smtpd_tls_wrappermode and the certificate. A certificate that cannot
// be loaded disables TLS with a warning, as Postfix: STARTTLS is then answered "454 4.7.0
// TLS not available due to local problem". Wrapper mode without a certificate is fatal,
// since no client could ever talk to the service.
func (s *server) tlsSettings(cfg *config.Config) error {
	switch strings.ToLower(cfg.Get("smtpd_tls_security_level")) {
	case "may":
		s.tlsLevel = tlsMay
	case "encrypt":
		s.tlsLevel = tlsEncrypt
	case "", "none":
		s.tlsLevel = tlsNone
		if cfg.Get("smtpd_tls_security_level") == "" {
			if cfg.Bool("smtpd_enforce_tls") {
				s.tlsLevel = tlsEncrypt
			} else if cfg.Bool("smtpd_use_tls") {
				s.tlsLevel = tlsMay
			}
		}
	default:
		s.log.Warn("invalid smtpd_tls_security_level value \"%s\": using none", cfg.Get("smtpd_tls_security_level"))
	}
	s.tlsWrapper = cfg.Bool("smtpd_tls_wrappermode")
	s.tlsLogLevel = int(cfg.Int("smtpd_tls_loglevel"))
	if s.tlsLevel == tlsNone && !s.tlsWrapper {
		return nil
	}
	// The files were read as root before smtpd dropped privileges (main.go).
	certs, err := service.Certificates(cfg, "smtpd")
	if err != nil {
		if s.tlsWrapper {
			return err
		}
		s.log.Warn("%v: TLS not available", err)
		return nil
	}
	if len(certs) == 0 {
		if s.tlsWrapper {
			return errors.New("smtpd_tls_wrappermode = yes needs smtpd_tls_cert_file")
		}
		s.log.Warn("No server certs available. TLS won't be enabled")
		return nil
	}
	s.tls = &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS10}
	return nil
}

// tlsOffered tells whether STARTTLS is advertised (and accepted) on this connection.
func (w *wire) tlsOffered() bool {
	return w.srv.tlsLevel != tlsNone && !w.srv.tlsWrapper && !w.tlsActive && !w.srv.discardEhlo["STARTTLS"]
}

// starttls is the STARTTLS command. After the handshake everything that depends on TLS
// (AUTH, the Received protocol, the encrypt level) sees the wire's tlsActive.
func (s *session) starttls(arg string) {
	w := s.w
	switch {
	case w.tlsActive:
		s.answer("554 5.5.1 Error: TLS already active")
		return
	case !w.tlsOffered():
		s.answer("502 5.5.1 Error: command not implemented")
		return
	case arg != "":
		s.answer("501 5.5.4 Syntax: STARTTLS")
		return
	case s.mailGiven:
		s.answer("503 5.5.1 Error: MAIL transaction in progress")
		return
	case w.srv.tls == nil:
		s.answer("454 4.7.0 TLS not available due to local problem")
		return
	}
	s.answer("220 2.0.0 Ready to start TLS")
	// Commands pipelined behind STARTTLS came in the clear; they must not be taken as sent
	// over TLS (CVE-2011-0411), so they are thrown away.
	if n := w.br.Buffered(); n > 0 {
		w.br.Discard(n)
	}
	w.flush()
	if w.dead || !w.handshake() {
		return
	}
	// The session starts afresh (RFC 3207): HELO, and any authentication, are forgotten.
	s.helo, s.esmtp = "", false
	w.saslUser, w.saslMethod = "", ""
}

// handshake makes the connection a TLS server connection; false when it failed (the
// connection is then dead and the loss logged).
func (w *wire) handshake() bool {
	tc := tls.Server(w.conn, w.srv.tls)
	tc.SetDeadline(time.Now().Add(w.srv.timeout))
	err := tc.Handshake()
	tc.SetDeadline(time.Time{})
	if err != nil {
		w.dead = true
		w.srv.log.Warn("TLS handshake failed for %s: %s", w.client(), printable.String(printable.Head(err.Error(), 200), '?'))
		w.srv.log.Info("lost connection after %s from %s", w.lastCmd, w.client())
		return false
	}
	w.conn = tc
	w.br.Reset(wireReader{w}) // now reads from tc; nothing of the clear text is left in it
	w.readDL = time.Time{}
	w.tlsActive = true
	if w.srv.tlsLogLevel >= 1 {
		st := tc.ConnectionState()
		w.srv.log.Info("Anonymous TLS connection established from %s: %s with cipher %s",
			w.client(), tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
	}
	return true
}
