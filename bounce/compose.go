package main

import (
	"fmt"
	"strings"
	"time"

	"postern/pkg/printable"
	"postern/pkg/queue"
)

// notice is one delivery status notification to be composed (postfix-behaviour.md §7.2).
type notice struct {
	kind       kind
	postmaster bool // a postmaster copy or double bounce: no template text
	hostname   string
	mailName   string // mail_name, for X-Postfix-* and X-Postfix; diagnostic codes
	from       string // From: header value
	to         string // the notice's recipient, for To:
	queueID    string // of the original message
	sender     string // the original envelope sender
	envid      string // DSN ENVID of the original, if any
	arrival    time.Time
	now        time.Time
	warnTime   time.Duration // delay_warning_time (delay template)
	lifetime   time.Duration // maximal_queue_lifetime (delay template, Will-Retry-Until)

	entries    []queue.LogEntry // nil: the log could not be read
	haveLog    bool
	original   []string // returned lines without newlines; nil: unavailable
	headerOnly bool     // original holds only the header block
	origMsgID  string   // Message-Id of the original, for References/In-Reply-To
}

// compose renders the notice as message lines (without newlines), the form cleanup takes:
// the header Postfix's bounce writes, then a multipart/report body whose parts are the
// human-readable notification, the message/delivery-status report and the returned message
// or its headers. cleanup adds Message-Id and Date (local rewrite context).
func (n *notice) compose() []string {
	t := templates[n.kind]
	boundary := fmt.Sprintf("%s.%d/%s", n.queueID, n.now.Unix(), n.hostname)
	eight := n.eightBit()
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }

	subject := t.subject
	if n.postmaster {
		subject = t.postmasterSubject
	}
	add("From: %s", n.from)
	add("Subject: %s", subject)
	add("To: %s", quoteAddr(n.to))
	if n.origMsgID != "" {
		add("References: %s", n.origMsgID)
		add("In-Reply-To: %s", n.origMsgID)
	}
	if n.postmaster {
		add("Auto-Submitted: auto-generated")
	} else {
		add("Auto-Submitted: auto-replied")
	}
	add("MIME-Version: 1.0")
	add("Content-Type: multipart/report; report-type=delivery-status;")
	add("\tboundary=\"%s\"", boundary)
	if eight {
		add("Content-Transfer-Encoding: 8bit")
	} else {
		add("Content-Transfer-Encoding: 7bit")
	}
	add("")
	add("This is a MIME-encapsulated message.")
	add("")

	// Part 1: what a person reads.
	add("--%s", boundary)
	add("Content-Description: Notification")
	add("Content-Type: text/plain; charset=us-ascii")
	add("")
	if !n.postmaster {
		out = append(out, expandBody(t.body, n.hostname, n.warnTime, n.lifetime)...)
	}
	if !n.haveLog {
		add("")
		add("\t--- Delivery report unavailable ---")
	}
	for _, e := range n.entries {
		var s string
		if e.Original != "" && !strings.EqualFold(e.Original, e.Recipient) {
			s = fmt.Sprintf("<%s> (expanded from <%s>): %s", e.Recipient, e.Original, e.Reason)
		} else {
			s = fmt.Sprintf("<%s>: %s", e.Recipient, e.Reason)
		}
		add("")
		out = append(out, wrap(printable.ASCII(s, '?'), 79, 4)...)
	}
	add("")

	// Part 2: the machine-readable report (RFC 3464).
	add("--%s", boundary)
	add("Content-Description: Delivery report")
	add("Content-Type: message/delivery-status")
	add("")
	add("Reporting-MTA: dns; %s", n.hostname)
	if n.envid != "" {
		add("Original-Envelope-Id: %s", printable.ASCII(n.envid, '?'))
	}
	add("X-%s-Queue-ID: %s", n.mailName, n.queueID)
	add("X-%s-Sender: rfc822; %s", n.mailName, printable.ASCII(n.sender, '?'))
	if !n.arrival.IsZero() {
		add("Arrival-Date: %s", mailDate(n.arrival))
	}
	for _, e := range n.entries {
		add("")
		add("Final-Recipient: rfc822; %s", printable.ASCII(e.Recipient, '?'))
		switch {
		case e.DSNOrig != "":
			if typ, a, ok := strings.Cut(e.DSNOrig, ";"); ok {
				add("Original-Recipient: %s;%s", printable.ASCII(typ, '?'), printable.ASCII(a, '?'))
			}
		case e.Original != "":
			add("Original-Recipient: rfc822; %s", printable.ASCII(e.Original, '?'))
		}
		// A report says what the log says: delivered, relayed, or for sendmail -v also
		// failed or delayed.
		action := e.Action
		switch n.kind {
		case failure:
			action = "failed"
		case delay:
			action = "delayed"
		default:
			if action == "" {
				action = "delivered"
			}
		}
		add("Action: %s", action)
		add("Status: %s", statusCode(e.Status, n.kind))
		if e.MTAType != "" && e.MTAName != "" {
			add("Remote-MTA: %s; %s", printable.ASCII(e.MTAType, '?'), printable.ASCII(e.MTAName, '?'))
		}
		if e.DiagType != "" && e.DiagText != "" {
			add("Diagnostic-Code: %s; %s", printable.ASCII(e.DiagType, '?'), printable.ASCII(e.DiagText, '?'))
		} else if e.Reason != "" {
			add("Diagnostic-Code: X-%s; %s", n.mailName, printable.ASCII(e.Reason, '?'))
		}
		if n.kind == delay && !n.arrival.IsZero() {
			add("Will-Retry-Until: %s", mailDate(n.arrival.Add(n.lifetime)))
		}
	}
	add("")

	// Part 3: the returned message, or its headers.
	add("--%s", boundary)
	undelivered := ""
	if n.kind.undelivered() {
		undelivered = "Undelivered "
	}
	if n.original == nil {
		add("Content-Description: %sMessage", undelivered)
		add("Content-Type: text/plain; charset=us-ascii")
		add("")
		add("\t--- Undelivered message unavailable ---")
	} else {
		if n.headerOnly {
			add("Content-Description: %sMessage Headers", undelivered)
			add("Content-Type: text/rfc822-headers")
		} else {
			add("Content-Description: %sMessage", undelivered)
			add("Content-Type: message/rfc822")
		}
		if eight {
			add("Content-Transfer-Encoding: 8bit")
		}
		add("")
		// cleanup removed the original Return-Path:; the envelope sender goes back in, as
		// Postfix's bounce does, so the returned copy says where it came from.
		add("Return-Path: <%s>", n.sender)
		out = append(out, n.original...)
	}
	add("")
	add("--%s--", boundary)
	return out
}

