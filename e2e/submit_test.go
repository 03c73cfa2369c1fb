package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// sendmail runs the instance's sendmail with args and input as the test's user.
func sendmail(t *testing.T, e *testenv.Env, input string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(e.BinDir, "sendmail"), args...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("sendmail %q: %v\n%s", args, err, out.String())
	}
}

// TestSendmailExtract: sendmail -t delivers to To, Cc and Bcc; no copy shows Bcc:; pickup
// logs the submitting uid and puts its Received: header first.
func TestSendmailExtract(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop")...)
	e := testenv.Start(t, testenv.Options{})
	a, _, _ := testenv.User(t)
	b, _, _ := testenv.User(t)
	c, _, _ := testenv.User(t)
	sendmail(t, e, "To: "+a+"\nCc: "+b+"\nBcc: "+c+"\nSubject: x\n\nbody\n", "-t")
	for _, u := range []string{a, b, c} {
		e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(u), "\nbody\n") })
		m := e.Mbox(u)
		if strings.Contains(m, "\nBcc:") {
			t.Errorf("%s's copy contains Bcc:\n%s", u, m)
		}
		if !strings.Contains(m, "Received: by postern.test (Postfix, from userid "+strconv.Itoa(os.Getuid())+")\n\tid ") {
			t.Errorf("%s's copy lacks pickup's Received: header\n%s", u, m)
		}
	}
	e.WaitLog(t, regexpMust(`postfix/pickup\[\d+\]: [0-9A-F]+: uid=`+strconv.Itoa(os.Getuid())+` from=<`))
	e.WaitFor(t, 20*time.Second, e.QueueEmpty)
}

// TestSendmailSender: -f sets the envelope sender (Return-Path:), -F the full name in an
// added From:.
func TestSendmailSender(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop")...)
	e := testenv.Start(t, testenv.Options{})
	u, _, _ := testenv.User(t)
	sendmail(t, e, "Subject: s\n\nhello\n.\nnot sent\n", "-f", "x@y.example", "-F", "Ex Ample", u)
	e.WaitFor(t, 20*time.Second, func() bool { return strings.Contains(e.Mbox(u), "\nhello\n") })
	m := e.Mbox(u)
	if !strings.Contains(m, "Return-Path: <x@y.example>\n") {
		t.Errorf("no Return-Path: <x@y.example>\n%s", m)
	}
	if strings.Contains(m, "not sent") {
		t.Errorf("text after a lone dot was delivered\n%s", m)
	}
}

// TestSendmailPickupKilled: a message submitted while pickup is being restarted (killed
// with SIGKILL just before) is found by the new pickup and delivered.
func TestSendmailPickupKilled(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop")...)
	e := testenv.Start(t, testenv.Options{})
	u, _, _ := testenv.User(t)
	for _, pid := range e.PIDsOf(t, "pickup") {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	sendmail(t, e, "Subject: s\n\nlater\n", u)
	e.WaitFor(t, 30*time.Second, func() bool { return strings.Contains(e.Mbox(u), "\nlater\n") })
}
