package e2e

import (
	"fmt"
	"strings"
	"testing"

	"postern/pkg/testenv"
)

// TestRelayAndLimits checks what a client outside mynetworks may do, the
// local recipient table and message_size_limit.
func TestRelayAndLimits(t *testing.T) {
	need(t, core...)
	outside, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	strict, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.Start(t, testenv.Options{
		MainCF: "message_size_limit = 10000\n",
		MasterCF: fmt.Sprintf("%s inet n - n - - smtpd\n  -o mynetworks=192.0.2.0/24\n"+
			"%s inet n - n - - smtpd\n  -o mynetworks=192.0.2.0/24\n"+
			"  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination\n", outside, strict),
	})

	rcpt := func(addr, to string, code int) string {
		c := testenv.Dial(t, addr)
		defer c.Close()
		c.Expect(220)
		c.Cmd("EHLO client.example", 250)
		c.Cmd("MAIL FROM:<a@example.org>", 250)
		return c.Cmd("RCPT TO:<"+to+">", code)
	}
	t.Run("defer_unauth_destination", func(t *testing.T) {
		if got, want := rcpt(outside, "x@example.com", 454), "454 4.7.1 <x@example.com>: Relay access denied"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("reject_unauth_destination", func(t *testing.T) {
		if got, want := rcpt(strict, "x@example.com", 554), "554 5.7.1 <x@example.com>: Relay access denied"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("outside client to a local user", func(t *testing.T) {
		rcpt(outside, "root@postern.test", 250)
	})
	t.Run("unknown local user", func(t *testing.T) {
		want := "550 5.1.1 <nosuch@postern.test>: Recipient address rejected: User unknown in local recipient table"
		if got := rcpt(e.SMTPAddr, "nosuch@postern.test", 550); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
	t.Run("SIZE over the limit", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		c.Cmd("EHLO client.example", 250)
		got := c.Cmd("MAIL FROM:<a@example.org> SIZE=20000", 552)
		if !strings.HasPrefix(got, "552 5.3.4 ") {
			t.Errorf("got %q, want 552 5.3.4 Message size exceeds fixed limit", got)
		}
	})
	t.Run("DATA over the limit", func(t *testing.T) {
		c := e.SMTP(t)
		c.Expect(220)
		c.Cmd("EHLO client.example", 250)
		c.Cmd("MAIL FROM:<a@example.org>", 250)
		c.Cmd("RCPT TO:<root@postern.test>", 250)
		c.Cmd("DATA", 354)
		c.Send("Subject: too big")
		c.Send("")
		line := strings.Repeat("x", 99)
		for i := 0; i < 200; i++ {
			c.Send(line)
		}
		got := c.Cmd(".", 552)
		if !strings.HasPrefix(got, "552 5.3.4 ") {
			t.Errorf("got %q, want 552 5.3.4 Message size exceeds fixed limit", got)
		}
		// The session goes on.
		c.Cmd("RSET", 250)
		c.Cmd("QUIT", 221)
	})
}
