package handoff

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/auth"
)

// The session server protocol. The socket is a SOCK_SEQPACKET pair, so a
// packet is a whole message and its descriptor arrives with it:
//
//	front end -> server: 8-byte session id (big-endian) + parameters,
//	                     with exactly one descriptor (the connection)
//	server -> front end: 8-byte session id, when that session has ended
const (
	idLen = 8
	// MaxSessionParams bounds a session's parameters in a packet.
	MaxSessionParams = 60 << 10
	sendTimeout      = 30 * time.Second
	exitGrace        = 5 * time.Second // a retired server must exit within this
)

// ErrServerGone means the session server exited before the session was
// handed to it.
var ErrServerGone = errors.New("session server gone")

// Identity is what a session server runs as.
type Identity struct{ UID, GID int }

// Pool keeps one long-lived session server per identity.
type Pool struct {
	Exe  string
	Args []string      // the server's arguments (its mode flag first)
	Max  int           // servers at once; beyond that, the LRU idle one is closed
	Idle time.Duration // a server without sessions this long is closed
	Warn func(format string, a ...any)

	mu      sync.Mutex
	servers map[Identity]*server
}

// server is the front end's side of one session server.
type server struct {
	pool   *Pool
	id     Identity
	ready  chan struct{} // closed once started (or failed: err)
	err    error
	cmd    *exec.Cmd
	conn   *net.UnixConn
	pooled bool // in pool.servers (false: a one-off beyond Max)

	// Under pool.mu.
	users    int
	lastUsed time.Time
	timer    *time.Timer
	retired  bool

	wmu sync.Mutex // one packet at a time

	mu      sync.Mutex
	dead    bool
	nextID  uint64
	pending map[uint64]chan struct{}
}

// Serve hands a logged-in connection to the session server of u's
// identity (starting one when there is none) with params, and returns
// when the session has ended (or its server died). c is consumed. An
// error means the session never started; the client connection is then
// still the caller's.
func (p *Pool) Serve(u *auth.User, c *Conn, params []byte) error {
	if len(params) > MaxSessionParams {
		c.Abort()
		return fmt.Errorf("session parameters too large (%d bytes)", len(params))
	}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		s, err := p.acquire(u)
		if err != nil {
			c.Abort()
			return err
		}
		done, err := s.send(params, c.File)
		if err != nil {
			p.release(s)
			lastErr = err
			if !errors.Is(err, ErrServerGone) {
				s.shutdown(fmt.Sprintf("send session: %v", err))
			}
			continue
		}
		c.Passed()
		c.Relay()
		<-done
		p.release(s)
		return nil
	}
	c.Abort()
	return lastErr
}

// Close retires every idle server (tests).
func (p *Pool) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.servers {
		if s.users == 0 {
			p.retireLocked(s)
		}
	}
}

func (p *Pool) acquire(u *auth.User) (*server, error) {
	id := Identity{u.UID, u.GID}
	p.mu.Lock()
	if p.servers == nil {
		p.servers = map[Identity]*server{}
	}
	s := p.servers[id]
	if s != nil {
		s.users++
		if s.timer != nil {
			s.timer.Stop()
		}
		p.mu.Unlock()
		<-s.ready
		if s.err != nil {
			p.release(s)
			return nil, s.err
		}
		return s, nil
	}
	s = &server{pool: p, id: id, ready: make(chan struct{}), pending: map[uint64]chan struct{}{}, users: 1}
	// At the limit with every server busy, this one serves its sessions
	// outside the pool and goes when they end.
	if len(p.servers) < p.Max || p.evictLocked() {
		s.pooled = true
		p.servers[id] = s
	}
	p.mu.Unlock()

	s.err = s.start(u)
	close(s.ready)
	if s.err != nil {
		p.mu.Lock()
		if p.servers[id] == s {
			delete(p.servers, id)
		}
		p.mu.Unlock()
		p.release(s)
		return nil, s.err
	}
	go s.readEnds()
	return s, nil
}

// release ends one session's use of s; the last one starts its idle
// clock (or retires a one-off server).
func (p *Pool) release(s *server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.users--
	s.lastUsed = time.Now()
	if s.users > 0 || s.retired || s.err != nil || s.isDead() {
		return
	}
	if !s.pooled {
		p.retireLocked(s)
		return
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(p.Idle, func() { p.expire(s) })
	} else {
		s.timer.Reset(p.Idle)
	}
}

