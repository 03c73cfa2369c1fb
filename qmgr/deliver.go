package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// deliver sends one delivery request (docs/DESIGN.md "delivery request") and returns the
// agent's verdict. The agent logs the delivery line; when there is no agent answer qmgr
// logs it itself, with relay=none.
func (t *transport) deliver(j *job) dsn.Status {
	if t.dead() {
		return t.q.fail(j, dsn.Defer("4.3.0", "mail transport unavailable"))
	}
	c, err := t.conn()
	if err != nil {
		if t.markDead() {
			t.q.log.Warn("connect to transport private/%s: %s", t.name, strerror(err))
		}
		return t.q.fail(j, dsn.Defer("4.3.0", "mail transport unavailable"))
	}
	reply, err := c.Request(t.request(j), t.timeout)
	if err == nil && !reply.Has("status") {
		err = errors.New("malformed response")
	}
	if err != nil {
		// The agent died or hung mid-request (kill -9, timeout): the recipient is retried
		// next round, and the connection is useless now.
		c.Close()
		t.q.log.Warn("%s: private/%s: %v", j.m.id, t.name, err)
		return t.q.fail(j, dsn.Defer("4.3.0", "delivery temporarily suspended: unknown mail transport error"))
	}
	t.putConn(c)
	return replyStatus(reply)
}

// replyStatus maps status=0/4/5, dsn=, reason= to a Status; an unknown status counts as a
// temporary failure.
func replyStatus(a ipc.Attrs) dsn.Status {
	code := a.Get("dsn")
	reason := a.Get("reason")
	switch a.Get("status") {
	case "0":
		if code == "" || code[0] != '2' {
			code = "2.0.0"
		}
	case "5":
		if code == "" || code[0] != '5' {
			code = "5.0.0"
		}
	default:
		if code == "" || code[0] != '4' {
			code = "4.0.0"
		}
		if reason == "" {
			reason = "unknown mail transport error"
		}
	}
	return dsn.Status{Code: code, Text: reason}
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
	return ipc.Attrs{
		{Name: "queue_name", Value: queue.Active},
		{Name: "queue_id", Value: m.id},
		{Name: "content_offset", Value: strconv.FormatInt(env.DataOffset, 10)},
		{Name: "arrival_time", Value: unixMicro(env.Arrival)},
		{Name: "active_time", Value: unixMicro(m.activeTime)},
		{Name: "sender", Value: env.Sender},
		{Name: "recipient", Value: r.Addr},
		{Name: "orig_recipient", Value: r.Orig},
		{Name: "rcpt_offset", Value: strconv.FormatInt(r.Offset, 10)},
		{Name: "notify_flags", Value: notify},
		{Name: "dsn_orig_rcpt", Value: r.DSNOrig},
		{Name: "client_name", Value: attr("client_name", "log_client_name")},
		{Name: "client_address", Value: attr("client_address", "log_client_address")},
		{Name: "client_protocol", Value: attr("protocol_name", "log_protocol_name")},
		{Name: "client_helo", Value: attr("helo_name", "log_helo_name")},
		{Name: "sasl_method", Value: env.Attrs["sasl_method"]},
		{Name: "sasl_username", Value: env.Attrs["sasl_username"]},
		{Name: "sasl_sender", Value: env.Attrs["sasl_sender"]},
		{Name: "nexthop", Value: j.route.nexthop},
	}
}

func unixMicro(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// fail logs a delivery line for an attempt that got no answer from an agent.
func (q *qmgr) fail(j *job, st dsn.Status) dsn.Status {
	q.logDelivery(j.m, j.rcpt, "none", st)
	return st
}

// logDelivery logs `ID: to=<r>, [orig_to=<o>, ]relay=R, delay=D, delays=a/b/c/d, dsn=X,
// status=S (text)` in the order pflogsumm's regex requires.
func (q *qmgr) logDelivery(m *message, r *queue.Recipient, relay string, st dsn.Status) {
	now := q.now()
	arrival := m.env.Arrival
	var b strings.Builder
	fmt.Fprintf(&b, "%s: to=<%s>, ", m.id, r.Addr)
	if r.Orig != "" && !strings.EqualFold(r.Orig, r.Addr) {
		fmt.Fprintf(&b, "orig_to=<%s>, ", r.Orig)
	}
	fmt.Fprintf(&b, "relay=%s, delay=%s, delays=%s/%s/0/0, dsn=%s, status=%s (%s)",
		relay, maillog.FormatDelay(now.Sub(arrival)),
		maillog.FormatDelay(m.activeTime.Sub(arrival)), maillog.FormatDelay(now.Sub(m.activeTime)),
		st.Code, st.Word(), st.Text)
	q.log.Info("%s", b.String())
}

// strerror renders a dial error as Postfix's %m: "No such file or directory".
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}
