package main

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"postern/pkg/lock"
	"postern/pkg/maildir"
)

// lockName is the file in the Maildir root whose OFD lock allows one POP3
// session at a time (Courier has none; Dovecot keeps POP3 sessions apart
// the same way).
const lockName = "postern-pop3d.lock"

type message struct {
	name    string // in cur/
	size    int64  // octets with CRLF
	uidl    string
	deleted bool
}

type mailbox struct {
	dir  string
	lock *os.File
	cur  int // cur/ opened, for RETR's openat of a bare name; -1: none
	msgs []*message
}

// errLocked is the "-ERR" text for a mailbox in use.
var errLocked = errors.New("[IN-USE] Unable to lock maildir: another POP3 session is active.")

// openMailbox does what Courier does at login — purge old tmp/ files, move
// new/ to cur/, read and update courierpop3dsizelist — under the session
// lock. It runs with the user's credentials.
func openMailbox(dir string, warn func(string, ...any)) (*mailbox, error) {
	dir = filepath.Clean(dir)
	if _, err := os.Stat(filepath.Join(dir, "cur")); os.IsNotExist(err) {
		// No mail delivered yet: make the empty Maildir, as local(8)
		// would on first delivery (only inside an existing home).
		if _, perr := os.Stat(filepath.Dir(dir)); perr == nil {
			maildir.Make(dir)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "cur")); err != nil || !fi.IsDir() {
		return nil, maildir.ErrNoCur
	}
	lf, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0600)
	if err != nil {
		return nil, err
	}
	if err := lock.OFD(lf, 0); err != nil {
		lf.Close()
		if errors.Is(err, lock.ErrTimeout) {
			return nil, errLocked
		}
		return nil, err
	}
	mb := &mailbox{dir: dir, lock: lf, cur: -1}
	now := time.Now()
	maildir.PurgeTmp(dir, now)
	if _, err := maildir.MoveNew(dir); err != nil {
		warn("maildir %s: move new/ to cur/: %v", dir, err)
	}
	list, err := maildir.ListCur(dir)
	if err != nil {
		mb.close()
		return nil, err
	}
	ents, err := maildir.SyncPOP3(dir, list, now, func(m maildir.Message) (int64, bool, error) {
		return maildir.POP3Size(m.Path(dir))
	})
	if err != nil {
		if ents == nil {
			mb.close()
			return nil, err
		}
		warn("maildir %s: cannot update %s: %v", dir, maildir.POP3ListFile, err)
	}
	for _, e := range ents {
		mb.msgs = append(mb.msgs, &message{name: e.Name, size: e.Size, uidl: e.UIDL()})
	}
	// RETR opens messages by name relative to cur/: no walk of the whole
	// path per message. Without it (cannot happen but for a race with a
	// rename of cur/ itself) RETR uses the path.
	if fd, err := syscall.Open(filepath.Join(dir, "cur"), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0); err == nil {
		mb.cur = fd
	}
	return mb, nil
}

func (mb *mailbox) close() {
	if mb.lock != nil {
		mb.lock.Close()
		mb.lock = nil
	}
	if mb.cur >= 0 {
		syscall.Close(mb.cur)
		mb.cur = -1
	}
}

// open opens a message file for reading with one system call and no
// *os.File (whose poller registration and finalizer cost more than the
// read).
func (mb *mailbox) open(m *message) (int, error) {
	for {
		var fd int
		var err error
		if mb.cur >= 0 {
			fd, err = syscall.Openat(mb.cur, m.name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		} else {
			fd, err = syscall.Open(mb.path(m), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		}
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func (mb *mailbox) path(m *message) string { return filepath.Join(mb.dir, "cur", m.name) }

// markSeen adds S after RETR, as Courier does (not after TOP).
func (mb *mailbox) markSeen(m *message) {
	if !maildir.HasInfo(m.name) || maildir.HasFlag(m.name, 'S') {
		return
	}
	if n, err := maildir.SetFlags(mb.dir, m.name, maildir.Flags(m.name)+"S"); err == nil {
		m.name = n
	}
}

// find locates a message whose flags another client (imapd) changed since
// the scan, by its base name.
func (mb *mailbox) find(m *message) bool {
	name, inNew, ok := maildir.FindBase(mb.dir, maildir.Base(m.name))
	if ok && !inNew {
		m.name = name
	}
	return ok && !inNew
}

// update removes the messages marked deleted (the UPDATE state).
func (mb *mailbox) update() (n int, bytes int64, err error) {
	for _, m := range mb.msgs {
		if !m.deleted {
			continue
		}
		e := os.Remove(mb.path(m))
		if os.IsNotExist(e) && mb.find(m) {
			e = os.Remove(mb.path(m))
		}
		if e != nil && !os.IsNotExist(e) {
			err = e
			continue
		}
		n++
		bytes += m.size
	}
	return n, bytes, err
}
