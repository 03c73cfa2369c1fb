// Package handoff is what imapd and pop3d share around login: the TLS
// settings, the client's addresses, and handing a logged-in connection
// from the root front end to a process running with the user's
// credentials.
//
// Go cannot change the credentials of one goroutine, so a root mail
// server never reads a mailbox: it starts a process as the user (Command,
// Start) and passes it the connection (Prepare). A plain TCP connection
// is passed as its descriptor; a TLS connection cannot be, so the root
// side keeps the TLS state and relays plaintext over a socket pair
// (Conn.Relay).
//
// Two ways to run that process:
//
//   - one per login: the connection as fd 3 and parameters on fd 4
//     (Spawn, then ChildConn and ChildParams in the child); pop3d.
//   - one long-lived session server per identity (Pool, Serve): the root
//     side passes each connection with its parameters over a
//     SOCK_SEQPACKET socket pair (SCM_RIGHTS), the server serves the
//     sessions of its user concurrently and says when each one ends; a
//     server without sessions for Pool.Idle is closed, and at most
//     Pool.Max run at once (least recently used idle first out); imapd,
//     whose folder index then stays in memory across logins.
package handoff

import (
	"crypto/tls"
	"errors"
	"net"
	"time"

	"postern/pkg/config"
	"postern/pkg/service"
)

// TLS reads <prog>_tls_cert_file and <prog>_tls_key_file (falling back to
// smtpd's certificates; a missing key is taken from the certificate file)
// and <prog>_tls_wrappermode. A nil config means no STARTTLS/STLS. The
// files come through service.Certificates: a daemon that names prog and
// smtpd in service.Options.TLS has read them as root at start.
func TLS(c *config.Config, prog string) (cfg *tls.Config, wrapper bool, err error) {
	prefix := prog
	if c.Get(prog+"_tls_cert_file") == "" {
		prefix = "smtpd"
	}
	certs, err := service.Certificates(c, prefix)
	if err != nil {
		return nil, false, err
	}
	if len(certs) > 0 {
		cfg = &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12}
	}
	wrapper = c.Bool(prog + "_tls_wrappermode")
	if wrapper && cfg == nil {
		return nil, false, errors.New(prog + "_tls_wrappermode = yes needs " + prog + "_tls_cert_file (or smtpd_tls_cert_file)")
	}
	return cfg, wrapper, nil
}

// Duration reads a Postern-only time parameter (seconds by default), or
// def when it is unset or malformed.
func Duration(c *config.Config, name string, def time.Duration) time.Duration {
	if v := c.Get(name); v != "" {
		if d, err := config.ParseDuration(v, 's'); err == nil {
			return d
		}
	}
	return def
}

// Addrs gives the remote and local host of a connection for log lines
// (rip=, lip=). A unix-socket client (tests, local proxies) is 127.0.0.1.
func Addrs(c net.Conn) (rip, lip string) {
	rip, lip = hostOf(c.RemoteAddr()), hostOf(c.LocalAddr())
	if c.RemoteAddr() != nil && c.RemoteAddr().Network() == "unix" {
		rip = "127.0.0.1"
	}
	return rip, lip
}

func hostOf(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}
