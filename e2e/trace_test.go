package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// TestSendmailVerboseReport: `sendmail -v user` gets the sender a "Mail Delivery Status
// Report" naming the recipient with Action: delivered and local's "delivered to mailbox";
// `sendmail -N success` gets a "Successful Mail Delivery Report". The report goes through
// qmgr's trace log and the bounce service, and the queue is empty afterwards.
func TestSendmailVerboseReport(t *testing.T) {
	need(t, append(core, "sendmail", "postdrop", "pickup", "bounce", "postqueue")...)
	name, _, _ := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{})
	env := append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	sendmail := func(subject string, args ...string) {
		t.Helper()
		if os.Geteuid() == 0 {
			// CurrentUser made an account for root; mail for root is not the test's.
			args = append([]string{"-f", name + "@postern.test"}, args...)
		}
		cmd := exec.Command(filepath.Join(e.BinDir, "sendmail"), append(args, name)...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("Subject: " + subject + "\n\nhello\n")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sendmail %v: %v\n%s", args, err, out)
		}
	}

	sendmail("traced", "-v")
	var mbox string
	e.WaitFor(t, 30*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "\nSubject: Mail Delivery Status Report\n") && strings.Contains(mbox, "\nSubject: traced\n")
	})
	report := mbox[strings.Index(mbox, "\nSubject: Mail Delivery Status Report\n"):]
	for _, want := range []string{"Enclosed is the mail delivery report that you requested.\n",
		// The command line named the bare login: Postfix's "(expanded from ...)" form.
		"\n<" + name + "@postern.test> (expanded from <" + name + ">): delivered to mailbox\n",
		"\nFinal-Recipient: rfc822; " + name + "@postern.test\n", "\nAction: delivered\n", "\nStatus: 2.0.0\n",
		"Content-Description: Message Headers\n", "\nSubject: traced\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	e.WaitLog(t, regexp.MustCompile(`postfix/bounce\[\d+\]: [0-9A-F]+: sender delivery status notification: [0-9A-F]+`))

	sendmail("notify success", "-N", "success")
	e.WaitFor(t, 30*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "\nSubject: Successful Mail Delivery Report\n")
	})
	report = mbox[strings.Index(mbox, "\nSubject: Successful Mail Delivery Report\n"):]
	for _, want := range []string{"Your message was successfully delivered to the destination(s)\n",
		"\nAction: delivered\n", "\nSubject: notify success\n"} {
		if !strings.Contains(report, want) {
			t.Errorf("success report lacks %q:\n%s", want, report)
		}
	}
	// Exactly two reports: the reports themselves come from <> and ask for none.
	e.WaitFor(t, 10*time.Second, func() bool {
		out, _ := e.Run("postqueue", "-c", e.ConfigDir, "-p")
		return out == "Mail queue is empty\n"
	})
	if n := strings.Count(e.Mbox(name), "\nAuto-Submitted: auto-replied\n"); n != 2 {
		t.Errorf("%d reports in the mailbox", n)
	}
	if ents, _ := os.ReadDir(filepath.Join(e.QueueDir, "trace")); len(ents) != 0 {
		t.Errorf("trace logs left: %v", ents)
	}
}

// TestSMTPNotifySuccess: RCPT TO:<..> NOTIFY=SUCCESS over SMTP (RFC 3461) reaches the queue as
// notify_flags, and the sender gets a "Successful Mail Delivery Report" naming the recipient.
func TestSMTPNotifySuccess(t *testing.T) {
	need(t, append(core, "bounce")...)
	name, _, _ := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{})
	addr := name + "@postern.test"
	c, err := smtp.Dial(e.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail(addr, &smtp.MailOptions{Return: smtp.DSNReturnHeaders, EnvelopeID: "env-42"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt(addr, &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess},
		OriginalRecipientType: smtp.DSNAddressTypeRFC822, OriginalRecipient: addr}); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: notify me\r\n\r\nhello\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	var mbox string
	e.WaitFor(t, 30*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "\nSubject: Successful Mail Delivery Report\n")
	})
	report := mbox[strings.Index(mbox, "\nSubject: Successful Mail Delivery Report\n"):]
	for _, want := range []string{"\nAction: delivered\n", "Final-Recipient: rfc822; " + addr, "Original-Recipient: rfc822;" + addr,
		"Original-Envelope-Id: env-42"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
