package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"postern/pkg/aliases"
	"postern/pkg/passwd"
	"postern/pkg/table"
)

// aliasEnv is a testEnv with alias_maps = hash:DIR/aliases (built from
// text), mydestination = example.org and a fake cleanup that
// records resubmissions.
type aliasEnv struct {
	*testEnv
	posted []*fwdGroup
}

func newAliasEnv(t *testing.T, aliasText, extra string) *aliasEnv {
	t.Helper()
	adir := tempDir(t)
	af := filepath.Join(adir, "aliases")
	if err := os.WriteFile(af, []byte(aliasText), 0o644); err != nil {
		t.Fatal(err)
	}
	// As postalias builds it.
	err := table.BuildFile(af, table.BuildOptions{Extra: [][2]string{{"@", "@"}}}, func(put func(k, v string)) error {
		return aliases.ParseFile(strings.NewReader(aliasText), af, func(en aliases.Entry) error {
			put(en.Name, en.Value)
			return nil
		}, func(w string) { t.Log(w) })
	})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, "alias_maps = hash:"+af+"\nmydestination = example.org, localhost\nmyorigin = example.org\n"+
		"myhostname = mail.example.org\n"+extra)
	a := &aliasEnv{testEnv: e}
	e.srv.xc.post = func(x *expansion, g *fwdGroup) (string, error) {
		a.posted = append(a.posted, g)
		return fmt.Sprintf("FWD%d", len(a.posted)), nil
	}
	return a
}

// addUser adds a passwd entry with the current uid and a home directory.
func (e *testEnv) addUser(t *testing.T, name string) {
	h := filepath.Join(e.dir, "home", name)
	os.MkdirAll(h, 0o755)
	e.home[name] = h
	f, err := os.OpenFile(filepath.Join(e.dir, "passwd"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s:x:%d:%d:%s:%s:/bin/sh\n", name, os.Getuid(), os.Getgid(), name, h)
	f.Close()
}

func (e *aliasEnv) send(t *testing.T, rcpt string) (code, text string) {
	t.Helper()
	id, off := e.queueFile(t, sample...)
	st := e.srv.handle(makeRequest(id, off, rcpt, rcpt))
	return st.Code, st.Text
}

func (e *testEnv) mbox(user string) string {
	b, _ := os.ReadFile(filepath.Join(e.spool, user))
	return string(b)
}

func (e *testEnv) wantLog(t *testing.T, re string) {
	t.Helper()
	if !regexp.MustCompile(re).MatchString(e.logText()) {
		t.Fatalf("log lacks %s:\n%s", re, e.logText())
	}
}

func TestAliasToLocalUser(t *testing.T) {
	e := newAliasEnv(t, "# comment\nfmaster: bob\n", "")
	code, text := e.send(t, "Fmaster@example.org")
	if code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("status %s %s", code, text)
	}
	m := e.mbox("bob")
	if !strings.Contains(m, "X-Original-To: Fmaster@example.org\nDelivered-To: Fmaster@example.org\nSubject: hi\n") {
		t.Fatalf("bob's mailbox:\n%s", m)
	}
	if e.mbox("fmaster") != "" || e.mbox("alice") != "" {
		t.Fatal("delivered elsewhere too")
	}
	e.wantLog(t, `: to=<bob@example\.org>, orig_to=<Fmaster@example\.org>, relay=local, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/[0-9.]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)`)
	if strings.Contains(e.logText(), ": to=<Fmaster@example.org>,") {
		t.Fatalf("the alias itself was logged:\n%s", e.logText())
	}
}

func TestAliasToThreeUsers(t *testing.T) {
	e := newAliasEnv(t, "team: alice, bob,\n  carol\n", "recipient_delimiter = +\n")
	e.addUser(t, "carol")
	if code, text := e.send(t, "team+x@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		if m := e.mbox(u); strings.Count(m, "Subject: hi") != 1 || !strings.Contains(m, "Delivered-To: team+x@example.org\n") {
			t.Fatalf("%s's mailbox:\n%s", u, m)
		}
		e.wantLog(t, "to=<"+u+`@example\.org>, orig_to=<team\+x@example\.org>, .*status=sent \(delivered to mailbox\)`)
	}
}

