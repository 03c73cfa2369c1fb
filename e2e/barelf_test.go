package e2e

import (
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestBareLF: bare LF ends a line in commands and in message lines, as
// Postfix 3.7 accepts. Only <CR><LF>.<CR><LF> ends the message, though: a
// bare ".\n" does not, which closes the SMTP smuggling hole (the default
// of later Postfix, smtpd_forbid_bare_newline = normalize, and go-smtp's).
func TestBareLF(t *testing.T) {
	need(t, core...)
	name, _, _ := testenv.CurrentUser(t)
	rcpt := name + "@postern.test"
	e := testenv.Start(t, testenv.Options{})
	reply := func(c *testenv.Conn) int {
		code, _, err := c.Reply()
		if err != nil {
			return 0
		}
		return code
	}
	c := e.SMTP(t)
	c.Expect(220)
	c.SendRaw("EHLO lf.example\n")
	c.Expect(250)
	c.SendRaw("MAIL FROM:<lf@example.org>\n")
	c.Expect(250)
	c.SendRaw("RCPT TO:<" + rcpt + ">\n")
	c.Expect(250)
	c.SendRaw("DATA\n")
	c.Expect(354)
	c.SendRaw("Subject: bare-lf\n\nline one\nline two\n.\n")
	c.SetTimeout(2 * time.Second)
	if code := reply(c); code != 0 {
		t.Fatalf("a bare \".\\n\" ended the message (reply %d): smuggling hole", code)
	}
	c.SendRaw("\r\n.\r\n")
	c.SetTimeout(10 * time.Second)
	if code := reply(c); code != 250 {
		t.Fatalf("end of data after <CR><LF>.<CR><LF>: reply code %d (0 = none within 10s), want 250", code)
	}
	e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(name), "Subject: bare-lf\n") })
	if mb := e.Mbox(name); !strings.Contains(mb, "\nline one\nline two\n") || strings.Contains(mb, "\r") {
		t.Errorf("bare-LF message delivered oddly:\n%q", mb)
	}
}
