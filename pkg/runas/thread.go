package runas

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Threads runs functions as a user on a thread of this process: one
// goroutine per identity, locked to its own OS thread for good, whose
// file-system identity is the user's (setfsuid, setfsgid, setgroups, all
// per-thread system calls) and whose capabilities are all gone
// (capset(2) on that thread alone: effective, permitted and inheritable
// sets empty). Such a thread has exactly the user's rights: files it
// creates are the user's, permission checks are the user's, and without
// CAP_SYS_RESOURCE disk quotas and the file system's reserved blocks
// apply as to the user. It never becomes root again: the goroutine never
// unlocks, so when it exits the runtime ends the thread with it instead
// of reusing it (Go creates new threads from a template thread, never by
// cloning a locked one). Other threads keep root.
//
// What runs there must do its whole work itself, with direct system
// calls: work handed to another goroutine would run on a root thread.
// Regular files in Go are read and written by blocking system calls on
// the calling thread, so package os is safe there; net and anything
// behind the poller are not.
//
// At most Max identities have a thread (default 64); at the limit the
// least recently used idle one ends; when all are busy, a one-off thread
// serves the call and ends after it. A thread idle for Idle (default 30
// s) ends. Not running as root, Do runs fn on the calling goroutine (an
// unprivileged program can only be itself), and so it does for uid 0.
type Threads struct {
	Max  int
	Idle time.Duration

	mu sync.Mutex
	m  map[Identity]*idThread
}

type idThread struct {
	id    Identity
	work  chan func()
	ready chan struct{} // closed once the identity is set (err)
	err   error
	// Under Threads.mu.
	users int
	last  time.Time
	timer *time.Timer
	ended bool
}

// Do runs fn on id's thread and returns its error. Calls for one
// identity run one after another, in order of arrival.
func (t *Threads) Do(id Identity, fn func() error) error {
	if os.Geteuid() != 0 || id.UID == 0 {
		return fn()
	}
	th, err := t.acquire(id)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	th.work <- func() { done <- fn() }
	err = <-done
	t.release(th)
	return err
}

func (t *Threads) acquire(id Identity) (*idThread, error) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[Identity]*idThread{}
	}
	th := t.m[id]
	if th == nil {
		th = &idThread{id: id, work: make(chan func()), ready: make(chan struct{})}
		max := t.Max
		if max <= 0 {
			max = 64
		}
		if len(t.m) < max || t.evictLocked() {
			t.m[id] = th
		} else {
			th.ended = true // one-off: ends when released
		}
		go th.run()
	}
	th.users++
	if th.timer != nil {
		th.timer.Stop()
	}
	t.mu.Unlock()
	<-th.ready
	if th.err != nil {
		t.mu.Lock()
		if t.m[id] == th {
			delete(t.m, id)
		}
		th.users--
		t.mu.Unlock()
		return nil, th.err
	}
	return th, nil
}

// release ends one caller's use; the last one starts the idle clock (or
// ends a one-off thread). The decision to end a thread is taken under
// t.mu, so no call is ever sent to a thread that is ending.
func (t *Threads) release(th *idThread) {
	t.mu.Lock()
	defer t.mu.Unlock()
	th.users--
	th.last = time.Now()
	if th.users > 0 {
		return
	}
	if th.ended {
		t.endLocked(th)
		return
	}
	idle := t.Idle
	if idle <= 0 {
		idle = 30 * time.Second
	}
	if th.timer == nil {
		th.timer = time.AfterFunc(idle, func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if th.users == 0 && !th.ended && time.Since(th.last) >= idle {
				t.endLocked(th)
			}
		})
	} else {
		th.timer.Reset(idle)
	}
}

func (t *Threads) evictLocked() bool {
	var lru *idThread
	for _, th := range t.m {
		if th.users == 0 && (lru == nil || th.last.Before(lru.last)) {
			lru = th
		}
	}
	if lru == nil {
		return false
	}
	t.endLocked(lru)
	return true
}

func (t *Threads) endLocked(th *idThread) {
	if t.m[th.id] == th {
		delete(t.m, th.id)
	}
	if th.timer != nil {
		th.timer.Stop()
	}
	if th.work != nil {
		th.ended = true
		close(th.work)
		th.work = nil
	}
}

// Len is the number of identities with a thread (tests).
func (t *Threads) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// run is the thread: locked for its whole life, so that the runtime ends
// the OS thread when this goroutine returns (also after a failed switch,
// with the identity half changed).
func (th *idThread) run() {
	runtime.LockOSThread()
	th.err = become(th.id)
	work := th.work
	close(th.ready)
	if th.err != nil {
		return
	}
	for fn := range work {
		fn()
	}
}

// become gives the calling thread id's file-system identity, with gid as
// its one supplementary group (Postfix's set_eugid() leaves that one), and
// drops all its capabilities. setgroups here is the raw system call of
// golang.org/x/sys/unix: syscall.Setgroups, like syscall.Setuid, changes
// every thread of the process.
func become(id Identity) error {
	if id.UID <= 0 || id.GID < 0 {
		return fmt.Errorf("runas: bad identity %d/%d", id.UID, id.GID)
	}
	if err := unix.Setgroups([]int{id.GID}); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	unix.Setfsgid(id.GID)
	unix.Setfsuid(id.UID)
	// setfsuid and setfsgid report the previous value, never an error:
	// a second call with -1 (no change) reads the value in effect.
	uid, _ := unix.SetfsuidRetUid(-1)
	gid, _ := unix.SetfsgidRetGid(-1)
	if uid != id.UID || gid != id.GID {
		return fmt.Errorf("setfsuid/setfsgid %d/%d: thread has %d/%d", id.UID, id.GID, uid, gid)
	}
	// setfsuid to a non-zero uid has cleared the file capabilities from
	// the effective set (capabilities(7)), but not CAP_SYS_RESOURCE,
	// CAP_SETUID and the others: clear them all, permitted included, so
	// that nothing on this thread can take them back.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	if err := unix.Capget(&hdr, &data[0]); err != nil || data[0] != (unix.CapUserData{}) || data[1] != (unix.CapUserData{}) {
		return errors.New("capset: capabilities remain")
	}
	return nil
}
