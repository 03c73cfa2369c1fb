package deliver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

// Request is one delivery request (see the package comment for its attributes).
type Request struct {
	QueueName, QueueID string
	Offset             int64 // content_offset
	Arrival, Active    time.Time
	Sender             string
	Rcpts              []Recipient // at least one; qmgr sends exactly one
	ClientName         string
	ClientAddr         string
	ClientProto        string
	ClientHelo         string
	SASLMethod         string
	SASLUser           string
	SASLSender         string
	Nexthop            string
}

// Recipient is one recipient block of a request.
type Recipient struct {
	Addr, Orig  string
	Offset      int64  // rcpt_offset: the recipient's record in the queue file
	NotifyFlags string // notify_flags
	DSNOrig     string // dsn_orig_rcpt
}

// MaxRcpts bounds the recipients of one request.
const MaxRcpts = 1000

// Parse reads and validates a request. Only the active queue is ever delivered from and the
// ID must be a bare queue file name, so that a request can never name a path; the content
// offset must be positive and there must be at least one, non-empty, recipient. Limits that
// depend on the agent (address length, characters an SMTP command cannot carry) are the
// agent's to check.
func Parse(a ipc.Attrs) (*Request, error) {
	r := &Request{
		QueueName:   a.Get("queue_name"),
		QueueID:     a.Get("queue_id"),
		Sender:      a.Get("sender"),
		ClientName:  a.Get("client_name"),
		ClientAddr:  a.Get("client_address"),
		ClientProto: a.Get("client_protocol"),
		ClientHelo:  a.Get("client_helo"),
		SASLMethod:  a.Get("sasl_method"),
		SASLUser:    a.Get("sasl_username"),
		SASLSender:  a.Get("sasl_sender"),
		Nexthop:     strings.TrimSpace(a.Get("nexthop")),
	}
	if r.QueueName != queue.Active {
		return nil, fmt.Errorf("bad queue_name %q", printable.Except(printable.Trunc(r.QueueName, 100), '_', "\t"))
	}
	if !queue.ValidID(r.QueueID) {
		return nil, fmt.Errorf("bad queue_id %q", printable.Except(printable.Trunc(r.QueueID, 100), '_', "\t"))
	}
	off, err := strconv.ParseInt(a.Get("content_offset"), 10, 64)
	if err != nil || off <= 0 {
		return nil, fmt.Errorf("bad content_offset %q", printable.Except(printable.Trunc(a.Get("content_offset"), 100), '_', "\t"))
	}
	r.Offset = off

	// The per-recipient attributes pair with the recipients by position.
	var origs, offsets, notify, dsnOrig []string
	for _, at := range a {
		switch at.Name {
		case "recipient":
			r.Rcpts = append(r.Rcpts, Recipient{Addr: at.Value})
		case "orig_recipient":
			origs = append(origs, at.Value)
		case "rcpt_offset":
			offsets = append(offsets, at.Value)
		case "notify_flags":
			notify = append(notify, at.Value)
		case "dsn_orig_rcpt":
			dsnOrig = append(dsnOrig, at.Value)
		}
	}
	if len(r.Rcpts) == 0 {
		return nil, errors.New("no recipient")
	}
	if len(r.Rcpts) > MaxRcpts {
		return nil, fmt.Errorf("%d recipients", len(r.Rcpts))
	}
	for i := range r.Rcpts {
		rc := &r.Rcpts[i]
		if rc.Addr == "" {
			return nil, errors.New(`bad recipient ""`)
		}
		rc.Orig = nth(origs, i)
		rc.Offset, _ = strconv.ParseInt(nth(offsets, i), 10, 64)
		rc.NotifyFlags = nth(notify, i)
		rc.DSNOrig = nth(dsnOrig, i)
	}
	r.Arrival = ParseTime(a.Get("arrival_time"))
	r.Active = ParseTime(a.Get("active_time"))
	return r, nil
}

func nth(list []string, i int) string {
	if i < len(list) {
		return list[i]
	}
	return ""
}

// Attrs is the request as qmgr sends it, every attribute present (empty when unset), one
// recipient block per recipient.
func (r *Request) Attrs() ipc.Attrs {
	a := ipc.Attrs{
		{Name: "queue_name", Value: r.QueueName},
		{Name: "queue_id", Value: r.QueueID},
		{Name: "content_offset", Value: strconv.FormatInt(r.Offset, 10)},
		{Name: "arrival_time", Value: FormatTime(r.Arrival)},
		{Name: "active_time", Value: FormatTime(r.Active)},
		{Name: "sender", Value: r.Sender},
	}
	for _, rc := range r.Rcpts {
		a = append(a,
			ipc.Attr{Name: "recipient", Value: rc.Addr},
			ipc.Attr{Name: "orig_recipient", Value: rc.Orig},
			ipc.Attr{Name: "rcpt_offset", Value: strconv.FormatInt(rc.Offset, 10)},
			ipc.Attr{Name: "notify_flags", Value: rc.NotifyFlags},
			ipc.Attr{Name: "dsn_orig_rcpt", Value: rc.DSNOrig})
	}
	return append(a,
		ipc.Attr{Name: "client_name", Value: r.ClientName},
		ipc.Attr{Name: "client_address", Value: r.ClientAddr},
		ipc.Attr{Name: "client_protocol", Value: r.ClientProto},
		ipc.Attr{Name: "client_helo", Value: r.ClientHelo},
		ipc.Attr{Name: "sasl_method", Value: r.SASLMethod},
		ipc.Attr{Name: "sasl_username", Value: r.SASLUser},
		ipc.Attr{Name: "sasl_sender", Value: r.SASLSender},
		ipc.Attr{Name: "nexthop", Value: r.Nexthop})
}
