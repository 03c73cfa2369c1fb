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

// TestBounceDSN: mail to an unknown local user that smtpd accepts (local_recipient_maps
// empty) bounces in local(8), and the sender finds an RFC 3464 notice in the mailbox.
func TestBounceDSN(t *testing.T) {
	need(t, append(core, "bounce", "postqueue")...)
	name, _, _ := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{MainCF: "local_recipient_maps =\n"})
	sender := name + "@postern.test"
	id := e.SendMail(t, sender, []string{"nosuch@postern.test"},
		"From: "+sender+"\nSubject: lost\nMessage-ID: <lost.1@postern.test>\n\nhello\n")

	var mbox string
	e.WaitFor(t, 30*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "Status: 5.1.1")
	})
	for _, want := range []string{
		"\nReturn-Path: <>\n",
		"\nFrom: Mail Delivery System <MAILER-DAEMON@postern.test>\n",
		"\nSubject: Undelivered Mail Returned to Sender\n",
		"\nIn-Reply-To: <lost.1@postern.test>\n",
		"Content-Type: multipart/report; report-type=delivery-status;",
		"This is the mail system at host postern.test.",
		"\n<nosuch@postern.test>: ",
		"\nReporting-MTA: dns; postern.test\n",
		"\nX-Postfix-Queue-ID: " + id + "\n",
		"\nX-Postfix-Sender: rfc822; " + sender + "\n",
		"\nFinal-Recipient: rfc822; nosuch@postern.test\n",
		"\nAction: failed\n",
		"\nContent-Type: message/rfc822\n",
		"\nSubject: lost\n",
	} {
		if !strings.Contains(mbox, want) {
			t.Errorf("DSN lacks %q:\n%s", want, mbox)
		}
	}
	m := e.WaitLog(t, regexp.MustCompile(`postfix/bounce\[\d+\]: `+id+`: sender non-delivery notification: ([0-9A-F]+)`))
	e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+m[1]+`: removed`))
	e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+id+`: removed`))
	if out, err := e.Run("postqueue", "-c", e.ConfigDir, "-p"); err != nil || out != "Mail queue is empty\n" {
		t.Errorf("postqueue -p after delivery: %v %q", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.QueueDir, "bounce", id)); err == nil {
		t.Error("bounce log left behind")
	}
}

// TestHoldRelease: a delivery that fails temporarily (the mailbox belongs to someone else)
// is deferred and listed by mailq with its reason; postsuper -h holds it (mailq marks it
// "!"), -H releases it, and once the mailbox is fixed postqueue -f delivers it.
func TestHoldRelease(t *testing.T) {
	need(t, append(core, "postqueue", "postsuper")...)
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the mailbox a wrong owner")
	}
	name, _, uid := testenv.User(t)
	e := testenv.Start(t, testenv.Options{})
	mbox := filepath.Join(e.MailDir, name)
	// Writable but owned by root: local defers with "not owned by recipient".
	if err := os.WriteFile(mbox, nil, 0666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(mbox, 0666)
	id := e.SendMail(t, "alice@example.org", []string{name + "@postern.test"}, "Subject: held\n\nhello\n")
	e.WaitLog(t, regexp.MustCompile(id+`: to=<`+name+`@postern.test>, .*status=deferred`))
	mailq := func() string {
		t.Helper()
		out, err := e.Run("postqueue", "-c", e.ConfigDir, "-p")
		if err != nil {
			t.Fatalf("postqueue -p: %v\n%s", err, out)
		}
		return out
	}
	var out string
	e.WaitFor(t, 10*time.Second, func() bool {
		out = mailq()
		return strings.Contains(out, id+" ")
	})
	row := regexp.MustCompile(`(?m)^` + id + ` +\d+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d  alice@example\.org\n *\(.*not owned by recipient\)\n {41}` + name + `@postern\.test\n\n-- \d+ Kbytes in 1 Request\.\n$`)
	if !strings.HasPrefix(out, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n") || !row.MatchString(out) {
		t.Fatalf("mailq of a deferred message:\n%s", out)
	}

	if o, err := e.Run("postsuper", "-c", e.ConfigDir, "-h", id); err != nil ||
		!strings.Contains(o, "postsuper: "+id+": placed on hold\n") || !strings.Contains(o, "Placed on hold: 1 message\n") {
		t.Fatalf("postsuper -h: %v %q", err, o)
	}
	if out := mailq(); !strings.Contains(out, "\n"+id+"! ") {
		t.Fatalf("mailq of a held message:\n%s", out)
	}
	// Held mail is not delivered, even when asked to flush.
	if err := os.Chown(mbox, uid, -1); err != nil {
		t.Fatal(err)
	}
	os.Chmod(mbox, 0600)
	e.Run("postqueue", "-c", e.ConfigDir, "-f")
	time.Sleep(time.Second)
	if strings.Contains(e.Mbox(name), "hello") {
		t.Fatal("held message delivered")
	}

	if o, err := e.Run("postsuper", "-c", e.ConfigDir, "-H", id); err != nil || !strings.Contains(o, "Released from hold: 1 message\n") {
		t.Fatalf("postsuper -H: %v %q", err, o)
	}
	if o, err := e.Run("postqueue", "-c", e.ConfigDir, "-f"); err != nil {
		t.Fatalf("postqueue -f: %v %q", err, o)
	}
	e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(name), "hello") })
	e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+id+`: removed`))
	if out := mailq(); out != "Mail queue is empty\n" {
		t.Fatalf("mailq after delivery:\n%s", out)
	}
}
