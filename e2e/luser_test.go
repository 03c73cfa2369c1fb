package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestLuserRelay: with local_recipient_maps empty smtpd takes mail for a
// user that does not exist, and local delivers it to luser_relay (a real
// user) instead of bouncing it, in the same attempt.
func TestLuserRelay(t *testing.T) {
	need(t, core...)
	user2, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: "local_recipient_maps =\nluser_relay = " + user2 + "\n"})

	e.SendMail(t, "someone@postern.test", []string{"nosuch@postern.test"}, "Subject: for nobody\n\nlost?\n")
	var m string
	e.WaitFor(t, 30*time.Second, func() bool {
		m = e.Mbox(user2)
		return strings.Contains(m, "Subject: for nobody\n")
	})
	if !strings.Contains(m, "\nX-Original-To: nosuch@postern.test\nDelivered-To: nosuch@postern.test\n") {
		t.Errorf("%s's mailbox:\n%s", user2, m)
	}
	e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: [0-9A-F]+: to=<`+user2+`@postern\.test>, orig_to=<nosuch@postern\.test>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)`))
	if strings.Contains(e.Log(), "status=bounced") {
		t.Errorf("something bounced:\n%s", e.Log())
	}
}
