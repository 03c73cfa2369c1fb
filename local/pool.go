package main

import (
	"bufio"
	"bytes"
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
	"postern/pkg/deliver"
	"postern/pkg/handoff"
	"postern/pkg/ipc"
)

// identity is what a helper runs as.
type identity struct{ uid, gid int }

// helperPool keeps one long-lived delivery helper per identity (doc.go,
// "Security"). Starting a credentialed process costs tens of
// milliseconds; the pool pays that once per identity and idle period
// instead of once per delivery.
type helperPool struct {
	exe  string
	args []string      // [helperFlag]; tests run fake helpers
	max  int           // identities with a helper at once
	idle time.Duration // a helper without jobs for this long is closed
	warn func(format string, a ...any)

	mu      sync.Mutex
	helpers map[identity]*helper
	all     sync.WaitGroup // helpers not yet reaped
	closed  bool
}

const (
	helperMax    = 64
	helperIdle   = 30 * time.Second
	helperGrace  = 5 * time.Second  // a closed helper must exit within this
	helperSendTO = 30 * time.Second // a helper that takes no job for this long is stuck
)

func newHelperPool(exe string, warn func(string, ...any)) *helperPool {
	return &helperPool{exe: exe, args: []string{helperFlag}, max: helperMax, idle: helperIdle, warn: warn, helpers: map[identity]*helper{}}
}

// helper is local's side of one helper process.
type helper struct {
	pool  *helperPool
	id    identity
	ready chan struct{} // closed once started (or failed: startErr)
	err   error
	cmd   *exec.Cmd
	conn  *net.UnixConn
	errs  *capBuffer // its standard error, for the log
	done  chan struct{}

	// Under pool.mu.
	users    int // callers between acquire and release
	lastUsed time.Time
	timer    *time.Timer
	retired  bool // closed on purpose: idle, evicted, pool closed

	wmu sync.Mutex // one packet at a time

	mu      sync.Mutex
	dead    bool
	nextID  uint64
	pending map[uint64]*pendingJob
}

type pendingJob struct {
	user string
	ch   chan result // gets exactly one result
}

var (
	errPoolFull   = errors.New("all delivery helpers busy")
	errHelperDead = errors.New("delivery helper gone")
)

// deliver runs one job in the helper for uid/gid. A job the helper never
// received (the send failed, the helper was gone) is tried once more with
// a new helper; a job it received gets its reply, or 4.3.0 when the helper
// dies or hangs first. errPoolFull means: run it some other way.
func (p *helperPool) deliver(j *job, blob []byte, qf *os.File, uid, gid int) (result, error) {
	id := identity{uid, gid}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		h, err := p.acquire(id)
		if errors.Is(err, errPoolFull) {
			return result{}, err
		}
		if err != nil {
			r := fail("4.3.0", "delivery as user %s failed", j.User)
			r.Warnings = []string{fmt.Sprintf("start delivery helper for uid %d gid %d: %v", uid, gid, err)}
			return r, nil
		}
		ch, err := h.submit(j.User, blob, qf)
		if err != nil {
			p.release(h)
			lastErr = err
			if errors.Is(err, syscall.EMSGSIZE) {
				break
			}
			if !errors.Is(err, errHelperDead) {
				h.shutdown(fmt.Sprintf("send job: %v", err), true)
			}
			continue
		}
		limit := j.TimeLimit + j.lockWait() + time.Minute
		timer := time.NewTimer(limit)
		var r result
		select {
		case r = <-ch:
		case <-timer.C:
			// The job's own limits came first; this one only catches a
			// helper stuck for good. Its other jobs fail with it.
			h.shutdown(fmt.Sprintf("no reply for %s within %v", j.User, limit), true)
			r = <-ch
		}
		timer.Stop()
		p.release(h)
		return r, nil
	}
	r := fail("4.3.0", "delivery as user %s failed", j.User)
	r.Warnings = []string{fmt.Sprintf("delivery helper for uid %d gid %d: %v", uid, gid, lastErr)}
	return r, nil
}

