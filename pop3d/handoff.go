package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/runas"
	"postern/pkg/service"
)

// sessionFlag makes pop3d a session child: it serves one logged-in
// connection (fd 3) with the state read from fd 4, already running as the
// user. Go cannot setuid one goroutine, so a root pop3d never reads mail
// itself: it starts itself again with the user's credentials.
const sessionFlag = "-session"

// serveUser hands a logged-in connection to a session running as the user.
func (s *server) serveUser(c *client, u *auth.User, method string) {
	s.log.Info("Login: user=<%s>, method=%s, rip=%s, lip=%s%s", u.Username, method, c.rip, c.lip, tlsNote(c.tlsConn != nil))
	euid := os.Geteuid()
	switch {
	case s.InProcess || euid != 0 && u.UID == euid:
		ss := &session{conn: c.current(), r: c.r, w: c.w, log: s.log, timeout: s.Timeout,
			user: u.Username, rip: c.rip, lip: c.lip, tls: c.tlsConn != nil}
		ss.run(u.Maildir)
	case euid == 0 && u.UID != 0:
		if err := s.spawn(c, u); err != nil {
			s.log.Warn("user=<%s>: cannot start session: %v", u.Username, err)
			c.reply("-ERR [SYS/TEMP] Temporary problem, please try again later.")
		}
	default:
		s.log.Warn("user=<%s> has uid %d but pop3d runs as uid %d and cannot switch to it (run pop3d as root: master.cf unpriv = n)", u.Username, u.UID, euid)
		c.reply("-ERR [SYS/PERM] Unable to serve this account.")
	}
}

// spawn runs the session in a child process with the user's uid and gid
// (pkg/handoff: a plain connection is passed as it is, a TLS one is
// relayed from here), and returns when it has ended.
func (s *server) spawn(c *client, u *auth.User) error {
	hc, err := handoff.Prepare(c.conn, c.tlsConn)
	if err != nil {
		return err
	}
	// Bytes the client pipelined after PASS are already in our buffer.
	pending, _ := c.r.Peek(c.r.Buffered())
	state := ipc.Attrs{
		{Name: "user", Value: u.Username}, {Name: "uid", Value: strconv.Itoa(u.UID)},
		{Name: "maildir", Value: u.Maildir}, {Name: "rip", Value: c.rip}, {Name: "lip", Value: c.lip},
		{Name: "tls", Value: strconv.FormatBool(c.tlsConn != nil)},
		{Name: "timeout", Value: strconv.FormatInt(int64(s.Timeout/time.Second), 10)},
		{Name: "syslog_name", Value: s.logCfg.syslogName}, {Name: "maillog_file", Value: s.logCfg.maillogFile},
		{Name: "myhostname", Value: s.logCfg.hostname}, {Name: "pending", Value: string(pending)},
	}
	cmd := runas.Command(s.Exe, []string{sessionFlag}, u)
	cmd.Stdout = nil
	if f := s.log.File(); f != nil {
		cmd.Stderr = f
	}
	if s.logCfg.maillogFile != "" && (s.log.File() != nil || s.log.ToStderr()) {
		cmd.Env = append(cmd.Env, maillog.InheritedEnv+"="+s.logCfg.maillogFile)
	}
	if d := os.Getenv(service.ProfileEnv); d != "" {
		// Benchmarks: the session, where RETR runs, profiles itself too.
		cmd.Env = append(cmd.Env, service.ProfileEnv+"="+d)
	}
	return handoff.Spawn(cmd, hc, ipc.Encode(state))
}

// sessionMain is the child's whole life (see sessionFlag).
func sessionMain() int {
	if os.Geteuid() == 0 {
		fmt.Fprintln(os.Stderr, "pop3d: fatal: session process still running as root")
		return 1
	}
	b, err := handoff.ChildParams()
	var st ipc.Attrs
	if err == nil {
		st, err = ipc.Read(bufio.NewReader(bytes.NewReader(b)))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pop3d: fatal: read session state: %v\n", err)
		return 1
	}
	defer service.StartProfile("pop3d-session")()
	log := maillog.New("pop3d", maillog.Options{SyslogName: st.Get("syslog_name"), MaillogFile: st.Get("maillog_file"), Hostname: st.Get("myhostname")})
	if strconv.Itoa(os.Geteuid()) != st.Get("uid") {
		log.Fatal("session for user=<%s> runs as uid %d, not %s", st.Get("user"), os.Geteuid(), st.Get("uid"))
	}
	conn, err := newBlockingConn(3)
	if err != nil {
		log.Fatal("session connection: %v", err)
	}
	defer conn.Close()
	r := bufio.NewReaderSize(io.MultiReader(bytes.NewReader([]byte(st.Get("pending"))), conn), 4096)
	timeout := time.Duration(st.Int("timeout")) * time.Second
	if timeout <= 0 {
		timeout = 300 * time.Second
	}
	ss := &session{conn: conn, r: r, w: bufio.NewWriterSize(conn, 32<<10), log: log, timeout: timeout,
		user: st.Get("user"), rip: st.Get("rip"), lip: st.Get("lip"), tls: st.Get("tls") == "true"}
	ss.run(st.Get("maildir"))
	return 0
}
