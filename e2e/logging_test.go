package e2e

import (
	"regexp"
	"testing"

	"postern/pkg/testenv"
)

// TestLogging checks the maillog lines one delivery leaves, in Postfix's
// shapes (pflogsumm reads them). The host field is myhostname's first label.
func TestLogging(t *testing.T) {
	need(t, core...)
	name, _, _ := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{})
	id := e.SendMail(t, "sender@example.org", []string{name + "@postern.test"},
		"Subject: log test\nMessage-ID: <log-test@example.org>\n\nbody\n")
	q := regexp.QuoteMeta(id)
	rcpt := regexp.QuoteMeta(name + "@postern.test")
	prefix := `(?m)^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d postern `
	for _, re := range []string{
		`postfix/smtpd\[\d+\]: ` + q + `: client=localhost\[127\.0\.0\.1\]$`,
		`postfix/cleanup\[\d+\]: ` + q + `: message-id=<log-test@example\.org>$`,
		`postfix/qmgr\[\d+\]: ` + q + `: from=<sender@example\.org>, size=\d+, nrcpt=1 \(queue active\)$`,
		`postfix/local\[\d+\]: ` + q + `: to=<` + rcpt + `>, relay=local, delay=[\d.]+, delays=[\d.]+/[\d.]+/[\d.]+/[\d.]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)$`,
		`postfix/qmgr\[\d+\]: ` + q + `: removed$`,
	} {
		e.WaitLog(t, regexp.MustCompile(prefix+re))
	}
}
