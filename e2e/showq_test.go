package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// run runs cmd and returns its standard output, standard error and exit status.
func run(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", cmd.Path, err)
	}
	return o.String(), e.String(), code
}

// TestQueueShowqUser: an ordinary user's mailq (sendmail -bp -> postqueue -p) gets the
// report from the showq service, since the queue directories are mail_owner's alone:
// "Mail queue is empty", then a deferred message in Postfix's columns, byte for byte what
// root gets by reading the queue directly when showq is down; postqueue -j gives the same
// message as JSON. A user outside group postdrop is refused as Postfix refuses them, and
// without showq only root still gets a report.
func TestQueueShowqUser(t *testing.T) {
	need(t, append(core, "sendmail", "postqueue", "showq")...)
	if os.Geteuid() != 0 {
		t.Skip("needs root to create users")
	}
	e := testenv.Start(t, testenv.Options{})
	rcpt, _, _ := testenv.User(t)
	luser, _, _ := testenv.User(t)
	mailq := func() *exec.Cmd {
		cmd := e.CommandAs(t, luser, []string{"postdrop"}, "sendmail")
		cmd.Args[0] = "mailq"
		return cmd
	}

	if out, errs, code := run(t, mailq()); out != "Mail queue is empty\n" || errs != "" || code != 0 {
		t.Fatalf("mailq of an empty queue: %d %q %q", code, out, errs)
	}

	// A mailbox the recipient does not own: local defers "not owned by recipient".
	mbox := filepath.Join(e.MailDir, rcpt)
	if err := os.WriteFile(mbox, nil, 0666); err != nil {
		t.Fatal(err)
	}
	os.Chmod(mbox, 0666)
	id := e.SendMail(t, "alice@example.org", []string{rcpt + "@postern.test"}, "Subject: waiting\n\nhello\n")
	e.WaitLog(t, regexp.MustCompile(id+`: to=<`+rcpt+`@postern.test>, .*status=deferred`))

	var out, errs string
	var code int
	e.WaitFor(t, 10*time.Second, func() bool {
		out, errs, code = run(t, mailq())
		return strings.Contains(out, id+" ")
	})
	listing := regexp.MustCompile(`^-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n` +
		id + ` +\d+ [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d  alice@example\.org\n` +
		` *\(.*not owned by recipient\)\n {41}` + rcpt + `@postern\.test\n\n-- \d+ Kbytes in 1 Request\.\n$`)
	if !listing.MatchString(out) || errs != "" || code != 0 {
		t.Fatalf("user's mailq of a deferred message (exit %d, stderr %q):\n%s", code, errs, out)
	}
	if n := len(strings.SplitN(out, "\n", 3)[1]); n > 80 {
		t.Errorf("message line is %d columns", n)
	}
	// The reason line's ")" ends in column 78, as Postfix's, unless the reason is longer.
	if why := strings.Split(out, "\n")[2]; len(why) != 78 && !strings.HasPrefix(why, "(") {
		t.Errorf("reason line is %d columns: %q", len(why), why)
	}

	j, errs, code := run(t, e.CommandAs(t, luser, []string{"postdrop"}, "postqueue", "-j"))
	var m struct {
		QueueName  string `json:"queue_name"`
		QueueID    string `json:"queue_id"`
		Sender     string `json:"sender"`
		Recipients []struct {
			Address     string `json:"address"`
			DelayReason string `json:"delay_reason"`
		} `json:"recipients"`
	}
	if code != 0 || errs != "" || strings.Count(j, "\n") != 1 || json.Unmarshal([]byte(j), &m) != nil ||
		m.QueueName != "deferred" || m.QueueID != id || m.Sender != "alice@example.org" || len(m.Recipients) != 1 ||
		m.Recipients[0].Address != rcpt+"@postern.test" || !strings.Contains(m.Recipients[0].DelayReason, "not owned by recipient") {
		t.Fatalf("postqueue -j: %d %q %q", code, j, errs)
	}

	// Outside group postdrop the public/ directory is closed: Postfix's words, exit 70.
	if o, errs, code := run(t, e.CommandAs(t, luser, nil, "postqueue", "-p")); o != "" || code != 70 ||
		errs != "postqueue: fatal: Connect to the Postfix showq service: Permission denied\n" {
		t.Fatalf("postqueue -p outside group postdrop: %d %q %q", code, o, errs)
	}

	// showq out of reach: root reads the queue itself (same bytes), a user cannot.
	sock := filepath.Join(e.QueueDir, "public", "showq")
	if err := os.Rename(sock, sock+".away"); err != nil {
		t.Fatal(err)
	}
	defer os.Rename(sock+".away", sock)
	root := exec.Command(filepath.Join(e.BinDir, "postqueue"), "-p")
	root.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	if o, errs, code := run(t, root); o != out || code != 0 ||
		errs != "postqueue: warning: Mail system is down -- accessing queue directly\n" {
		t.Fatalf("root's postqueue -p without showq: %d %q\nwant the same as through showq:\n%s\ngot:\n%s", code, errs, out, o)
	}
	e.WaitLog(t, regexp.MustCompile(`(?m)postfix/postqueue\[\d+\]: warning: Mail system is down -- accessing queue directly$`))
	if o, errs, code := run(t, mailq()); o != "" || code != 69 ||
		errs != "postqueue: fatal: Queue report unavailable - mail system is down\n" {
		t.Fatalf("user's mailq without showq: %d %q %q", code, o, errs)
	}
}
