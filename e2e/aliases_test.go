package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestAliases follows the howto's aliases chapter: an /etc/aliases-style
// file, newaliases, then mail through SMTP to an alias of one user, of
// three users, of a command and of a file; then .forward files.
func TestAliases(t *testing.T) {
	need(t, append(core, "newaliases")...)
	sysadmin, home, uid := testenv.User(t)
	u2, _, _ := testenv.User(t)
	u3, _, _ := testenv.User(t)

	dir := testenv.TempRoot(t, "palias-")
	os.Chmod(dir, 0o755)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o777) // written by default_privs
	os.Chmod(out, 0o777)
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\nid -u > "+out+"/script.uid\ncat > "+out+"/script.msg\n"), 0o755)
	archive := filepath.Join(out, "archive")
	aliasFile := filepath.Join(dir, "aliases")
	text := fmt.Sprintf("# See aliases(5)\npostmaster: root\nfmaster: %s\nteam: %s,\n\t%s, %s\nrobot: \"|%s\"\narchive: %s\n",
		sysadmin, sysadmin, u2, u3, script, archive)
	if err := os.WriteFile(aliasFile, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	e := testenv.Start(t, testenv.Options{MainCF: "alias_maps = hash:" + aliasFile + "\nalias_database = hash:" + aliasFile +
		"\nlocal_recipient_maps =\n"})
	if o, err := e.Run("newaliases", "-c", e.ConfigDir); err != nil || o != "" {
		t.Fatalf("newaliases: %v %q", err, o)
	}

	send := func(rcpt, subject string) {
		t.Helper()
		e.SendMail(t, "someone@postern.test", []string{rcpt}, "Subject: "+subject+"\n\nFrom the body\n")
	}
	waitMbox := func(user, subject string) string {
		t.Helper()
		var m string
		e.WaitFor(t, 30*time.Second, func() bool {
			m = e.Mbox(user)
			return strings.Contains(m, "Subject: "+subject+"\n")
		})
		return m
	}

	send("fmaster@postern.test", "for fmaster")
	m := waitMbox(sysadmin, "for fmaster")
	if !strings.Contains(m, "\nDelivered-To: fmaster@postern.test\n") || !strings.Contains(m, "\n>From the body\n") {
		t.Errorf("%s's mailbox:\n%s", sysadmin, m)
	}
	e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: [0-9A-F]+: to=<`+sysadmin+`@postern\.test>, orig_to=<fmaster@postern\.test>, relay=local, delay=[0-9.]+, delays=[0-9./]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)`))

	send("team@postern.test", "for the team")
	for _, u := range []string{sysadmin, u2, u3} {
		waitMbox(u, "for the team")
	}

	send("robot@postern.test", "for the robot")
	e.WaitFor(t, 30*time.Second, func() bool {
		b, _ := os.ReadFile(filepath.Join(out, "script.msg"))
		return strings.Contains(string(b), "Subject: for the robot")
	})
	b, _ := os.ReadFile(filepath.Join(out, "script.uid"))
	nobody, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if nobody == 0 || nobody == uid {
		t.Errorf("alias command ran as uid %q, want default_privs", b)
	}
	e.WaitLog(t, regexp.MustCompile(`to=<robot@postern\.test>, relay=local, .*status=sent \(delivered to command: `+regexp.QuoteMeta(script)+`\)`))

	send("archive@postern.test", "for the archive")
	e.WaitFor(t, 30*time.Second, func() bool {
		b, _ := os.ReadFile(archive)
		return strings.Contains(string(b), "Subject: for the archive")
	})
	b, _ = os.ReadFile(archive)
	if !regexp.MustCompile(`^From someone@postern\.test  \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\nReturn-Path: <someone@postern\.test>\n`).Match(b) ||
		!strings.HasSuffix(string(b), "\n>From the body\n\n") {
		t.Errorf("archive file:\n%s", b)
	}

	// sysadmin's .forward: a copy for herself and one for u2.
	fwd := filepath.Join(home, ".forward")
	os.WriteFile(fwd, []byte("\\"+sysadmin+", "+u2+"\n"), 0o644)
	os.Chown(fwd, uid, -1)
	send(sysadmin+"@postern.test", "forwarded")
	waitMbox(sysadmin, "forwarded")
	waitMbox(u2, "forwarded")
	e.WaitLog(t, regexp.MustCompile(`to=<`+u2+`@postern\.test>, orig_to=<`+sysadmin+`@postern\.test>, relay=local, .*status=sent \(forwarded as [0-9A-F]+\)`))

	// A world-writable .forward is ignored, with a warning.
	os.WriteFile(fwd, []byte(u3+"\n"), 0o666)
	os.Chmod(fwd, 0o666)
	send(sysadmin+"@postern.test", "not forwarded")
	waitMbox(sysadmin, "not forwarded")
	e.WaitLog(t, regexp.MustCompile(`warning: file `+regexp.QuoteMeta(fwd)+` is world writable`))
	if strings.Contains(e.Mbox(u3), "not forwarded") {
		t.Errorf("%s got mail through a world-writable .forward", u3)
	}
}

// TestAliasLoop: an alias loop is bounced to the sender, not looped.
func TestAliasLoopBounced(t *testing.T) {
	need(t, append(core, "newaliases", "bounce")...)
	sender, _, _ := testenv.CurrentUser(t)
	dir := testenv.TempRoot(t, "paloop-")
	aliasFile := filepath.Join(dir, "aliases")
	os.WriteFile(aliasFile, []byte("ping: pong\npong: ping\n"), 0o644)
	e := testenv.Start(t, testenv.Options{MainCF: "alias_maps = hash:" + aliasFile + "\nalias_database = hash:" + aliasFile +
		"\nlocal_recipient_maps =\n"})
	if o, err := e.Run("newaliases", "-c", e.ConfigDir); err != nil {
		t.Fatalf("newaliases: %v %q", err, o)
	}
	e.SendMail(t, sender+"@postern.test", []string{"ping@postern.test"}, "Subject: loop\n\nround and round\n")
	e.WaitLog(t, regexp.MustCompile(`to=<p[io]ng@postern\.test>, orig_to=<ping@postern\.test>, relay=local, .*dsn=5\.4\.6, status=bounced \(alias database loop for p[io]ng\)`))
	e.WaitFor(t, 30*time.Second, func() bool {
		return strings.Contains(e.Mbox(sender), "alias database loop for")
	})
}
