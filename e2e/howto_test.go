package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/testenv"
)

var fromLine = regexp.MustCompile(`^From test@yourdomain\.com  [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n`)

// TestHowto follows the howto: telnet to port 25, type the dialogue with
// its misspelled Subjet: line, read the mbox with mail(1), then switch to
// Maildir with postconf -e and postfix reload.
func TestHowto(t *testing.T) {
	need(t, append(core, "postconf", "postfix")...)
	name, home, uid := testenv.CurrentUser(t)
	e := testenv.Start(t, testenv.Options{})

	c := e.SMTP(t)
	if got := c.Expect(220); got != "220 postern.test ESMTP Postfix" {
		t.Errorf("banner = %q, want %q", got, "220 postern.test ESMTP Postfix")
	}
	c.Cmd("ehlo localhost", 250)
	c.Cmd("mail from: test@yourdomain.com", 250)
	c.Cmd("rcpt to: "+name+"@postern.test", 250)
	c.Cmd("data", 354)
	c.Send("Subjet: test")
	c.Send("hello")
	reply := c.Cmd(".", 250)
	if !regexp.MustCompile(`^250 2\.0\.0 Ok: queued as [0-9A-F]+$`).MatchString(reply) {
		t.Errorf("end of data: %q, want 250 2.0.0 Ok: queued as ID", reply)
	}
	c.Cmd("quit", 221)
	c.Close()

	var mbox string
	e.WaitFor(t, 20*time.Second, func() bool {
		mbox = e.Mbox(name)
		return strings.Contains(mbox, "hello")
	})
	if !fromLine.MatchString(mbox) {
		first, _, _ := strings.Cut(mbox, "\n")
		t.Errorf("mbox does not start with a From_ line: %q", first)
	}
	for _, want := range []string{
		"\nReturn-Path: <test@yourdomain.com>\n",
		"\nDelivered-To: " + name + "@postern.test\n",
		"\nReceived: from localhost",
		"\nSubjet: test\n",
		"\nhello\n",
	} {
		if !strings.Contains(mbox, want) {
			t.Errorf("mbox lacks %q:\n%s", want, mbox)
		}
	}
	if !strings.HasSuffix(mbox, "\n\n") {
		t.Errorf("mbox message does not end with a blank line: %q", mbox[max(0, len(mbox)-40):])
	}
	path := e.MailDir + "/" + name
	if st, err := os.Stat(path); err != nil {
		t.Error(err)
	} else {
		if got := st.Sys().(*syscall.Stat_t).Uid; int(got) != uid {
			t.Errorf("%s owned by uid %d, want %d", path, got, uid)
		}
		if st.Mode().Perm() != 0600 {
			t.Errorf("%s mode %v, want 0600", path, st.Mode().Perm())
		}
	}

	t.Run("mailx", func(t *testing.T) {
		if _, err := os.Stat("/usr/bin/mail"); err != nil {
			t.Skip("/usr/bin/mail is not installed (apt-get install bsd-mailx)")
		}
		// HOME elsewhere so that mail(1) never touches a real ~/mbox.
		env := append(os.Environ(), "HOME="+t.TempDir(), "MAIL="+path)
		// bsd-mailx lists the headers on opening the file; x leaves it unchanged.
		cmd := exec.Command("/usr/bin/mail", "-f", path)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("x\n")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "1 message") || !strings.Contains(string(out), "test@yourdomain") {
			t.Errorf("mail -f %s: %v\n%s", path, err, out)
		}
		cmd = exec.Command("/usr/bin/mail", "-N", "-f", path)
		cmd.Env = env
		cmd.Stdin = strings.NewReader("p 1\nx\n")
		out, err = cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "hello") || !strings.Contains(string(out), "Subjet: test") {
			t.Errorf("mail -f %s, p 1: %v\n%s", path, err, out)
		}
	})

	t.Run("maildir", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("Maildir delivery would write into the invoking user's real home; needs root for a test user")
		}
		e.Postconf(t, "-e", "home_mailbox=Maildir/")
		if got := strings.TrimSpace(e.Postconf(t, "-h", "home_mailbox")); got != "Maildir/" {
			t.Fatalf("postconf -h home_mailbox = %q", got)
		}
		e.Reload(t)
		before := e.Mbox(name)
		e.SendMail(t, "test@yourdomain.com", []string{name + "@postern.test"},
			"Subject: My first mail in a Maildir\n\nAre you there?\n")
		var files []string
		e.WaitFor(t, 20*time.Second, func() bool {
			files = e.MaildirNew(home)
			return len(files) > 0
		})
		time.Sleep(300 * time.Millisecond)
		files = e.MaildirNew(home)
		if len(files) != 1 {
			t.Fatalf("Maildir/new holds %d files, want 1: %v", len(files), files)
		}
		b, err := os.ReadFile(files[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Subject: My first mail in a Maildir\n", "Are you there?\n", "Return-Path: <test@yourdomain.com>\n"} {
			if !strings.Contains(string(b), want) {
				t.Errorf("maildir file lacks %q:\n%s", want, b)
			}
		}
		if st, err := os.Stat(files[0]); err == nil && int(st.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("%s not owned by the user", files[0])
		}
		if e.Mbox(name) != before {
			t.Errorf("the mbox changed after home_mailbox = Maildir/")
		}
	})
}
