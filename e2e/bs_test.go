package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestSendmailBS: an SMTP dialogue piped into sendmail -bs queues the message through
// postdrop (the 250 names the maildrop file), and it is delivered.
func TestSendmailBS(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop")...)
	e := testenv.Start(t, testenv.Options{})
	u, _, _ := testenv.User(t)
	dialogue := "EHLO me\r\nMAIL FROM:<bs@example.org>\r\nRCPT TO:<" + u + "@postern.test>\r\nDATA\r\n" +
		"Subject: via -bs\r\nMessage-Id: <bs-1@example.org>\r\n\r\n..leading dot\r\nbody\r\n.\r\nQUIT\r\n"
	cmd := exec.Command(filepath.Join(e.BinDir, "sendmail"), "-bs")
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	cmd.Stdin = strings.NewReader(dialogue)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("sendmail -bs: %v\n%s\n%s", err, out.String(), errb.String())
	}
	if strings.Contains(out.String(), "STARTTLS") {
		t.Errorf("-bs offers STARTTLS:\n%s", out.String())
	}
	m := regexp.MustCompile(`\r\n250 2\.0\.0 Ok: queued as ([0-9A-F]+)\r\n221 2\.0\.0 Bye\r\n$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no queued reply:\n%s", out.String())
	}
	if !strings.HasPrefix(out.String(), "220 postern.test ESMTP ") {
		t.Errorf("banner: %q", out.String())
	}
	e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(u), "\nbody\n") })
	mb := e.Mbox(u)
	for _, want := range []string{"Return-Path: <bs@example.org>\n", "\n.leading dot\n", "Subject: via -bs\n"} {
		if !strings.Contains(mb, want) {
			t.Errorf("mailbox lacks %q:\n%s", want, mb)
		}
	}
	// The ID in the 250 is the maildrop file's name; pickup gives the message a queue ID of
	// its own, as Postfix does.
	e.WaitLog(t, regexpMust(`postfix/pickup\[\d+\]: [0-9A-F]+: uid=\d+ from=<bs@example.org>`))
}
