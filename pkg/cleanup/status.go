package cleanup

import (
	"fmt"
	"strconv"

	"postern/pkg/ipc"
)

// Status classes, as Postfix's CLEANUP_STAT_*: cleanup ORs them while it reads a stream
// and answers with the first one set, in Details order.
const (
	StatDefer = 1 << iota // alias expansion limits: the text is the whole reply
	StatBad               // protocol error
	StatRcpt              // no recipients
	StatHops              // too many Received: headers
	StatSize              // message_size_limit
	StatWrite             // queue file write error
)

// Detail is one status class's reply, as Postfix's CLEANUP_STAT_DETAIL.
type Detail struct {
	Stat int
	Code int    // SMTP reply code
	DSN  string // RFC 3463 status
	Text string // cleanup_strerror
}

// Details is the table in precedence order.
var Details = []Detail{
	{StatDefer, 451, "4.6.0", "Alias expansion error"},
	{StatBad, 451, "4.3.0", "internal protocol error"},
	{StatRcpt, 550, "5.1.0", "no recipients specified"},
	{StatHops, 554, "5.4.0", "too many hops"},
	{StatSize, 552, "5.3.4", "message file too big"},
	{StatWrite, 451, "4.3.0", "queue file write error"},
}

// StatDetail returns the detail of the first class set in stat, as cleanup_stat_detail.
// It is false for 0 (success) or for no known class.
func StatDetail(stat int) (Detail, bool) {
	for _, d := range Details {
		if stat&d.Stat != 0 {
			return d, true
		}
	}
	return Detail{}, false
}

// Strerror is cleanup_strerror: the text of stat's first class ("success" for 0).
func Strerror(stat int) string {
	if stat == 0 {
		return "success"
	}
	if d, ok := StatDetail(stat); ok {
		return d.Text
	}
	return "unknown cleanup error"
}

// Names of the protocol's attributes.
const (
	AttrQueueID  = "queue_id"
	AttrStatus   = "status"
	AttrDSN      = "dsn"
	AttrReason   = "reason"
	AttrVerbatim = "reason_verbatim"

	// Per-recipient attributes: they precede the O/R pair they belong to.
	AttrNotify  = "notify_flags"  // DSN NOTIFY bits
	AttrDSNOrig = "dsn_orig_rcpt" // DSN ORCPT, "type;address"
)

// Reply is cleanup's final answer: status 0 and the queue ID when stat is 0, else the code,
// DSN and text of stat's first class.
func Reply(stat int, id string) ipc.Attrs {
	d, ok := StatDetail(stat)
	if !ok {
		return ipc.Attrs{{Name: AttrStatus, Value: "0"}, {Name: AttrQueueID, Value: id}}
	}
	a := ipc.Attrs{{Name: AttrStatus, Value: strconv.Itoa(d.Code)}, {Name: AttrDSN, Value: d.DSN},
		{Name: AttrReason, Value: d.Text}}
	if d.Stat == StatDefer {
		// As Postfix's smtpd for CLEANUP_STAT_DEFER with a reason: the client shows
		// "CODE DSN REASON", without the "Error: " of the other failures.
		a = append(a, ipc.Attr{Name: AttrVerbatim, Value: "1"})
	}
	return a
}

// Error is cleanup's refusal of a message.
type Error struct {
	Code     int    // 4xx: try again later; 5xx: never
	DSN      string // e.g. 5.3.4
	Reason   string // Postfix's text, e.g. "message file too big"
	Verbatim bool   // Reason is the whole reply text
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s %s", e.Code, e.DSN, e.Reason) }

// Text is the reply text an SMTP server gives: "Error: REASON", or the reason alone when
// cleanup marked it verbatim ("Alias expansion error").
func (e *Error) Text() string {
	if e.Verbatim {
		return e.Reason
	}
	return "Error: " + e.Reason
}

// Permanent tells a 5xx refusal (the message will never be taken) from a 4xx one.
func (e *Error) Permanent() bool { return e.Code >= 500 }

// errorOf reads a non-zero status reply. A code outside 4xx/5xx becomes 451, a missing DSN
// is derived from the code and a missing reason is the write error's.
func errorOf(a ipc.Attrs) *Error {
	e := &Error{Code: int(a.Int(AttrStatus)), DSN: a.Get(AttrDSN), Reason: a.Get(AttrReason),
		Verbatim: a.Get(AttrVerbatim) == "1"}
	if e.Code < 400 || e.Code > 599 {
		e.Code = 451
	}
	if e.DSN == "" {
		e.DSN = fmt.Sprintf("%d.0.0", e.Code/100)
	}
	if e.Reason == "" {
		e.Reason = Strerror(StatWrite)
	}
	return e
}
