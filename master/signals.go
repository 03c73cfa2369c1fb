package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
)

const (
	sigTERM = syscall.SIGTERM
	sigKILL = syscall.SIGKILL
)

// stopGrace is how long children get to finish after SIGTERM on shutdown.
const stopGrace = 5 * time.Second

// loop handles signals until master is told to stop: SIGHUP reloads,
// SIGTERM and SIGINT stop. exitAfter > 0 (-e) stops after that long.
func (m *master) loop(exitAfter time.Duration) {
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	var timeout <-chan time.Time
	if exitAfter > 0 {
		timeout = time.After(exitAfter)
	}
	for {
		select {
		case sig := <-sigc:
			if sig == syscall.SIGHUP {
				m.reload()
				continue
			}
			m.logger().Info("terminating on signal %d", sig.(syscall.Signal))
			m.shutdown()
			return
		case <-timeout:
			m.logger().Info("terminating on timeout")
			m.shutdown()
			return
		}
	}
}

// reload re-reads main.cf and master.cf. Removed services lose their
// children and sockets; every other service gets a new generation: the
// old children get SIGTERM and finish at their convenience, new ones are
// started (resident ones at once) with the new settings. Sockets whose
// address did not change are kept, so no connection is refused meanwhile.
func (m *master) reload() {
	cfg, err := config.Load(m.configDir)
	if err == nil {
		err = maillog.CheckFile(cfg.Get("maillog_file"), cfg.Get("maillog_file_prefixes"))
	}
	if err != nil {
		m.logger().Error("reload: %v -- keeping the old configuration", err)
		return
	}
	want, err := m.plan(cfg)
	if err != nil {
		m.logger().Error("reload: %v -- keeping the old configuration", err)
		return
	}
	m.useConfig(cfg)
	m.logger().Info("reload -- version %s, configuration %s", m.version(), m.configDir)

	old := m.services
	m.services = map[string]*service{}
	keep := map[string]*listeners{}
	specs := map[string]string{}
	for _, s := range want {
		spec, err := listenSpec(s.conf, cfg)
		if err == nil {
			specs[s.conf.Key()] = spec
		}
	}
	var olds []*service
	for _, key := range keys(old) {
		olds = append(olds, old[key])
	}
	m.retire(olds...)
	for _, o := range olds {
		key := o.conf.Key()
		if spec, ok := specs[key]; ok && spec == o.lis.spec {
			keep[key] = o.lis
		} else {
			o.lis.close()
		}
	}
	for _, s := range want {
		key := s.conf.Key()
		if l := keep[key]; l != nil {
			s.lis = l
		} else if s.lis, err = m.openRetry(s, cfg); err != nil {
			m.logger().Error("master.cf line %d: service %s: %v -- skipped", s.conf.Line, s.conf.Name, err)
			continue
		}
		m.start(s)
	}
}

// openRetry opens s's sockets, retrying for a short while when an address
// is still held by a child of the previous generation that is stopping.
func (m *master) openRetry(s *service, cfg *config.Config) (*listeners, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		l, err := m.openListeners(s.conf, cfg)
		if err == nil || time.Now().After(deadline) || !isAddrInUse(err) {
			return l, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// shutdown stops every service, sends SIGTERM to every child, waits up to
// stopGrace, kills what is left, and removes the pid file.
func (m *master) shutdown() {
	m.mu.Lock()
	m.stopping = true
	for _, s := range m.services {
		s.halt()
	}
	m.signalLocked(nil, sigTERM)
	m.mu.Unlock()
	if !m.waitChildren(stopGrace) {
		m.mu.Lock()
		m.signalLocked(nil, sigKILL)
		m.mu.Unlock()
		m.waitChildren(2 * time.Second)
	}
	for _, s := range m.services {
		s.lis.close()
	}
	if m.locks != nil {
		m.locks.release(true)
	}
}

// waitChildren waits until no child is left, at most d.
func (m *master) waitChildren(d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		n := len(m.procs)
		m.mu.Unlock()
		if n == 0 {
			return true
		}
		select {
		case <-m.changedc:
		case <-deadline.C:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}
