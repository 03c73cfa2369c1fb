package handoff

import (
	"crypto/tls"
	"net"
	"os"
	"time"

	"postern/pkg/auth"
	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/service"
)

// Authenticator is authd as a login server sees it (tests substitute it).
type Authenticator interface {
	Authenticate(service, username, password, clientAddr string) (*auth.User, error)
}

// Login is what a login server (imapd, pop3d) knows before login: its
// <prog>_* settings, how it checks passwords, and how it serves a user.
type Login struct {
	Auth        Authenticator
	TLS         *tls.Config   // nil: no STARTTLS/STLS
	Wrapper     bool          // <prog>_tls_wrappermode: TLS from the first byte (993, 995)
	TLSAuthOnly bool          // <prog>_tls_auth_only
	Timeout     time.Duration // <prog>_timeout: before login, per command
	// A logged-in session runs in a process with the user's credentials
	// (Exe, this program, started again) when the server is root, in this
	// process when the user is its own uid; InProcess forces the latter
	// (tests).
	Exe       string
	InProcess bool
}

// NewLogin reads prog's settings (service.ServerTLS for the TLS ones).
func NewLogin(c *config.Config, prog string) (*Login, error) {
	l := &Login{Auth: auth.New(c), Timeout: c.Duration(prog + "_timeout"), TLSAuthOnly: c.Bool(prog + "_tls_auth_only")}
	l.Exe, _ = os.Executable()
	var err error
	if l.TLS, l.Wrapper, err = service.ServerTLS(c, prog); err != nil {
		return nil, err
	}
	return l, nil
}

// Begin starts serving conn: the client's addresses for log lines and, in
// wrapper mode, the TLS handshake; a failed one is logged and ok is false
// (the caller closes conn).
func (l *Login) Begin(conn net.Conn, log *maillog.Logger) (tlsConn *tls.Conn, rip, lip string, ok bool) {
	rip, lip = Addrs(conn)
	if l.Wrapper {
		tlsConn = tls.Server(conn, l.TLS)
		conn.SetDeadline(time.Now().Add(l.Timeout))
		if err := tlsConn.Handshake(); err != nil {
			log.Info("TLS handshake failed: rip=%s, lip=%s: %v", rip, lip, err)
			return nil, rip, lip, false
		}
	}
	return tlsConn, rip, lip, true
}

// Main is a login server's main. With sessionFlag as argv[1] the program
// is a session process (or server) that the root front end started with
// a user's credentials: it runs session and never reaches service.Main.
// Otherwise it is the front end under master, having read its own and
// smtpd's TLS files as root at start; start gives its connection handler.
func Main(prog, sessionFlag string, session func() int, start func(*config.Config, *maillog.Logger) (func(net.Conn), error)) {
	if len(os.Args) > 1 && os.Args[1] == sessionFlag {
		os.Exit(session())
	}
	service.Main(prog, service.Options{TLS: []string{prog, "smtpd"}}, func(e *service.Env) (func(net.Conn), error) {
		return start(e.Config, e.Log)
	})
}
