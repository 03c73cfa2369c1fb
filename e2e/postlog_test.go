package e2e

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postern/pkg/testenv"
)

// TestLoggingPostlog: with maillog_file set and not writable by ordinary users, the commands
// such a user runs (sendmail, and the set-gid postdrop it calls) send their lines to the
// postlog service (Debian's "postlog unix-dgram n - n - 1 postlogd"), and postlogd appends
// them to maillog_file in Postfix's shape.
func TestLoggingPostlog(t *testing.T) {
	need(t, append(core, "sendmail", "postdrop", "pickup", "postlogd")...)
	if os.Geteuid() != 0 {
		t.Skip("needs root to create users")
	}
	e := testenv.Start(t, testenv.Options{})
	// Root's, 0644: only master's children (through the descriptor master gives them) and
	// root may write it.
	if err := os.Chmod(e.LogFile, 0644); err != nil {
		t.Fatal(err)
	}
	luser, _, _ := testenv.User(t)
	// Without pickup postdrop warns that it cannot wake it (the message waits in maildrop).
	e.SetMasterCF(t, "pickup")
	e.Reload(t)

	cmd := e.CommandAs(t, luser, []string{"postdrop"}, "sendmail", "-f", luser+"@postern.test", luser)
	cmd.Stdin = strings.NewReader("Subject: logged\n\nhello\n")
	out, errs, code := run(t, cmd)
	if code != 0 || out != "" || errs != "postdrop: warning: unable to look up public/pickup: No such file or directory\n" {
		t.Fatalf("sendmail: %d %q %q", code, out, errs)
	}
	prefix := `(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d postern `
	e.WaitLog(t, regexp.MustCompile(prefix+`postfix/postdrop\[\d+\]: warning: unable to look up public/pickup: No such file or directory$`))

	cmd = e.CommandAs(t, luser, []string{"postdrop"}, "sendmail", "-t")
	cmd.Stdin = strings.NewReader("Subject: nobody\n\nhello\n")
	if _, errs, code := run(t, cmd); code != 64 || !strings.Contains(errs, "No recipient addresses found in message header") {
		t.Fatalf("sendmail -t without recipients: %d %q", code, errs)
	}
	e.WaitLog(t, regexp.MustCompile(prefix+`postfix/sendmail\[`+strconv.Itoa(cmd.Process.Pid)+`\]: fatal: `+
		luser+`\(\d+\): No recipient addresses found in message header$`))
	if strings.Contains(e.Log(), "open maillog_file") {
		t.Errorf("a command complained about maillog_file:\n%s", e.Log())
	}
}