// eightBit tells whether the returned text needs Content-Transfer-Encoding: 8bit.
func (n *notice) eightBit() bool {
	for _, l := range n.original {
		for i := 0; i < len(l); i++ {
			if l[i] >= 0x80 {
				return true
			}
		}
	}
	return false
}

// statusCode is the DSN Status: a failure notice made from deferred recipients on expiry
// keeps their 4.x.y code, as Postfix's does; a missing code gets the class default.
func statusCode(code string, k kind) string {
	if code != "" {
		return code
	}
	switch k {
	case delay:
		return "4.0.0"
	case success:
		return "2.0.0"
	}
	return "5.0.0"
}

// mailDate is Postfix's mail_date(): local time, space-padded day, zone name in parentheses.
func mailDate(t time.Time) string {
	return t.Local().Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// wrap breaks s at spaces into lines of at most width columns (a longer word stays whole);
// continuation lines are indented, as Postfix's line_wrap() does.
func wrap(s string, width, indent int) []string {
	var out []string
	pad := strings.Repeat(" ", indent)
	cur := ""
	for len(s) > 0 {
		limit := width
		if len(out) > 0 {
			limit = width - indent
		}
		if len(s) <= limit {
			cur = s
			s = ""
			break
		}
		cut := strings.LastIndexByte(s[:limit+1], ' ')
		if cut <= 0 {
			// No space within the limit: break at the next one, if any.
			cut = strings.IndexByte(s, ' ')
			if cut < 0 {
				cur = s
				s = ""
				break
			}
		}
		out = append(out, s[:cut])
		s = strings.TrimLeft(s[cut:], " ")
	}
	if cur != "" || len(out) == 0 {
		out = append(out, cur)
	}
	for i := 1; i < len(out); i++ {
		out[i] = pad + out[i]
	}
	return out
}

// quoteAddr renders an address for a header: the local part is quoted when RFC 5322 needs it.
func quoteAddr(a string) string {
	i := strings.LastIndexByte(a, '@')
	local, domain := a, ""
	if i >= 0 {
		local, domain = a[:i], a[i:]
	}
	if local == "" || strings.HasPrefix(local, "\"") || !needsQuote(local) {
		return a
	}
	return "\"" + strings.NewReplacer("\\", "\\\\", "\"", "\\\"").Replace(local) + "\"" + domain
}

func needsQuote(local string) bool {
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return true
	}
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"[]", c) >= 0 {
			return true
		}
	}
	return false
}
