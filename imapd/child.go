package main

import (
	"encoding/json"
	"fmt"
	"os"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
	"postern/pkg/service"
)

// sessionFlag starts imapd as a session child: root imapd runs
// "/proc/self/exe -session ARGS..." with the user's uid and gid, the
// connection as fd 3 and the parameters as JSON on fd 4.
const sessionFlag = "-session"

type childParams struct {
	User    string `json:"user"`
	Maildir string `json:"maildir"`
	RIP     string `json:"rip"`
	LIP     string `json:"lip"`
	Pending []byte `json:"pending"`
	Limit   uint32 `json:"limit"`
}

// runChild hands the connection to a child with the user's credentials
// and waits for it (pkg/handoff; a TLS connection stays here and is
// relayed).
func (s *server) runChild(c *client, u *auth.User, su *sessionUser, pending []byte) {
	hc, err := handoff.Prepare(c.raw, c.tlsConn)
	if err != nil {
		s.log.Error("hand over connection: %v", err)
		c.conn().Close()
		return
	}
	params, _ := json.Marshal(childParams{User: su.name, Maildir: u.Maildir, RIP: su.rip, LIP: su.lip, Pending: pending, Limit: s.appendLimit})
	cmd := handoff.Command(s.exe, append([]string{sessionFlag}, s.args...), u)
	if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
		cmd.Dir = u.Home
	}
	err = handoff.Spawn(cmd, hc, params)
	c.conn().Close()
	if err != nil {
		s.log.Warn("session of user=<%s> ended: %v", u.Username, err)
	}
}

// sessionMain is the child: it serves one logged-in connection as the
// user it was started as.
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
	var p childParams
	b, err := handoff.ChildParams()
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		log.Error("session parameters: %v", err)
		return 1
	}
	conn, err := handoff.ChildConn(3)
	if err != nil {
		log.Error("session connection: %v", err)
		return 1
	}
	as := newAuthServer(log, p.Limit)
	as.serve(newAuthedConn(conn, p.Pending, &sessionUser{name: p.User, maildir: p.Maildir, rip: p.RIP, lip: p.LIP}))
	return 0
}
