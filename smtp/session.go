package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"postern/pkg/dsn"
)

// session is an SMTP session that has been greeted and is ready for MAIL FROM.
type session struct {
	*conn
	hop     hop
	key     string // connection cache key (the destination)
	ext     map[string]string
	tls     bool
	uses    int
	born    time.Time
	idle    time.Time // when it went into the cache
	healthy bool      // the last exchange left it at a transaction boundary
}

// hostFail is a failure of a whole session: its status applies to every recipient that
// has not been decided yet.
type hostFail struct{ res result }

// errPlaintext asks for a new connection to the same address without STARTTLS: the TLS
// handshake failed and the security level lets the mail go in plaintext.
var errPlaintext = errors.New("retry without TLS")

// open connects to one address and takes the session up to MAIL FROM: greeting, EHLO
// (HELO when EHLO is refused), STARTTLS as smtp_tls_security_level asks.
func (s *server) open(ctx context.Context, h hop, key string, useTLS bool) (*session, *hostFail, error) {
	d := net.Dialer{Timeout: s.cfg.connectTimeout}
	nc, err := d.DialContext(ctx, "tcp", h.addr.String())
	if err != nil {
		return nil, &hostFail{result{st: dsn.Defer("4.4.1", "connect to %s: %s", h.relay(), dialError(err))}}, nil
	}
	ss := &session{conn: newConn(nc), hop: h, key: key, born: time.Now()}
	fail := func(f *hostFail) (*session, *hostFail, error) {
		ss.close(s.cfg.quitTimeout, f != nil && f.res.diag != "")
		return nil, f, nil
	}
	r, err := ss.read(s.cfg.heloTimeout)
	if err != nil {
		return fail(ss.lost(err, "receiving the initial server greeting"))
	}
	if r.code != 220 {
		return fail(&hostFail{remote(h, r, dsnOf(r), "host %s refused to talk to me: %s", h.label(), r.text())})
	}
	if f := s.hello(ss); f != nil {
		return fail(f)
	}
	_, offered := ss.ext["STARTTLS"]
	switch {
	case s.cfg.tlsLevel == "encrypt" && !offered:
		return fail(&hostFail{result{st: dsn.Defer("4.7.4", "TLS is required, but was not offered by host %s", h.label()), mta: h.name}})
	case useTLS && offered && s.cfg.tlsLevel != "none":
		r, err := ss.cmd(s.cfg.starttlsTimeout, "STARTTLS")
		if err != nil {
			return fail(ss.lost(err, "sending STARTTLS"))
		}
		if r.code != 220 {
			if s.cfg.tlsLevel == "encrypt" {
				return fail(&hostFail{remote(h, r, "4.7.5", "TLS is required, but host %s refused to start TLS: %s", h.label(), r.text())})
			}
			break // opportunistic: go on in plaintext
		}
		tc := tls.Client(nc, s.tlsConfig(h))
		tc.SetDeadline(time.Now().Add(s.cfg.starttlsTimeout))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			s.log.Info("SSL_connect error to %s: %v", h.relay(), err)
			if s.cfg.tlsLevel == "may" {
				return nil, nil, errPlaintext
			}
			return nil, &hostFail{result{st: dsn.Defer("4.7.5", "Cannot start TLS: handshake failure"), mta: h.name}}, nil
		}
		tc.SetDeadline(time.Time{})
		ss.conn = newConn(tc)
		ss.tls = true
		if s.cfg.tlsLogLevel >= 1 {
			st := tc.ConnectionState()
			bits := cipherBits(tls.CipherSuiteName(st.CipherSuite))
			s.log.Info("%s TLS connection established to %s: %s with cipher %s (%d/%d bits)",
				s.tls.trust(st), h.relay(), strings.Replace(tls.VersionName(st.Version), "TLS 1.", "TLSv1.", 1), tls.CipherSuiteName(st.CipherSuite), bits, bits)
		}
		if f := s.hello(ss); f != nil {
			return fail(f)
		}
	}
	ss.healthy = true
	return ss, nil, nil
}

// hello sends EHLO (or HELO when EHLO is refused or smtp_never_send_ehlo is set) and
// records the extensions.
func (s *server) hello(ss *session) *hostFail {
	h := ss.hop
	ss.ext = map[string]string{}
	if !s.cfg.neverEHLO {
		r, err := ss.cmd(s.cfg.heloTimeout, "EHLO %s", s.cfg.heloName)
		if err != nil {
			return ss.lost(err, "performing the EHLO handshake")
		}
		if r.class() == 2 {
			ss.ext = parseEHLO(r)
			return nil
		}
	}
	r, err := ss.cmd(s.cfg.heloTimeout, "HELO %s", s.cfg.heloName)
	if err != nil {
		return ss.lost(err, "performing the HELO handshake")
	}
	if r.class() != 2 {
		return &hostFail{remote(h, r, dsnOf(r), "host %s refused to talk to me: %s", h.label(), r.text())}
	}
	return nil
}

func (s *server) tlsConfig(h hop) *tls.Config {
	cfg := &tls.Config{
		// may and encrypt do not authenticate the server (Postfix's opportunistic and
		// mandatory-encryption levels); verify and secure are not implemented.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS10,
		ClientSessionCache: s.tls.sessions,
	}
	if _, ok := literal(h.name); !ok {
		cfg.ServerName = h.name
	}
	if len(s.cfg.clientCerts) > 0 {
		cfg.Certificates = s.cfg.clientCerts
	}
	return cfg
}

func cipherBits(name string) int {
	switch {
	case strings.Contains(name, "AES_128"):
		return 128
	case strings.Contains(name, "3DES"):
		return 112
	}
	return 256
}

// lost words a network failure during stage as Postfix does.
func (ss *session) lost(err error, stage string) *hostFail {
	ss.healthy = false
	h := ss.hop
	if isTimeout(err) {
		return &hostFail{result{st: dsn.Defer("4.4.2", "conversation with %s timed out while %s", h.label(), stage), mta: h.name}}
	}
	if errors.Is(err, errProtocol) {
		return &hostFail{result{st: dsn.Defer("4.5.0", "host %s sent a malformed reply while %s", h.label(), stage), mta: h.name}}
	}
	return &hostFail{result{st: dsn.Defer("4.4.2", "lost connection with %s while %s", h.label(), stage), mta: h.name}}
}

// close ends the session, politely (QUIT) when it is still in a state to hear it.
func (ss *session) close(quitTimeout time.Duration, polite bool) {
	if polite || ss.healthy {
		ss.nc.SetDeadline(time.Now().Add(min(quitTimeout, 5*time.Second)))
		fmt.Fprintf(ss.w, "QUIT\r\n")
		if ss.w.Flush() == nil {
			ss.read(min(quitTimeout, 5*time.Second))
		}
	}
	ss.nc.Close()
}

// remote builds the result of a server reply: Postfix's reason text, and the reply as
// the diagnostic for the DSN.
func remote(h hop, r reply, code, format string, a ...any) result {
	return result{st: dsn.Status{Code: code, Text: fmt.Sprintf(format, a...)}, diag: r.text(), mta: h.name}
}

// dsnOf is the reply's enhanced code, with the class of its reply code.
func dsnOf(r reply) string {
	if r.class() != 4 && r.class() != 5 && r.class() != 2 {
		return "4.0.0"
	}
	return r.dsn()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// dialError renders a connect error as Postfix's %m.
func dialError(err error) string {
	if isTimeout(err) {
		return "Connection timed out"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		m := errno.Error()
		return strings.ToUpper(m[:1]) + m[1:]
	}
	return err.Error()
}
