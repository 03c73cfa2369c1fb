package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// sendmailCode runs sendmail with input and returns its exit status and output.
func sendmailCode(t *testing.T, e *testenv.Env, input string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(e.BinDir, "sendmail"), args...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	cmd.Stdin = strings.NewReader(input)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

// countIDs counts each Message-Id <PREFIX-N@test> in text.
func countIDs(text, prefix string) map[string]int {
	seen := map[string]int{}
	for _, m := range regexpMust(`(?mi)^Message-Id: <(`+prefix+`-\d+)@test>$`).FindAllStringSubmatch(text, -1) {
		seen[m[1]]++
	}
	return seen
}

// TestDiskFull puts the queue on a 4 MB tmpfs. Messages are accepted while delivery is held
// (master.cf without local), then the file system is filled: MAIL FROM gets 452 4.3.1 and
// sendmail exits 75; local comes back while the disk is still full; then space is freed.
// Every accepted message is delivered, and new mail is accepted again without any action.
func TestDiskFull(t *testing.T) {
	need(t, append(core, "pickup", "sendmail", "postdrop", "postfix")...)
	qdir := testenv.MountTmpfs(t, "4m")
	u, _, _ := testenv.User(t)
	e := testenv.StartWithQueue(t, testenv.Options{MainCF: "message_size_limit = 100000\n" +
		"minimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n" +
		"transport_retry_time = 1s\nstale_lock_time = 3s\n"}, qdir)
	e.SetMasterCF(t, "local")
	e.Reload(t)

	rcpt := u + "@postern.test"
	msg := func(n int) string {
		return fmt.Sprintf("Subject: full %d\nMessage-Id: <full-%d@test>\n\nbody %d\n", n, n, n)
	}
	accepted := map[string]bool{}
	for n := 0; n < 10; n++ {
		if _, err := testenv.Submit(e.SMTPAddr, "full@example.org", []string{rcpt}, msg(n)); err != nil {
			t.Fatalf("message %d: %v", n, err)
		}
		accepted[fmt.Sprintf("full-%d", n)] = true
	}
	for n := 10; n < 13; n++ {
		if code, out := sendmailCode(t, e, msg(n), rcpt); code != 0 {
			t.Fatalf("sendmail %d: exit %d: %s", n, code, out)
		}
		accepted[fmt.Sprintf("full-%d", n)] = true
	}
	e.WaitLog(t, regexpMust(`status=deferred \(mail transport unavailable\)`))

	// Fill the file system to the last byte.
	filler := filepath.Join(qdir, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	t.Logf("queue file system filled")

	c, err := smtp.Dial(e.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Mail("full@example.org", nil)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) ||
		se.Message != "Insufficient system storage" {
		t.Errorf("MAIL FROM with a full queue: %v, want 452 4.3.1 Insufficient system storage", err)
	}
	c.Close()
	e.WaitLog(t, regexpMust(`NOQUEUE: reject: MAIL from \S+: 452 4\.3\.1 Insufficient system storage`))
	if code, out := sendmailCode(t, e, msg(99), rcpt); code != 75 {
		t.Errorf("sendmail with a full queue: exit %d, want 75 (EX_TEMPFAIL): %s", code, out)
	} else {
		t.Logf("sendmail with a full queue: exit 75: %s", strings.TrimSpace(out))
	}

	// Deliveries come back while the disk is still full: they need no queue space.
	e.SetMasterCF(t)
	e.Reload(t)
	time.Sleep(3 * time.Second)
	t.Logf("delivered while full: %d of %d", len(countIDs(e.Mbox(u), "full")), len(accepted))

	os.Remove(filler)
	e.WaitFor(t, 60*time.Second, func() bool { return len(countIDs(e.Mbox(u), "full")) >= len(accepted) })
	seen := countIDs(e.Mbox(u), "full")
	for id := range accepted {
		if seen[id] == 0 {
			t.Errorf("%s was accepted but not delivered", id)
		}
	}
	if seen["full-99"] > 0 {
		t.Errorf("the message sendmail was refused for was delivered")
	}

	// Accepting again needs no action.
	if _, err := testenv.Submit(e.SMTPAddr, "full@example.org", []string{rcpt}, msg(100)); err != nil {
		t.Errorf("SMTP after space returned: %v", err)
	}
	if code, out := sendmailCode(t, e, msg(101), rcpt); code != 0 {
		t.Errorf("sendmail after space returned: exit %d: %s", code, out)
	}
	e.WaitFor(t, 30*time.Second, func() bool {
		s := countIDs(e.Mbox(u), "full")
		return s["full-100"] > 0 && s["full-101"] > 0
	})
	e.WaitFor(t, 30*time.Second, e.QueueEmpty)
}
