package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestForwardToRemoteViaRelayhost is the seed's .forward example: a user forwards her mail to
// an address at another domain; with relayhost = [127.0.0.1]:PORT the copy leaves through the
// smtp agent to that host (here a go-smtp sink), with no MX lookup.
func TestForwardToRemoteViaRelayhost(t *testing.T) {
	need(t, append(core, "smtp")...)
	user, home, uid := testenv.User(t)
	sink := testenv.NewSink(t, "127.0.0.1", false)
	e := testenv.Start(t, testenv.Options{MainCF: fmt.Sprintf("relayhost = [127.0.0.1]:%d\n", sink.Port)})

	fwd := filepath.Join(home, ".forward")
	if err := os.WriteFile(fwd, []byte("someone@elsewhere.example\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(fwd, uid, -1)

	e.SendMail(t, "sender@postern.test", []string{user + "@postern.test"},
		"Subject: forwarded away\r\nMessage-ID: <fwd-1@postern.test>\r\n\r\nfor elsewhere\r\n")
	var body string
	e.WaitFor(t, 30*time.Second, func() bool {
		for _, m := range sink.Received() {
			if len(m.To) == 1 && m.To[0] == "someone@elsewhere.example" {
				body = string(m.Data)
				return true
			}
		}
		return false
	})
	if !strings.Contains(body, "Subject: forwarded away") || !strings.Contains(body, "Delivered-To: "+user+"@postern.test") {
		t.Errorf("relayed copy:\n%s", body)
	}
	e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: [0-9A-F]+: to=<someone@elsewhere\.example>, orig_to=<`+user+`@postern\.test>, relay=local, .*status=sent \(forwarded as [0-9A-F]+\)`))
	e.WaitLog(t, regexp.MustCompile(fmt.Sprintf(`postfix/smtp\[\d+\]: [0-9A-F]+: to=<someone@elsewhere\.example>, (?:orig_to=<[^>]*>, )?relay=127\.0\.0\.1\[127\.0\.0\.1\]:%d, .*status=sent`, sink.Port)))
	if strings.Contains(e.Mbox(user), "forwarded away") {
		t.Errorf("%s kept a copy without \\%s in .forward", user, user)
	}
}
