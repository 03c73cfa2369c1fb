package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestQueueSoftBounce: with soft_bounce = yes, smtpd answers an unknown local user with 450
// 4.1.1 instead of 550 5.1.1, and a message that local cannot deliver (an alias of a user
// that does not exist) is deferred, logged status=SOFTBOUNCE, listed by mailq, and returns no
// notice to its sender.
func TestQueueSoftBounce(t *testing.T) {
	need(t, append(core, "newaliases", "postqueue", "bounce")...)
	dir := testenv.TempRoot(t, "psoft-")
	os.Chmod(dir, 0o755)
	aliases := filepath.Join(dir, "aliases")
	os.WriteFile(aliases, []byte("ghost: nosuchuser4711\n"), 0o644)
	e := testenv.Start(t, testenv.Options{MainCF: "soft_bounce = yes\nalias_maps = hash:" + aliases + "\nalias_database = hash:" + aliases + "\n"})
	if out, err := e.Run("newaliases", "-c", e.ConfigDir); err != nil || out != "" {
		t.Fatalf("newaliases: %v %q", err, out)
	}

	c := e.SMTP(t)
	c.Expect(220)
	c.Cmd("ehlo localhost", 250)
	c.Cmd("mail from:<alice@example.org>", 250)
	want := "450 4.1.1 <nobody4711@postern.test>: Recipient address rejected: User unknown in local recipient table"
	if got := c.Cmd("rcpt to:<nobody4711@postern.test>", 450); got != want {
		t.Errorf("RCPT of an unknown user: %q, want %q", got, want)
	}
	c.Cmd("quit", 221)
	e.WaitLog(t, regexp.MustCompile(`NOQUEUE: reject: RCPT from localhost\[127\.0\.0\.1\]: `+regexp.QuoteMeta(want)+`; from=<alice@example\.org> to=<nobody4711@postern\.test>`))

	id := e.SendMail(t, "alice@example.org", []string{"ghost@postern.test"}, "Subject: soft\n\nhello\n")
	e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: `+id+`: to=<nosuchuser4711@postern\.test>, orig_to=<ghost@postern\.test>, relay=local, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.1\.1, status=SOFTBOUNCE \(unknown user: "nosuchuser4711"\)`))
	var out string
	e.WaitFor(t, 20*time.Second, func() bool {
		out, _ = e.Run("postqueue", "-c", e.ConfigDir, "-p")
		return strings.Contains(out, id+" ")
	})
	if !regexp.MustCompile(`(?m)^` + id + ` +\d+ .*  alice@example\.org\n +\(unknown user: "nosuchuser4711"\)\n +ghost@postern\.test\n`).MatchString(out) {
		t.Fatalf("mailq:\n%s", out)
	}
	time.Sleep(time.Second)
	if log := e.Log(); strings.Contains(log, "non-delivery notification") || strings.Contains(log, "status=bounced") {
		t.Fatalf("bounced under soft_bounce:\n%s", log)
	}
}
