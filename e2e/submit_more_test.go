package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestMailxAndSendmailDSN: `echo body | mail -s subject user` of bsd-mailx submits through
// Postern's sendmail (mailx's `sendmail` variable points at it, MAIL_CONFIG at the test's
// configuration, as /usr/sbin/sendmail and /etc/postfix would after make install) and is
// delivered; mail from sendmail to an unknown local user (no smtpd check on that path) comes
// back to the sender as a DSN naming the recipient with Status: 5.1.1.
func TestMailxAndSendmailDSN(t *testing.T) {
	need(t, append(core, "sendmail", "postdrop", "pickup", "bounce")...)
	mailx, err := exec.LookPath("mail")
	if err != nil {
		t.Skip("bsd-mailx is not installed (.ci/run installs it)")
	}
	name, _, _ := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{})
	rc := filepath.Join(e.Dir, "mailrc")
	os.WriteFile(rc, []byte("set sendmail="+filepath.Join(e.BinDir, "sendmail")+"\n"), 0o644)
	env := append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir, "MAILRC="+rc)

	cmd := exec.Command(mailx, "-s", "from mailx", name+"@postern.test")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("body written with mailx\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mail -s: %v\n%s", err, out)
	}
	e.WaitFor(t, 30*time.Second, func() bool {
		m := e.Mbox(name)
		return strings.Contains(m, "\nSubject: from mailx\n") && strings.Contains(m, "\nbody written with mailx\n")
	})
	e.WaitLog(t, regexp.MustCompile(`postfix/pickup\[\d+\]: [0-9A-F]+: uid=\d+ from=<`))

	sender := name + "@postern.test"
	cmd = exec.Command(filepath.Join(e.BinDir, "sendmail"), "-f", sender, "nosuch@postern.test")
	cmd.Env = env
	cmd.Stdin = strings.NewReader("Subject: to nobody\n\nlost\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	var mbox string
	e.WaitFor(t, 30*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "Status: 5.1.1")
	})
	for _, want := range []string{"\nFinal-Recipient: rfc822; nosuch@postern.test\n", "\nAction: failed\n",
		"unknown user: \"nosuch\"", "\nSubject: Undelivered Mail Returned to Sender\n"} {
		if !strings.Contains(mbox, want) {
			t.Errorf("DSN lacks %q:\n%s", want, mbox)
		}
	}
}

// TestRetryThenExpire: a delivery that keeps failing temporarily (the mailbox belongs to
// someone else) is retried after the back-off, listed by mailq meanwhile, and bounced once it
// is older than a tiny maximal_queue_lifetime.
func TestRetryThenExpire(t *testing.T) {
	need(t, append(core, "bounce", "postqueue")...)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the mailbox a wrong owner")
	}
	victim, _, _ := testenv.User(t)
	sender, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: "minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\n" +
		"queue_run_delay = 1s\nmaximal_queue_lifetime = 6s\n"})
	mbox := filepath.Join(e.MailDir, victim)
	os.WriteFile(mbox, nil, 0o666)
	os.Chmod(mbox, 0o666)

	id := e.SendMail(t, sender+"@postern.test", []string{victim + "@postern.test"}, "Subject: doomed\n\nhello\n")
	deferred := regexp.MustCompile(id + `: to=<` + victim + `@postern\.test>, .*status=deferred`)
	e.WaitLog(t, deferred)
	out, _ := e.Run("postqueue", "-c", e.ConfigDir, "-p")
	if !strings.Contains(out, id) || !strings.Contains(out, "not owned by recipient") {
		t.Errorf("mailq while deferred:\n%s", out)
	}
	e.WaitFor(t, 20*time.Second, func() bool { return len(deferred.FindAllString(e.Log(), -1)) >= 2 })
	e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+id+`: from=<`+sender+`@postern\.test>, status=expired, returned to sender`))
	var dsn string
	e.WaitFor(t, 30*time.Second, func() bool {
		dsn = e.Mbox(sender)
		return strings.Contains(dsn, "Final-Recipient: rfc822; "+victim+"@postern.test")
	})
	if !strings.Contains(dsn, "\nAction: failed\n") || !strings.Contains(dsn, "not owned by recipient") {
		t.Errorf("expiry DSN:\n%s", dsn)
	}
	e.WaitFor(t, 10*time.Second, func() bool {
		out, _ := e.Run("postqueue", "-c", e.ConfigDir, "-p")
		return out == "Mail queue is empty\n"
	})
}
