package main

import (
	"postern/pkg/queue"
)

// expire turns this round's deferred recipients of a message past its queue lifetime into
// failed entries of the bounce log and marks them done. It reports whether every one was
// recorded; if not, the message stays deferred and expires again next time.
func (q *qmgr) expire(m *message) bool {
	q.log.Info("%s: from=<%s>, status=expired, returned to sender", m.id, m.env.Sender)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.deferred {
		if err := q.appendLog(queue.Bounce, m, &o.rcpt, o.status, "failed"); err != nil {
			q.log.Warn("%s: append bounce log: %v", m.id, err)
			return false
		}
		if err := queue.MarkDone(m.path, o.rcpt.Offset); err != nil {
			q.log.Warn("%s: mark recipient done: %v", m.id, err)
			return false
		}
		m.bounced++
	}
	m.deferred = nil
	if err := q.flushBounces(m); err != nil {
		q.log.Warn("%s: bounce notification: %v", m.id, err)
	}
	return true
}

// flushBounces is the seam for non-delivery notices: once the bounce service exists it will
// ask it to turn bounce/ID into a notice to the sender (never to <>) and delete the log, and
// an error will keep the message queued. Until then the log stays in place for it.
func (q *qmgr) flushBounces(m *message) error {
	return nil
}
