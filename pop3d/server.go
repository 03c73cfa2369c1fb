package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"postern/pkg/config"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
)

type server struct {
	*handoff.Login // pop3d_* settings, authd, how a session is run
	log            *maillog.Logger
	logCfg         logConfig
	maxFailures    int
}

// logConfig is what a session child needs to log like its parent.
type logConfig struct{ syslogName, maillogFile, hostname string }

func newServer(c *config.Config, log *maillog.Logger) (*server, error) {
	l, err := handoff.NewLogin(c, "pop3d")
	if err != nil {
		return nil, err
	}
	return &server{Login: l, log: log, maxFailures: 10,
		logCfg: logConfig{c.Get("syslog_name"), c.Get("maillog_file"), c.Get("myhostname")}}, nil
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
	var ok bool
	if c.tlsConn, c.rip, c.lip, ok = s.Begin(conn, s.log); !ok {
		return
	}
	c.r = bufio.NewReaderSize(c.current(), 4096)
	c.w = bufio.NewWriterSize(c.current(), 4096)
	if c.reply("+OK Hello there.") != nil {
		return
	}
	for {
		c.current().SetDeadline(time.Now().Add(s.Timeout))
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
