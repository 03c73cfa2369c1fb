// Package dsn holds delivery status values: the RFC 3463 enhanced status code, the human text
// Postfix logs in `status=... (text)`, and whether the failure is temporary. Delivery agents
// return a Status; qmgr records it; bounce turns failed ones into RFC 3464 reports.
package dsn

import "fmt"

// Status is the outcome of one delivery attempt for one recipient.
type Status struct {
	Code string // enhanced status code, e.g. "2.0.0", "4.2.0", "5.1.1"
	Text string // e.g. "delivered to maildir", "unknown user: \"bob\""
	// Soft marks a permanent failure that soft_bounce turned into a temporary one (see
	// SoftBounce): it is logged as status=SOFTBOUNCE.
	Soft bool
}

// SoftBounce is Postfix's soft_bounce safety net for one outcome: a permanent failure
// becomes temporary (5.X.Y becomes 4.X.Y, so the mail stays queued and no notice is sent)
// and is logged "dsn=4.X.Y, status=SOFTBOUNCE (text)". Other statuses are returned as they
// are.
func (s Status) SoftBounce() Status {
	if s.Class() != '5' {
		return s
	}
	s.Code = "4" + s.Code[1:]
	s.Soft = true
	return s
}

// Class is the first digit of the code: 2 success, 4 temporary, 5 permanent.
func (s Status) Class() byte {
	if s.Code == "" {
		return '4'
	}
	return s.Code[0]
}

// OK tells whether the delivery succeeded.
func (s Status) OK() bool { return s.Class() == '2' }

// Temporary tells whether the failure should be retried.
func (s Status) Temporary() bool { return s.Class() == '4' }

// Word is the log status: sent, deferred, bounced, or SOFTBOUNCE.
func (s Status) Word() string {
	if s.Soft {
		return "SOFTBOUNCE"
	}
	switch s.Class() {
	case '2':
		return "sent"
	case '5':
		return "bounced"
	}
	return "deferred"
}

func (s Status) Error() string { return s.Code + " " + s.Text }

// Sent, Defer and Bounce build statuses.
func Sent(code, format string, a ...any) Status {
	return Status{Code: code, Text: fmt.Sprintf(format, a...)}
}

// Defer builds a temporary failure.
func Defer(code, format string, a ...any) Status {
	return Status{Code: code, Text: fmt.Sprintf(format, a...)}
}

// Bounce builds a permanent failure.
func Bounce(code, format string, a ...any) Status {
	return Status{Code: code, Text: fmt.Sprintf(format, a...)}
}

// Sysexits maps a command's exit status to a status as Postfix's local(8) does for
// mailbox_command and |command deliveries.
func Sysexits(code int) (Status, bool) {
	m := map[int]Status{
		64: {Code: "5.3.0", Text: "command line usage error"}, 65: {Code: "5.6.0", Text: "data format error"},
		66: {Code: "5.3.0", Text: "cannot open input"}, 67: {Code: "5.1.1", Text: "user unknown"},
		68: {Code: "5.1.2", Text: "host name unknown"}, 69: {Code: "5.3.0", Text: "service unavailable"},
		70: {Code: "5.3.0", Text: "internal software error"}, 71: {Code: "4.3.0", Text: "system resource problem"},
		72: {Code: "5.3.0", Text: "critical OS file missing"}, 73: {Code: "5.2.0", Text: "can't create user output file"},
		74: {Code: "5.3.0", Text: "input/output error"}, 75: {Code: "4.3.0", Text: "temporary failure"},
		76: {Code: "5.5.0", Text: "remote error in protocol"}, 77: {Code: "5.7.0", Text: "permission denied"},
		78: {Code: "5.3.5", Text: "local configuration error"},
	}
	s, ok := m[code]
	return s, ok
}
