package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/pkg/maildir"
	"postern/pkg/maildirpp"
)

const flagRecent = imap.Flag(`\Recent`)

var (
	errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "Mailbox does not exist."}
	errTryCreate = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTryCreate, Text: "Mailbox does not exist."}
	errBadName   = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Invalid mailbox name."}
	errExists    = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAlreadyExists, Text: "Mailbox already exists."}
	errInbox     = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "INBOX cannot be deleted or renamed."}
	errReadOnly  = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Mailbox is read-only."}
)

// store is one user's Maildir as this process serves it. Every session of
// the user in the process shares it, and with it the open mailboxes.
type store struct {
	root  string
	mu    sync.Mutex
	boxes map[string]*mailbox // by folder directory
	watch *watcher
	sweep *time.Timer // drops unused mailboxes (retain.go)
}

var stores struct {
	sync.Mutex
	m map[string]*store
}

func getStore(root string) *store {
	stores.Lock()
	defer stores.Unlock()
	if stores.m == nil {
		stores.m = map[string]*store{}
	}
	s := stores.m[root]
	if s == nil {
		s = &store{root: root, boxes: map[string]*mailbox{}}
		s.watch = newWatcher()
		stores.m[root] = s
	}
	return s
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// folderPath maps a client's mailbox name to its directory. An existing
// folder is found under its UTF-8 name or, failing that, under the
// modified-UTF-7 name older servers wrote; a new one gets the UTF-8 name.
func (s *store) folderPath(name string, mustExist bool) (string, error) {
	d, err := maildirpp.DirName(name)
	if err != nil {
		return "", errBadName
	}
	if d == "" {
		return s.root, nil
	}
	p := filepath.Join(s.root, d)
	if isDir(filepath.Join(p, "cur")) {
		return p, nil
	}
	if l, err := maildirpp.LegacyDirName(name); err == nil && l != d && isDir(filepath.Join(s.root, l, "cur")) {
		return filepath.Join(s.root, l), nil
	}
	if mustExist {
		return "", errNoMailbox
	}
	return p, nil
}

// acquire opens (or shares) the mailbox of a folder for a session.
func (s *store) acquire(folder string, rw bool) (*mailbox, error) {
	s.mu.Lock()
	mb := s.boxes[folder]
	if mb == nil {
		mb = &mailbox{folder: folder}
		s.boxes[folder] = mb
	}
	mb.refs++
	unused := mb.refs == 1
	s.mu.Unlock()

	mb.mu.Lock()
	if rw {
		mb.rw++
	}
	var err error
	if mb.tracker == nil {
		err = mb.load()
	} else if err = mb.rescanLocked(); err != nil && unused {
		// A kept mailbox no session is viewing (retain.go), whose folder
		// was recreated meanwhile: read it afresh.
		mb.reset()
		err = mb.load()
	}
	mb.mu.Unlock()
	if err != nil {
		s.release(mb, rw)
		return nil, err
	}
	s.watch.add(mb)
	return mb, nil
}

// release ends a session's use of a mailbox; the last one writes the info
// cache. The mailbox stays in memory for retainIdle (see retain.go), so
// that the next session of the user opens it with three stats.
func (s *store) release(mb *mailbox, rw bool) {
	s.mu.Lock()
	mb.refs--
	last := mb.refs == 0
	if last && s.boxes[mb.folder] == mb {
		s.retainLocked(mb)
	}
	s.mu.Unlock()
	mb.mu.Lock()
	if rw {
		mb.rw--
	}
	if last {
		s.watch.remove(mb)
		mb.saveCache()
	}
	mb.mu.Unlock()
}

// box returns the open mailbox of a folder, or a detached one (UIDs are
// then assigned straight in the folder's UID map).
func (s *store) box(folder string) *mailbox {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb := s.boxes[folder]; mb != nil {
		return mb
	}
	return &mailbox{folder: folder}
}

// forget drops open-mailbox state for folders that were renamed or deleted.
func (s *store) forget(folder string) {
	s.mu.Lock()
	delete(s.boxes, folder)
	s.mu.Unlock()
}

// folders lists the IMAP names of the folders present (INBOX first) and
// whether each is selectable.
func (s *store) folders() (map[string]bool, error) {
	out := map[string]bool{maildirpp.Inbox: true}
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name, ok := maildirpp.IMAPName(e.Name())
		if !ok {
			continue
		}
		if isDir(filepath.Join(s.root, e.Name(), "cur")) {
			out[name] = true
		}
	}
	// Parents that exist only by name are shown \Noselect, as Courier does.
	for name := range out {
		for i := strings.LastIndexByte(name, maildirpp.Delim); i > len(maildirpp.Inbox); i = strings.LastIndexByte(name[:i], maildirpp.Delim) {
			if _, ok := out[name[:i]]; !ok {
				out[name[:i]] = false
			}
		}
	}
	return out, nil
}

