package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// request is one delivery request from qmgr (docs/DESIGN.md, "delivery request"), plus
// nexthop. qmgr sends one recipient per request; repeated recipient/orig_recipient
// attributes are taken as several recipients of one transaction, paired by position.
type request struct {
	QueueName, QueueID string
	Offset             int64
	Arrival, Active    time.Time
	Sender             string
	Nexthop            string
	Rcpts              []*rcpt
}

// rcpt is one recipient and, once tried, its outcome.
type rcpt struct {
	Addr, Orig string
	st         result
}

// maxAddress bounds addresses taken from a request; longer ones are refused.
const maxAddress = 2048

// maxRcpts bounds the recipients of one request.
const maxRcpts = 1000

func parseRequest(a ipc.Attrs) (*request, error) {
	r := &request{
		QueueName: a.Get("queue_name"),
		QueueID:   a.Get("queue_id"),
		Sender:    a.Get("sender"),
		Nexthop:   strings.TrimSpace(a.Get("nexthop")),
	}
	// Only the active queue is ever delivered from, and the ID must be a bare queue file
	// name: the request never names a path.
	if r.QueueName != queue.Active {
		return nil, fmt.Errorf("bad queue_name %q", printable(trunc(r.QueueName)))
	}
	if !queue.ValidID(r.QueueID) {
		return nil, fmt.Errorf("bad queue_id %q", printable(trunc(r.QueueID)))
	}
	off, err := strconv.ParseInt(a.Get("content_offset"), 10, 64)
	if err != nil || off <= 0 {
		return nil, fmt.Errorf("bad content_offset %q", printable(trunc(a.Get("content_offset"))))
	}
	r.Offset = off
	var origs []string
	for _, at := range a {
		switch at.Name {
		case "recipient":
			r.Rcpts = append(r.Rcpts, &rcpt{Addr: at.Value})
		case "orig_recipient":
			origs = append(origs, at.Value)
		}
	}
	if len(r.Rcpts) == 0 {
		return nil, errors.New("no recipient")
	}
	if len(r.Rcpts) > maxRcpts {
		return nil, fmt.Errorf("%d recipients", len(r.Rcpts))
	}
	for i, rc := range r.Rcpts {
		if rc.Addr == "" || len(rc.Addr) > maxAddress || badAddress(rc.Addr) {
			return nil, fmt.Errorf("bad recipient %q", printable(trunc(rc.Addr)))
		}
		if i < len(origs) {
			rc.Orig = origs[i]
		}
	}
	if len(r.Sender) > maxAddress || badAddress(r.Sender) {
		return nil, fmt.Errorf("bad sender %q", printable(trunc(r.Sender)))
	}
	r.Arrival = parseTime(a.Get("arrival_time"))
	r.Active = parseTime(a.Get("active_time"))
	return r, nil
}

// badAddress tells whether an envelope address would break the SMTP command it goes into:
// control characters and angle brackets cannot be sent in MAIL FROM or RCPT TO.
func badAddress(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '<' || c == '>' {
			return true
		}
	}
	return false
}

func trunc(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}

// parseTime reads "seconds[.fraction]"; anything else is the zero time.
func parseTime(v string) time.Time {
	if v == "" || len(v) > 32 {
		return time.Time{}
	}
	sec, frac, _ := strings.Cut(v, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || s < 0 {
		return time.Time{}
	}
	var ns int64
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		n, err := strconv.ParseInt(frac, 10, 64)
		if err != nil || n < 0 {
			return time.Time{}
		}
		for i := len(frac); i < 9; i++ {
			n *= 10
		}
		ns = n
	}
	return time.Unix(s, ns)
}

// printable replaces control characters with '_', so that nothing taken from a request or
// a remote server can break a log line.
func printable(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			b[i] = '_'
		}
	}
	return string(b)
}
