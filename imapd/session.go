package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"postern/pkg/maildir"
	"postern/pkg/maildirpp"
)

// session is one logged-in IMAP connection (go-imap's Session). It runs
// with the user's own credentials.
type session struct {
	u   *sessionUser
	st  *store
	mb  *mailbox
	tr  *imapserver.SessionTracker
	ro  bool
	lim uint32
}

var (
	_ imapserver.SessionIMAP4rev2   = (*session)(nil)
	_ imapserver.SessionAppendLimit = (*session)(nil)
	_ imapserver.SessionNamespace   = (*session)(nil)
	_ imapserver.SessionMove        = (*session)(nil)
)

var systemFlags = []imap.Flag{imap.FlagDraft, imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen}

func (s *session) Close() error {
	s.Unselect()
	if s.u.onClose != nil {
		s.u.onClose()
	}
	return nil
}

// Login is never reached: the connection arrives logged in (PREAUTH
// towards go-imap), the front end having done LOGIN/AUTHENTICATE.
func (s *session) Login(string, string) error { return imapserver.ErrAuthFailed }

func (s *session) AppendLimit() uint32 { return s.lim }

func (s *session) Namespace() (*imap.NamespaceData, error) {
	return &imap.NamespaceData{Personal: []imap.NamespaceDescriptor{{Prefix: maildirpp.Prefix, Delim: maildirpp.Delim}}}, nil
}

func (s *session) Select(name string, o *imap.SelectOptions) (*imap.SelectData, error) {
	s.Unselect()
	folder, err := s.st.folderPath(name, true)
	if err != nil {
		return nil, err
	}
	mb, err := s.st.acquire(folder, !o.ReadOnly)
	if err != nil {
		return nil, err
	}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s.mb, s.ro = mb, o.ReadOnly
	s.tr = mb.tracker.NewSession()
	d := &imap.SelectData{
		Flags:          append(systemFlags[:len(systemFlags):len(systemFlags)], flagRecent),
		PermanentFlags: systemFlags,
		NumMessages:    uint32(len(mb.msgs)),
		UIDNext:        imap.UID(mb.next),
		UIDValidity:    mb.validity,
	}
	for i, m := range mb.msgs {
		if m.recent || m.inNew {
			d.NumRecent++
		}
		if d.FirstUnseenSeqNum == 0 && !m.has('S') {
			d.FirstUnseenSeqNum = uint32(i + 1)
		}
	}
	return d, nil
}

func (s *session) Unselect() error {
	if s.mb == nil {
		return nil
	}
	s.tr.Close()
	s.st.release(s.mb, !s.ro)
	s.mb, s.tr = nil, nil
	return nil
}

func (s *session) Create(name string, _ *imap.CreateOptions) error { return s.st.create(name) }
func (s *session) Delete(name string) error                        { return s.st.remove(name) }
func (s *session) Rename(from, to string, _ *imap.RenameOptions) error {
	return s.st.rename(from, to)
}
func (s *session) Subscribe(name string) error   { return s.st.subscribe(name) }
func (s *session) Unsubscribe(name string) error { return s.st.unsubscribe(name) }

func (s *session) List(w *imapserver.ListWriter, ref string, patterns []string, o *imap.ListOptions) error {
	if len(patterns) == 0 || (len(patterns) == 1 && patterns[0] == "") {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: maildirpp.Delim})
	}
	all, err := s.st.folders()
	if err != nil {
		return err
	}
	subs, _ := maildirpp.ReadSubscriptions(s.st.root)
	subscribed := map[string]bool{}
	for _, n := range subs {
		subscribed[n] = true
		if o.SelectSubscribed {
			if _, ok := all[n]; !ok {
				all[n] = false
			}
		}
	}
	names := sortedNames(all)
	for _, name := range names {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, maildirpp.Delim, ref, p) {
				match = true
				break
			}
		}
		if !match || (o.SelectSubscribed && !subscribed[name]) {
			continue
		}
		d := &imap.ListData{Delim: maildirpp.Delim, Mailbox: name}
		if !all[name] {
			d.Attrs = append(d.Attrs, imap.MailboxAttrNoSelect)
		}
		children := false
		for _, other := range names {
			if strings.HasPrefix(other, name+".") {
				children = true
				break
			}
		}
		if children {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasChildren)
		} else {
			d.Attrs = append(d.Attrs, imap.MailboxAttrHasNoChildren)
		}
		if (o.ReturnSubscribed || o.SelectSubscribed) && subscribed[name] {
			d.Attrs = append(d.Attrs, imap.MailboxAttrSubscribed)
		}
		if o.ReturnStatus != nil && all[name] {
			if folder, err := s.st.folderPath(name, true); err == nil {
				if sd, err := s.st.status(folder, o.ReturnStatus); err == nil {
					sd.Mailbox = name
					d.Status = sd
				}
			}
		}
		if err := w.WriteList(d); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) Status(name string, o *imap.StatusOptions) (*imap.StatusData, error) {
	folder, err := s.st.folderPath(name, true)
	if err != nil {
		return nil, err
	}
	d, err := s.st.status(folder, o)
	if err != nil {
		return nil, err
	}
	d.Mailbox = name
	return d, nil
}

