package queue

import (
	"errors"
	"fmt"
)

// A maildrop file is what sendmail hands to postdrop and postdrop leaves in maildrop/ for
// pickup:
//
//	T (postdrop's time)  A...  [F]  S  ([A notify_flags] R)...  M  N/L...  X  ([A] R)...  E
//
// postdrop and pickup check the same subset with MaildropCheck, so records a user writes to
// postdrop by hand, or a file dropped into maildrop without postdrop, can carry nothing past
// pickup that sendmail could not have produced.

// MaildropAttr tells whether a local submission may carry the attribute name=value: the DSN
// and encoding attributes and the rewrite context, as Postfix's postdrop allows.
func MaildropAttr(name, value string) bool {
	switch name {
	case "rewrite_context":
		return value == "local" || value == "remote"
	case "encoding":
		return value == "" || value == "7bit" || value == "8bit"
	case "envelope_id", "dsn_orig_rcpt":
		return len(value) <= 1000
	case "notify_flags", "ret_flags", "trace_flags":
		if value == "" || len(value) > 6 {
			return false
		}
		for i := 0; i < len(value); i++ {
			if value[i] < '0' || value[i] > '9' {
				return false
			}
		}
		return true
	}
	return false
}

// MaildropCheck validates a maildrop record stream one record at a time.
type MaildropCheck struct {
	// Time allows the T record in the envelope: postdrop writes it itself and refuses it
	// from its client; pickup accepts it.
	Time bool

	seg     int // 0 envelope, 1 content, 2 extracted, 3 after E
	senders int
	rcpts   int
	times   int
}

// ErrMaildrop is wrapped by every MaildropCheck error.
var ErrMaildrop = errors.New("maildrop")

func recName(typ byte) string {
	if typ > ' ' && typ < 0x7f {
		return string(typ)
	}
	return fmt.Sprintf("%d", typ)
}

// Check validates the next record. skip is true for an attribute outside MaildropAttr (the
// caller drops it, with a warning); err is set for a record that may not appear there.
func (c *MaildropCheck) Check(typ byte, data []byte) (skip bool, err error) {
	bad := func() (bool, error) {
		return false, fmt.Errorf("%w: unexpected record type: %s", ErrMaildrop, recName(typ))
	}
	switch c.seg {
	case 0:
		switch typ {
		case RecTime:
			if !c.Time || c.times > 0 {
				return bad()
			}
			c.times++
		case RecAttr:
			return c.attr(data)
		case RecFullName:
		case RecSender:
			if c.senders > 0 {
				return false, fmt.Errorf("%w: multiple sender records", ErrMaildrop)
			}
			c.senders++
		case RecRcpt:
			c.rcpts++
		case RecMesg:
			c.seg = 1
		default:
			return bad()
		}
	case 1:
		switch typ {
		case RecNorm, RecCont:
		case RecXtra:
			c.seg = 2
		default:
			return bad()
		}
	case 2:
		switch typ {
		case RecAttr:
			return c.attr(data)
		case RecRcpt:
			c.rcpts++
		case RecEnd:
			c.seg = 3
		default:
			return bad()
		}
	default:
		return false, fmt.Errorf("%w: data after end record", ErrMaildrop)
	}
	return false, nil
}

func (c *MaildropCheck) attr(data []byte) (bool, error) {
	name, value, ok := cut(data)
	if !ok || name == "" {
		return false, fmt.Errorf("%w: malformed attribute record", ErrMaildrop)
	}
	return !MaildropAttr(name, value), nil
}

func cut(b []byte) (string, string, bool) {
	for i, c := range b {
		if c == '=' {
			return string(b[:i]), string(b[i+1:]), true
		}
	}
	return string(b), "", false
}

// Complete tells whether the end record was seen.
func (c *MaildropCheck) Complete() bool { return c.seg == 3 }

// Finish reports what a complete stream still lacks: the end record, a sender, a recipient.
func (c *MaildropCheck) Finish() error {
	switch {
	case c.seg != 3:
		return fmt.Errorf("%w: no end record", ErrMaildrop)
	case c.senders == 0:
		return fmt.Errorf("%w: no sender record", ErrMaildrop)
	case c.rcpts == 0:
		return fmt.Errorf("%w: no recipient records", ErrMaildrop)
	}
	return nil
}
