package main

import (
	"fmt"

	"postern/pkg/deliver"
	"postern/pkg/ipc"
	"postern/pkg/printable"
)

// request is one delivery request from qmgr (pkg/deliver). qmgr sends one recipient per
// request; repeated recipient/orig_recipient attributes are taken as several recipients of
// one transaction, paired by position.
type request struct {
	*deliver.Request
	rcpts []*rcpt // the request's Rcpts, each with its outcome
}

// rcpt is one recipient and, once tried, its outcome.
type rcpt struct {
	deliver.Recipient
	st result
}

// maxAddress bounds addresses taken from a request; longer ones are refused.
const maxAddress = 2048

// parseRequest adds to deliver.Parse what an SMTP command needs of an address.
func parseRequest(a ipc.Attrs) (*request, error) {
	dr, err := deliver.Parse(a)
	if err != nil {
		return nil, err
	}
	r := &request{Request: dr}
	for _, rc := range dr.Rcpts {
		if len(rc.Addr) > maxAddress || badAddress(rc.Addr) {
			return nil, fmt.Errorf("bad recipient %q", printable.Except(printable.Trunc(rc.Addr, 100), '_', "\t"))
		}
		r.rcpts = append(r.rcpts, &rcpt{Recipient: rc})
	}
	if len(r.Sender) > maxAddress || badAddress(r.Sender) {
		return nil, fmt.Errorf("bad sender %q", printable.Except(printable.Trunc(r.Sender, 100), '_', "\t"))
	}
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
