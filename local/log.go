package main

import (
	"strings"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/maillog"
)

// logDelivery writes the one line per recipient that pflogsumm and admins
// parse (postfix-behaviour.md §10.2); the field order is fixed:
//
//	ID: to=<RCPT>, orig_to=<ORIG>, relay=local, delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=WORD (TEXT)
//
// orig_to appears only when it differs case-insensitively from to. delay is
// the time since arrival; a = arrival to active (before qmgr), b = active to
// the start of this delivery (in qmgr), c = connection setup (always 0 for
// local), d = this delivery.
func logDelivery(l *maillog.Logger, r *request, start, end time.Time, st dsn.Status) {
	var b strings.Builder
	b.WriteString(r.QueueID)
	b.WriteString(": to=<")
	b.WriteString(printable(r.Recipient))
	b.WriteString(">")
	if r.Orig != "" && !strings.EqualFold(r.Orig, r.Recipient) {
		b.WriteString(", orig_to=<")
		b.WriteString(printable(r.Orig))
		b.WriteString(">")
	}
	arrival, active := r.Arrival, r.Active
	if arrival.IsZero() || arrival.After(start) {
		arrival = start
	}
	if active.IsZero() || active.Before(arrival) || active.After(start) {
		active = start
	}
	b.WriteString(", relay=local, delay=")
	b.WriteString(maillog.FormatDelay(end.Sub(arrival)))
	b.WriteString(", delays=")
	b.WriteString(maillog.FormatDelay(active.Sub(arrival)))
	b.WriteByte('/')
	b.WriteString(maillog.FormatDelay(start.Sub(active)))
	b.WriteString("/0/")
	b.WriteString(maillog.FormatDelay(end.Sub(start)))
	b.WriteString(", dsn=")
	b.WriteString(st.Code)
	b.WriteString(", status=")
	b.WriteString(st.Word())
	b.WriteString(" (")
	b.WriteString(printable(st.Text))
	b.WriteString(")")
	l.Info("%s", b.String())
}

// printable replaces control characters with '_', so that nothing taken
// from a request or a message can break a log line or a header.
func printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}
