package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestHowto follows the howto: telnet to port 25, type the seed's dialogue (its misspelled
// Subjet: line directly followed by the text, with no empty line between), read the mbox with
// mail(1), then switch to Maildir with postconf -e and postfix reload, type the second
// dialogue and read that message over IMAP.
func TestHowto(t *testing.T) {
	need(t, append(core, "postconf", "postfix")...)
	name, home, uid := testenv.CurrentUser(t)
	opts := testenv.Options{}
	imapAddr := ""
	if os.Geteuid() == 0 && missing(t, "authd", "imapd") == "" {
		imapAddr, _ = testenv.FreeAddr()
		opts.MasterCF = fmt.Sprintf("%-14s inet  n       n       n       -       -       imapd\n", imapAddr)
	}
	e := testenv.Start(t, opts)

	id := telnet(t, e, "localhost", "root@localhost", name+"@localhost", "Subjet: My first mail on Postfix", "Are you there?")

	var mbox string
	e.WaitFor(t, 20*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "Are you there?")
	})
	// The whole mbox, line by line: the From_ line, local's and smtpd's headers, the
	// Subjet: line inside the header block, cleanup's added headers after it, exactly one
	// empty line, the body line, and the empty line that ends an mbox message.
	wantLines(t, "mbox", mbox, []string{
		`From root@localhost  [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}`,
		`Return-Path: <root@localhost>`,
		`X-Original-To: ` + name + `@localhost`,
		`Delivered-To: ` + name + `@localhost`,
		`Received: from localhost \(localhost \[127\.0\.0\.1\]\)`,
		`\tby postern\.test \(Postfix\) with ESMTP id ` + id,
		`\tfor <` + name + `@localhost>; [A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\S+\)`,
		`Subjet: My first mail on Postfix`,
		`Message-Id: <\d{14}\.` + id + `@postern\.test>`,
		`Date: [A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\S+\)`,
		`From: root@localhost`,
		``,
		`Are you there\?`,
		``,
		``, // after the last newline
	})
	path := e.MailDir + "/" + name
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else {
		if got := st.Sys().(*syscall.Stat_t).Uid; int(got) != uid {
			t.Errorf("%s owned by uid %d, want %d", path, got, uid)
		}
		if st.Mode().Perm() != 0600 {
			t.Errorf("%s mode %v, want 0600", path, st.Mode().Perm())
		}
	}

	t.Run("mailx", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/mail"); err != nil {
			t.Skip("/usr/bin/mail is not installed (apt-get install bsd-mailx)")
		}
		// HOME elsewhere so that mail(1) never touches a real ~/mbox.
		env := append(os.Environ(), "HOME="+t.TempDir(), "MAIL="+path)
		// bsd-mailx lists the headers on opening the file; x leaves it unchanged.
		cmd := exec.Command("/usr/bin/mail", "-f", path)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("x\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "1 message") || !strings.Contains(string(out), "root@localhost") {
			t.Errorf("mail -f %s: %v\n%s", path, err, out)
		}
		cmd = exec.Command("/usr/bin/mail", "-N", "-f", path)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("p 1\nx\n")
		out, err = cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Are you there?") || !strings.Contains(string(out), "Subjet: My first mail on Postfix") {
			t.Errorf("mail -f %s, p 1: %v\n%s", path, err, out)
		}
	})

	t.Run("maildir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("Maildir delivery would write into the invoking user's real home; needs root for a test user")
		}
		e.Postconf(t, "-e", "home_mailbox=Maildir/")
		if got := strings.TrimSpace(e.Postconf(t, "-h", "home_mailbox")); got != "Maildir/" {
			t.Fatalf("postconf -h home_mailbox = %q", got)
		}
		e.Reload(t)
		before := e.Mbox(name)
		// The howto's second dialogue, again without an empty line after the header.
		id := telnet(t, e, "yourdomain.com", "test@yourdomain.com", name+"@postern.test", "Subject: My first mail for my domain", "Are you there?")
		var files []string
		e.WaitFor(t, 20*time.Second, func() bool {
			files = e.MaildirNew(home)
			return len(files) > 0
		})
		time.Sleep(300 * time.Millisecond)
		files = e.MaildirNew(home)
		if len(files) != 1 {
			t.Fatalf("Maildir/new holds %d files, want 1: %v", len(files), files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		// Maildir: no From_ line and no trailing empty line, otherwise as the mbox.
		wantLines(t, "maildir file", string(b), []string{
			`Return-Path: <test@yourdomain\.com>`,
			`X-Original-To: ` + name + `@postern\.test`,
			`Delivered-To: ` + name + `@postern\.test`,
			`Received: from yourdomain\.com \(localhost \[127\.0\.0\.1\]\)`,
			`\tby postern\.test \(Postfix\) with ESMTP id ` + id,
			`\tfor <` + name + `@postern\.test>; .*`,
			`Subject: My first mail for my domain`,
			`Message-Id: <\d{14}\.` + id + `@postern\.test>`,
			`Date: .*`,
			`From: test@yourdomain\.com`,
			``,
			`Are you there\?`,
			``,
		})
		if st, err := os.Stat(files[0]); err == nil && int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s not owned by the user", files[0])
		}
		if e.Mbox(name) != before {
			t.Errorf("the mbox changed after home_mailbox = Maildir/")
		}
		if imapAddr == "" {
			t.Log("no IMAP check: imapd or authd missing")
			return
		}
		// The same message through the real imapd under master, as an IMAP client sees it.
		const password = "Howto-pass1"
		cmd := exec.Command("chpasswd")
		cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("chpasswd: %v %s", err, out)
		}
		im := dialText(t, imapAddr)
		im.expect("* OK")
		im.cmd("a login "+name+" "+password, "a OK")
		im.cmd("b select INBOX", "b OK")
		im.send("c fetch 1 (ENVELOPE BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
		got := im.until("c OK")
		env := regexp.MustCompile(`ENVELOPE \("([^"]+)" "My first mail for my domain" \(\(NIL NIL "test" "yourdomain\.com"\)\) .* "<\d{14}\.` + id + `@postern\.test>"\)`)
		if !env.MatchString(got) {
			t.Errorf("ENVELOPE lacks date, subject, from or message-id:\n%s", got)
		}
		crlf := strings.ReplaceAll(string(b), "\n", "\r\n")
		hdr, text, _ := strings.Cut(crlf, "\r\n\r\n")
		if h := imapLiteral(t, got, "BODY[HEADER]"); h != hdr+"\r\n\r\n" {
			t.Errorf("BODY[HEADER] = %q, want %q", h, hdr+"\r\n\r\n")
		}
		if b := imapLiteral(t, got, "BODY[TEXT]"); b != "Are you there?\r\n" || text != b {
			t.Errorf("BODY[TEXT] = %q, want %q", b, "Are you there?\r\n")
		}
		im.cmd("d logout", "* BYE")
	})
}

