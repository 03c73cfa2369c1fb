package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"postern/pkg/auth"
	"postern/pkg/maillog"
	"postern/pkg/service"
)

// sessionFlag starts imapd as a session child: root imapd runs
// "/proc/self/exe -session ARGS..." with the user's uid and gid, the
// connection as fd 3 and the parameters as JSON on standard input.
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
// and waits for it. A TLS connection cannot be passed on, so the parent
// keeps the TLS layer and relays plaintext over a socket pair.
func (s *server) runChild(c *client, u *auth.User, su *sessionUser, pending []byte) {
	var (
		f     *os.File
		relay *os.File
		err   error
	)
	if c.tlsConn != nil {
		fds, e := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if e != nil {
			s.log.Error("socketpair: %v", e)
			c.tlsConn.Close()
			return
		}
		relay, f = os.NewFile(uintptr(fds[0]), "relay"), os.NewFile(uintptr(fds[1]), "session")
	} else if fc, ok := c.raw.(interface{ File() (*os.File, error) }); ok {
		f, err = fc.File()
	} else {
		err = fmt.Errorf("connection type %T cannot be passed on", c.raw)
	}
	if err != nil {
		s.log.Error("hand over connection: %v", err)
		c.conn().Close()
		return
	}
	params, _ := json.Marshal(childParams{User: su.name, Maildir: u.Maildir, RIP: su.rip, LIP: su.lip, Pending: pending, Limit: s.appendLimit})
	cmd := exec.Command(s.exe, append([]string{sessionFlag}, s.args...)...)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdin = newBytesReader(params)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Env = []string{"HOME=" + u.Home, "USER=" + u.Username, "LOGNAME=" + u.Username, "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
		cmd.Dir = u.Home
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}},
		Pdeathsig:  syscall.SIGTERM,
	}
	err = cmd.Start()
	f.Close()
	if err != nil {
		s.log.Error("start session for user=<%s>: %v", u.Username, err)
		if relay != nil {
			relay.Close()
		}
		c.conn().Close()
		return
	}
	if relay != nil {
		rc, err := net.FileConn(relay)
		relay.Close()
		if err == nil {
			go func() { io.Copy(rc, c.tlsConn); rc.(*net.UnixConn).CloseWrite() }()
			io.Copy(c.tlsConn, rc)
			rc.Close()
		}
	}
	c.conn().Close()
	if err := cmd.Wait(); err != nil {
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
	if err := json.NewDecoder(io.LimitReader(os.Stdin, 1<<20)).Decode(&p); err != nil {
		log.Error("session parameters: %v", err)
		return 1
	}
	f := os.NewFile(3, "conn")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		log.Error("session connection: %v", err)
		return 1
	}
	as := newAuthServer(log, p.Limit)
	as.serve(newAuthedConn(conn, p.Pending, &sessionUser{name: p.User, maildir: p.Maildir, rip: p.RIP, lip: p.LIP}))
	return 0
}
