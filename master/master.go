package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
)

// master is the running process manager.
type master struct {
	configDir string
	cfg       *config.Config
	logp      atomic.Pointer[maillog.Logger]
	owner     *ids          // mail_owner, when running as root
	throttle  time.Duration // service_throttle_time
	locks     *lockFiles

	mu       sync.Mutex
	services map[string]*service // by "name/type"
	procs    map[int]*proc
	stopping bool

	changedc   chan struct{} // a child ended
	warnedOnce map[string]bool
}

func (m *master) logger() *maillog.Logger { return m.logp.Load() }

// log is shorthand used everywhere; the logger changes on reload.
func (m *master) setLog(l *maillog.Logger) { m.logp.Store(l) }

func (m *master) changed() {
	select {
	case m.changedc <- struct{}{}:
	default:
	}
}

func newMaster(configDir string, cfg *config.Config) *master {
	m := &master{
		configDir:  configDir,
		services:   map[string]*service{},
		procs:      map[int]*proc{},
		changedc:   make(chan struct{}, 1),
		warnedOnce: map[string]bool{},
	}
	m.useConfig(cfg)
	return m
}

func (m *master) useConfig(cfg *config.Config) {
	m.cfg = cfg
	if old := m.logger(); old != nil {
		defer old.Close() // after the swap: children already started keep their own copy
	}
	m.setLog(maillog.FromConfig("master", cfg.Get))
	m.throttle = cfg.Duration("service_throttle_time")
	if m.throttle <= 0 {
		m.throttle = 60 * time.Second
	}
}

func (m *master) version() string {
	if v := m.cfg.Get("mail_version"); v != "" {
		return v
	}
	return "3.7.11"
}

// plan reads master.cf and returns the services master can run, logging
// (once per key) the ones it skips.
func (m *master) plan(cfg *config.Config) ([]*service, error) {
	confs, err := config.LoadMaster(m.configDir, cfg)
	if err != nil {
		return nil, err
	}
	daemonDir := cfg.Get("daemon_directory")
	var out []*service
	for _, c := range confs {
		switch c.Type {
		case "inet", "unix", "unix-dgram":
		default:
			m.warnOnce(c.Key()+" type", "master.cf line %d: service %s type %s is not supported -- skipped", c.Line, c.Name, c.Type)
			continue
		}
		path, st := c.Program(daemonDir)
		if st != config.ProgramRun {
			if w := config.ProgramWarning(m.configDir, c, path, st); w != "" {
				m.logger().Warn("%s", w)
			}
			continue
		}
		if c.Chroot {
			m.warnOnce("chroot", "chroot = y in master.cf is ignored: services run without chroot")
		}
		s := &service{conf: c, path: path, args: serviceArgs(c), maxproc: c.MaxProc}
		if s.maxproc < 0 {
			s.maxproc = int(cfg.Int("default_process_limit"))
		}
		base := filepath.Base(c.Command)
		s.resident = base == "qmgr" || base == "pickup" || c.Wakeup > 0 && !c.WakeupOnUse
		if c.Wakeup > 0 {
			s.wakeup = time.Duration(c.Wakeup) * time.Second
		}
		out = append(out, s)
	}
	for _, w := range config.UnimplementedSettings(cfg, confs) {
		m.logger().Warn("%s", w)
	}
	return out, nil
}

func (m *master) warnOnce(key, format string, args ...any) {
	if m.warnedOnce[key] {
		return
	}
	m.warnedOnce[key] = true
	m.logger().Warn(format, args...)
}

// listenSpec is the identity of a service's sockets, compared on reload.
func listenSpec(c config.Service, cfg *config.Config) (string, error) {
	switch c.Type {
	case "inet":
		network, addrs, _, err := inetAddrs(c.Name, cfg)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("inet %s %v", network, addrs), nil
	default:
		dir := "public"
		if c.Private {
			dir = "private"
		}
		return c.Type + " " + filepath.Join(cfg.Get("queue_directory"), dir, c.Name), nil
	}
}

// start runs s: a supervisor that keeps a child for it, and its wakeups.
func (m *master) start(s *service) {
	s.stop = make(chan struct{})
	s.done = make(chan struct{})
	if r, w, err := os.Pipe(); err == nil {
		s.stopR, s.stopW = r, w
	}
	m.services[s.conf.Key()] = s
	go m.supervise(s)
	if s.wakeup > 0 {
		go m.wakeups(s)
	}
}

// retire stops starting children for the services in ss and sends SIGTERM
// to the ones they have: those finish what they have in hand and exit. It
// waits until the supervisors returned, so that the services' listeners
// may then be closed.
func (m *master) retire(ss ...*service) {
	m.mu.Lock()
	for _, s := range ss {
		s.halt()
		m.signalLocked(s, sigTERM)
	}
	m.mu.Unlock()
	for _, s := range ss {
		<-s.done
	}
}

// keys returns the service keys in a stable order.
func keys(ss map[string]*service) []string {
	var k []string
	for key := range ss {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}