func TestAliasSelfAndDuplicates(t *testing.T) {
	// A name in its own expansion means that user; a duplicate is delivered once.
	e := newAliasEnv(t, "alice: alice, bob, bob@example.org\n", "")
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 || strings.Count(e.mbox("bob"), "Subject: hi") != 1 {
		t.Fatalf("alice:\n%s\nbob:\n%s", e.mbox("alice"), e.mbox("bob"))
	}
}

func TestAliasUnknownTarget(t *testing.T) {
	e := newAliasEnv(t, "x: alice, nosuch\n", "")
	code, text := e.send(t, "x@example.org")
	if code != "5.1.1" || text != `unknown user: "nosuch"` {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatal("alice got nothing")
	}
	e.wantLog(t, `to=<nosuch@example\.org>, orig_to=<x@example\.org>, .*dsn=5\.1\.1, status=bounced \(unknown user: "nosuch"\)`)
}

func TestAliasRemoteTargetForwarded(t *testing.T) {
	e := newAliasEnv(t, "x: someone@remote.example, alice\n", "")
	if code, text := e.send(t, "x@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if len(e.posted) != 1 || e.posted[0].sender != "sender@example.org" || len(e.posted[0].rcpts) != 1 ||
		e.posted[0].rcpts[0].addr != "someone@remote.example" || e.posted[0].delivered != "x@example.org" {
		t.Fatalf("posted %+v", e.posted)
	}
	e.wantLog(t, `to=<someone@remote\.example>, orig_to=<x@example\.org>, relay=local, .*dsn=2\.0\.0, status=sent \(forwarded as FWD1\)`)
}

func TestAliasLoop(t *testing.T) {
	e := newAliasEnv(t, "a: b\nb: a\n", "")
	code, text := e.send(t, "a@example.org")
	if code != "5.4.6" || !strings.HasPrefix(text, "alias database loop for ") {
		t.Fatalf("status %s %s", code, text)
	}
	e.wantLog(t, `warning: alias database loop for [ab]`)
}

func TestAliasExpansionLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("big: ")
	for i := 0; i < 10000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "u%d", i)
	}
	b.WriteString("\nfine: alice\n")
	e := newAliasEnv(t, b.String(), "")
	code, text := e.send(t, "big@example.org")
	if code != "5.2.4" || text != "too many destinations in the expansion of big@example.org (limit 1000)" {
		t.Fatalf("status %s %s", code, text)
	}
	if code, _ := e.send(t, "fine@example.org"); code != "2.0.0" {
		t.Fatalf("fine: %s", code)
	}
	// Deep but finite nesting within the limit works.
	var c strings.Builder
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&c, "n%d: n%d\n", i, i+1)
	}
	c.WriteString("n50: alice\n")
	e = newAliasEnv(t, c.String(), "")
	if code, text := e.send(t, "n0@example.org"); code != "2.0.0" {
		t.Fatalf("n0: %s %s", code, text)
	}
}

