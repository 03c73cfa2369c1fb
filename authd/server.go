package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/passwd"
	"postern/pkg/printable"
	"postern/pkg/shadow"
)

// Request limits: a request is a handful of short attributes; anything
// bigger is hostile or broken.
const (
	maxRequest  = 16 << 10
	maxLine     = 4 << 10
	idleTimeout = 60 * time.Second
)

type server struct {
	log      *maillog.Logger
	backends []backend
	throttle *throttle
	hashSem  chan struct{} // bounds concurrent hash computations (yescrypt is memory-hard)
	allowed  map[int]bool  // peer uids that may ask; nil = anyone who can reach the socket
	now      func() time.Time
	sleep    func(time.Duration)
}

func newServer(c *config.Config, log *maillog.Logger) (*server, error) {
	s := &server{log: log, now: time.Now, sleep: time.Sleep}
	homeMailbox := c.Get("home_mailbox")
	if p := c.Get("postern_passwd_file"); p != "" {
		s.backends = append(s.backends, &fileBackend{path: p, homeMailbox: homeMailbox})
	}
	if v := c.Get("authd_system_users"); v == "" || c.Bool("authd_system_users") {
		s.backends = append(s.backends, &systemBackend{homeMailbox: homeMailbox, spool: c.Get("mail_spool_directory")})
	}
	s.throttle = newThrottle(durationParam(c, "authd_failure_delay", 2*time.Second),
		durationParam(c, "authd_failure_delay_limit", 15*time.Second))
	n := runtime.NumCPU()
	if v := c.Int("authd_max_parallel"); v > 0 {
		n = int(v)
	}
	s.hashSem = make(chan struct{}, n)
	if os.Geteuid() == 0 {
		s.allowed = map[int]bool{0: true}
		if u, err := passwd.Lookup(c.Get("mail_owner")); err == nil {
			s.allowed[u.UID] = true
		}
	} else {
		s.allowed = map[int]bool{0: true, os.Geteuid(): true}
	}
	return s, nil
}

// durationParam reads a Postern-only time parameter (config has no default
// for it, so Duration alone would give 0 when unset).
func durationParam(c *config.Config, name string, def time.Duration) time.Duration {
	v := c.Get(name)
	if v == "" {
		return def
	}
	d, err := config.ParseDuration(v, 's')
	if err != nil {
		return def
	}
	return d
}

// limitReader lets each request read at most maxRequest bytes.
type limitReader struct {
	r io.Reader
	n int
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("request too large")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= n
	return n, err
}

func (s *server) handle(conn net.Conn) {
	defer conn.Close()
	if uid, ok := peerUID(conn); ok && s.allowed != nil && !s.allowed[uid] {
		s.log.Warn("refusing request from uid %d: not root or mail_owner", uid)
		return
	}
	lr := &limitReader{r: conn}
	r := bufio.NewReaderSize(lr, maxLine)
	for {
		lr.n = maxRequest
		conn.SetReadDeadline(time.Now().Add(idleTimeout))
		req, err := ipc.Read(r)
		if err != nil {
			if err != io.EOF {
				s.log.Warn("bad request: %v", err)
			}
			return
		}
		conn.SetReadDeadline(time.Time{})
		rep := s.serve(req)
		conn.SetWriteDeadline(time.Now().Add(idleTimeout))
		if ipc.Write(conn, rep) != nil {
			return
		}
	}
}

func (s *server) serve(req ipc.Attrs) ipc.Attrs {
	switch req.Get("request") {
	case "auth":
		return s.authenticate(req)
	case "lookup":
		return s.lookup(req)
	}
	return ipc.Attrs{{Name: "status", Value: "temp"}, {Name: "reason", Value: "unknown request"}}
}

var failReply = ipc.Attrs{{Name: "status", Value: "fail"}}

// find asks each backend in turn.
func (s *server) find(username string) (*account, error) {
	for _, b := range s.backends {
		a, err := b.find(username)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", b.name(), err)
		}
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

func (s *server) authenticate(req ipc.Attrs) ipc.Attrs {
	start := s.now()
	service, user, pw, rip := req.Get("service"), req.Get("username"), req.Get("password"), req.Get("client_address")
	if service == "" {
		service = "unknown"
	}
	var a *account
	var err error
	if validUsername(user) {
		a, err = s.find(user)
	}
	if err != nil {
		s.log.Warn("%s authentication: user=<%s>, rip=%s: %v", service, printable.String(printable.Trunc(user, 100), '?'), rip, err)
		return ipc.Attrs{{Name: "status", Value: "temp"}, {Name: "reason", Value: "authentication backend unavailable"}}
	}
	s.hashSem <- struct{}{}
	ok := false
	reason := ""
	switch {
	case a == nil:
		shadow.CheckDummy(pw) // same cost as a real check: timing must not tell
		reason = "unknown user"
	case a.refusal != "":
		shadow.CheckDummy(pw)
		reason = a.refusal
	case pw == "" || a.check == nil:
		shadow.CheckDummy(pw)
		reason = "password mismatch"
	case a.user.UID == 0:
		shadow.CheckDummy(pw)
		reason = "root login refused"
	default:
		ok = a.check(pw)
		if !ok {
			reason = "password mismatch"
		}
	}
	<-s.hashSem
	if !ok {
		delay := s.throttle.failure(rip, user, start)
		s.log.Warn("%s authentication failed: user=<%s>, rip=%s, reason=%s, delay=%s",
			service, printable.String(printable.Trunc(user, 100), '?'), rip, reason, maillog.FormatDelay(delay))
		if rest := delay - s.now().Sub(start); rest > 0 {
			s.sleep(rest)
		}
		return failReply
	}
	s.throttle.success(user)
	return a.user.Reply()
}

func (s *server) lookup(req ipc.Attrs) ipc.Attrs {
	user := req.Get("username")
	if !validUsername(user) {
		return failReply
	}
	a, err := s.find(user)
	if err != nil {
		s.log.Warn("lookup user=<%s>: %v", printable.String(printable.Trunc(user, 100), '?'), err)
		return ipc.Attrs{{Name: "status", Value: "temp"}, {Name: "reason", Value: "authentication backend unavailable"}}
	}
	if a == nil || a.user.Home == "" {
		return failReply
	}
	return a.user.Reply()
}

// peerUID is the uid of the process at the other end of a unix socket.
func peerUID(c net.Conn) (int, bool) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *unix.Ucred
	var cerr error
	raw.Control(func(fd uintptr) { cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if cerr != nil || cred == nil {
		return 0, false
	}
	return int(cred.Uid), true
}
