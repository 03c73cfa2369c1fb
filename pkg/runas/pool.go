package runas

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/auth"
	"postern/pkg/printable"
)

// The server protocol. The socket is a SOCK_SEQPACKET pair, so a packet
// is a whole message and its descriptor arrives with it:
//
//	pool -> server: 8-byte request id (big-endian) + request, with exactly
//	                one descriptor attached
//	server -> pool: 8-byte request id + reply (at most Pool.MaxReply
//	                bytes), no descriptors, once the request is done
const (
	idLen          = 8
	sendTimeout    = 30 * time.Second // a server that takes no request for this long is stuck
	exitGrace      = 5 * time.Second  // a retired server must exit within this
	maxStderr      = 4 << 10          // a server's standard error kept for the log
	maxWarning     = 1 << 10          // of that, in one warning
	defaultRequest = 64 << 10
)

// Pool keeps one long-lived server process per identity: started on the
// first request for it, closed after Idle without requests, at most Max
// at once (at the limit the least recently used idle one is closed; when
// every one is busy, a one-off server takes the request and goes after
// it), and retired for good when it fails (exits, breaks the protocol,
// or takes longer than the caller allows). Callers set the fields before
// the first Call.
type Pool struct {
	Exe  string
	Args []string      // the server's arguments (its mode flag first)
	Max  int           // servers at once
	Idle time.Duration // a server without requests this long is closed

	// Name and Request name the server and its unit of work in errors
	// and warnings ("delivery helper", "job").
	Name, Request string
	// MaxRequest bounds a request (default 64 KiB); MaxReply a reply
	// (0: replies are empty).
	MaxRequest, MaxReply int
	// Setup adjusts a server's command (from Command) before it starts:
	// environment, directory, standard error. A server whose Stderr is
	// left nil has its first 4 KiB kept for the warning when it fails.
	Setup func(cmd *exec.Cmd, u *auth.User)
	Warn  func(format string, a ...any)

	mu      sync.Mutex
	servers map[Identity]*server
	all     sync.WaitGroup // servers not yet reaped
	closed  bool
}

// StartError is a server that could not be started.
type StartError struct{ Err error }

func (e *StartError) Error() string { return "start: " + e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// GoneError is a server that ended with the request in its hands: Why
// says how ("exited", "malformed reply (N bytes)", the caller's deadline).
type GoneError struct{ Why string }

func (e *GoneError) Error() string { return e.Why }

var errServerGone = errors.New("server gone")

// server is the pool's side of one server process.
type server struct {
	pool   *Pool
	id     Identity
	ready  chan struct{} // closed once started (or failed: err)
	err    error
	cmd    *exec.Cmd
	conn   *net.UnixConn
	errs   *capBuffer // its standard error, unless Setup chose one
	pooled bool       // in pool.servers (false: a one-off beyond Max)
	done   chan struct{}

	// Under pool.mu.
	users    int // callers between acquire and release
	lastUsed time.Time
	timer    *time.Timer
	retired  bool // closed on purpose: idle, evicted, pool closed

	wmu sync.Mutex // one packet at a time

	mu      sync.Mutex
	dead    bool
	nextID  uint64
	pending map[uint64]chan reply
}

type reply struct {
	data []byte
	err  error
}

// Call sends req with f attached to the server for u's identity
// (starting one when there is none) and returns its reply. sent, when
// not nil, runs once the server holds f (the caller may then close its
// own copies). A request the server never received (the send failed,
// the server was gone) is tried once more with a new server; one it
// received gets its reply or a *GoneError, also when ctx ends first
// (the server is then killed, with its other requests). A server that
// cannot start gives a *StartError.
func (p *Pool) Call(ctx context.Context, u *auth.User, req []byte, f *os.File, sent func()) ([]byte, error) {
	if len(req) > p.maxRequest() {
		return nil, fmt.Errorf("%s too large (%d bytes)", p.Request, len(req))
	}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		s, err := p.acquire(u)
		if err != nil {
			return nil, err
		}
		ch, err := s.send(req, f)
		if err != nil {
			p.release(s)
			lastErr = err
			if errors.Is(err, syscall.EMSGSIZE) {
				break
			}
			if !errors.Is(err, errServerGone) {
				s.shutdown(fmt.Sprintf("send %s: %v", p.Request, err), true)
			}
			continue
		}
		if sent != nil {
			sent()
		}
		var r reply
		select {
		case r = <-ch:
		case <-ctx.Done():
			s.shutdown(context.Cause(ctx).Error(), true)
			r = <-ch
		}
		p.release(s)
		return r.data, r.err
	}
	return nil, lastErr
}

