package main

import "time"

// A mailbox no session has selected is kept for retainIdle: the listing,
// UIDs and cached headers stay in memory, and the next SELECT only checks
// that new/, cur/ and courierimapuiddb have not changed (rescanLocked).
// With one session server per user (child.go) this is what makes a
// returning session cheap. The changes made meanwhile by other programs
// are found by that check, as they are for a selected mailbox between
// commands.
const retainIdle = 10 * time.Minute

// retainLocked starts a mailbox's unused time and makes sure a sweep will
// drop it. Caller holds s.mu.
func (s *store) retainLocked(mb *mailbox) {
	mb.unused = time.Now()
	if s.sweep == nil {
		s.sweep = time.AfterFunc(retainIdle, s.sweepUnused)
	}
}

// sweepUnused forgets the mailboxes unused for retainIdle and runs again
// while any is kept.
func (s *store) sweepUnused() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Duration
	for folder, mb := range s.boxes {
		if mb.refs > 0 {
			continue
		}
		if left := retainIdle - time.Since(mb.unused); left > 0 {
			if next == 0 || left < next {
				next = left
			}
			continue
		}
		delete(s.boxes, folder)
	}
	if next > 0 {
		s.sweep.Reset(next)
	} else {
		s.sweep = nil
	}
}

// reset forgets what a kept mailbox knew, for load to start over.
func (mb *mailbox) reset() {
	mb.msgs, mb.validity, mb.next, mb.dbStat = nil, 0, 0, fileStamp{}
	mb.needScan, mb.dirStamp, mb.listed, mb.fresh = false, [2]int64{}, 0, false
}
