package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"postern/pkg/queue"
)

// recover moves every file left in active/ by a previous qmgr back to incoming/. Their done
// recipients are D records already, so only the remaining R records are tried again.
func (q *qmgr) recover() {
	ents, err := os.ReadDir(filepath.Join(q.q.Dir, queue.Active))
	if err != nil {
		q.log.Warn("scan %s: %v", queue.Active, err)
		return
	}
	now := q.now()
	for _, e := range ents {
		if e.IsDir() || !queue.ValidID(e.Name()) {
			continue
		}
		if err := q.q.Move(e.Name(), queue.Active, queue.Incoming); err != nil {
			q.log.Warn("move %s from %s to %s: %v", e.Name(), queue.Active, queue.Incoming, err)
			continue
		}
		os.Chtimes(q.q.Path(queue.Incoming, e.Name()), now, now)
	}
}

// scan performs the requested directory scans. Each scan replaces that queue's backlog of
// candidates; admit drains the backlogs as room in active/ allows.
func (q *qmgr) scan() {
	q.mu.Lock()
	t := q.pending
	if t&scanIncoming != 0 {
		q.pending &^= scanIncoming | flushIncoming
	}
	if t&scanDeferred != 0 {
		q.pending &^= scanDeferred | scanAll | flushDeferred
	}
	q.mu.Unlock()
	if t&scanIncoming != 0 {
		ents, err := q.scanIncoming()
		if err != nil {
			q.log.Warn("scan %s: %v", queue.Incoming, err)
		}
		q.inc = ents
		q.incFlush = t&flushIncoming != 0
	}
	if t&scanDeferred != 0 {
		ents, err := q.q.Scan(queue.Deferred)
		if err != nil {
			q.log.Warn("scan %s: %v", queue.Deferred, err)
		}
		if err == nil {
			listed := make(map[string]bool, len(ents))
			for _, e := range ents {
				listed[e.ID] = true
			}
			q.pruneLogs(listed)
		}
		due := ents[:0]
		now := q.now()
		for _, e := range ents {
			if t&scanAll != 0 || !e.MTime.After(now) {
				due = append(due, e)
			}
		}
		q.def = due
		q.defAll = t&scanAll != 0
		q.defFlush = t&flushDeferred != 0
	}
}

// scanIncoming lists incoming/ by name, sorted by ID, without Queue.Scan's lstat of every
// file: activate's lstat checks that a candidate is ready, once per file instead of once per
// scan that sees it (a file being written by cleanup shows in every scan until it is done).
func (q *qmgr) scanIncoming() ([]queue.Entry, error) {
	f, err := os.Open(filepath.Join(q.q.Dir, queue.Incoming))
	if err != nil {
		return nil, err
	}
	ents, err := f.ReadDir(-1) // d_type: no stat per file
	f.Close()
	out := make([]queue.Entry, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() && queue.ValidID(e.Name()) {
			out = append(out, queue.Entry{ID: e.Name()})
		}
	}
	slices.SortFunc(out, func(a, b queue.Entry) int { return strings.Compare(a.ID, b.ID) })
	return out, err
}

// admit moves candidates into active/, alternating between incoming and deferred, while
// fewer than qmgr_message_active_limit messages are active.
func (q *qmgr) admit() {
	for len(q.inc) > 0 || len(q.def) > 0 {
		q.mu.Lock()
		full := len(q.active) >= q.activeLimit
		q.mu.Unlock()
		if full {
			return
		}
		var e queue.Entry
		from, flush := queue.Incoming, q.incFlush
		if q.turn && len(q.def) > 0 || len(q.inc) == 0 {
			e, q.def = q.def[0], q.def[1:]
			from, flush = queue.Deferred, q.defFlush
		} else {
			e, q.inc = q.inc[0], q.inc[1:]
		}
		q.turn = from == queue.Incoming
		q.activate(e.ID, from, flush)
	}
}

// activate moves one ready file into active/ and starts its deliveries. A candidate that is
// gone or no longer ready (the ID was reused by a file being written) is skipped. flush lifts
// defer_transports for it (postqueue -f); so does the group-read bit postqueue -i sets on
// one file (Postfix's MAIL_QUEUE_STAT_UNTHROTTLE), which is cleared here.
func (q *qmgr) activate(id, from string, flush bool) {
	q.mu.Lock()
	_, busy := q.active[id]
	q.mu.Unlock()
	if busy {
		return
	}
	fi, err := os.Lstat(q.q.Path(from, id))
	if err != nil || !queue.Ready(fi) {
		return
	}
	if from == queue.Deferred && !q.defAll && fi.ModTime().After(q.now()) {
		return // deferred again since the scan that listed it
	}
	if err := q.q.Move(id, from, queue.Active); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			q.log.Warn("move %s from %s to %s: %v", id, from, queue.Active, err)
		}
		return
	}
	m := &message{id: id, from: from, path: q.q.Path(queue.Active, id), activeTime: q.now(), flush: flush,
		forced: fi.Mode()&queue.ForceExpire != 0}
	if fi.Mode().Perm()&queue.Unthrottle != 0 {
		m.flush = true
		if err := os.Chmod(m.path, fi.Mode().Perm()&^queue.Unthrottle); err != nil {
			q.log.Warn("%s: chmod: %v", id, err)
		}
	}
	q.mu.Lock()
	q.active[id] = m
	q.mu.Unlock()
	q.start(m)
}

// release takes a finished message out of the active set and lets the scheduler admit more.
func (q *qmgr) release(m *message) {
	q.mu.Lock()
	full := len(q.active) >= q.activeLimit
	delete(q.active, m.id)
	q.mu.Unlock()
	if full {
		// admit stops only at the limit; below it there is nothing to wake up for.
		q.poke()
	}
}

// activeCount is the number of messages in active/ (tests).
func (q *qmgr) activeCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.active)
}
