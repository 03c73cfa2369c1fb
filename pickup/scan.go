package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"postern/pkg/config"
	"postern/pkg/maillog"
	"postern/pkg/passwd"
	"postern/pkg/queue"
)

const (
	// scanInterval is the safety net behind fsnotify and the W triggers.
	scanInterval = 10 * time.Second
	// retryDelay keeps a file that cleanup could not take from being retried at once.
	retryDelay = 10 * time.Second
	// workers bounds the files handed to cleanup at the same time.
	workers = 4
)

// pickup moves maildrop files into cleanup.
type pickup struct {
	log         *maillog.Logger
	q           *queue.Queue
	dir         string // $queue_directory/maildrop
	cleanupPath string
	hostname    string
	mailName    string
	ownerUID    int // mail_owner's UID (-1 unknown): its files are requeued mail
	lineLimit   int
	timeout     time.Duration

	wake  chan struct{}
	slots chan struct{}
	mu    sync.Mutex
	busy  map[string]bool
	retry map[string]time.Time
	now   func() time.Time
}

func newPickup(cfg *config.Config, log *maillog.Logger) (*pickup, error) {
	q := queue.New(cfg.Get("queue_directory"))
	p := &pickup{
		log:         log,
		q:           q,
		dir:         filepath.Join(q.Dir, queue.Maildrop),
		cleanupPath: q.Socket("public", "cleanup"),
		hostname:    cfg.Get("myhostname"),
		mailName:    cfg.Get("mail_name"),
		ownerUID:    -1,
		lineLimit:   int(cfg.Int("line_length_limit")),
		timeout:     cfg.Duration("ipc_timeout"),
		wake:        make(chan struct{}, 1),
		slots:       make(chan struct{}, workers),
		busy:        map[string]bool{},
		retry:       map[string]time.Time{},
		now:         time.Now,
	}
	if u, err := passwd.Lookup(cfg.Get("mail_owner")); err == nil {
		p.ownerUID = u.UID
	}
	if p.timeout <= 0 {
		p.timeout = time.Hour
	}
	return p, nil
}

// trigger serves a connection to public/pickup: master's periodic wakeup or postdrop's
// "new file" notice. Whatever the bytes, the answer is a scan.
func (p *pickup) trigger(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(time.Second))
	var buf [64]byte
	c.Read(buf[:])
	c.Close()
	p.poke()
}

// poke asks for a scan; requests made while one is pending collapse.
func (p *pickup) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run scans maildrop at start, whenever fsnotify reports a change, on every trigger, and
// every scanInterval, until ctx ends.
func (p *pickup) run(ctx context.Context) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		p.log.Warn("fsnotify: %v; relying on periodic scans", err)
	} else if err := w.Add(p.dir); err != nil {
		p.log.Warn("watch %s: %v; relying on periodic scans", p.dir, err)
		w.Close()
	} else {
		defer w.Close()
		events, errs = w.Events, w.Errors
	}
	tick := time.NewTicker(scanInterval)
	defer tick.Stop()
	p.scan(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events:
			// A file becomes ready with its final chmod; its creation and link are seen
			// too, harmlessly (not ready yet).
			if ev.Op&(fsnotify.Create|fsnotify.Chmod) != 0 {
				p.scan(ctx)
			}
		case err := <-errs:
			p.log.Warn("fsnotify: %v", err)
		case <-p.wake:
			p.scan(ctx)
		case <-tick.C:
			p.scan(ctx)
		}
	}
}

// scan starts a worker for every ready maildrop file not already in hand or waiting for a
// retry.
func (p *pickup) scan(ctx context.Context) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		p.log.Warn("scan %s: %v", p.dir, err)
		return
	}
	now := p.now()
	p.mu.Lock()
	for name, t := range p.retry { // forget files that went away while waiting
		if now.After(t) {
			delete(p.retry, name)
		}
	}
	p.mu.Unlock()
	for _, e := range ents {
		name := e.Name()
		if !queue.ValidID(name) || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if err != nil || !queue.Ready(fi) {
			continue // gone, or still being written
		}
		p.mu.Lock()
		if p.busy[name] || now.Before(p.retry[name]) {
			p.mu.Unlock()
			continue
		}
		p.busy[name] = true
		p.mu.Unlock()
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			p.done(name, false)
			return
		}
		go func() {
			keep := p.file(name) == resultRetry
			<-p.slots
			p.done(name, keep)
		}()
	}
}

// done releases a file; retry marks it to be left alone for retryDelay.
func (p *pickup) done(name string, retry bool) {
	p.mu.Lock()
	delete(p.busy, name)
	if retry {
		p.retry[name] = p.now().Add(retryDelay)
	}
	p.mu.Unlock()
}