func TestAliasTableFailure(t *testing.T) {
	e := newEnv(t, "alias_maps = hash:/nonexistent/aliases\n")
	code, text := e.deliver(t, "alice@example.org", sample...)
	if code != "4.3.0" || text != "table lookup failure" {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestAliasFile(t *testing.T) {
	dir := tempDir(t)
	os.Chmod(dir, 0o777) // default_privs must be able to create the file
	path := filepath.Join(dir, "archive")
	e := newAliasEnv(t, "archive: "+path+"\n", "")
	if os.Geteuid() != 0 {
		// The table is ours, so the file is written as us.
		e.srv.cfg.defaultPrivs = "alice"
	}
	code, text := e.send(t, "archive@example.org")
	if code != "2.0.0" || text != "delivered to file: "+path {
		t.Fatalf("status %s %s", code, text)
	}
	got, _ := os.ReadFile(path)
	loc := fromLineRE.FindIndex(got)
	if loc == nil {
		t.Fatalf("no From_ line in %q", got)
	}
	want := "Return-Path: <sender@example.org>\nX-Original-To: archive@example.org\nDelivered-To: archive@example.org\n" +
		"Subject: hi\nFrom: x@example.org\n\n>From me\n>From you\nbody\n\n"
	if string(got[loc[1]:]) != want {
		t.Fatalf("file\n%q\nwant\n%q", got[loc[1]:], want)
	}
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(path)
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 {
			t.Fatalf("file written by uid %d, want default_privs 65534", st.Uid)
		}
	}
	e.wantLog(t, `to=<archive@example\.org>, relay=local, .*status=sent \(delivered to file: `)

	// An executable file is refused.
	os.Chmod(path, 0o755)
	if code, text := e.send(t, "archive@example.org"); code != "5.7.1" || text != "file is executable" {
		t.Fatalf("executable: %s %s", code, text)
	}
}

func TestAliasCommandAsDefaultPrivs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs the command as default_privs")
	}
	dir := tempDir(t)
	os.Chmod(dir, 0o777)
	out := filepath.Join(dir, "out")
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\nid -u > "+out+".uid\ncat > "+out+"\n"), 0o755)
	e := newAliasEnv(t, "robot: \"|"+script+" arg\"\n", "")
	code, text := e.send(t, "robot@example.org")
	if code != "2.0.0" || text != "delivered to command: "+script+" arg" {
		t.Fatalf("status %s %s", code, text)
	}
	uid, _ := os.ReadFile(out + ".uid")
	if strings.TrimSpace(string(uid)) != "65534" {
		t.Fatalf("command ran as uid %q", uid)
	}
	msg, _ := os.ReadFile(out)
	if !strings.Contains(string(msg), "Delivered-To: robot@example.org\nSubject: hi\n") || !strings.HasPrefix(string(msg), "From sender@example.org  ") {
		t.Fatalf("command saw %q", msg)
	}
}