// Hold starts the server for u's identity when there is none and keeps
// it busy (never idle-closed or evicted) until release is called.
func (p *Pool) Hold(u *auth.User) (release func(), err error) {
	s, err := p.acquire(u)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { p.release(s) }) }, nil
}

// Server describes a running server (tests, diagnostics).
type Server struct {
	Identity
	PID      int
	InFlight int // requests it holds
}

// Servers lists the pooled servers that have started.
func (p *Pool) Servers() []Server {
	p.mu.Lock()
	defer p.mu.Unlock()
	var l []Server
	for _, s := range p.servers {
		select {
		case <-s.ready:
		default:
			continue
		}
		if s.err != nil {
			continue
		}
		s.mu.Lock()
		l = append(l, Server{Identity: s.id, PID: s.cmd.Process.Pid, InFlight: len(s.pending)})
		s.mu.Unlock()
	}
	return l
}

// Close retires every server, kills the busy ones, and waits until all
// are reaped (tests and benchmarks: a stopping program just exits, and
// its servers follow).
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	for _, s := range p.servers {
		if s.users == 0 {
			p.retireLocked(s)
		} else {
			go func() {
				if <-s.ready; s.err == nil {
					s.shutdown("stopped with its pool", true)
				}
			}()
		}
	}
	p.mu.Unlock()
	p.all.Wait()
}

func (p *Pool) maxRequest() int {
	if p.MaxRequest > 0 {
		return p.MaxRequest
	}
	return defaultRequest
}

// acquire returns the running server for u's identity, starting one when
// there is none.
func (p *Pool) acquire(u *auth.User) (*server, error) {
	id := Of(u)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, &StartError{errors.New("pool closed")}
	}
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
	s = &server{pool: p, id: id, ready: make(chan struct{}), done: make(chan struct{}),
		pending: map[uint64]chan reply{}, users: 1}
	// At the limit with every server busy, this one serves outside the
	// pool and goes when its requests are done.
	if len(p.servers) < p.Max || p.evictLocked() {
		s.pooled = true
		p.servers[id] = s
	}
	p.all.Add(1)
	p.mu.Unlock()

	if err := s.start(u); err != nil {
		s.err = &StartError{err}
	}
	close(s.ready)
	if s.err != nil {
		p.mu.Lock()
		if p.servers[id] == s {
			delete(p.servers, id)
		}
		p.mu.Unlock()
		p.all.Done()
		p.release(s)
		return nil, s.err
	}
	go s.readReplies()
	return s, nil
}

// release ends one caller's use of s; the last one starts its idle clock
// (or retires a one-off server).
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

// expire closes s if it is still idle. The decision is the pool's, under
// its lock, so that no request is ever sent to a server that is exiting.
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

