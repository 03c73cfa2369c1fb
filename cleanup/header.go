package main

import (
	"bytes"
	"strings"
	"time"

	"postern/pkg/header"
)

// Header processing works on the primary header block only, one header at a time: a header
// is held until the next line shows it is complete, then dropped, counted, rewritten or
// written. Nothing else of the message is held in memory.

// Headers whose presence decides what is added at the end of the block.
const (
	seenMsgID = 1 << iota
	seenDate
	seenFrom
	seenResentMsgID
	seenResentDate
	seenResentFrom
	seenResent // any Resent- header
)

// addressHeaders are canonicalised in local context (lower-case names), with the
// canonical_classes class each belongs to (Postfix's header_opts).
var addressHeaders = map[string]int{
	"from": classHdrSender, "sender": classHdrSender, "errors-to": classHdrSender,
	"return-receipt-to": classHdrSender, "resent-from": classHdrSender, "resent-sender": classHdrSender,
	"to": classHdrRcpt, "cc": classHdrRcpt, "bcc": classHdrRcpt, "reply-to": classHdrRcpt,
	"resent-to": classHdrRcpt, "resent-cc": classHdrRcpt, "resent-bcc": classHdrRcpt,
	"resent-reply-to": classHdrRcpt, "apparently-to": classHdrRcpt,
}

type headers struct {
	inBlock  bool   // still in the primary header block
	line     []byte // a line that is arriving in pieces
	skipRest bool   // drop the remaining pieces of a truncated header line
	cur      []byte // the header being collected; continuation lines joined by '\n'
	curName  int    // length of its name
	hops     int
	seen     int
	msgID    string // values for the log
	rmsgID   string
	logs     []string
}

// lower returns the lower-cased name in buf without allocating for usual names.
func lower(buf []byte, name []byte) []byte {
	buf = buf[:0]
	for _, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// content takes one content record's text; final is false for an L piece.
func (c *conn) content(data []byte, final bool) {
	if c.s.replaceCR {
		// A CR or LF inside a record would make a line of its own for readers of the
		// stored message, out of step with how the header was split here.
		for i := bytes.IndexAny(data, "\r\n"); i >= 0; i = bytes.IndexAny(data, "\r\n") {
			data[i] = ' '
		}
	}
	h := &c.hdr
	if !h.inBlock {
		c.out.write(data, final)
		return
	}
	if h.skipRest {
		h.skipRest = !final
		return
	}
	if !final && len(h.line) == 0 && len(data) > c.s.headerCap {
		// Decide on a prefix rather than hold an unbounded line.
		c.longLine(data)
		return
	}
	if !final || len(h.line) > 0 {
		h.line = append(h.line, data...)
		if !final {
			if len(h.line) > c.s.headerCap {
				c.longLine(h.line)
				h.line = h.line[:0]
			}
			return
		}
		data = h.line
	}
	c.headerLine(data)
	h.line = h.line[:0]
}

// longLine handles a header-block line that grew past what is held before deciding: a
// header is truncated there, anything else starts the body.
func (c *conn) longLine(b []byte) {
	h := &c.hdr
	if k := header.Classify(b, len(h.cur) > 0); k == header.Field || k == header.Continuation {
		c.headerLine(b[:c.s.headerCap])
		h.skipRest = true
		return
	}
	c.startBody()
	c.out.write(b, false)
}

// headerLine classifies one complete line of the header block (package postern/pkg/header
// has the rule, as Postfix's is_header()).
func (c *conn) headerLine(line []byte) {
	h := &c.hdr
	switch header.Classify(line, len(h.cur) > 0) {
	case header.Separator:
		c.endBlock()
		c.out.line(line)
	case header.Continuation:
		if room := c.s.headerLimit - len(h.cur) - 1; room > 0 {
			h.cur = append(h.cur, '\n')
			h.cur = append(h.cur, line[:min(room, len(line))]...)
		}
	case header.Field:
		c.flushHeader()
		n := header.FieldName(line)
		// The obsolete "Name : value" is stored as "Name: value", as Postfix does.
		h.cur = append(h.cur[:0], line[:n]...)
		line = line[n+bytes.IndexByte(line[n:], ':'):]
		h.cur = append(h.cur, line[:min(max(c.s.headerLimit-n, 1), len(line))]...) // keeps the ':'
		h.curName = n
	default:
		c.startBody()
		c.out.line(line)
	}
}

// startBody ends the header block at a line that is not header: the missing headers are
// added and then the empty line that the message lacked, so that the line starts the body
// (Postfix's mime_state inserts it the same way).
func (c *conn) startBody() {
	c.endBlock()
	c.out.line(nil)
}

// flushHeader finishes the header in hand.
func (c *conn) flushHeader() {
	h := &c.hdr
	if len(h.cur) == 0 {
		return
	}
	defer func() { h.cur = h.cur[:0] }()
	var nb [64]byte
	name := lower(nb[:0], h.cur[:h.curName])
	if bytes.HasPrefix(name, []byte("resent-")) {
		h.seen |= seenResent
	}
	switch string(name) {
	case "received":
		h.hops++
		if h.hops >= c.s.hopLimit { // Postfix counts this one too: 50 Received: is too many
			c.errs |= errHops
		}
	case "message-id":
		if h.seen&seenMsgID == 0 {
			h.msgID = headerValue(h.cur, h.curName)
		}
		h.seen |= seenMsgID
	case "resent-message-id":
		if h.seen&seenResentMsgID == 0 {
			h.rmsgID = headerValue(h.cur, h.curName)
		}
		h.seen |= seenResentMsgID
	case "date":
		h.seen |= seenDate
	case "resent-date":
		h.seen |= seenResentDate
	case "from":
		h.seen |= seenFrom
	case "resent-from":
		h.seen |= seenResentFrom
	}
	if c.s.dropHeaders[string(name)] {
		return
	}
	if class := addressHeaders[string(name)]; c.env.localHdrs && class != 0 {
		if v, ok := rewriteSimple(string(h.cur[h.curName+1:]), func(a string) string {
			return c.rewriteHeaderAddr(a, class)
		}); ok {
			c.out.lineString(string(h.cur[:h.curName]) + ": " + v)
			return
		}
	}
	rest := h.cur
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			c.out.line(rest)
			return
		}
		c.out.line(rest[:i])
		rest = rest[i+1:]
	}
}

