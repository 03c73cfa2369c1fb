package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
	"postern/pkg/service"
)

// sessionFlag starts imapd as a session server: root imapd runs
// "/proc/self/exe -session ARGS..." with a user's uid and gid and one end
// of a SOCK_SEQPACKET pair as fd 3, and passes it each logged-in
// connection of that uid with its parameters (JSON) over that socket
// (pkg/handoff's Sessions, a pkg/runas Pool). The server serves its sessions concurrently, all
// sharing the user's open folders, and exits when root imapd closes the
// socket (imapd_session_idle without sessions, or more than
// imapd_session_servers users).
const sessionFlag = "-session"

type childParams struct {
	User    string `json:"user"`
	Maildir string `json:"maildir"`
	RIP     string `json:"rip"`
	LIP     string `json:"lip"`
	Pending []byte `json:"pending"`
	Limit   uint32 `json:"limit"`
}

const (
	defaultSessionServers = 100
	defaultSessionIdle    = 120 * time.Second
)

// sessions is the pool of per-user session servers.
func (s *server) sessions() *handoff.Sessions {
	s.poolOnce.Do(func() {
		max, idle := s.maxServers, s.serverIdle
		if max <= 0 {
			max = defaultSessionServers
		}
		if idle <= 0 {
			idle = defaultSessionIdle
		}
		s.pool = handoff.NewSessions(s.Exe, append([]string{sessionFlag}, s.args...), max, idle, s.log.Warn)
	})
	return s.pool
}

// runChild hands the connection to the session server of the user's
// identity and waits until the session has ended (a TLS connection stays
// here and is relayed).
func (s *server) runChild(c *client, u *auth.User, su *sessionUser, pending []byte) {
	hc, err := handoff.Prepare(c.raw, c.tlsConn)
	if err != nil {
		s.log.Error("hand over connection: %v", err)
		c.conn().Close()
		return
	}
	params, _ := json.Marshal(childParams{User: su.name, Maildir: u.Maildir, RIP: su.rip, LIP: su.lip, Pending: pending, Limit: s.appendLimit})
	err = s.sessions().Serve(u, hc, params)
	c.conn().Close()
	if err != nil {
		s.log.Error("start session for user=<%s>: %v", u.Username, err)
	}
}

// sessionMain is the session server: it serves the logged-in connections
// root imapd passes it, as the user it was started as.
func sessionMain() int {
	a, err := service.ParseArgs("imapd", os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "imapd: fatal: %v\n", err)
		return 1
	}
	cfg, err := service.LoadConfig(a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "imapd: fatal: %v\n", err)
		return 1
	}
	log := maillog.FromConfig("imapd", cfg.Get)
	if os.Geteuid() == 0 {
		log.Error("session child running as root; refusing")
		return 1
	}
	var (
		once sync.Once
		as   *authServer
	)
	err = handoff.Serve(3, func(conn net.Conn, b []byte) {
		var p childParams
		if err := json.Unmarshal(b, &p); err != nil {
			log.Error("session parameters: %v", err)
			return
		}
		once.Do(func() { as = newAuthServer(log, p.Limit) })
		as.serve(newAuthedConn(conn, p.Pending, &sessionUser{name: p.User, maildir: p.Maildir, rip: p.RIP, lip: p.LIP}))
	})
	if err != nil {
		log.Error("session server: %v", err)
		return 1
	}
	return 0
}