func (s *session) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	if s.mb == nil {
		return nil
	}
	s.mb.mu.Lock()
	if s.mb.changedOnDisk() {
		s.mb.rescanLocked()
	}
	s.mb.mu.Unlock()
	return s.tr.Poll(w, allowExpunge)
}

func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.mb == nil {
		<-stop
		return nil
	}
	return s.tr.Idle(w, stop)
}

// forEach calls f for the messages of numSet, with their client-side
// sequence numbers. Caller holds s.mb.mu.
func (s *session) forEach(numSet imap.NumSet, f func(seq uint32, m *message) error) error {
	msgs := s.mb.msgs
	switch set := numSet.(type) {
	case imap.SeqSet:
		var max uint32
		for i := len(msgs); i > 0 && max == 0; i-- {
			max = s.tr.EncodeSeqNum(uint32(i))
		}
		set = staticSeqSet(set, max)
		for i, m := range msgs {
			seq := s.tr.EncodeSeqNum(uint32(i + 1))
			if seq != 0 && set.Contains(seq) {
				if err := f(seq, m); err != nil {
					return err
				}
			}
		}
	case imap.UIDSet:
		var max imap.UID
		if len(msgs) > 0 {
			max = msgs[len(msgs)-1].uid
		}
		set = staticUIDSet(set, max)
		for i, m := range msgs {
			if !set.Contains(m.uid) {
				continue
			}
			seq := s.tr.EncodeSeqNum(uint32(i + 1))
			if seq == 0 {
				continue // not yet announced to this client
			}
			if err := f(seq, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// "*" arrives as 0: make it the largest number in use.
func staticSeqSet(set imap.SeqSet, max uint32) imap.SeqSet {
	out := make(imap.SeqSet, len(set))
	for i, r := range set {
		out[i] = r
		staticRange(&out[i].Start, &out[i].Stop, max)
	}
	return out
}

func staticUIDSet(set imap.UIDSet, max imap.UID) imap.UIDSet {
	out := make(imap.UIDSet, len(set))
	for i, r := range set {
		a, b := uint32(r.Start), uint32(r.Stop)
		staticRange(&a, &b, uint32(max))
		out[i] = imap.UIDRange{Start: imap.UID(a), Stop: imap.UID(b)}
	}
	return out
}

func staticRange(a, b *uint32, max uint32) {
	dyn := *a == 0 || *b == 0
	if *a == 0 {
		*a = max
	}
	if *b == 0 {
		*b = max
	}
	if dyn && *a > *b {
		*a, *b = *b, *a
	}
}

func lettersFor(flags []imap.Flag) string {
	var b []byte
	for _, f := range flags {
		if c := maildir.FlagLetter(string(f)); c != 0 {
			b = append(b, c)
		}
	}
	return string(b)
}

// applyStore computes the new letters; letters without an IMAP flag ('P',
// Dovecot's keyword letters) are never touched.
func applyStore(old string, op imap.StoreFlagsOp, set string) string {
	keep := strings.Map(func(r rune) rune {
		if r < 128 && maildir.LetterFlag(byte(r)) != "" {
			return -1
		}
		return r
	}, old)
	switch op {
	case imap.StoreFlagsSet:
		return keep + set
	case imap.StoreFlagsAdd:
		return old + set
	case imap.StoreFlagsDel:
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(set, r) {
				return -1
			}
			return r
		}, old)
	}
	return old
}

func (s *session) Store(w *imapserver.FetchWriter, numSet imap.NumSet, sf *imap.StoreFlags, _ *imap.StoreOptions) error {
	if s.ro {
		return errReadOnly
	}
	set := lettersFor(sf.Flags)
	_, isUID := numSet.(imap.UIDSet)
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	var firstErr error
	err := s.forEach(numSet, func(seq uint32, m *message) error {
		nl := applyStore(m.letters, sf.Op, set)
		if maildir.JoinName("", nl, "") != maildir.JoinName("", m.letters, "") || m.inNew {
			if err := s.mb.setLetters(m, nl); err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return nil
			}
			s.mb.tracker.QueueMessageFlags(s.serverSeq(m), m.uid, m.flags(), s.tr)
		}
		if !sf.Silent {
			r := w.CreateMessage(seq)
			if isUID {
				r.WriteUID(m.uid)
			}
			r.WriteFlags(m.flags())
			return r.Close()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if firstErr != nil {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Some flags could not be stored."}
	}
	return nil
}

// serverSeq is the message's position in the shared mailbox.
func (s *session) serverSeq(m *message) uint32 {
	for i, x := range s.mb.msgs {
		if x == m {
			return uint32(i + 1)
		}
	}
	return 0
}

func (s *session) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	if s.ro {
		return errReadOnly
	}
	s.mb.mu.Lock()
	defer s.mb.mu.Unlock()
	removed := false
	for _, m := range s.mb.msgs {
		if !m.has('T') || (uids != nil && !uids.Contains(m.uid)) {
			continue
		}
		if err := removeMsg(s.mb, m); err == nil {
			removed = true
		}
	}
	if !removed {
		return nil
	}
	// The rescan sees the files gone, drops their UIDs from the map and
	// queues the EXPUNGE responses (ours are written by Poll).
	return s.mb.rescanLocked()
}

func removeMsg(mb *mailbox, m *message) error {
	err := os.Remove(m.path(mb.folder))
	if err != nil && errors.Is(err, fs.ErrNotExist) {
		if name, inNew, ok := maildir.FindBase(mb.folder, m.base); ok {
			m.name, m.inNew = name, inNew
			err = os.Remove(m.path(mb.folder))
		}
	}
	return err
}

func (s *session) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.transfer(numSet, dest, false, nil)
}

func (s *session) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	if s.ro {
		return errReadOnly
	}
	_, err := s.transfer(numSet, dest, true, w)
	return err
}

// transfer copies (hard link, else a copy) or moves (rename) messages into
// another folder under fresh unique names, keeping flags and dates, and
// answers with the UIDs on both sides (UIDPLUS).
func (s *session) transfer(numSet imap.NumSet, dest string, move bool, w *imapserver.MoveWriter) (*imap.CopyData, error) {
	folder, err := s.st.folderPath(dest, true)
	if err != nil {
		if errors.Is(err, errNoMailbox) {
			return nil, errTryCreate
		}
		return nil, err
	}
	if move && folder == s.mb.folder {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "Source and destination are the same mailbox."}
	}
	type item struct {
		uid     imap.UID
		src     string
		letters string
		m       *message
	}
	var items []item
	s.mb.mu.Lock()
	s.forEach(numSet, func(_ uint32, m *message) error {
		items = append(items, item{m.uid, m.path(s.mb.folder), m.letters, m})
		return nil
	})
	s.mb.mu.Unlock()
	if len(items) == 0 {
		return &imap.CopyData{}, nil
	}
	var names []string
	var srcUIDs imap.UIDSet
	for _, it := range items {
		name, err := maildir.Place(folder, it.src, it.letters, move)
		if err != nil && errors.Is(err, fs.ErrNotExist) {
			s.mb.mu.Lock()
			if n, inNew, ok := maildir.FindBase(s.mb.folder, it.m.base); ok {
				it.m.name, it.m.inNew = n, inNew
				it.src = it.m.path(s.mb.folder)
			}
			s.mb.mu.Unlock()
			name, err = maildir.Place(folder, it.src, it.letters, move)
		}
		if err != nil {
			if len(names) == 0 {
				return nil, err
			}
			break
		}
		names = append(names, name)
		srcUIDs.AddNum(it.uid)
	}
	uids, validity, err := s.st.box(folder).addFiles(names)
	if err != nil {
		return nil, err
	}
	var dstUIDs imap.UIDSet
	for _, u := range uids {
		dstUIDs.AddNum(u)
	}
	data := &imap.CopyData{UIDValidity: validity, SourceUIDs: srcUIDs, DestUIDs: dstUIDs}
	if move {
		if err := w.WriteCopyData(data); err != nil {
			return nil, err
		}
		s.mb.mu.Lock()
		err := s.mb.rescanLocked()
		s.mb.mu.Unlock()
		return data, err
	}
	return data, nil
}

func (s *session) Append(name string, r imap.LiteralReader, o *imap.AppendOptions) (*imap.AppendData, error) {
	folder, err := s.st.folderPath(name, true)
	if err != nil {
		if errors.Is(err, errNoMailbox) {
			return nil, errTryCreate
		}
		return nil, err
	}
	fname, err := maildir.Store(folder, r, lettersFor(o.Flags), o.Time)
	if err != nil {
		return nil, err
	}
	uids, validity, err := s.st.box(folder).addFiles([]string{fname})
	if err != nil {
		return nil, err
	}
	return &imap.AppendData{UID: uids[0], UIDValidity: validity}, nil
}
