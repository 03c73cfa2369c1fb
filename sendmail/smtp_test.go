package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestSMTPDialogue runs sendmail -bs with a pipelined dialogue and checks every reply and
// the maildrop file the one message became.
func TestSMTPDialogue(t *testing.T) {
	in := newInstance(t, "myhostname = host.test\nmessage_size_limit = 1000\n")
	dialogue := strings.Join([]string{
		"EHLO client.test",
		"MAIL FROM:<s@x.test> BODY=8BITMIME",
		"RCPT TO:<a@y.test> NOTIFY=FAILURE",
		"RCPT TO: b",
		"DATA",
		"Subject: t",
		"",
		"..dotted",
		".",
		"NOOP",
		"DATA",
		"MAIL FROM:<> FOO=bar",
		"MAIL FROM:<> SIZE=5000",
		"MAIL FROM:<>",
		"MAIL FROM:<>",
		"RSET",
		"RCPT TO:<c>",
		"VRFY someone",
		"STARTTLS",
		"BOGUS",
		"MAIL FROM:<big@x.test>",
		"RCPT TO:<c>",
		"DATA",
		strings.Repeat("x", 999),
		strings.Repeat("y", 999),
		".",
		"HELO again",
		"QUIT",
		"NOOP",
	}, "\r\n") + "\r\n"
	code, out, stderr := in.runOut(dialogue, "-bs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n")
	want := []string{
		"220 host.test ESMTP Postfix",
		"250-host.test", "250-PIPELINING", "250-SIZE 1000", "250-VRFY", "250-ENHANCEDSTATUSCODES",
		"250-8BITMIME", "250 DSN",
		"250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok",
		"354 End data with <CR><LF>.<CR><LF>",
		"250 2.0.0 Ok: queued as QUEUEID",
		"250 2.0.0 Ok",
		"503 5.5.1 Error: need RCPT command",
		"555 5.5.4 Unsupported option: FOO=bar",
		"552 5.3.4 Message size exceeds fixed limit",
		"250 2.1.0 Ok",
		"503 5.5.1 Error: nested MAIL command",
		"250 2.0.0 Ok",
		"503 5.5.1 Error: need MAIL command",
		"252 2.0.0 someone",
		"502 5.5.1 Error: command not implemented",
		"500 5.5.2 Error: command not recognized",
		"250 2.1.0 Ok", "250 2.1.5 Ok",
		"354 End data with <CR><LF>.<CR><LF>",
		"552 5.3.4 Error: message file too big",
		"250 host.test",
		"221 2.0.0 Bye",
	}
	id := regexp.MustCompile(`queued as ([0-9A-F]+)$`)
	for i := range got {
		if m := id.FindStringSubmatch(got[i]); m != nil {
			got[i] = strings.Replace(got[i], m[1], "QUEUEID", 1)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replies:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	check(t, in.one(), "A rewrite_context=local", "A encoding=8bit", "S s@x.test",
		"A notify_flags=4", "R a@y.test", "R b", "M ", "N Subject: t", "N ", "N .dotted", "X ", "E ")
	// The reply names the maildrop file.
	if m := id.FindStringSubmatch(out[:strings.Index(out, "\r\n250 2.0.0 Ok\r\n")]); m == nil || !in.hasDrop(m[1]) {
		t.Errorf("250 reply does not name the maildrop file: %q", m)
	}
}

// TestSMTPEndOfInput: input that ends inside DATA queues nothing and exits 0.
func TestSMTPEndOfInput(t *testing.T) {
	in := newInstance(t, "")
	code, out, stderr := in.runOut("MAIL FROM:<s>\r\nRCPT TO:<r>\r\nDATA\r\nSubject: cut\r\n", "-bs")
	if code != 0 || !strings.Contains(out, "354 ") {
		t.Fatalf("exit %d, out %q, stderr %q", code, out, stderr)
	}
	if d := in.drops(); len(d) != 0 {
		t.Errorf("a cut message left %d maildrop files", len(d))
	}
}

// TestSMTPStorage: with queue_minfree beyond the file system's free space MAIL FROM gets
// 452 4.3.1.
func TestSMTPStorage(t *testing.T) {
	in := newInstance(t, "queue_minfree = 1000000000000000\n")
	_, out, _ := in.runOut("MAIL FROM:<s>\r\nQUIT\r\n", "-bs")
	if !strings.Contains(out, "\r\n452 4.3.1 Insufficient system storage\r\n") {
		t.Errorf("out %q", out)
	}
}

// TestXtext: ENVID and ORCPT are xtext, decoded by pkg/smtpcmd (TestChunkAndSplit there
// pins the decoder). Before sendmail -bs shared smtpd's parser it passed a malformed "+zz"
// through as it was; Postfix, and now both, refuse it.
func TestXtext(t *testing.T) {
	in := newInstance(t, "")
	_, out, _ := in.runOut("MAIL FROM:<s> ENVID=x+zz\r\nMAIL FROM:<s> ENVID=a+2Bb+3Dc\r\n"+
		"RCPT TO:<r> ORCPT=rfc822;a+2Bb@y\r\nDATA\r\nx\r\n.\r\nQUIT\r\n", "-bs")
	if !strings.Contains(out, "\r\n501 5.5.4 Bad ENVID parameter syntax\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n") {
		t.Errorf("out %q", out)
	}
	check(t, in.one(), "A rewrite_context=local", "A envelope_id=a+b=c", "S s", "A dsn_orig_rcpt=rfc822;a+b@y",
		"R r", "M ", "N x", "X ", "E ")
}
