package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"golang.org/x/sys/unix"

	"postern/pkg/maildir"
	"postern/pkg/maildirpp"
)

// message is one message file of a folder, in new/ or cur/.
type message struct {
	uid     imap.UID
	base    string // unique part of the file name; the key of the UID map
	name    string // current file name
	inNew   bool   // still in new/ (read-only sessions do not move it)
	letters string // flag letters after ":2,"
	tail    string // Dovecot's ",..." after the letters, kept
	recent  bool
}

func (m *message) path(folder string) string {
	if m.inNew {
		return filepath.Join(folder, "new", m.name)
	}
	return filepath.Join(folder, "cur", m.name)
}

func (m *message) has(c byte) bool { return strings.IndexByte(m.letters, c) >= 0 }

// flags are the IMAP flags the file name carries (plus \Recent).
func (m *message) flags() []imap.Flag {
	fl := make([]imap.Flag, 0, 4)
	for i := 0; i < len(m.letters); i++ {
		if f := maildir.LetterFlag(m.letters[i]); f != "" {
			fl = append(fl, imap.Flag(f))
		}
	}
	if m.recent {
		fl = append(fl, flagRecent)
	}
	return fl
}

// mailbox is a folder as this process sees it, shared by every session
// that has it selected. Sequence numbers are positions in msgs (ascending
// UID); the tracker translates them for each session.
type mailbox struct {
	folder string // directory of the folder
	mu     sync.Mutex
	refs   int
	unused time.Time // when refs last fell to 0 (retain.go)
	rw     int       // sessions that selected it read-write (they move new/ to cur/)

	tracker  *imapserver.MailboxTracker
	msgs     []*message
	byBase   map[string]*message
	validity uint32
	next     uint32
	dbStat   fileStamp // courierimapuiddb as last read or written
	cache    *infoCache
	needScan bool
	dirStamp [2]int64 // mtimes of new/ and cur/ at the last scan
	listed   int64    // when the last listing began, unix ns
	fresh    bool     // dirStamp too close to listed to vouch for the listing
}

// fileStamp tells whether a file changed since it was last read.
type fileStamp struct {
	ino, size int64
	mtime     int64
}

func stampOf(path string) fileStamp {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return fileStamp{}
	}
	return fileStamp{int64(st.Ino), st.Size, st.Mtim.Nano()}
}

// listing is the folder's message files: base -> entry.
type entry struct {
	name  string
	inNew bool
}

func listFolder(folder string, moveNew bool, moved map[string]bool) (map[string]entry, error) {
	ents := map[string]entry{}
	cur := filepath.Join(folder, "cur")
	names, err := maildir.ReadNames(cur)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		ents[maildir.Base(n)] = entry{name: n}
	}
	newNames, err := maildir.ReadNames(filepath.Join(folder, "new"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, n := range newNames {
		b := maildir.Base(n)
		if _, dup := ents[b]; dup {
			continue
		}
		if !moveNew {
			ents[b] = entry{name: n, inNew: true}
			continue
		}
		to, err := maildir.MoveToCur(folder, n)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				ents[b] = entry{name: n, inNew: true}
			}
			continue
		}
		ents[b] = entry{name: to}
		if moved != nil {
			moved[b] = true
		}
	}
	return ents, nil
}

// syncUIDs is maildirpp.SyncUIDs over a listing.
func syncUIDs(folder string, db *maildirpp.UIDDB, ents map[string]entry) (*maildirpp.UIDDB, bool, error) {
	return maildirpp.SyncUIDs(folder, db, ents, func(e entry) string { return e.name })
}

// open loads the folder for its first session.
func (mb *mailbox) load() error {
	mb.byBase = map[string]*message{}
	mb.cache = loadInfoCache(mb.folder)
	mb.tracker = imapserver.NewMailboxTracker(0)
	if mb.fromSnapshot() {
		return nil
	}
	return mb.rescanLocked()
}

