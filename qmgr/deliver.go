package main

import (
	"errors"
	"syscall"
	"time"

	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// deliver sends one delivery request (docs/DESIGN.md "delivery request") and returns the
// agent's verdict with its diagnostic, which the status logs keep. The agent logs the
// delivery line; when there is no agent answer qmgr logs it itself, with relay=none.
func (t *transport) deliver(j *job) deliver.Reply {
	if t.dead() {
		return t.q.fail(j, dsn.Defer("4.3.0", "mail transport unavailable"))
	}
	req := t.request(j)
	for retried := false; ; retried = true {
		var c *ipc.Conn
		reused := false
		if !retried {
			// Other pooled connections to the same agent process may be closed too: the
			// retry dials.
			c, reused = t.pooled()
		}
		if c == nil {
			var err error
			if c, err = ipc.Dial(t.socket, dialTimeout); err != nil {
				if t.markDead() {
					t.q.log.Warn("connect to transport private/%s: %s", t.name, printable.Strerror(err))
				}
				return t.q.fail(j, dsn.Defer("4.3.0", "mail transport unavailable"))
			}
		}
		rs, unread, err := t.exchange(c, req)
		if err == nil {
			t.putConn(c)
			return rs[0]
		}
		c.Close()
		if reused && unread && !retried {
			// The agent closed a pooled connection (max_idle, max_use, a restart) without
			// reading the request: nothing was delivered, so a fresh connection may try.
			continue
		}
		// The agent died or hung mid-request (kill -9, timeout): the recipient is retried
		// next round, and the connection is useless now.
		t.q.log.Warn("%s: private/%s: %v", j.m.id, t.name, err)
		return t.q.fail(j, dsn.Defer("4.3.0", "delivery temporarily suspended: unknown mail transport error"))
	}
}

// exchange sends one request and reads the reply. unread reports a failure that proves the
// agent never read the request: the write failed, or the agent's side was closed with the
// request still in its receive queue (a unix socket then reports ECONNRESET, where an agent
// that read the request and closed gives EOF). Detecting a closed pooled connection here
// costs nothing per job, where checking it before each use costs a read and two deadline
// changes.
func (t *transport) exchange(c *ipc.Conn, req ipc.Attrs) (rs []deliver.Reply, unread bool, err error) {
	// One deadline for the whole exchange; the next use of the connection sets its own.
	c.SetDeadline(time.Now().Add(t.timeout))
	if err := ipc.Write(c.Conn, req); err != nil {
		return nil, true, err
	}
	if _, err := c.R.Peek(1); err != nil {
		return nil, errors.Is(err, syscall.ECONNRESET), err
	}
	reply, err := ipc.Read(c.R)
	if err != nil {
		return nil, false, err
	}
	rs, err = deliver.ParseReplies(reply)
	return rs, false, err
}

// request builds the attribute list of one delivery request.
func (t *transport) request(j *job) ipc.Attrs {
	m, r, env := j.m, j.rcpt, j.m.env
	attr := func(name string, alt string) string {
		if v := env.Attrs[name]; v != "" {
			return v
		}
		return env.Attrs[alt]
	}
	notify := r.NotifyFlags
	if notify == "" {
		notify = "0"
	}
	dr := &deliver.Request{
		QueueName: queue.Active,
		QueueID:   m.id,
		Offset:    env.DataOffset,
		Arrival:   env.Arrival,
		Active:    m.activeTime,
		Sender:    env.Sender,
		Rcpts: []deliver.Recipient{{Addr: r.Addr, Orig: r.Orig, Offset: r.Offset,
			NotifyFlags: notify, DSNOrig: r.DSNOrig}},
		ClientName:  attr("client_name", "log_client_name"),
		ClientAddr:  attr("client_address", "log_client_address"),
		ClientProto: attr("protocol_name", "log_protocol_name"),
		ClientHelo:  attr("helo_name", "log_helo_name"),
		SASLMethod:  env.Attrs["sasl_method"],
		SASLUser:    env.Attrs["sasl_username"],
		SASLSender:  env.Attrs["sasl_sender"],
		Nexthop:     j.route.nexthop,
	}
	return dr.Attrs()
}

// fail logs a delivery line for an attempt that got no answer from an agent.
func (q *qmgr) fail(j *job, st dsn.Status) deliver.Reply {
	q.logDelivery(j.m, j.rcpt, "none", st)
	return deliver.Reply{Status: st}
}

// logDelivery logs the delivery line (deliver.LogLine) for an attempt qmgr decided itself:
// a and b are the message's time before and in qmgr, up to now; there was no connection and
// no transfer.
func (q *qmgr) logDelivery(m *message, r *queue.Recipient, relay string, st dsn.Status) {
	now := q.now()
	d := deliver.Delays{Total: now.Sub(m.env.Arrival), Before: m.activeTime.Sub(m.env.Arrival), InQmgr: now.Sub(m.activeTime)}
	q.log.Info("%s", deliver.LogLine(m.id, deliver.Recipient{Addr: r.Addr, Orig: r.Orig}, relay, 0, d, st))
}
