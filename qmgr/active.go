package main

import (
	"os"
	"time"

	"postern/pkg/queue"
)

// finish ends a message's round once every recipient has an outcome on disk: the delivery
// report and bounce notices first, then either removal, expiry, or a move to deferred/ with
// the next retry time as its mtime.
func (q *qmgr) finish(m *message) {
	defer q.release(m)
	m.mu.Lock()
	deferred, keep := len(m.deferred), m.keep
	m.mu.Unlock()

	q.flushTrace(m)

	now := q.now()
	if deferred > 0 && !keep && (m.forced || now.Sub(m.env.CreateTime) >= q.lifetime(m)) {
		// expire sends one notice for this round's bounces and the expired recipients.
		if q.expire(m) {
			q.remove(m)
			return
		}
		keep = true
	} else if err := q.flushBounces(m); err != nil {
		// The notice is not out: the message stays queued until it is.
		q.log.Warn("%s: bounce notification: %v", m.id, err)
		keep = true
	}
	if deferred > 0 || keep {
		if deferred > 0 {
			q.warnDelay(m, now)
		}
		q.deferMessage(m, now)
		return
	}
	q.remove(m)
}

// lifetime is how long a message may stay queued: bounce_queue_lifetime for the null sender.
func (q *qmgr) lifetime(m *message) time.Duration {
	if m.env.Sender == "" {
		return q.bounceLifetime
	}
	return q.maxLifetime
}

// remove deletes a message whose recipients are all done and whose bounce log, if any, the
// bounce service has turned into a notice; the defer log, and a trace log whose report
// could not be sent, have no reader left.
func (q *qmgr) remove(m *message) {
	// Recycle instead of unlink: the emptied file goes to pool/ for cleanup's next create.
	if err := q.q.Recycle(m.path); err != nil {
		q.log.Warn("%s: remove %s: %v", m.id, m.path, err)
		return
	}
	q.removeLog(queue.Defer, m.id)
	q.removeLog(queue.Trace, m.id)
	q.logs.drop(m.id, logBounce) // flushed: bounce(8) removed it
	q.log.Info("%s: removed", m.id)
}

// deferMessage moves the file to deferred/ with mtime = now + backoff, the backoff being the
// message's age clamped to [minimal_backoff_time, maximal_backoff_time].
func (q *qmgr) deferMessage(m *message, now time.Time) {
	delay := now.Sub(m.env.CreateTime)
	if delay > q.maxBackoff {
		delay = q.maxBackoff
	}
	if delay < q.minBackoff {
		delay = q.minBackoff
	}
	next := now.Add(delay)
	if err := os.Chtimes(m.path, next, next); err != nil {
		q.log.Warn("%s: set retry time: %v", m.id, err)
	}
	if err := q.q.Move(m.id, queue.Active, queue.Deferred); err != nil {
		// Left in active/, it goes back to incoming/ at the next start.
		q.log.Warn("%s: move to %s: %v", m.id, queue.Deferred, err)
	}
}
