package deliver

import (
	"strconv"
	"strings"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/maillog"
	"postern/pkg/printable"
)

// Delays are the times of one delivery line: delay= and delays=a/b/c/d.
type Delays struct {
	Total    time.Duration // arrival to the end of this delivery
	Before   time.Duration // a: arrival to the active queue (before qmgr)
	InQmgr   time.Duration // b: active queue to the start of this delivery
	Setup    time.Duration // c: connection setup (DNS, connect, greeting, EHLO, TLS); 0 for local
	Transfer time.Duration // d: this delivery
}

// Span computes the delays of a delivery that started at start, had its connection ready at
// ready and ended at end, for a message that arrived and became active at the request's times.
// A missing or inconsistent arrival or active time counts as start, a missing or inconsistent
// ready time as end, so that no figure is negative or counts time twice.
func Span(arrival, active, start, ready, end time.Time) Delays {
	if arrival.IsZero() || arrival.After(start) {
		arrival = start
	}
	if active.IsZero() || active.Before(arrival) || active.After(start) {
		active = start
	}
	if ready.IsZero() || ready.Before(start) || ready.After(end) {
		ready = end
	}
	return Delays{Total: end.Sub(arrival), Before: active.Sub(arrival), InQmgr: start.Sub(active),
		Setup: ready.Sub(start), Transfer: end.Sub(ready)}
}

// LogLine is the one line per recipient that pflogsumm and admins parse
// (postfix-behaviour.md §10.2); the field order is fixed:
//
//	ID: to=<R>, [orig_to=<O>, ]relay=RELAY, [conn_use=N, ]delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (TEXT)
//
// orig_to appears only when it differs case-insensitively from to, conn_use only when the
// connection was used before; an empty relay is "none". Addresses and the text are made
// [Printable].
func LogLine(id string, rc Recipient, relay string, connUse int, d Delays, st dsn.Status) string {
	var b strings.Builder
	b.WriteString(id)
	b.WriteString(": to=<")
	b.WriteString(printable.Except(rc.Addr, '_', "\t"))
	b.WriteString(">")
	if rc.Orig != "" && !strings.EqualFold(rc.Orig, rc.Addr) {
		b.WriteString(", orig_to=<")
		b.WriteString(printable.Except(rc.Orig, '_', "\t"))
		b.WriteString(">")
	}
	if relay == "" {
		relay = "none"
	}
	b.WriteString(", relay=")
	b.WriteString(relay)
	if connUse > 1 {
		b.WriteString(", conn_use=")
		b.WriteString(strconv.Itoa(connUse))
	}
	b.WriteString(", delay=")
	b.WriteString(maillog.FormatDelay(d.Total))
	b.WriteString(", delays=")
	b.WriteString(maillog.FormatDelay(d.Before))
	b.WriteByte('/')
	b.WriteString(maillog.FormatDelay(d.InQmgr))
	b.WriteByte('/')
	b.WriteString(maillog.FormatDelay(d.Setup))
	b.WriteByte('/')
	b.WriteString(maillog.FormatDelay(d.Transfer))
	b.WriteString(", dsn=")
	b.WriteString(st.Code)
	b.WriteString(", status=")
	b.WriteString(st.Word())
	b.WriteString(" (")
	b.WriteString(printable.Except(st.Text, '_', "\t"))
	b.WriteString(")")
	return b.String()
}
