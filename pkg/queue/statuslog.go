package queue

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// LogEntry is one recipient's record in a per-message status log (bounce/ID, defer/ID,
// trace/ID), as qmgr appends them (postfix-behaviour.md §3.7).
type LogEntry struct {
	Recipient string // "" for the null address (written as "<>")
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

// ReadLog parses a status log: entries are blocks of name=value lines between empty lines.
// Lines without '=' or starting with '<' (the legacy "<rcpt>: reason" line written while
// backwards_bounce_logfile_compatibility is on) and unknown names are skipped; spaces around
// '=' are allowed, as in Postfix's reader. An entry without a recipient line is dropped.
func ReadLog(r io.Reader) ([]LogEntry, error) {
	var out []LogEntry
	var cur LogEntry
	have := false
	flush := func() {
		if have && cur.Recipient != "" {
			if cur.Recipient == "<>" {
				cur.Recipient = ""
			}
			out = append(out, cur)
		}
		cur, have = LogEntry{}, false
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
			cur.Notify, _ = strconv.Atoi(value)
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
