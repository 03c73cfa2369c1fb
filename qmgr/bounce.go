package main

import (
	"fmt"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// bounceTimeout bounds one request to the bounce service, which has to read the message and
// queue a notice through cleanup.
const bounceTimeout = 100 * time.Second

// expire turns this round's deferred recipients of a message past its queue lifetime, or
// force-expired with postsuper -e/-f, into failed entries of the bounce log and marks them
// done, then has the bounce service send the notice. It reports whether all of that worked; if not, the message stays deferred, and the
// next round (which finds nothing left to deliver) sends the notice.
func (q *qmgr) expire(m *message) bool {
	status := "expired"
	if m.forced {
		status = "force-expired"
	}
	q.log.Info("%s: from=<%s>, status=%s, returned to sender", m.id, m.env.Sender, status)
	m.mu.Lock()
	for _, o := range m.deferred {
		if err := q.appendLog(queue.Bounce, m, &o.rcpt, o.reply, "failed"); err != nil {
			m.mu.Unlock()
			q.log.Warn("%s: append bounce log: %v", m.id, err)
			return false
		}
		if err := queue.MarkDone(m.path, o.rcpt.Offset); err != nil {
			m.mu.Unlock()
			q.log.Warn("%s: mark recipient done: %v", m.id, err)
			return false
		}
		m.bounced++
	}
	m.deferred = nil
	m.mu.Unlock()
	if err := q.flushBounces(m); err != nil {
		q.log.Warn("%s: bounce notification: %v", m.id, err)
		return false
	}
	return true
}

// flushBounces has the bounce service turn bounce/ID into a non-delivery notice to the
// sender (never to <>; see bounce(8)) and remove the log. Any log is flushed, also one left
// by an earlier round whose request failed. An error means the log is still there: the
// caller keeps the message queued so the notice is not lost.
func (q *qmgr) flushBounces(m *message) error {
	if !q.hasLog(queue.Bounce, m.id) {
		return nil
	}
	if err := q.bounceRequest(m, "flush"); err != nil {
		return err
	}
	q.logs.drop(m.id, logBounce) // the service removed it
	return nil
}

// bounceRequest sends one request to private/bounce about the message in active/.
func (q *qmgr) bounceRequest(m *message, request string) error {
	c, err := ipc.Dial(q.q.Socket("private", "bounce"), 10*time.Second)
	if err != nil {
		return fmt.Errorf("connect to bounce service: %s", printable.Strerror(err))
	}
	defer c.Close()
	env := m.env
	req := ipc.Attrs{
		{Name: "request", Value: request},
		{Name: "queue_name", Value: queue.Active},
		{Name: "queue_id", Value: m.id},
		{Name: "sender", Value: env.Sender},
		{Name: "dsn_envid", Value: env.Attrs["envelope_id"]},
		{Name: "dsn_ret", Value: env.Attrs["ret_flags"]},
	}
	reply, err := c.Request(req, bounceTimeout)
	if err != nil {
		return fmt.Errorf("bounce service: %v", err)
	}
	if reply.Get("status") != "0" {
		return fmt.Errorf("bounce service: %s", reply.Get("reason"))
	}
	return nil
}

// warnDelay sends the one delay warning a message gets, when its W record's time has
// passed (cleanup writes W only when delay_warning_time > 0 and the sender is not <>): the
// bounce service turns this round's defer log into a "Delayed Mail" notice, and the W
// record is then overwritten with -1 in place so the warning is never sent again. A failure
// is only logged: the next round tries again.
func (q *qmgr) warnDelay(m *message, now time.Time) {
	env := m.env
	if env.WarnTime <= 0 || env.WarnOffset <= 0 || env.Sender == "" || now.Unix() < env.WarnTime {
		return
	}
	if !q.hasLog(queue.Defer, m.id) {
		return
	}
	if err := q.bounceRequest(m, "warn"); err != nil {
		q.log.Warn("%s: delay notification: %v", m.id, err)
		return
	}
	if err := queue.MarkWarned(m.path, env.WarnOffset); err != nil {
		q.log.Warn("%s: update delay warning record: %v", m.id, err)
	}
}