// create makes a folder: tmp/ new/ cur/ (0700) and the empty
// maildirfolder file.
func (s *store) create(name string) error {
	name = strings.TrimSuffix(name, string(maildirpp.Delim))
	if maildirpp.Canonical(name) == maildirpp.Inbox {
		return errExists
	}
	p, err := s.folderPath(name, false)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return errExists
	}
	if err := os.Mkdir(p, 0700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errExists
		}
		return err
	}
	if err := maildir.Make(p); err != nil {
		os.RemoveAll(p)
		return err
	}
	f, err := os.OpenFile(filepath.Join(p, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0600)
	if err == nil {
		f.Close()
	}
	return err
}

// remove deletes a folder (not its sub-folders, which are directories of
// their own): it is renamed into the root's tmp/ first, so a crash leaves
// no half-deleted folder visible.
func (s *store) remove(name string) error {
	if maildirpp.Canonical(name) == maildirpp.Inbox {
		return errInbox
	}
	p, err := s.folderPath(name, true)
	if err != nil {
		return err
	}
	trash := filepath.Join(s.root, "tmp", ".deleted."+strconv.FormatInt(time.Now().UnixNano(), 36)+"."+strconv.Itoa(os.Getpid()))
	if err := os.Rename(p, trash); err != nil {
		return err
	}
	s.forget(p)
	os.RemoveAll(trash)
	s.unsubscribe(maildirpp.Canonical(name))
	return nil
}

// rename renames a folder and every folder below it.
func (s *store) rename(from, to string) error {
	if maildirpp.Canonical(from) == maildirpp.Inbox || maildirpp.Canonical(to) == maildirpp.Inbox {
		return errInbox
	}
	src, err := s.folderPath(from, true)
	if err != nil {
		return err
	}
	dst, err := s.folderPath(strings.TrimSuffix(to, "."), false)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(dst); err == nil {
		return errExists
	}
	srcBase, dstBase := filepath.Base(src), filepath.Base(dst)
	ents, _ := os.ReadDir(s.root)
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	s.forget(src)
	for _, e := range ents {
		n := e.Name()
		if strings.HasPrefix(n, srcBase+".") {
			nn := dstBase + n[len(srcBase):]
			if _, ok := maildirpp.IMAPName(nn); ok && len(nn) <= 255 {
				os.Rename(filepath.Join(s.root, n), filepath.Join(s.root, nn))
				s.forget(filepath.Join(s.root, n))
			}
		}
	}
	// Subscriptions follow the rename.
	subs, _ := maildirpp.ReadSubscriptions(s.root)
	cf, ct := maildirpp.Canonical(from), maildirpp.Canonical(strings.TrimSuffix(to, "."))
	changed := false
	for i, n := range subs {
		if n == cf || strings.HasPrefix(n, cf+".") {
			subs[i] = ct + n[len(cf):]
			changed = true
		}
	}
	if changed {
		maildirpp.WriteSubscriptions(s.root, subs)
	}
	return nil
}

