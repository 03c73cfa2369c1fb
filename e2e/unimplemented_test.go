package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postern/pkg/testenv"
)

// TestUnimplementedWarnings: what main.cf and master.cf ask for and Postern does not do is
// said, never ignored silently: postfix check shows it, master logs it at start and at each
// reload, and smtpd answers a restriction it lacks as Postfix answers an unknown one.
func TestUnimplementedWarnings(t *testing.T) {
	need(t, "master", "smtpd", "postfix")
	sub, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.Start(t, testenv.Options{
		MainCF: "smtpd_milters = inet:localhost:8891\n" +
			"header_checks = regexp:/etc/postfix/header_checks\n" +
			"smtpd_client_restrictions = reject_rbl_client zen.example\n" +
			"body_checks =\n", // empty: the same as Postfix without body checks
		MasterCF: sub + " inet n - n - - smtpd -o content_filter=smtp:[127.0.0.1]:10025 -o syslog_name=postfix/submission\n" +
			"maildrop unix - n n - - pipe flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n",
	})
	cf, mcf := filepath.Join(e.ConfigDir, "main.cf"), filepath.Join(e.ConfigDir, "master.cf")
	settings := []string{
		cf + ": parameter header_checks is not implemented by Postern and is ignored",
		cf + ": parameter smtpd_milters is not implemented by Postern and is ignored",
		mcf + ": service " + sub + ": parameter content_filter is not implemented by Postern and is ignored",
		cf + ": smtpd_client_restrictions: restriction reject_rbl_client is not implemented by Postern: recipients that reach it get 451 4.3.5 Server configuration error",
	}
	lines := strings.Split(e.Layout.MasterCFText(), "\n")
	program := ""
	for i, l := range lines {
		if strings.HasPrefix(l, "maildrop ") {
			program = mcf + " line " + strconv.Itoa(i+1) + ": service maildrop: program " + filepath.Join(e.BinDir, "pipe") + " not found -- skipped"
		}
	}

	// postfix check shows every one, the program too.
	out, err := e.Run("postfix", "-c", e.ConfigDir, "check")
	if err != nil {
		t.Fatalf("postfix check: %v\n%s", err, out)
	}
	if got, want := configWarnings(out, "postfix/postfix-script: warning: ", e.ConfigDir), append(append([]string{}, settings...), program); !equal(got, want) {
		t.Errorf("postfix check warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// master logged them at start, before "daemon started", and logs them again at reload.
	masterWarn := regexp.MustCompile(`postfix/master\[\d+\]: warning: (.*)`)
	logged := func(upTo string) [][]string {
		var blocks [][]string
		var cur []string
		for _, l := range strings.Split(e.Log(), "\n") {
			if m := masterWarn.FindStringSubmatch(l); m != nil && strings.HasPrefix(m[1], e.ConfigDir) {
				cur = append(cur, m[1])
			}
			if strings.Contains(l, "postfix/master[") && (strings.Contains(l, ": daemon started -- ") || strings.Contains(l, ": reload -- ")) {
				if strings.Contains(l, upTo) {
					blocks = append(blocks, cur)
				}
				cur = nil
			}
		}
		return blocks
	}
	want := append([]string{program}, settings...) // master: programs as it plans, then the rest
	if b := logged(": daemon started -- "); len(b) != 1 || !equal(b[0], want) {
		t.Errorf("logged at start: %q\nwant %q", b, want)
	}
	out = e.Postfix(t, "reload")
	if got := configWarnings(out, "postfix/postfix-script: warning: ", e.ConfigDir); !equal(got, append(append([]string{}, settings...), program)) {
		t.Errorf("postfix reload shows:\n%s", out)
	}
	e.WaitLog(t, regexpMust(`postfix/master\[\d+\]: reload -- `))
	if b := logged(": reload -- "); len(b) != 1 || !equal(b[0], want) {
		t.Errorf("logged at reload: %q\nwant %q", b, want)
	}
	// Logged by postfix check, master's start and master's reload; postfix reload only shows.
	if n := strings.Count(e.Log(), ": parameter smtpd_milters is not implemented"); n != 3 {
		t.Errorf("smtpd_milters warned %d times in the log, want 3 (check, start, reload)", n)
	}

	// smtpd answers as Postfix for a restriction it cannot apply.
	c := e.SMTP(t)
	c.Expect(220)
	c.Cmd("EHLO client.example", 250)
	c.Cmd("MAIL FROM:<someone@example.org>", 250)
	if r := c.Cmd("RCPT TO:<postmaster@postern.test>", 451); !strings.Contains(r, "4.3.5 Server configuration error") {
		t.Errorf("RCPT: %q", r)
	}
	c.Cmd("QUIT", 221)
	e.WaitLog(t, regexpMust(`postfix/smtpd\[\d+\]: warning: restriction reject_rbl_client is not implemented by Postern`))
}

// configWarnings returns the texts after prefix of the output lines that are about files in
// dir (ownership warnings of a root check are not this test's business).
func configWarnings(out, prefix, dir string) []string {
	var w []string
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, prefix); ok && strings.HasPrefix(rest, dir+"/") {
			w = append(w, rest)
		}
	}
	return w
}

func equal(a, b []string) bool {
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}
