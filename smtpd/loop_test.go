package main

import (
	"strings"
	"testing"
)

// TestCommandReplies pins Postfix's replies to malformed and out-of-order commands, which
// smtpd's own command loop (and pkg/smtpcmd) gives.
func TestCommandReplies(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.greet()
	for _, tc := range [][2]string{
		{"HELO", "501 Syntax: HELO hostname"},
		{"EHLO  two  words", "250-vm.example"},
		{"MAIL", "501 5.5.4 Syntax: MAIL FROM:<address>"},
		{"MAIL TO:<a@b>", "501 5.5.4 Syntax: MAIL FROM:<address>"},
		{"MAIL FROM:<a b@c>", "501 5.1.7 Bad sender address syntax"},
		{"MAIL FROM:<a@b> FOO=bar", "555 5.5.4 Unsupported option: FOO=bar"},
		{"MAIL FROM:<a@b> SIZE=big", "501 5.5.4 Bad message size syntax"},
		{"MAIL FROM:<a@b> RET=ALL", "501 5.5.4 Bad RET parameter syntax"},
		{"MAIL FROM:<jö@b>", "553 5.6.7 Must declare SMTPUTF8 to send unicode address"},
		{"DATA", "503 5.5.1 Error: need RCPT command"},
		{"MAIL FROM:<a@b> BODY=8BITMIME RET=HDRS ENVID=x+2By", "250 2.1.0 Ok"},
		{"DATA", "554 5.5.1 Error: no valid recipients"},
		{"RCPT", "501 5.5.4 Syntax: RCPT TO:<address>"},
		{"RCPT TO:<>", "501 5.1.3 Bad recipient address syntax"},
		{"RCPT TO:<a@>", "501 5.1.3 Bad recipient address syntax"},
		{"RCPT TO:<fmaster@localhost> NOTIFY=NEVER,DELAY", "501 5.5.4 Error: Bad NOTIFY parameter syntax"},
		{"RCPT TO:<fmaster@localhost> ORCPT=bogus", "501 5.5.4 Error: Bad ORCPT parameter syntax"},
		{"RCPT TO:<fmaster@localhost> XYZ", "555 5.5.4 Unsupported option: XYZ"},
		{"RCPT TO:<fmaster@localhost> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;f+40x", "250 2.1.5 Ok"},
		{"DATA now", "501 5.5.4 Syntax: DATA"},
		{"RSET now", "501 5.5.4 Syntax: RSET"},
		{"DATA", "354 End data with <CR><LF>.<CR><LF>"},
		{".", "250 2.0.0 Ok: queued as "},
		{"NOOP with words", "250 2.0.0 Ok"},
		{"QUIT", "221 2.0.0 Bye"},
	} {
		c.cmd(tc[0], tc[1])
	}
	m := e.cleanup.got()[0]
	for _, rec := range []string{"Ahelo_name=two words", "Aret_flags=2", "Aenvelope_id=x+y", "Anotify_flags=6",
		"Adsn_orig_rcpt=rfc822;f@x", "Rfmaster@localhost"} {
		if !m.has(rec) {
			t.Errorf("record %q missing from %q", rec, m.recs)
		}
	}
}

// TestDataEnd: only <CR><LF>.<CR><LF> ends DATA; dots are unstuffed only at the start of a
// line that follows a CRLF, as go-smtp's reader did before smtpd read DATA itself.
func TestDataEnd(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.inData()
	c.send("..one\r\nbare\n.\n.two\r\n.\r\n")
	c.reply()
	c.cmd("", "500 5.5.2 Error: bad syntax") // the message ended at ".\r\n": "" is a command
	c.cmd("QUIT", "221")
	m := e.cleanup.got()[0]
	var body []string
	for i, r := range m.recs {
		if strings.HasPrefix(r, "N\tfor <") {
			body = m.recs[i+1:]
			break
		}
	}
	if got, want := strings.Join(body, "|"), "N.one|Nbare|N.|N.two|X|E"; got != want {
		t.Errorf("content records %q, want %q", got, want)
	}
}

// TestBDAT: chunks with their byte counts, lines across chunk borders, Postfix's replies.
func TestBDAT(t *testing.T) {
	e := startSmtpd(t, "message_size_limit = 100\n")
	c := e.greet()
	c.cmd("EHLO probe", "250")
	c.send("BDAT 3\r\nabc")
	if r := c.reply(); r != "503 5.5.1 Error: need RCPT command" {
		t.Errorf("BDAT before MAIL: %q", r)
	}
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.send("BDAT 9\r\nSubject: ")
	c.send("BDAT 11\r\nx\r\n\r\nbody\r\n")
	c.send("BDAT 0\r\n")
	c.send("BDAT 4 LAST\r\nend!")
	for _, want := range []string{"250 2.0.0 Ok: 9 bytes", "250 2.0.0 Ok: 11 bytes", "551 5.7.1 Null BDAT request", "250 2.0.0 Ok: 24 bytes queued as ABC"} {
		if r := c.reply(); !strings.HasPrefix(r, want) {
			t.Errorf("got %q, want %q", r, want)
		}
	}
	m := e.cleanup.got()[0]
	if got, want := strings.Join(m.recs[len(m.recs)-6:], "|"), "NSubject: x|N|Nbody|Nend!|X|E"; got != want {
		t.Errorf("records %q, want %q", got, want)
	}
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.send("BDAT 101 LAST\r\n" + strings.Repeat("x", 101))
	if r := c.reply(); r != "552 5.3.4 Chunk exceeds message size limit" {
		t.Errorf("big chunk: %q", r)
	}
	c.cmd("RCPT TO:<fmaster@localhost>", "503 5.5.1 Error: need MAIL command")
	c.cmd("BDAT x", "521 5.5.4 Syntax: BDAT count [LAST]")
	l := e.waitLog("disconnect from")
	for _, s := range []string{"warning: NOQUEUE: malformed BDAT command syntax from localhost[127.0.0.1]: BDAT x",
		"warning: ABC001: null BDAT request from localhost[127.0.0.1]",
		"ehlo=1 mail=2 rcpt=2/3 bdat=3/7 commands=8/13"} {
		if !strings.Contains(l, s) {
			t.Errorf("log lacks %q:\n%s", s, l)
		}
	}
}