// expire closes s if it is still idle. The decision is the front end's,
// under the pool lock, so no session is ever sent to an exiting server.
func (p *Pool) expire(s *server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.users > 0 || s.retired {
		return
	}
	if left := p.Idle - time.Since(s.lastUsed); left > 0 {
		s.timer.Reset(left)
		return
	}
	p.retireLocked(s)
}

func (p *Pool) evictLocked() bool {
	var lru *server
	for _, s := range p.servers {
		if s.users == 0 && (lru == nil || s.lastUsed.Before(lru.lastUsed)) {
			lru = s
		}
	}
	if lru == nil {
		return false
	}
	p.retireLocked(lru)
	return true
}

// retireLocked closes an idle server's socket: it sees end of file and
// exits (readEnds reaps it).
func (p *Pool) retireLocked(s *server) {
	s.retired = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if p.servers[s.id] == s {
		delete(p.servers, s.id)
	}
	s.conn.Close()
}

// start runs the server as u with its end of a fresh socket pair as fd 3.
func (s *server) start(u *auth.User) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "sessions"), os.NewFile(uintptr(fds[1]), "sessions-server")
	defer theirs.Close()
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return err
	}
	s.conn = c.(*net.UnixConn)
	cmd := Command(s.pool.Exe, s.pool.Args, u)
	if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
		cmd.Dir = u.Home
	}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.WaitDelay = exitGrace
	if err := Start(cmd); err != nil {
		s.conn.Close()
		return err
	}
	s.cmd = cmd
	return nil
}

// send passes one session; the channel is closed when it has ended.
func (s *server) send(params []byte, f *os.File) (chan struct{}, error) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return nil, ErrServerGone
	}
	s.nextID++
	id := s.nextID
	done := make(chan struct{})
	s.pending[id] = done
	s.mu.Unlock()

	pkt := binary.BigEndian.AppendUint64(make([]byte, 0, idLen+len(params)), id)
	pkt = append(pkt, params...)
	s.wmu.Lock()
	err := SendFD(s.conn, pkt, f, sendTimeout)
	s.wmu.Unlock()
	if err != nil {
		s.mu.Lock()
		delete(s.pending, id)
		s.mu.Unlock()
		return nil, err
	}
	return done, nil
}

// readEnds marks sessions ended as the server reports them. When the
// server goes away every session still pending ends with it, and the
// process is reaped.
func (s *server) readEnds() {
	buf := make([]byte, 64)
	why := ""
	for why == "" {
		n, _, flags, _, err := s.conn.ReadMsgUnix(buf, nil)
		switch {
		case err != nil || n == 0:
			why = "exited"
		case flags&unix.MSG_TRUNC != 0 || n != idLen:
			why = fmt.Sprintf("sent a malformed packet (%d bytes)", n)
		default:
			s.mu.Lock()
			done := s.pending[binary.BigEndian.Uint64(buf)]
			delete(s.pending, binary.BigEndian.Uint64(buf))
			s.mu.Unlock()
			if done == nil {
				why = "reported an unknown session"
			} else {
				close(done)
			}
		}
	}
	s.pool.mu.Lock()
	retired := s.retired
	s.pool.mu.Unlock()
	s.shutdown(why)
	if retired {
		t := time.AfterFunc(exitGrace, func() { s.cmd.Process.Kill() })
		defer t.Stop()
	}
	err := s.cmd.Wait()
	if (!retired || err != nil) && s.pool.Warn != nil {
		detail := why
		if err != nil {
			detail = strings.TrimSpace(why + ": " + err.Error())
		}
		s.pool.Warn("session server for uid %d gid %d (pid %d) %s", s.id.UID, s.id.GID, s.cmd.Process.Pid, detail)
	}
}

func (s *server) isDead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// shutdown takes s out of service: no new sessions, the pending ones are
// over (their connections died with the server), the process is killed
// unless it was retired. It may run more than once.
func (s *server) shutdown(why string) {
	p := s.pool
	p.mu.Lock()
	if p.servers[s.id] == s {
		delete(p.servers, s.id)
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	retired := s.retired
	p.mu.Unlock()

	s.mu.Lock()
	s.dead = true
	pending := s.pending
	s.pending = map[uint64]chan struct{}{}
	s.mu.Unlock()

	s.conn.Close()
	if !retired {
		// Closing our end is not enough: a compromised server could have
		// passed its end to another process.
		s.cmd.Process.Kill()
	}
	for _, done := range pending {
		close(done)
	}
}
