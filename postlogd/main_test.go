package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/maillog"
)

// TestHandler: every record becomes one line of maillog_file, a hostile one (newlines, far too
// long) included; an empty one adds nothing.
func TestHandler(t *testing.T) {
	path := filepath.Join(t.TempDir(), "maillog")
	h := handler(maillog.New("postlogd", maillog.Options{MaillogFile: path, Hostname: "mail"}))
	h([]byte("Dec 07 10:00:00 mail postfix/postdrop[7]: warning: one"))
	h([]byte("Dec 07 10:00:01 mail postfix/sendmail[8]: fatal: two\nDec 07 10:00:01 mail postfix/smtpd[1]: forged" + strings.Repeat("!", 9000)))
	h(nil)
	h([]byte("Dec 07 10:00:02 mail postfix/postqueue[9]: three\n"))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "Dec 07 10:00:00 mail postfix/postdrop[7]: warning: one" ||
		!strings.HasPrefix(lines[1], "Dec 07 10:00:01 mail postfix/sendmail[8]: fatal: two Dec 07") || len(lines[1]) != maillog.MaxRecord ||
		lines[2] != "Dec 07 10:00:02 mail postfix/postqueue[9]: three" {
		t.Fatalf("maillog_file:\n%s", data)
	}
}
