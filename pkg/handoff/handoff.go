// Package handoff is the part imapd and pop3d share around login: the
// front end's settings and main (Login, Main: <prog>_timeout,
// <prog>_tls_auth_only, TLS through service.ServerTLS, the wrapper-mode
// handshake, the client's addresses for log lines), and handing the
// logged-in connection from the root front end to a process running as
// the user (pkg/runas).
//
// A plain TCP connection is passed as its descriptor; a TLS connection
// cannot be, so the root side keeps the TLS state and relays plaintext
// over a socket pair (Prepare, Conn.Relay).
//
// Two ways to run the session, both on pkg/runas:
//
//   - one process per login: the connection as fd 3 and parameters on
//     fd 4 (Spawn, then ChildConn and ChildParams in the child); pop3d,
//     which reads fd 3 as a blocking socket of its own instead of
//     ChildConn's net.Conn (one client per process: no poller needed).
//   - one long-lived session server per identity (Sessions, a runas.Pool;
//     Serve in the server): it serves the sessions of its user
//     concurrently and says when each one ends; imapd, whose folder index
//     then stays in memory across logins.
package handoff

import "net"

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
