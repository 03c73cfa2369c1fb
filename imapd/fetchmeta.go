package main

import (
	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// A FETCH of UID, FLAGS, RFC822.SIZE and INTERNALDATE only (what clients
// send to synchronise a folder) is answered from values taken under the
// mailbox lock, and written after it is released: the sessions of a user
// share the mailbox (one session server per user), and a 10,000-line
// answer to a slow client must not hold up their SELECTs and FETCHes.

func metaOnly(o *imap.FetchOptions) bool {
	return !o.Envelope && o.BodyStructure == nil && len(o.BodySection) == 0 &&
		len(o.BinarySection) == 0 && len(o.BinarySectionSize) == 0 && !o.ModSeq
}

type metaRow struct {
	seq   uint32
	uid   imap.UID
	flags []imap.Flag
	in    msgInfo
	gone  bool // no info: the file went away meanwhile
}

func (s *session) fetchMeta(w *imapserver.FetchWriter, numSet imap.NumSet, o *imap.FetchOptions) error {
	needInfo := o.RFC822Size || o.InternalDate
	var rows []metaRow
	s.mb.mu.Lock()
	if needInfo {
		var msgs []*message
		s.forEach(numSet, func(_ uint32, m *message) error {
			msgs = append(msgs, m)
			return nil
		})
		s.mb.prefill(msgs, false)
	}
	s.forEach(numSet, func(seq uint32, m *message) error {
		r := metaRow{seq: seq, uid: m.uid}
		if o.Flags {
			r.flags = m.flags()
		}
		if needInfo {
			in, err := s.mb.info(m)
			r.in, r.gone = in, err != nil
		}
		rows = append(rows, r)
		return nil
	})
	s.mb.saveCacheIfLarge()
	s.mb.mu.Unlock()

	for _, r := range rows {
		mw := w.CreateMessage(r.seq)
		if o.UID {
			mw.WriteUID(r.uid)
		}
		if o.Flags {
			mw.WriteFlags(r.flags)
		}
		if needInfo && !r.gone {
			if o.InternalDate {
				mw.WriteInternalDate(r.in.date())
			}
			if o.RFC822Size {
				mw.WriteRFC822Size(r.in.vsize)
			}
		}
		if err := mw.Close(); err != nil {
			return err
		}
	}
	return nil
}