// acquire returns the running helper for id, starting one when there is
// none. At the limit it closes the least recently used idle helper; when
// every helper is busy it returns errPoolFull.
func (p *helperPool) acquire(id identity) (*helper, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, errors.New("local is stopping")
	}
	h := p.helpers[id]
	if h != nil {
		h.users++
		if h.timer != nil {
			h.timer.Stop()
		}
		p.mu.Unlock()
		<-h.ready
		if h.err != nil {
			p.release(h)
			return nil, h.err
		}
		return h, nil
	}
	if len(p.helpers) >= p.max && !p.evictLocked() {
		p.mu.Unlock()
		return nil, errPoolFull
	}
	h = &helper{pool: p, id: id, ready: make(chan struct{}), done: make(chan struct{}),
		pending: map[uint64]*pendingJob{}, users: 1}
	p.helpers[id] = h
	p.all.Add(1)
	p.mu.Unlock()

	h.err = h.start()
	close(h.ready)
	if h.err != nil {
		p.mu.Lock()
		if p.helpers[id] == h {
			delete(p.helpers, id)
		}
		p.mu.Unlock()
		p.all.Done()
		p.release(h)
		return nil, h.err
	}
	go h.readReplies()
	return h, nil
}

// release ends one caller's use of h; the last one starts the idle clock.
func (p *helperPool) release(h *helper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	h.users--
	h.lastUsed = time.Now()
	if h.users > 0 || h.retired || h.err != nil || h.isDead() {
		return
	}
	if h.timer == nil {
		h.timer = time.AfterFunc(p.idle, func() { p.expire(h) })
	} else {
		h.timer.Reset(p.idle)
	}
}

// expire closes h if it is still idle. The decision is local's, under the
// pool lock, so that no job is ever sent to a helper that is exiting.
func (p *helperPool) expire(h *helper) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h.users > 0 || h.retired {
		return
	}
	if left := p.idle - time.Since(h.lastUsed); left > 0 {
		h.timer.Reset(left)
		return
	}
	p.retireLocked(h)
}

// evictLocked closes the least recently used idle helper.
func (p *helperPool) evictLocked() bool {
	var lru *helper
	for _, h := range p.helpers {
		if h.users == 0 && (lru == nil || h.lastUsed.Before(lru.lastUsed)) {
			lru = h
		}
	}
	if lru == nil {
		return false
	}
	p.retireLocked(lru)
	return true
}

// retireLocked removes an idle helper and closes its socket: it sees end
// of file and exits (readReplies reaps it).
func (p *helperPool) retireLocked(h *helper) {
	h.retired = true
	if h.timer != nil {
		h.timer.Stop()
	}
	if p.helpers[h.id] == h {
		delete(p.helpers, h.id)
	}
	h.conn.Close()
}

// close retires every helper and waits until they are reaped (tests and
// benchmarks; a stopping local just exits and the helpers follow).
func (p *helperPool) close() {
	p.mu.Lock()
	p.closed = true
	for _, h := range p.helpers {
		if h.users == 0 {
			p.retireLocked(h)
		} else {
			go func() {
				if <-h.ready; h.err == nil {
					h.shutdown("stopped with local", true)
				}
			}()
		}
	}
	p.mu.Unlock()
	p.all.Wait()
}

// start runs the helper process with the identity's credentials, its end
// of a fresh socket pair as fd 3.
func (h *helper) start() error {
	if os.Geteuid() != 0 && (h.id.uid != os.Geteuid() || h.id.gid != os.Getegid()) {
		return errors.New("insufficient privileges")
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	// Room for the largest job packet whatever net.core.wmem_default says
	// (the kernel caps it at wmem_max, 208 KiB by default, and doubles it).
	unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 2*maxJob)
	mine, theirs := os.NewFile(uintptr(fds[0]), "helper"), os.NewFile(uintptr(fds[1]), "helper-child")
	defer theirs.Close()
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return err
	}
	h.conn = c.(*net.UnixConn)

	// handoff.Command's credentials and Pdeathsig: SIGTERM, not SIGKILL,
	// so a helper lets the writes in hand finish (helper.go, serveHelper)
	// rather than leave half a message and a stale dot lock behind. Its
	// environment and output are local's own.
	cmd := handoff.Command(h.pool.exe, h.pool.args, &auth.User{UID: h.id.uid, GID: h.id.gid})
	cmd.Env = childEnv()
	h.errs = &capBuffer{max: maxChildStderr}
	cmd.Stdout, cmd.Stderr = nil, h.errs
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.WaitDelay = helperGrace
	if err := handoff.Start(cmd); err != nil {
		h.conn.Close()
		return err
	}
	h.cmd = cmd
	return nil
}

