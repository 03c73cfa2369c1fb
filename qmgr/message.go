package main

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/queue"
)

// message is one queue file in active/ and the outcome of this round's deliveries.
type message struct {
	id         string
	from       string // queue it came from: incoming or deferred
	path       string // active/ID
	activeTime time.Time
	env        *queue.Message

	mu       sync.Mutex // guards the fields below and serialises status log appends
	pending  int        // recipients handed to transports and not yet answered
	deferred []outcome  // recipients deferred this round (turned into bounces on expiry)
	bounced  int        // recipients with a bounce log entry this round
	keep     bool       // an outcome could not be recorded: the file must stay queued
	traced   bool       // sendmail -v: every outcome goes to the trace log (trace_flags)
	flush    bool       // admitted by a flush (postqueue -f, -i): defer_transports is lifted
	forced   bool       // postsuper -e/-f: return to the sender instead of delivering
}

// outcome is a recipient's result from this round.
type outcome struct {
	rcpt  queue.Recipient
	reply deliver.Reply
}

// start reads the envelope of a message just moved into active/, logs it, and hands each
// recipient still to do to its transport.
func (q *qmgr) start(m *message) {
	env, err := queue.ReadEnvelope(m.path)
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) && !errors.Is(err, queue.ErrCorrupt) {
			// A system error (descriptors, I/O) says nothing about the file: try later.
			q.log.Warn("%s: %v", m.id, err)
			q.putBack(m)
			return
		}
		q.saveCorrupt(m)
		return
	}
	m.env = env
	m.traced = traced(env)
	var reasons map[int64]deliver.Reply
	if m.forced {
		reasons = q.deferReasons(m.id)
	}
	// The defer log describes the previous round; this round's failures recreate it.
	q.removeLog(queue.Defer, m.id)
	q.log.Info("%s: from=<%s>, size=%d, nrcpt=%d (queue active)", m.id, env.Sender, env.MessageSize, env.Nrcpt)

	var jobs []*job
	doubleBounce := q.resolver.doubleBounce
	for i := range env.Recipients {
		r := &env.Recipients[i]
		if r.Done {
			continue
		}
		if strings.EqualFold(r.Addr, doubleBounce) {
			// Undeliverable notices to double-bounce end here, so a system without a
			// working local agent cannot loop on them.
			q.logDelivery(m, r, "none", dsn.Sent("2.0.0", "undeliverable postmaster notification discarded"))
			if err := queue.MarkDone(m.path, r.Offset); err != nil {
				q.log.Warn("%s: mark recipient done: %v", m.id, err)
				m.keep = true
			}
			continue
		}
		if m.forced {
			jobs = append(jobs, &job{m: m, rcpt: r})
			continue
		}
		rt := q.resolver.resolve(r.Addr)
		if q.deferXports[rt.transport] && !m.flush {
			// Postfix hands these to its retry service, which defers them with this status;
			// they wait in deferred/ for postqueue -f, sendmail -q or postfix flush.
			rt = route{transport: errorTransport, nexthop: "4.3.2 deferred transport"}
		}
		jobs = append(jobs, &job{m: m, rcpt: r, route: rt})
	}
	if len(jobs) == 0 {
		q.finish(m)
		return
	}
	m.mu.Lock()
	m.pending = len(jobs)
	m.mu.Unlock()
	for _, j := range jobs {
		if m.forced {
			q.record(m, j.rcpt, q.forcedReply(m, j.rcpt, reasons))
			continue
		}
		if j.route.transport == errorTransport {
			st := q.soft(errorStatus(j.route.nexthop))
			q.logDelivery(m, j.rcpt, "none", st)
			q.record(m, j.rcpt, deliver.Reply{Status: st})
			continue
		}
		q.transports.submit(j)
	}
}

// deferReasons reads the defer log a force-expired message brings from its last round: the
// reason each recipient (by the offset of its R record) was deferred for.
func (q *qmgr) deferReasons(id string) map[int64]deliver.Reply {
	if !q.logs.has(id, logDefer) {
		return nil
	}
	f, err := os.Open(q.q.Path(queue.Defer, id))
	if err != nil {
		return nil
	}
	defer f.Close()
	entries, _ := queue.ReadLog(f)
	out := map[int64]deliver.Reply{}
	for _, e := range entries {
		code := e.Status
		if !strings.HasPrefix(code, "4.") {
			code = "4.0.0"
		}
		out[e.Offset] = deliver.Reply{Status: dsn.Status{Code: code, Text: e.Reason}, DiagType: e.DiagType,
			DiagText: e.DiagText, MTAType: e.MTAType, MTAName: e.MTAName}
	}
	return out
}