func (s *store) subscribe(name string) error {
	if _, err := maildirpp.DirName(name); err != nil {
		return errBadName
	}
	c := maildirpp.Canonical(name)
	subs, err := maildirpp.ReadSubscriptions(s.root)
	if err != nil {
		return err
	}
	for _, n := range subs {
		if n == c {
			return nil
		}
	}
	return maildirpp.WriteSubscriptions(s.root, append(subs, c))
}

func (s *store) unsubscribe(name string) error {
	c := maildirpp.Canonical(name)
	subs, err := maildirpp.ReadSubscriptions(s.root)
	if err != nil {
		return err
	}
	out := subs[:0]
	for _, n := range subs {
		if n != c {
			out = append(out, n)
		}
	}
	if len(out) == len(subs) {
		return nil
	}
	return maildirpp.WriteSubscriptions(s.root, out)
}

// status answers STATUS for a folder. A folder open in this process is
// rescanned; otherwise the folder is read once (UIDs assigned and the map
// written as Courier does, new/ left alone).
func (s *store) status(folder string, o *imap.StatusOptions) (*imap.StatusData, error) {
	var (
		count, unseen, recent, deleted uint32
		size                           int64
		data                           imap.StatusData
	)
	s.mu.Lock()
	mb := s.boxes[folder]
	s.mu.Unlock()
	if mb != nil {
		mb.mu.Lock()
		defer mb.mu.Unlock()
		if err := mb.rescanLocked(); err != nil {
			return nil, err
		}
		data.UIDValidity, data.UIDNext = mb.validity, imap.UID(mb.next)
		for _, m := range mb.msgs {
			count++
			if !m.has('S') {
				unseen++
			}
			if m.inNew || m.recent {
				recent++
			}
			if m.has('T') {
				deleted++
			}
			if o.Size {
				if in, err := mb.info(m); err == nil {
					size += in.vsize
				}
			}
		}
	} else {
		unlock, err := maildirpp.LockFolder(folder)
		if err != nil {
			return nil, err
		}
		ents, err := listFolder(folder, false, nil)
		if err == nil {
			var db *maildirpp.UIDDB
			db, _, err = syncUIDs(folder, nil, ents)
			if err == nil {
				data.UIDValidity, data.UIDNext = db.Validity, imap.UID(db.Next)
			}
		}
		unlock()
		if err != nil {
			return nil, err
		}
		var cache *infoCache
		if o.Size {
			cache = loadInfoCache(folder)
		}
		for b, e := range ents {
			count++
			_, letters, _ := maildir.SplitName(e.name)
			if !strings.Contains(letters, "S") {
				unseen++
			}
			if e.inNew {
				recent++
			}
			if strings.Contains(letters, "T") {
				deleted++
			}
			if cache != nil {
				if in, ok := cache.m[b]; ok {
					size += in.vsize
				} else if v, ok := maildir.VSizeFromName(b); ok {
					size += v
				} else if f, err := os.Open(filepath.Join(folder, map[bool]string{true: "new", false: "cur"}[e.inNew], e.name)); err == nil {
					v, _ := maildir.CRLFSize(f)
					f.Close()
					size += v
				}
			}
		}
	}
	if o.NumMessages {
		data.NumMessages = &count
	}
	if o.NumUnseen {
		data.NumUnseen = &unseen
	}
	if o.NumRecent {
		data.NumRecent = &recent
	}
	if o.NumDeleted {
		data.NumDeleted = &deleted
	}
	if o.Size {
		data.Size = &size
	}
	if !o.UIDNext {
		data.UIDNext = 0
	}
	if !o.UIDValidity {
		data.UIDValidity = 0
	}
	return &data, nil
}

// sortedNames orders folder names for LIST: INBOX first, then bytewise.
func sortedNames(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == maildirpp.Inbox) != (out[j] == maildirpp.Inbox) {
			return out[i] == maildirpp.Inbox
		}
		return out[i] < out[j]
	})
	return out
}