// fromSnapshot takes the cache's listing when new/, cur/ and the UID map
// are as they were when it was made (and, for a read-write session, new/
// had nothing to move): no directory or map is read.
func (mb *mailbox) fromSnapshot() bool {
	sn := mb.cache.snap
	if sn == nil || !sn.trusted() || mb.dirTimes() != sn.dirs ||
		stampOf(filepath.Join(mb.folder, maildirpp.CourierUIDDB)) != sn.db {
		return false
	}
	if mb.rw > 0 {
		for _, m := range sn.msgs {
			if m.inNew {
				return false
			}
		}
	}
	mb.msgs = sn.msgs
	for _, m := range mb.msgs {
		mb.byBase[m.base] = m
	}
	mb.validity, mb.next, mb.dbStat = sn.validity, sn.next, sn.db
	mb.dirStamp, mb.listed, mb.fresh = sn.dirs, sn.listed, false
	mb.cache.snap = nil
	mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
	return true
}

// rescanLocked re-reads the folder and queues EXPUNGE / EXISTS / FETCH
// FLAGS updates for the sessions. Caller holds mb.mu.
func (mb *mailbox) rescanLocked() error {
	if mb.validity != 0 && !mb.changedOnDisk() && !(mb.rw > 0 && mb.hasNew()) &&
		stampOf(filepath.Join(mb.folder, maildirpp.CourierUIDDB)) == mb.dbStat {
		return nil // nothing moved since the last scan
	}
	unlock, err := maildirpp.LockFolder(mb.folder)
	if err != nil {
		return err
	}
	defer unlock()
	moved := map[string]bool{}
	listed := time.Now().UnixNano()
	ents, err := listFolder(mb.folder, mb.rw > 0, moved)
	if err != nil {
		return err
	}
	var db *maildirpp.UIDDB
	dbPath := filepath.Join(mb.folder, maildirpp.CourierUIDDB)
	if mb.validity != 0 && stampOf(dbPath) == mb.dbStat {
		// Nobody else wrote the map since we did: rebuild it from memory
		// instead of parsing it again.
		db = &maildirpp.UIDDB{Validity: mb.validity, Next: mb.next, UIDs: make(map[string]uint32, len(mb.msgs))}
		for _, m := range mb.msgs {
			db.UIDs[m.base] = uint32(m.uid)
		}
	}
	db, _, err = syncUIDs(mb.folder, db, ents)
	if err != nil {
		return err
	}
	mb.dbStat = stampOf(dbPath)
	if mb.validity != 0 && db.Validity != mb.validity {
		// The map was recreated under us; the sessions' views are void.
		return errors.New("UIDVALIDITY changed")
	}
	mb.validity, mb.next = db.Validity, db.Next

	// Expunges: from the highest sequence number down, so each one is
	// still valid when queued.
	for i := len(mb.msgs) - 1; i >= 0; i-- {
		m := mb.msgs[i]
		if e, ok := ents[m.base]; ok && imap.UID(db.UIDs[m.base]) == m.uid {
			_ = e
			continue
		}
		mb.msgs = append(mb.msgs[:i], mb.msgs[i+1:]...)
		delete(mb.byBase, m.base)
		mb.tracker.QueueExpunge(uint32(i + 1))
	}
	// Flag changes made by others.
	for i, m := range mb.msgs {
		e := ents[m.base]
		if e.name == m.name && e.inNew == m.inNew {
			continue
		}
		_, letters, tail := maildir.SplitName(e.name)
		changed := letters != m.letters
		m.name, m.inNew, m.letters, m.tail = e.name, e.inNew, letters, tail
		if changed {
			mb.tracker.QueueMessageFlags(uint32(i+1), m.uid, m.flags(), nil)
		}
	}
	// New messages, by UID.
	var add []*message
	for b, e := range ents {
		if _, ok := mb.byBase[b]; ok {
			continue
		}
		_, letters, tail := maildir.SplitName(e.name)
		add = append(add, &message{uid: imap.UID(db.UIDs[b]), base: b, name: e.name, inNew: e.inNew,
			letters: letters, tail: tail, recent: moved[b]})
	}
	if len(add) > 0 {
		sort.Slice(add, func(i, j int) bool { return add[i].uid < add[j].uid })
		for _, m := range add {
			if n := len(mb.msgs); n > 0 && mb.msgs[n-1].uid >= m.uid {
				// A UID below one already shown: only if another program
				// rewrote the map; keep order by inserting in place.
				k := sort.Search(n, func(i int) bool { return mb.msgs[i].uid > m.uid })
				mb.msgs = append(mb.msgs, nil)
				copy(mb.msgs[k+1:], mb.msgs[k:])
				mb.msgs[k] = m
			} else {
				mb.msgs = append(mb.msgs, m)
			}
			mb.byBase[m.base] = m
		}
		mb.tracker.QueueNumMessages(uint32(len(mb.msgs)))
	}
	mb.needScan = false
	mb.dirStamp = mb.dirTimes()
	mb.listed = listed
	mb.fresh = !(&snapshot{validity: mb.validity, dirs: mb.dirStamp, listed: listed}).trusted()
	if mb.cache != nil {
		mb.cache.dirty++ // a new listing to keep
	}
	return nil
}