// forcedReply is the outcome of a recipient of a force-expired message, which is not tried
// again: the reason of its last deferral when the defer log has one, else, as Postfix's qmgr
// has its retry service say, "message is administratively expired" (logged as a deferral).
func (q *qmgr) forcedReply(m *message, r *queue.Recipient, reasons map[int64]deliver.Reply) deliver.Reply {
	if rep, ok := reasons[r.Offset]; ok {
		return rep
	}
	st := dsn.Defer("4.7.0", "message is administratively expired")
	q.logDelivery(m, r, "none", st)
	return deliver.Reply{Status: st}
}

// saveCorrupt moves an unreadable queue file out of the way, as Postfix does.
func (q *qmgr) saveCorrupt(m *message) {
	if err := q.q.Move(m.id, queue.Active, queue.Corrupt); err != nil {
		q.log.Warn("%s: move to %s: %v", m.id, queue.Corrupt, err)
	} else {
		q.log.Warn("saving corrupt file \"%s\" from queue \"%s\" to queue \"%s\"", m.id, queue.Active, queue.Corrupt)
	}
	q.release(m)
}

// putBack returns a message that could not be read to the queue it came from.
func (q *qmgr) putBack(m *message) {
	if err := q.q.Move(m.id, queue.Active, m.from); err != nil {
		q.log.Warn("%s: move to %s: %v", m.id, m.from, err)
	}
	q.release(m)
}

// record stores one recipient's outcome durably: success flips R to D, a temporary failure
// appends to defer/ID, a permanent one appends to bounce/ID and then flips R to D; the
// trace log gets the outcome too when the sender asked for a report (see trace). The last
// answer finishes the message.
func (q *qmgr) record(m *message, r *queue.Recipient, rep deliver.Reply) {
	// An agent applies soft_bounce itself (it logs the outcome); this covers the rest.
	rep.Status = q.soft(rep.Status)
	switch rep.Status.Class() {
	case '2':
		m.mu.Lock()
		// The last recipient of a message that is about to be removed needs no D record:
		// removing the file is its record (saves one fsync per single-recipient message).
		last := m.pending == 1 && len(m.deferred) == 0 && m.bounced == 0 && !m.keep
		m.mu.Unlock()
		if !last {
			if err := queue.MarkDone(m.path, r.Offset); err != nil {
				q.log.Warn("%s: mark recipient done: %v", m.id, err)
				m.mu.Lock()
				m.keep = true
				m.mu.Unlock()
			}
		}
	case '5':
		m.mu.Lock()
		err := q.appendLog(queue.Bounce, m, r, rep, "failed")
		m.mu.Unlock()
		if err != nil {
			q.log.Warn("%s: append bounce log: %v", m.id, err)
			rep = deliver.Reply{Status: dsn.Defer("4.3.0", "bounce or trace service failure")}
			q.recordDefer(m, r, rep)
			break
		}
		if err := queue.MarkDone(m.path, r.Offset); err != nil {
			q.log.Warn("%s: mark recipient done: %v", m.id, err)
			m.mu.Lock()
			m.keep = true
			m.mu.Unlock()
		}
		m.mu.Lock()
		m.bounced++
		m.mu.Unlock()
	default:
		q.recordDefer(m, r, rep)
	}
	q.trace(m, r, rep)
	m.mu.Lock()
	m.pending--
	fin := m.pending == 0
	m.mu.Unlock()
	if fin {
		q.finish(m)
	}
}

// soft applies soft_bounce to an outcome.
func (q *qmgr) soft(st dsn.Status) dsn.Status {
	if q.softBounce {
		return st.SoftBounce()
	}
	return st
}

// recordDefer appends a defer log entry and remembers the recipient for expiry.
func (q *qmgr) recordDefer(m *message, r *queue.Recipient, rep deliver.Reply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := q.appendLog(queue.Defer, m, r, rep, "delayed"); err != nil {
		// The recipient stays an R record, so it is retried anyway; only mailq's reason
		// is lost.
		q.log.Warn("%s: append defer log: %v", m.id, err)
	}
	m.deferred = append(m.deferred, outcome{rcpt: *r, reply: rep})
}

// errorStatus turns an error transport's next hop ("5.1.1 User unknown", "4.3.0 ...", or plain
// text) into a status, as Postfix's error(8) agent does; plain text bounces with 5.0.0.
func errorStatus(text string) dsn.Status {
	text = strings.TrimSpace(text)
	if f := strings.Fields(text); len(f) > 0 && len(f[0]) >= 5 && (f[0][0] == '4' || f[0][0] == '5') && f[0][1] == '.' {
		return dsn.Status{Code: f[0], Text: strings.TrimSpace(strings.TrimPrefix(text, f[0]))}
	}
	if text == "" {
		text = "mail delivery disabled"
	}
	return dsn.Status{Code: "5.0.0", Text: text}
}
