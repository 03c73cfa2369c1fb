package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"time"

	"postern/pkg/auth"
	"postern/pkg/config"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
	"postern/pkg/service"
)

// authenticator is authd as pop3d sees it (tests substitute it).
type authenticator interface {
	Authenticate(service, username, password, clientAddr string) (*auth.User, error)
}

type server struct {
	log         *maillog.Logger
	auth        authenticator
	tls         *tls.Config // nil: no STLS
	wrapper     bool        // pop3d_tls_wrappermode: TLS from the first byte (port 995)
	tlsAuthOnly bool
	timeout     time.Duration
	logCfg      logConfig
	maxFailures int

	// How a logged-in session is served: as a child process running with
	// the user's credentials (pop3d is root), or in this process (the user
	// is pop3d's own uid). inProcess forces the latter (tests).
	exe       string
	inProcess bool
}

// logConfig is what a session child needs to log like its parent.
type logConfig struct{ syslogName, maillogFile, hostname string }

func newServer(c *config.Config, log *maillog.Logger) (*server, error) {
	s := &server{
		log:         log,
		auth:        auth.New(c),
		timeout:     c.Duration("pop3d_timeout"),
		tlsAuthOnly: c.Bool("pop3d_tls_auth_only"),
		logCfg:      logConfig{c.Get("syslog_name"), c.Get("maillog_file"), c.Get("myhostname")},
		maxFailures: 10,
	}
	s.exe, _ = os.Executable()
	var err error
	if s.tls, s.wrapper, err = service.ServerTLS(c, "pop3d"); err != nil {
		return nil, err
	}
	return s, nil
}

// client is one connection in the AUTHORIZATION state.
type client struct {
	conn     net.Conn // the raw connection
	tlsConn  *tls.Conn
	r        *bufio.Reader
	w        *bufio.Writer
	rip, lip string
	user     string // from USER
	failures int
}

func (c *client) current() net.Conn {
	if c.tlsConn != nil {
		return c.tlsConn
	}
	return c.conn
}

func (c *client) reply(format string, args ...any) error {
	fmt.Fprintf(c.w, format+"\r\n", args...)
	return c.w.Flush()
}

func (s *server) handle(conn net.Conn) {
	defer conn.Close()
	c := &client{conn: conn}
	c.rip, c.lip = handoff.Addrs(conn)
	if s.wrapper {
		c.tlsConn = tls.Server(conn, s.tls)
		conn.SetDeadline(time.Now().Add(s.timeout))
		if err := c.tlsConn.Handshake(); err != nil {
			s.log.Info("TLS handshake failed: rip=%s, lip=%s: %v", c.rip, c.lip, err)
			return
		}
	}
	c.r = bufio.NewReaderSize(c.current(), 4096)
	c.w = bufio.NewWriterSize(c.current(), 4096)
	if c.reply("+OK Hello there.") != nil {
		return
	}
	for {
		c.current().SetDeadline(time.Now().Add(s.timeout))
		line, err := readLine(c.r)
		if err == errLineTooLong {
			c.reply("-ERR Invalid command.")
			continue
		}
		if err != nil {
			return
		}
		cmd, ok := parseCommand(line)
		if !ok {
			if c.reply("-ERR Invalid command.") != nil {
				return
			}
			continue
		}
		done, u, method := s.authorization(c, cmd)
		if u != nil {
			s.serveUser(c, u, method)
			return
		}
		if done {
			return
		}
	}
}
