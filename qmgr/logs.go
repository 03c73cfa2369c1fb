package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"postern/pkg/queue"
)

// logKind is a set of per-message status logs: bounce/ID, defer/ID, trace/ID.
type logKind uint8

const (
	logBounce logKind = 1 << iota
	logDefer
	logTrace
)

// logSet remembers which messages may have a status log, so that a round does not stat or
// unlink logs that were never written (five failing syscalls per message otherwise). Only
// qmgr creates these logs (appendLog); bounce(8) and postsuper only remove them. So the logs
// found in the directories at startup plus every log qmgr has started to append to since is
// a superset of what exists: a name in the set whose file is gone costs the syscall it cost
// before, a name not in the set has no file.
type logSet struct {
	mu sync.Mutex
	m  map[string]logKind
}

// load fills the set from the log directories (defer/ is hashed one level deep).
func (s *logSet) load(q *queue.Queue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]logKind{}
	for _, l := range []struct {
		name string
		kind logKind
	}{{queue.Bounce, logBounce}, {queue.Defer, logDefer}, {queue.Trace, logTrace}} {
		s.loadDir(filepath.Join(q.Dir, l.name), l.kind, true)
	}
}

func (s *logSet) loadDir(dir string, kind logKind, top bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() {
			// Hash subdirectories (hash_queue_names): one level, one character.
			if top && len(name) == 1 {
				s.loadDir(filepath.Join(dir, name), kind, false)
			}
			continue
		}
		if queue.ValidID(name) {
			s.m[name] |= kind
		}
	}
}

// has tells whether id may have a log of kind.
func (s *logSet) has(id string, kind logKind) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[id]&kind != 0
}

// add records that a log of kind may exist from now on; called before the file is created.
func (s *logSet) add(id string, kind logKind) {
	s.mu.Lock()
	if s.m == nil {
		s.m = map[string]logKind{}
	}
	s.m[id] |= kind
	s.mu.Unlock()
}

// drop records that the logs of kind are gone.
func (s *logSet) drop(id string, kind logKind) {
	s.mu.Lock()
	if k, ok := s.m[id]; ok {
		if k &^= kind; k == 0 {
			delete(s.m, id)
		} else {
			s.m[id] = k
		}
	}
	s.mu.Unlock()
}

// logKindOf maps a log directory name to its kind.
func logKindOf(name string) logKind {
	switch name {
	case queue.Bounce:
		return logBounce
	case queue.Defer:
		return logDefer
	case queue.Trace:
		return logTrace
	}
	return 0
}

// removeLog unlinks id's log of kind if it may exist.
func (q *qmgr) removeLog(name, id string) {
	kind := logKindOf(name)
	if !q.logs.has(id, kind) {
		return
	}
	os.Remove(q.q.Path(name, id))
	q.logs.drop(id, kind)
}

// hasLog tells whether id's log name may exist, with a stat only when the set says it may:
// only a file known to be absent is no log. Called when no delivery of the message is in
// flight, so no append races with the drop.
func (q *qmgr) hasLog(name, id string) bool {
	kind := logKindOf(name)
	if !q.logs.has(id, kind) {
		return false
	}
	if _, err := os.Stat(q.q.Path(name, id)); errors.Is(err, fs.ErrNotExist) {
		q.logs.drop(id, kind)
		return false
	}
	return true
}

// prune forgets the logs of messages that are in no queue any more (postsuper -d of a
// deferred message removes its file and logs behind qmgr's back), so the set does not grow
// for the life of the process. listed holds the IDs a deferred scan just found; the others
// that are not active are looked up in the queues, and kept while their file or a log is
// still there. Runs on the scheduler goroutine, which alone admits messages.
func (q *qmgr) pruneLogs(listed map[string]bool) {
	q.logs.mu.Lock()
	var stale []string
	for id := range q.logs.m {
		if !listed[id] {
			stale = append(stale, id)
		}
	}
	q.logs.mu.Unlock()
	for _, id := range stale {
		q.mu.Lock()
		_, busy := q.active[id]
		q.mu.Unlock()
		if busy {
			continue
		}
		if _, ok := q.q.Find(id); ok {
			continue
		}
		gone := logBounce | logDefer | logTrace
		for _, name := range []string{queue.Bounce, queue.Defer, queue.Trace} {
			if _, err := os.Lstat(q.q.Path(name, id)); err == nil {
				gone &^= logKindOf(name)
			}
		}
		q.logs.drop(id, gone)
	}
}