func TestAliasCommandRestricted(t *testing.T) {
	e := newAliasEnv(t, "robot: |/bin/true\n", "allow_mail_to_commands = forward\n")
	if code, text := e.send(t, "robot@example.org"); code != "5.7.1" || text != "mail to command is restricted" {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestAliasInclude(t *testing.T) {
	dir := tempDir(t)
	inc := filepath.Join(dir, "list.inc")
	os.WriteFile(inc, []byte("# members\nalice, far@remote.example\n|/bin/true\n"), 0o644)
	e := newAliasEnv(t, "list: :include:"+inc+"\n", "")
	code, text := e.send(t, "list@example.org")
	// Local addresses of an include file are resubmitted; commands are
	// not allowed from one.
	if code != "5.7.1" || text != "mail to command is restricted" {
		t.Fatalf("status %s %s", code, text)
	}
	if len(e.posted) != 1 || len(e.posted[0].rcpts) != 2 || e.posted[0].rcpts[0].addr != "alice@example.org" ||
		e.posted[0].rcpts[1].addr != "far@remote.example" {
		t.Fatalf("posted %+v", e.posted)
	}
	if e.mbox("alice") != "" {
		t.Fatal("include member delivered directly")
	}
	e.wantLog(t, `to=<alice@example\.org>, orig_to=<list@example\.org>, .*status=sent \(forwarded as FWD1\)`)

	os.Chmod(inc, 0o666)
	if code, text := e.send(t, "list@example.org"); code != "5.3.5" || text != "mail system configuration error" {
		t.Fatalf("world-writable include: %s %s", code, text)
	}
	e.wantLog(t, `warning: :include: file .*list\.inc is world writable`)
}

func TestOwnerAlias(t *testing.T) {
	e := newAliasEnv(t, "list: alice, bob\nowner-list: carol\n", "")
	if code, text := e.send(t, "list@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if len(e.posted) != 1 || e.posted[0].sender != "owner-list@example.org" || !e.posted[0].list ||
		len(e.posted[0].rcpts) != 2 {
		t.Fatalf("posted %+v", e.posted)
	}
	if e.mbox("alice") != "" || e.mbox("bob") != "" {
		t.Fatal("list members delivered directly")
	}

	e = newAliasEnv(t, "list: alice\nowner-list: carol\n", "expand_owner_alias = yes\n")
	e.send(t, "list@example.org")
	if len(e.posted) != 1 || e.posted[0].sender != "carol@example.org" {
		t.Fatalf("expand_owner_alias: posted %+v", e.posted)
	}
}

func writeForward(t *testing.T, e *testEnv, user, text string, mode os.FileMode) string {
	p := filepath.Join(e.home[user], ".forward")
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(p, mode)
	return p
}

func TestDotForward(t *testing.T) {
	e := newAliasEnv(t, "", "")
	writeForward(t, e.testEnv, "alice", "bob\n", 0o644)
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" || text != "forwarded as FWD1" {
		t.Fatalf("status %s %s", code, text)
	}
	// Another local user named in a .forward gets a queue file of her own.
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "bob@example.org" || e.posted[0].delivered != "alice@example.org" {
		t.Fatalf("posted %+v", e.posted)
	}
	if e.mbox("alice") != "" {
		t.Fatal("alice kept a copy")
	}
	e.wantLog(t, `to=<bob@example\.org>, orig_to=<alice@example\.org>, relay=local, .*status=sent \(forwarded as FWD1\)`)
}

func TestDotForwardKeepCopy(t *testing.T) {
	e := newAliasEnv(t, "", "")
	writeForward(t, e.testEnv, "alice", "\\alice, other@remote.example\n", 0o644)
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 || len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "other@remote.example" {
		t.Fatalf("alice:\n%s\nposted %+v", e.mbox("alice"), e.posted)
	}
	// Her own name without the backslash also means her mailbox.
	writeForward(t, e.testEnv, "alice", "alice\n", 0o644)
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("self: %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 2 {
		t.Fatal("no second copy")
	}
}

func TestDotForwardIgnored(t *testing.T) {
	e := newAliasEnv(t, "", "")
	p := writeForward(t, e.testEnv, "alice", "bob\n", 0o666)
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("status %s %s", code, text)
	}
	e.wantLog(t, `warning: file `+regexp.QuoteMeta(p)+` is world writable`)
	if len(e.posted) != 0 {
		t.Fatal("forwarded anyway")
	}
	// A symbolic link is not a regular file.
	os.Remove(p)
	os.WriteFile(p+".real", []byte("bob\n"), 0o644)
	os.Symlink(p+".real", p)
	if code, _ := e.send(t, "alice@example.org"); code != "2.0.0" || len(e.posted) != 0 {
		t.Fatalf("symlink: %s, posted %d", code, len(e.posted))
	}
	e.wantLog(t, `warning: file `+regexp.QuoteMeta(p)+` is not a regular file`)
	// Empty: normal delivery.
	os.Remove(p)
	writeForward(t, e.testEnv, "alice", "# nothing\n", 0o644)
	if code, text := e.send(t, "alice@example.org"); code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("empty: %s %s", code, text)
	}
	if os.Geteuid() == 0 {
		// Owned by someone else than the user (nor root).
		os.Chown(writeForward(t, e.testEnv, "alice", "bob\n", 0o644), 12345, 12345)
		if code, _ := e.send(t, "alice@example.org"); code != "2.0.0" || len(e.posted) != 0 {
			t.Fatalf("bad owner: %s, posted %d", code, len(e.posted))
		}
		e.wantLog(t, `warning: file .*\.forward has bad owner uid 12345`)
	}
}

func TestDotForwardExtension(t *testing.T) {
	e := newAliasEnv(t, "", "recipient_delimiter = +\n")
	writeForward(t, e.testEnv, "alice", "bob\n", 0o644)
	os.WriteFile(filepath.Join(e.home["alice"], ".forward+lists"), []byte("/dev/null\n"), 0o644)
	if code, text := e.send(t, "alice+lists@example.org"); code != "2.0.0" || text != "delivered to file: /dev/null" {
		t.Fatalf("+lists: %s %s", code, text)
	}
	if code, text := e.send(t, "alice+other@example.org"); code != "2.0.0" || text != "forwarded as FWD1" {
		t.Fatalf("+other: %s %s", code, text)
	}
}