// headerValue is the value as Postfix logs it: unfolded, leading white space skipped.
func headerValue(hdr []byte, nameLen int) string {
	v := bytes.ReplaceAll(hdr[nameLen+1:], []byte("\n"), nil)
	return string(bytes.TrimLeft(v, " \t"))
}

// endBlock ends the primary header block: the last header is written and, where allowed,
// the missing Message-Id, Date and From are appended after the existing headers.
func (c *conn) endBlock() {
	h := &c.hdr
	if !h.inBlock {
		return
	}
	c.flushHeader()
	h.inBlock = false
	add := c.env.localHdrs || c.s.alwaysAdd
	resent := h.seen&seenResent != 0
	prefix, msgIDBit, dateBit, fromBit := "", seenMsgID, seenDate, seenFrom
	if resent {
		prefix, msgIDBit, dateBit, fromBit = "Resent-", seenResentMsgID, seenResentDate, seenResentFrom
	}
	if h.seen&seenMsgID != 0 {
		h.logs = append(h.logs, "message-id="+h.msgID)
	}
	if h.seen&seenResentMsgID != 0 {
		h.logs = append(h.logs, "resent-message-id="+h.rmsgID)
	}
	if add && h.seen&msgIDBit == 0 {
		id := "<" + c.created.UTC().Format("20060102150405") + "." + c.id + "@" + c.s.myhostname + ">"
		c.out.lineString(prefix + "Message-Id: " + id)
		h.logs = append(h.logs, strings.ToLower(prefix)+"message-id="+id)
		h.seen |= msgIDBit
	}
	if h.seen&seenMsgID == 0 {
		h.logs = append(h.logs, "message-id=<>")
	}
	if add && h.seen&dateBit == 0 {
		c.out.lineString(prefix + "Date: " + mailDate(c.env.arrival))
	}
	if add && h.seen&fromBit == 0 {
		c.out.lineString(prefix + "From: " + fromValue(c.env.sender, c.env.fullName))
	}
}

// mailDate formats a time as Postfix's mail_date(): local time, space-padded day, numeric
// offset and the zone abbreviation.
func mailDate(t time.Time) string {
	return t.Local().Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")
}

// fromValue builds the value of an added From: header (header_from_format = standard).
func fromValue(sender, fullName string) string {
	if sender == "" {
		return "MAILER-DAEMON"
	}
	sender = clean(sender)
	fullName = strings.TrimSpace(clean(fullName))
	if fullName == "" {
		return sender
	}
	return phrase(fullName) + " <" + sender + ">"
}

// clean keeps client-supplied text on one header line.
func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// phrase quotes a display name when it holds RFC 5322 specials (or % and !, as Postfix).
func phrase(s string) string {
	if !strings.ContainsAny(s, "()<>@,;:\\\".[]%!") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// rewriteSimple rewrites an address header value made only of simple addresses (comma
// separated, no display names, comments, quotes, groups or routes) with fn (canonical form:
// bare "user" becomes user@myorigin; then the canonical tables). ok is false when nothing
// changed or the value is anything more complicated, which is left alone: a wrong rewrite
// of a header is worse than a missing one, and the envelope (which decides delivery) is
// always rewritten.
func rewriteSimple(value string, fn func(string) string) (string, bool) {
	items := strings.Split(strings.ReplaceAll(value, "\n", ""), ",")
	changed := false
	for i, it := range items {
		it = strings.TrimSpace(it)
		at := strings.IndexByte(it, '@')
		if it == "" || !simpleAddr(it) || at == 0 || at == len(it)-1 || strings.Count(it, "@") > 1 {
			return "", false
		}
		if r := fn(it); r != it && r != "" {
			it, changed = r, true
		}
		items[i] = it
	}
	if !changed {
		return "", false
	}
	return strings.Join(items, ", "), true
}

func simpleAddr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>,;:\\\"[]", c) >= 0 {
			return false
		}
	}
	return true
}
