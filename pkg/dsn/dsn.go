// Package dsn holds delivery status values: the RFC 3463 enhanced status code, the human text
// Postfix logs in `status=... (text)`, and whether the failure is temporary. Delivery agents
// return a Status; qmgr records it; bounce turns failed ones into RFC 3464 reports.
package dsn

import "fmt"

// Status is the outcome of one delivery attempt for one recipient.
type Status struct {
	Code string // enhanced status code, e.g. "2.0.0", "4.2.0", "5.1.1"
	Text string // e.g. "delivered to maildir", "unknown user: \"bob\""
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

// Word is the log status: sent, deferred or bounced.
func (s Status) Word() string {
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
func Sent(code, format string, a ...any) Status { return Status{code, fmt.Sprintf(format, a...)} }

// Defer builds a temporary failure.
func Defer(code, format string, a ...any) Status { return Status{code, fmt.Sprintf(format, a...)} }

// Bounce builds a permanent failure.
func Bounce(code, format string, a ...any) Status { return Status{code, fmt.Sprintf(format, a...)} }

// Sysexits maps a command's exit status to a status as Postfix's local(8) does for
// mailbox_command and |command deliveries.
func Sysexits(code int) (Status, bool) {
	m := map[int]Status{
		64: {"5.3.0", "command line usage error"}, 65: {"5.6.0", "data format error"},
		66: {"5.3.0", "cannot open input"}, 67: {"5.1.1", "user unknown"},
		68: {"5.1.2", "host name unknown"}, 69: {"5.3.0", "service unavailable"},
		70: {"5.3.0", "internal software error"}, 71: {"4.3.0", "system resource problem"},
		72: {"5.3.0", "critical OS file missing"}, 73: {"5.2.0", "can't create user output file"},
		74: {"5.3.0", "input/output error"}, 75: {"4.3.0", "temporary failure"},
		76: {"5.5.0", "remote error in protocol"}, 77: {"5.7.0", "permission denied"},
		78: {"5.3.5", "local configuration error"},
	}
	s, ok := m[code]
	return s, ok
}