func TestAliasThenForward(t *testing.T) {
	// fmaster -> sysadmin (alice) whose .forward keeps a copy and pipes to a command.
	dir := tempDir(t)
	os.Chmod(dir, 0o777)
	out := filepath.Join(dir, "cmd.out")
	e := newAliasEnv(t, "fmaster: alice\n", "")
	writeForward(t, e.testEnv, "alice", "\\alice, \"|cat > "+out+"\"\n", 0o644)
	if code, text := e.send(t, "fmaster@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatal("no mailbox copy")
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "Delivered-To: fmaster@example.org\n") {
		t.Fatalf("command saw %q", b)
	}
	e.wantLog(t, `to=<alice@example\.org>, orig_to=<fmaster@example\.org>, .*status=sent \(delivered to command: cat > `)
	if os.Geteuid() == 0 {
		fi, _ := os.Stat(out)
		// alice is uid 0 in the test passwd: root's commands run as default_privs.
		if st := fi.Sys().(*syscall.Stat_t); strconv.Itoa(int(st.Uid)) != "65534" {
			t.Fatalf("root's .forward command ran as uid %d", st.Uid)
		}
	}
}

// TestDotForwardRealUser reads a real account's .forward with that
// account's rights, and runs its command as the account.
func TestDotForwardRealUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a user with useradd")
	}
	u := newUser(t)
	e := newAliasEnv(t, "", "")
	passwd.File = "/etc/passwd"
	os.Chmod(e.spool, 0o1777)
	os.Chmod(u.Home, 0o700)
	out := filepath.Join(u.Home, "cmd.uid")
	p := filepath.Join(u.Home, ".forward")
	os.WriteFile(p, []byte("\\"+u.Name+", \"|id -u > "+out+"\"\n"), 0o600)
	os.Chown(p, u.UID, u.GID)
	if code, text := e.send(t, u.Name+"@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != strconv.Itoa(u.UID) {
		t.Fatalf("command ran as %q, want %d", b, u.UID)
	}
	if !strings.Contains(e.mbox(u.Name), "Subject: hi") {
		t.Fatal("no mailbox copy")
	}

	// A forward file the user cannot reach is not hers: root could read it.
	hidden := tempDir(t)
	os.Chmod(hidden, 0o700)
	hp := filepath.Join(hidden, u.Name+".fwd")
	os.WriteFile(hp, []byte("someone@remote.example\n"), 0o644)
	os.Chown(hp, u.UID, u.GID)
	e.srv.xc.forwardPath = []string{hidden + "/$user.fwd"}
	if code, text := e.send(t, u.Name+"@example.org"); code != "2.0.0" || text != "delivered to mailbox" || len(e.posted) != 0 {
		t.Fatalf("hidden: %s %s, posted %d", code, text, len(e.posted))
	}
	os.Chmod(hidden, 0o755)
	if code, text := e.send(t, u.Name+"@example.org"); code != "2.0.0" || text != "forwarded as FWD1" {
		t.Fatalf("visible: %s %s", code, text)
	}
}

// The mailboxes of one expansion are written concurrently and share
// their flushes; the lines are still logged in expansion order, and the
// request's status follows the rules (a bounce among sent ones bounces).
func TestAliasFanOut(t *testing.T) {
	const n = 40
	var names []string
	for i := 0; i < n; i++ {
		names = append(names, fmt.Sprintf("u%02d", i))
	}
	list := append(append(names[:n/2:n/2], "nosuch"), names[n/2:]...)
	e := newAliasEnv(t, "all: "+strings.Join(list, ", ")+"\n", "home_mailbox = Maildir/\n")
	for _, u := range names {
		e.addUser(t, u)
	}
	code, text := e.send(t, "all@example.org")
	if code != "5.1.1" || text != `unknown user: "nosuch"` {
		t.Fatalf("status %s %s", code, text)
	}
	for _, u := range names {
		ents, _ := os.ReadDir(filepath.Join(e.home[u], "Maildir", "new"))
		if len(ents) != 1 {
			t.Fatalf("%s: %d messages", u, len(ents))
		}
	}
	if f := e.srv.commit.Flushes(); f >= 2*n {
		t.Fatalf("%d deliveries, %d flushes: not grouped", n, f)
	}
	var got []string
	for _, m := range regexp.MustCompile(`to=<([a-z0-9]+)@example\.org>, orig_to=<all@`).FindAllStringSubmatch(e.logText(), -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, ",") != strings.Join(list, ",") {
		t.Fatalf("logged in the order\n%v\nwant\n%v", got, list)
	}
}
