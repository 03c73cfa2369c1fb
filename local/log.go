package main

import (
	"time"

	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/maillog"
)

// logDelivery writes the delivery line for r (deliver.LogLine) with
// relay=local. c, connection setup, is always 0 for local; d is this
// delivery, from start to end.
func logDelivery(l *maillog.Logger, r *request, start, end time.Time, st dsn.Status) {
	rc := deliver.Recipient{Addr: r.Recipient, Orig: r.Orig}
	l.Info("%s", deliver.LogLine(r.QueueID, rc, "local", 0, deliver.Span(r.Arrival, r.Active, start, start, end), st))
}
