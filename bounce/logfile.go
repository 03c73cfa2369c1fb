package main

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// entry is one recipient's record in a bounce or defer log (postfix-behaviour.md §3.7).
type entry struct {
	Recipient string
	Original  string // original_recipient, only when it differs from Recipient
	Offset    int64
	DSNOrig   string // dsn_orig_rcpt, e.g. "rfc822;user@example.org"
	Notify    int    // notify_flags: NEVER=1 SUCCESS=2 FAILURE=4 DELAY=8, 0 = not given
	Status    string // enhanced status code
	Action    string
	DiagType  string
	DiagText  string
	MTAType   string
	MTAName   string
	Reason    string
}

// DSN NOTIFY bits as the logs and queue files store them.
const (
	notifyNever   = 1
	notifySuccess = 2
	notifyFailure = 4
	notifyDelay   = 8
)

// readLog parses a status log: entries are blocks of name=value lines between empty lines.
// Lines without '=' (the legacy "<rcpt>: reason" line written while
// backwards_bounce_logfile_compatibility is on) and unknown names are skipped; spaces around
// '=' are allowed, as Postfix's reader allows them. An entry without a recipient is dropped.
func readLog(r io.Reader) ([]entry, error) {
	var out []entry
	var cur entry
	have := false
	flush := func() {
		if have && cur.Recipient != "" {
			if cur.Recipient == "<>" {
				cur.Recipient = ""
			}
			out = append(out, cur)
		}
		cur, have = entry{}, false
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "<") {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		have = true
		switch name {
		case "recipient":
			cur.Recipient = value
		case "original_recipient":
			cur.Original = value
		case "offset":
			cur.Offset, _ = strconv.ParseInt(value, 10, 64)
		case "dsn_orig_rcpt":
			cur.DSNOrig = value
		case "notify_flags":
			n, _ := strconv.Atoi(value)
			cur.Notify = n
		case "status":
			cur.Status = value
		case "action":
			cur.Action = value
		case "diag_type":
			cur.DiagType = value
		case "diag_text":
			cur.DiagText = value
		case "mta_type":
			cur.MTAType = value
		case "mta_mname":
			cur.MTAName = value
		case "reason":
			cur.Reason = value
		}
	}
	flush()
	return out, sc.Err()
}

// wants tells whether a recipient's DSN NOTIFY setting asks for a notice of this kind;
// without NOTIFY the defaults are FAILURE and DELAY (RFC 3461).
func (e *entry) wants(bit int) bool {
	if e.Notify == 0 {
		return bit == notifyFailure || bit == notifyDelay
	}
	if e.Notify&notifyNever != 0 {
		return false
	}
	return e.Notify&bit != 0
}