// submit sends one job. An error means the helper never got it.
func (h *helper) submit(user string, blob []byte, qf *os.File) (chan result, error) {
	h.mu.Lock()
	if h.dead {
		h.mu.Unlock()
		return nil, errHelperDead
	}
	h.nextID++
	id := h.nextID
	pj := &pendingJob{user: user, ch: make(chan result, 1)}
	h.pending[id] = pj
	h.mu.Unlock()

	pkt := binary.BigEndian.AppendUint64(make([]byte, 0, idLen+len(blob)), id)
	pkt = append(pkt, blob...)
	h.wmu.Lock()
	err := handoff.SendFD(h.conn, pkt, qf, helperSendTO)
	h.wmu.Unlock()
	if err != nil {
		h.mu.Lock()
		delete(h.pending, id) // unless shutdown took it already: then nobody waits for it
		h.mu.Unlock()
		return nil, err
	}
	return pj.ch, nil
}

// readReplies hands each reply to its job. When the helper goes away
// (exit, crash, kill, protocol violation, or retirement) every job still
// pending gets 4.3.0, and the process is reaped.
func (h *helper) readReplies() {
	buf := make([]byte, idLen+maxReply+1)
	why := ""
	for why == "" {
		// No control buffer: descriptors a helper might send are
		// discarded (and closed) by the kernel.
		n, _, flags, _, err := h.conn.ReadMsgUnix(buf, nil)
		switch {
		case err != nil || n == 0:
			why = "exited"
		case flags&unix.MSG_TRUNC != 0 || n < idLen:
			why = fmt.Sprintf("malformed reply (%d bytes)", n)
		default:
			if !h.deliverReply(binary.BigEndian.Uint64(buf), buf[idLen:n]) {
				why = "reply for an unknown job"
			}
		}
	}
	h.pool.mu.Lock()
	retired := h.retired
	h.pool.mu.Unlock()
	h.shutdown(why, !retired)
	if retired {
		// It should see end of file and exit by itself.
		t := time.AfterFunc(helperGrace, func() { h.cmd.Process.Kill() })
		defer t.Stop()
	}
	err := h.cmd.Wait()
	if !retired {
		detail := strings.TrimSpace(h.errs.String())
		if err != nil {
			detail = strings.TrimSpace(err.Error() + " " + detail)
		}
		h.pool.warn("delivery helper for uid %d gid %d (pid %d) %s: %s",
			h.id.uid, h.id.gid, h.cmd.Process.Pid, why, deliver.Printable(cut(detail, maxWarning)))
	}
	close(h.done)
	h.pool.all.Done()
}

func (h *helper) isDead() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.dead
}

// deliverReply passes one reply on; false for an id that is not pending.
func (h *helper) deliverReply(id uint64, data []byte) bool {
	h.mu.Lock()
	pj := h.pending[id]
	delete(h.pending, id)
	h.mu.Unlock()
	if pj == nil {
		return false
	}
	a, err := ipc.Read(bufio.NewReader(bytes.NewReader(data)))
	if err != nil {
		a = nil
	}
	pj.ch <- resultFromAttrs(a, pj.user, fmt.Sprintf("delivery helper for uid %d gid %d", h.id.uid, h.id.gid))
	return true
}

// shutdown takes h out of service for good: no new jobs, the pending ones
// fail with 4.3.0, the socket closes and, when kill is set, the process is
// killed. It may run more than once.
func (h *helper) shutdown(why string, kill bool) {
	p := h.pool
	p.mu.Lock()
	if p.helpers[h.id] == h {
		delete(p.helpers, h.id)
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	p.mu.Unlock()

	h.mu.Lock()
	h.dead = true
	pending := h.pending
	h.pending = map[uint64]*pendingJob{}
	h.mu.Unlock()

	h.conn.Close()
	if kill {
		// Closing our end alone is not enough: a compromised helper could
		// have passed its end to another process.
		h.cmd.Process.Kill()
	}
	for _, pj := range pending {
		r := fail("4.3.0", "delivery as user %s failed", pj.user)
		r.Warnings = []string{fmt.Sprintf("delivery helper for uid %d gid %d %s with the delivery in progress",
			h.id.uid, h.id.gid, why)}
		pj.ch <- r
	}
}