// telnet types one of the howto's SMTP dialogues (with the DATA command the howto forgets)
// and returns the queue ID.
func telnet(t *testing.T, e *testenv.Env, helo, from, rcpt string, lines ...string) string {
	t.Helper()
	c := e.SMTP(t)
	if got := c.Expect(220); got != "220 postern.test ESMTP Postfix" {
		t.Errorf("banner = %q, want %q", got, "220 postern.test ESMTP Postfix")
	}
	c.Cmd("ehlo "+helo, 250)
	c.Cmd("mail from: "+from, 250)
	c.Cmd("rcpt to: "+rcpt, 250)
	c.Cmd("data", 354)
	for _, l := range lines {
		c.Send(l)
	}
	reply := c.Cmd(".", 250)
	if !regexp.MustCompile(`^250 2\.0\.0 Ok: queued as [0-9A-F]+$`).MatchString(reply) {
		t.Errorf("end of data: %q, want 250 2.0.0 Ok: queued as ID", reply)
	}
	c.Cmd("quit", 221)
	c.Close()
	return testenv.QueueIDOf(reply)
}

// wantLines checks text line by line against anchored regular expressions, one per line
// (the last one matches what follows the final newline, normally nothing).
func wantLines(t *testing.T, what, text string, want []string) {
	t.Helper()
	lines := strings.Split(text, "\n")
	for i, w := range want {
		if i >= len(lines) {
			t.Errorf("%s has %d lines, want %d:\n%s", what, len(lines), len(want), text)
			return
		}
		if !regexp.MustCompile(`^` + w + `$`).MatchString(lines[i]) {
			t.Errorf("%s line %d = %q, want %s\n%s", what, i+1, lines[i], w, text)
		}
	}
	if len(lines) != len(want) {
		t.Errorf("%s has %d lines, want %d:\n%s", what, len(lines), len(want), text)
	}
}

// imapLiteral returns the literal after item ("BODY[TEXT] {N}\r\n") in a FETCH response
// as read from the wire.
func imapLiteral(t *testing.T, resp, item string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(item) + ` \{(\d+)\}\r\n`).FindStringSubmatchIndex(resp)
	if m == nil {
		t.Fatalf("no %s literal in %q", item, resp)
	}
	n, _ := strconv.Atoi(resp[m[2]:m[3]])
	if m[1]+n > len(resp) {
		t.Fatalf("%s literal cut short in %q", item, resp)
	}
	return resp[m[1] : m[1]+n]
}