// evictLocked closes the least recently used idle server.
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
// exits (readReplies reaps it).
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
	// Room for the largest request whatever net.core.wmem_default says
	// (the kernel caps it at wmem_max, 208 KiB by default, and doubles it).
	unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 2*s.pool.maxRequest())
	mine, theirs := os.NewFile(uintptr(fds[0]), "server"), os.NewFile(uintptr(fds[1]), "server-end")
	defer theirs.Close()
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return err
	}
	s.conn = c.(*net.UnixConn)
	cmd := Command(s.pool.Exe, s.pool.Args, u)
	cmd.Stdout, cmd.Stderr = nil, nil
	if s.pool.Setup != nil {
		s.pool.Setup(cmd, u)
	}
	if cmd.Stderr == nil {
		s.errs = &capBuffer{max: maxStderr}
		cmd.Stderr = s.errs
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

// send passes one request; its reply comes on the channel.
func (s *server) send(req []byte, f *os.File) (chan reply, error) {
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return nil, errServerGone
	}
	s.nextID++
	id := s.nextID
	ch := make(chan reply, 1)
	s.pending[id] = ch
	s.mu.Unlock()

	pkt := binary.BigEndian.AppendUint64(make([]byte, 0, idLen+len(req)), id)
	pkt = append(pkt, req...)
	s.wmu.Lock()
	err := SendFD(s.conn, pkt, f, sendTimeout)
	s.wmu.Unlock()
	if err != nil {
		s.mu.Lock()
		delete(s.pending, id) // unless shutdown took it already: then nobody waits for it
		s.mu.Unlock()
		return nil, err
	}
	return ch, nil
}

// readReplies hands each reply to its request. When the server goes away
// (exit, crash, kill, protocol violation, or retirement) every request
// still pending gets a *GoneError, and the process is reaped.
func (s *server) readReplies() {
	p := s.pool
	buf := make([]byte, idLen+p.MaxReply+1)
	why := ""
	for why == "" {
		// No control buffer: descriptors a server might send are
		// discarded (and closed) by the kernel.
		n, _, flags, _, err := s.conn.ReadMsgUnix(buf, nil)
		switch {
		case err != nil || n == 0:
			why = "exited"
		case flags&unix.MSG_TRUNC != 0 || n < idLen:
			why = fmt.Sprintf("malformed reply (%d bytes)", n)
		default:
			id := binary.BigEndian.Uint64(buf)
			s.mu.Lock()
			ch := s.pending[id]
			delete(s.pending, id)
			s.mu.Unlock()
			if ch == nil {
				why = "reply for an unknown " + p.Request
			} else {
				ch <- reply{data: append([]byte(nil), buf[idLen:n]...)}
			}
		}
	}
	p.mu.Lock()
	retired := s.retired
	p.mu.Unlock()
	s.shutdown(why, !retired)
	if retired {
		// It should see end of file and exit by itself.
		t := time.AfterFunc(exitGrace, func() { s.cmd.Process.Kill() })
		defer t.Stop()
	}
	err := s.cmd.Wait()
	if (!retired || err != nil) && p.Warn != nil {
		detail := why
		if err != nil {
			detail += ": " + err.Error()
		}
		if s.errs != nil && s.errs.Len() > 0 {
			detail += ": " + strings.TrimSpace(s.errs.String())
		}
		p.Warn("%s for uid %d gid %d (pid %d) %s", p.Name, s.id.UID, s.id.GID,
			s.cmd.Process.Pid, printable.Except(cut(detail, maxWarning), '_', "\t"))
	}
	close(s.done)
	p.all.Done()
}

func (s *server) isDead() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dead
}

// shutdown takes s out of service for good: no new requests, the pending
// ones end with a *GoneError, the socket closes and, when kill is set,
// the process is killed. It may run more than once.
func (s *server) shutdown(why string, kill bool) {
	p := s.pool
	p.mu.Lock()
	if p.servers[s.id] == s {
		delete(p.servers, s.id)
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	p.mu.Unlock()

	s.mu.Lock()
	s.dead = true
	pending := s.pending
	s.pending = map[uint64]chan reply{}
	s.mu.Unlock()

	s.conn.Close()
	if kill {
		// Closing our end alone is not enough: a compromised server could
		// have passed its end to another process.
		s.cmd.Process.Kill()
	}
	for _, ch := range pending {
		ch <- reply{err: &GoneError{why}}
	}
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// capBuffer keeps the first max bytes written to it and discards the
// rest, so a misbehaving process cannot make us buffer without bound.
type capBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capBuffer) Len() int       { c.mu.Lock(); defer c.mu.Unlock(); return c.b.Len() }
func (c *capBuffer) String() string { c.mu.Lock(); defer c.mu.Unlock(); return c.b.String() }