func (mb *mailbox) hasNew() bool {
	for _, m := range mb.msgs {
		if m.inNew {
			return true
		}
	}
	return false
}

func (mb *mailbox) dirTimes() [2]int64 {
	var t [2]int64
	for i, sub := range []string{"new", "cur"} {
		var st unix.Stat_t
		if unix.Stat(filepath.Join(mb.folder, sub), &st) == nil {
			t[i] = st.Mtim.Nano()
		}
	}
	return t
}

// changedOnDisk tells cheaply (two stats) whether new/ or cur/ changed
// since the last scan, so every command sees other programs' changes even
// without inotify.
func (mb *mailbox) changedOnDisk() bool {
	if mb.fresh && time.Now().UnixNano()-mb.listed > int64(2*stampSlack) {
		return true // the last listing may have missed a change: list again
	}
	return mb.needScan || mb.dirTimes() != mb.dirStamp
}

// rescan is rescanLocked for callers without the lock.
func (mb *mailbox) rescan() error {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.rescanLocked()
}

// addFiles registers files a session just placed into cur/ (APPEND, COPY,
// MOVE) and returns their UIDs, in the order given.
func (mb *mailbox) addFiles(names []string) ([]imap.UID, uint32, error) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.tracker == nil {
		// Not open in this process: a one-off UID assignment.
		return assignUIDs(mb.folder, names)
	}
	if err := mb.rescanLocked(); err != nil {
		return nil, 0, err
	}
	uids := make([]imap.UID, len(names))
	for i, n := range names {
		if m := mb.byBase[maildir.Base(n)]; m != nil {
			uids[i] = m.uid
		}
	}
	return uids, mb.validity, nil
}

func assignUIDs(folder string, names []string) ([]imap.UID, uint32, error) {
	unlock, err := maildirpp.LockFolder(folder)
	if err != nil {
		return nil, 0, err
	}
	defer unlock()
	ents, err := listFolder(folder, false, nil)
	if err != nil {
		return nil, 0, err
	}
	db, _, err := syncUIDs(folder, nil, ents)
	if err != nil {
		return nil, 0, err
	}
	uids := make([]imap.UID, len(names))
	for i, n := range names {
		uids[i] = imap.UID(db.UIDs[maildir.Base(n)])
	}
	return uids, db.Validity, nil
}

// setLetters renames a message file to carry new flag letters. A file
// renamed meanwhile by another program is looked up by its base name.
func (mb *mailbox) setLetters(m *message, letters string) error {
	if letters == m.letters && !m.inNew {
		return nil
	}
	to := maildir.JoinName(m.base, letters, m.tail)
	dst := filepath.Join(mb.folder, "cur", to)
	err := os.Rename(m.path(mb.folder), dst)
	if errors.Is(err, fs.ErrNotExist) {
		if name, inNew, ok := maildir.FindBase(mb.folder, m.base); ok {
			m.name, m.inNew = name, inNew
			err = os.Rename(m.path(mb.folder), dst)
		}
	}
	if err != nil {
		return err
	}
	_, m.letters, m.tail = maildir.SplitName(to)
	m.name, m.inNew = to, false
	return nil
}

// open finds a message's file, following a rename by another program.
func (mb *mailbox) open(m *message) (*os.File, error) {
	f, err := os.Open(m.path(mb.folder))
	if errors.Is(err, fs.ErrNotExist) {
		if name, inNew, ok := maildir.FindBase(mb.folder, m.base); ok {
			m.name, m.inNew = name, inNew
			f, err = os.Open(m.path(mb.folder))
		}
	}
	return f, err
}
