package main

import (
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// watcher turns changes in the new/ and cur/ directories of open
// mailboxes (a delivery by local, a rename by another client) into
// rescans, which push EXISTS/EXPUNGE/FETCH to the sessions (IDLE
// included). One inotify instance per process; a periodic rescan covers
// lost events and filesystems without inotify.
type watcher struct {
	w    *fsnotify.Watcher
	mu   sync.Mutex
	dirs map[string]*mailbox
	kick map[*mailbox]*time.Timer
}

const (
	watchSettle   = 20 * time.Millisecond // gather a burst of events into one rescan
	watchFallback = 30 * time.Second
)

func newWatcher() *watcher {
	wt := &watcher{dirs: map[string]*mailbox{}, kick: map[*mailbox]*time.Timer{}}
	w, err := fsnotify.NewWatcher()
	if err == nil {
		wt.w = w
		go wt.events()
	}
	go wt.periodic()
	return wt
}

func (wt *watcher) add(mb *mailbox) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for _, sub := range []string{"new", "cur"} {
		d := filepath.Join(mb.folder, sub)
		if wt.dirs[d] == mb {
			continue
		}
		wt.dirs[d] = mb
		if wt.w != nil {
			wt.w.Add(d)
		}
	}
}

func (wt *watcher) remove(mb *mailbox) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for _, sub := range []string{"new", "cur"} {
		d := filepath.Join(mb.folder, sub)
		if wt.dirs[d] == mb {
			delete(wt.dirs, d)
			if wt.w != nil {
				wt.w.Remove(d)
			}
		}
	}
	if t := wt.kick[mb]; t != nil {
		t.Stop()
		delete(wt.kick, mb)
	}
}

func (wt *watcher) events() {
	for {
		select {
		case ev, ok := <-wt.w.Events:
			if !ok {
				return
			}
			wt.mu.Lock()
			mb := wt.dirs[filepath.Dir(ev.Name)]
			wt.mu.Unlock()
			if mb != nil {
				wt.schedule(mb)
			}
		case _, ok := <-wt.w.Errors:
			if !ok {
				return
			}
			wt.all() // overflow or worse: look at everything
		}
	}
}

func (wt *watcher) schedule(mb *mailbox) {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	if _, pending := wt.kick[mb]; pending {
		return
	}
	wt.kick[mb] = time.AfterFunc(watchSettle, func() {
		wt.mu.Lock()
		delete(wt.kick, mb)
		wt.mu.Unlock()
		mb.mu.Lock()
		if mb.tracker != nil {
			mb.rescanLocked()
		}
		mb.mu.Unlock()
	})
}

func (wt *watcher) all() {
	wt.mu.Lock()
	var boxes []*mailbox
	seen := map[*mailbox]bool{}
	for _, mb := range wt.dirs {
		if !seen[mb] {
			seen[mb] = true
			boxes = append(boxes, mb)
		}
	}
	wt.mu.Unlock()
	for _, mb := range boxes {
		wt.schedule(mb)
	}
}

func (wt *watcher) periodic() {
	for range time.Tick(watchFallback) {
		wt.all()
	}
}
