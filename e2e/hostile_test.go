package e2e

import (
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestHostileInput feeds the SMTP server what real clients and attackers
// send. Each case ends in an error reply or a sane delivery, and the server
// keeps answering new connections.
func TestHostileInput(t *testing.T) {
	need(t, core...)
	name, _, _ := testenv.CurrentUser(t)
	rcpt := name + "@postern.test"
	e := testenv.Start(t, testenv.Options{})

	alive := func(t *testing.T) {
		t.Helper()
		c := e.SMTP(t)
		c.Expect(220)
		c.Cmd("QUIT", 221)
	}
	// reply reads one reply; a closed connection counts as code 0.
	reply := func(c *testenv.Conn) int {
		code, _, err := c.Reply()
		if err != nil {
			return 0
		}
		return code
	}
	delivered := func(t *testing.T, marker string) {
		t.Helper()
		e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(name), marker) })
	}

	t.Run("garbage commands", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		for _, cmd := range []string{"GARBAGE", "xyzzy plugh", "MAIL", "RCPT TO:<a@b>", "DATA", "MAIL FROM:<<<>>>", "EHLO"} {
			c.Send(cmd)
			if code := reply(c); code < 500 || code > 599 {
				t.Errorf("%q: reply code %d, want 5xx", cmd, code)
			}
		}
		c.Cmd("QUIT", 221)
		alive(t)
	})

	// smtpd_forbidden_commands (CONNECT GET POST and lines not starting with
	// a letter): Postfix answers 221 and hangs up.
	t.Run("forbidden commands", func(t *testing.T) {
		for _, cmd := range []string{"\x01\x02\x03", "GET / HTTP/1.0", "CONNECT example.com:25 HTTP/1.0"} {
			c := e.SMTP(t)
			c.Expect(220)
			c.Send(cmd)
			if code := reply(c); code != 221 && (code < 500 || code > 599) {
				t.Errorf("%q: reply code %d, want 221 (or 5xx)", cmd, code)
			}
			c.Close()
		}
		alive(t)
	})

	t.Run("NUL bytes", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		c.Send("EHLO nul\x00.example")
		reply(c)
		c.Send("HELO nul.example")
		if reply(c) == 250 {
			c.Cmd("MAIL FROM:<nul@example.org>", 250)
			c.Cmd("RCPT TO:<"+rcpt+">", 250)
			c.Cmd("DATA", 354)
			c.Send("Subject: nul-test")
			c.Send("")
			c.Send("before\x00after")
			switch code := reply2(c, "."); {
			case code == 250:
				delivered(t, "Subject: nul-test\n")
			case code >= 500:
			default:
				t.Errorf("end of data with NUL: code %d", code)
			}
		}
		c.Close()
		alive(t)
	})

	t.Run("1 MB command line", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		c.Raw().SetWriteDeadline(time.Now().Add(30 * time.Second))
		// The server may hang up while we write: that is an error too.
		c.Raw().Write([]byte(strings.Repeat("A", 1<<20) + "\r\n"))
		if code := reply(c); code != 0 && (code < 500 || code > 599) {
			t.Errorf("1 MB command: code %d, want 5xx or a closed connection", code)
		}
		c.Close()
		alive(t)
	})

	t.Run("1 MB body line", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		c.Cmd("EHLO long.example", 250)
		c.Cmd("MAIL FROM:<long@example.org>", 250)
		c.Cmd("RCPT TO:<"+rcpt+">", 250)
		c.Cmd("DATA", 354)
		c.Send("Subject: long-line")
		c.Send("")
		c.Send(strings.Repeat("B", 1<<20))
		c.Send("after the long line")
		switch code := reply2(c, "."); {
		case code == 250:
			delivered(t, "\nafter the long line\n")
			if n := strings.Count(e.Mbox(name), "B"); n < 1<<20 {
				t.Errorf("the long line lost bytes: %d of %d", n, 1<<20)
			}
		case code >= 500:
		default:
			t.Errorf("end of data with a 1 MB line: code %d", code)
		}
		c.Close()
		alive(t)
	})

	t.Run("8-bit body", func(t *testing.T) {
		body := "Subject: eight-bit\n\nGrüße aus Köln, naïve café, 日本語\n"
		e.SendMail(t, "8bit@example.org", []string{rcpt}, body)
		delivered(t, "Subject: eight-bit\n")
		if !strings.Contains(e.Mbox(name), "\nGrüße aus Köln, naïve café, 日本語\n") {
			t.Errorf("8-bit body was altered")
		}
		alive(t)
	})
}

// reply2 sends line and returns the reply code (0 when the connection broke).
func reply2(c *testenv.Conn, line string) int {
	c.Send(line)
	code, _, err := c.Reply()
	if err != nil {
		return 0
	}
	return code
}
