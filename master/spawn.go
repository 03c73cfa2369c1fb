package main

import (
	"fmt"
	"os"
	"os/exec"
	"postern/pkg/maillog"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/config"
)

// startupGrace: a child that fails sooner than this after it was started
// makes master throttle the service (Postfix: bad command startup).
const startupGrace = time.Second

// proc is one running child.
type proc struct {
	svc       *service
	cmd       *exec.Cmd
	pid       int
	started   time.Time
	signalled bool // under master.mu: master sent it a signal
	state     *os.ProcessState
	done      chan struct{}
}

// buildArgs is the child's command line after the program name:
// -c CONFIG_DIR -n NAME -t TYPE [-u] ARGS (master.cf's -o overrides kept).
func buildArgs(configDir string, s *service) []string {
	a := []string{"-c", configDir, "-n", s.conf.Name, "-t", s.conf.Type}
	if s.conf.Unpriv {
		a = append(a, "-u")
	}
	return append(a, s.args...)
}

// childEnv is master's environment without our own variables, plus the
// contract's.
func childEnv(configDir string, s *service) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "POSTERN_") || strings.HasPrefix(kv, "MAIL_CONFIG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"POSTERN_LISTEN_FDS="+strconv.Itoa(len(s.lis.files)),
		"POSTERN_MAXPROC="+strconv.Itoa(s.maxproc),
		"MAIL_CONFIG="+configDir)
}

// spawn starts a child for s unless the service was retired. The caller
// must not hold m.mu.
func (m *master) spawn(s *service) (*proc, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s.stopped || m.stopping {
		return nil, errRetired
	}
	cmd := exec.Command(s.path, buildArgs(m.configDir, s)...)
	cmd.Env = childEnv(m.configDir, s)
	cmd.Stderr = os.Stderr
	if f := m.logger().File(); f != nil {
		// Children write maillog_file through this inherited O_APPEND descriptor, so
		// unprivileged daemons need no write access to the file itself.
		cmd.Stderr = f
		cmd.Env = append(cmd.Env, maillog.InheritedEnv+"="+m.cfg.Get("maillog_file"))
	}
	cmd.ExtraFiles = s.lis.files
	// An unprivileged service's child (-u) starts as root too: it reads its TLS keys
	// and then drops to mail_owner itself (pkg/service), as Postfix's daemons do.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{svc: s, cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
	m.procs[p.pid] = p
	go m.reap(p)
	return p, nil
}

var errRetired = fmt.Errorf("service retired")

// reap waits for p, logs an abnormal end that master did not ask for, and
// forgets it.
func (m *master) reap(p *proc) {
	p.cmd.Wait()
	p.state = p.cmd.ProcessState
	m.mu.Lock()
	delete(m.procs, p.pid)
	signalled := p.signalled
	m.mu.Unlock()
	if !signalled {
		if ws, ok := p.state.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				m.logger().Warn("process %s pid %d killed by signal %d", p.svc.path, p.pid, ws.Signal())
			case ws.ExitStatus() != 0:
				m.logger().Warn("process %s pid %d exit status %d", p.svc.path, p.pid, ws.ExitStatus())
			}
		}
	}
	close(p.done)
	m.changed()
}

// failed reports whether p ended by a signal or with a non-zero status.
func (p *proc) failed() bool {
	return p.state == nil || !p.state.Success()
}

// exitedNonZero reports whether p called exit with a non-zero status (as
// opposed to being killed by a signal).
func (p *proc) exitedNonZero() bool {
	ws, ok := p.state.Sys().(syscall.WaitStatus)
	return ok && ws.Exited() && ws.ExitStatus() != 0
}

// signal sends sig to every child of s (all children when s is nil). The
// caller holds m.mu.
func (m *master) signalLocked(s *service, sig syscall.Signal) {
	for _, p := range m.procs {
		if s == nil || p.svc == s {
			p.signalled = true
			unix.Kill(p.pid, sig)
		}
	}
}

// supervise keeps s served until it is retired: resident services get a
// child at once and again whenever it ends; the others get one when a
// listener becomes readable. Children that exit non-zero less than a
// second after they started are throttled: 1s, 2s, 4s ... up to
// service_throttle_time. Children killed by a signal are replaced at once.
func (m *master) supervise(s *service) {
	defer close(s.done)
	if s.stopR != nil {
		defer s.stopR.Close()
	}
	var backoff time.Duration
	for {
		if !s.resident && !m.waitReadable(s) {
			return
		}
		p, err := m.spawn(s)
		if err == errRetired {
			return
		}
		if err != nil {
			m.logger().Warn("%s: %v", s.path, err)
			if !m.sleep(s, m.throttle) {
				return
			}
			continue
		}
		select {
		case <-p.done:
		case <-s.stop:
			return // the child drains on its own; master tracks it
		}
		lived := time.Since(p.started)
		switch {
		case p.exitedNonZero() && lived < startupGrace:
			// Died during initialisation (configuration error, missing
			// file ...): back off.
			if backoff == 0 {
				backoff = time.Second
			} else if backoff *= 2; backoff > m.throttle {
				backoff = m.throttle
			}
			m.logger().Warn("%s: bad command startup -- throttling", s.path)
			if !m.sleep(s, backoff) {
				return
			}
		case p.failed() && lived < startupGrace:
			// Killed by a signal soon after it started (kill -9 in the
			// middle of work): come back at once, but never spin.
			if !m.sleep(s, 100*time.Millisecond) {
				return
			}
		case !p.failed() && s.resident && lived < startupGrace:
			// A resident daemon that keeps exiting at once must not spin.
			if !m.sleep(s, startupGrace) {
				return
			}
		default:
			backoff = 0
		}
	}
}

// sleep waits d unless s is retired first.
func (m *master) sleep(s *service, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

// waitReadable polls s's listeners until a connection (or datagram) waits
// on one. It returns false as soon as s is retired: stopR is in the poll set.
func (m *master) waitReadable(s *service) bool {
	n := len(s.lis.fds)
	pfds := make([]unix.PollFd, n, n+1)
	stopFD := -1
	if s.stopR != nil {
		stopFD = int(s.stopR.Fd())
		pfds = append(pfds, unix.PollFd{})
	}
	for {
		select {
		case <-s.stop:
			return false
		default:
		}
		for i, fd := range s.lis.fds {
			pfds[i] = unix.PollFd{Fd: int32(fd), Events: unix.POLLIN}
		}
		if stopFD >= 0 {
			pfds[n] = unix.PollFd{Fd: int32(stopFD), Events: unix.POLLIN}
		}
		k, err := unix.Poll(pfds, 1000)
		if err != nil && err != unix.EINTR {
			m.logger().Warn("poll %s: %v", s.conf.Key(), err)
			if !m.sleep(s, time.Second) {
				return false
			}
			continue
		}
		if k > 0 {
			if stopFD >= 0 && pfds[n].Revents != 0 {
				return false
			}
			for _, p := range pfds[:n] {
				if p.Revents&unix.POLLIN != 0 {
					return true
				}
			}
			// POLLNVAL/POLLERR: the sockets went away under us (reload).
			if !m.sleep(s, 200*time.Millisecond) {
				return false
			}
		}
	}
}

// serviceArgs are master.cf's arguments; config keeps the -o pairs in them
// as "-o name=value" (braced forms already folded).
func serviceArgs(c config.Service) []string { return append([]string(nil), c.Args...) }
