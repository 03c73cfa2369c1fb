package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/deliver"
	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/passwd"
	"postern/pkg/queue"
	"postern/pkg/queue/queuetest"
)

// TestMain lets the test binary serve as its own delivery helper, as the local binary does (/proc/self/exe is the test binary here).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == helperFlag {
		os.Exit(helperMain())
	}
	if len(os.Args) > 2 && os.Args[1] == fakeHelperFlag {
		os.Exit(fakeHelper(os.Args[2]))
	}
	if len(os.Args) > 4 && os.Args[1] == fakeLocalFlag {
		os.Exit(fakeLocal(os.Args[2], os.Args[3], os.Args[4]))
	}
	os.Exit(m.Run())
}

// testEnv is a queue directory, a passwd file whose users alice and bob
// have the current uid, their homes, and a spool directory.
type testEnv struct {
	t       *testing.T
	dir     string
	q       *queue.Queue
	spool   string
	home    map[string]string
	logFile string
	srv     *server
}

// tempDir is a directory every user can traverse: a root test's delivery
// child may run as another uid.
func tempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "localtest")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func newEnv(t testing.TB, maincf string) *testEnv {
	dir := tempDir(t)
	e := &testEnv{dir: dir, q: queue.New(filepath.Join(dir, "queue")), spool: filepath.Join(dir, "spool"),
		home: map[string]string{}, logFile: filepath.Join(dir, "maillog")}
	if err := e.q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(e.spool, 0o755)
	var pw strings.Builder
	for _, u := range []string{"alice", "bob"} {
		h := filepath.Join(dir, "home", u)
		os.MkdirAll(h, 0o755)
		e.home[u] = h
		fmt.Fprintf(&pw, "%s:x:%d:%d:%s:%s:/bin/sh\n", u, os.Getuid(), os.Getgid(), u, h)
	}
	pw.WriteString("nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
	pwFile := filepath.Join(dir, "passwd")
	os.WriteFile(pwFile, []byte(pw.String()), 0o644)
	old := passwd.File
	passwd.File = pwFile
	t.Cleanup(func() { passwd.File = old })

	cf := "queue_directory = " + e.q.Dir + "\nmail_spool_directory = " + e.spool +
		"\nmaillog_file = " + e.logFile + "\ndeliver_lock_delay = 1s\nalias_maps =\n" + maincf
	c, err := config.Parse(strings.NewReader(cf))
	if err != nil {
		t.Fatal(err)
	}
	log := maillog.New("local", maillog.Options{MaillogFile: e.logFile, Hostname: "test"})
	s, err := newServer(c, log)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = s
	t.Cleanup(s.pool.Close)
	return e
}

// queueFile writes a committed queue file in active/ and returns its ID
// and content offset.
func (e *testEnv) queueFile(t testing.TB, lines ...string) (string, int64) {
	return queuetest.Active(t, e.q, "sender@example.org", "Alice@Example.ORG", "alice@example.org", lines...)
}

func makeRequest(id string, off int64, rcpt, orig string) ipc.Attrs {
	now := time.Now()
	return ipc.Attrs{
		{Name: "queue_name", Value: "active"}, {Name: "queue_id", Value: id},
		{Name: "content_offset", Value: strconv.FormatInt(off, 10)},
		{Name: "arrival_time", Value: fmt.Sprintf("%d.%06d", now.Add(-2*time.Second).Unix(), 250000)},
		{Name: "active_time", Value: fmt.Sprintf("%d.000000", now.Add(-time.Second).Unix())},
		{Name: "sender", Value: "sender@example.org"}, {Name: "recipient", Value: rcpt},
		{Name: "orig_recipient", Value: orig}, {Name: "client_address", Value: "192.0.2.1"},
		{Name: "client_name", Value: "client.example"}, {Name: "client_helo", Value: "helo;rm -rf"},
		{Name: "client_protocol", Value: "ESMTP"},
	}
}

var sample = []string{"Subject: hi", "From: x@example.org", "", "From me", ">From you", "body"}

func (e *testEnv) deliver(t testing.TB, rcpt string, lines ...string) (code, text string) {
	id, off := e.queueFile(t, lines...)
	st := e.srv.handle(makeRequest(id, off, rcpt, "Alice@Example.ORG"))
	return st.Code, st.Text
}

func (e *testEnv) logText() string {
	b, _ := os.ReadFile(e.logFile)
	return string(b)
}

var fromLineRE = regexp.MustCompile(`^From sender@example\.org  [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d \d{4}\n`)

func TestMboxDelivery(t *testing.T) {
	e := newEnv(t, "")
	code, text := e.deliver(t, "alice@example.org", sample...)
	if code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("status %s %s", code, text)
	}
	got, err := os.ReadFile(filepath.Join(e.spool, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	loc := fromLineRE.FindIndex(got)
	if loc == nil {
		t.Fatalf("no From_ line in %q", got)
	}
	want := "Return-Path: <sender@example.org>\nX-Original-To: Alice@Example.ORG\nDelivered-To: alice@example.org\n" +
		"Subject: hi\nFrom: x@example.org\n\n>From me\n>From you\nbody\n\n"
	if string(got[loc[1]:]) != want {
		t.Fatalf("mbox\n%q\nwant\n%q", got[loc[1]:], want)
	}
	fi, _ := os.Stat(filepath.Join(e.spool, "alice"))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

func TestNoOriginalRecipient(t *testing.T) {
	e := newEnv(t, "enable_original_recipient = no\n")
	e.deliver(t, "alice@example.org", "Subject: x", "", "b")
	got, _ := os.ReadFile(filepath.Join(e.spool, "alice"))
	if strings.Contains(string(got), "X-Original-To") || !strings.Contains(string(got), "Delivered-To: alice@example.org\n") {
		t.Fatalf("mbox %q", got)
	}
}

func TestMaildirDelivery(t *testing.T) {
	e := newEnv(t, "home_mailbox = Maildir/\nrecipient_delimiter = +\n")
	code, text := e.deliver(t, "Alice+Lists@example.org", sample...)
	if code != "2.0.0" || text != "delivered to maildir" {
		t.Fatalf("status %s %s", code, text)
	}
	ents, err := os.ReadDir(filepath.Join(e.home["alice"], "Maildir", "new"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("new/ = %v %v", ents, err)
	}
	got, _ := os.ReadFile(filepath.Join(e.home["alice"], "Maildir", "new", ents[0].Name()))
	want := "Return-Path: <sender@example.org>\nX-Original-To: Alice@Example.ORG\nDelivered-To: Alice+Lists@example.org\n" +
		strings.Join(sample, "\n") + "\n"
	if string(got) != want {
		t.Fatalf("maildir file\n%q\nwant\n%q", got, want)
	}
	if tmp, _ := os.ReadDir(filepath.Join(e.home["alice"], "Maildir", "tmp")); len(tmp) != 0 {
		t.Fatalf("tmp/ not empty: %v", tmp)
	}
}

func TestUnknownUser(t *testing.T) {
	e := newEnv(t, "")
	code, text := e.deliver(t, "NoSuch@example.org", sample...)
	if code != "5.1.1" || text != `unknown user: "nosuch"` {
		t.Fatalf("status %s %s", code, text)
	}
	if !strings.Contains(e.logText(), `status=bounced (unknown user: "nosuch")`) {
		t.Fatalf("log:\n%s", e.logText())
	}
	for _, bad := range []string{"../alice@x", ".alice@x", "a/b@x"} {
		if code, _ := e.deliver(t, bad, sample...); code != "5.1.1" {
			t.Fatalf("%s: %s", bad, code)
		}
	}
}

func TestPostmasterDiscarded(t *testing.T) {
	e := newEnv(t, "")
	code, text := e.deliver(t, "Postmaster@example.org", sample...)
	if code != "2.0.0" || text != "discarded" {
		t.Fatalf("status %s %s", code, text)
	}
	log := e.logText()
	if !strings.Contains(log, "warning: required alias not found: postmaster") || !strings.Contains(log, "status=sent (discarded)") {
		t.Fatalf("log:\n%s", log)
	}
}

func TestNullUsername(t *testing.T) {
	e := newEnv(t, "recipient_delimiter = +\n")
	if code, text := e.deliver(t, "+foo@example.org", sample...); code != "5.1.3" || text != `null username in "+foo@example.org"` {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestDeliveredToLoop(t *testing.T) {
	e := newEnv(t, "")
	code, text := e.deliver(t, "alice@example.org", "Received: x", "delivered-to: ALICE@example.org", "Subject: y", "", "b")
	if code != "5.4.6" || text != "mail forwarding loop for alice@example.org" {
		t.Fatalf("status %s %s", code, text)
	}
	// In the body it does not count.
	if code, _ := e.deliver(t, "alice@example.org", "Subject: y", "", "Delivered-To: alice@example.org"); code != "2.0.0" {
		t.Fatalf("body Delivered-To: %s", code)
	}
}

// commandEnv sets up a mailbox_command script that records its
// environment and standard input in dir.
func commandScript(t *testing.T, e *testEnv) (script, out string) {
	out = filepath.Join(e.dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	script = filepath.Join(e.dir, "mda.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nenv > "+out+"/env\ncat > "+out+"/msg\npwd > "+out+"/pwd\nexit 0\n"), 0o755)
	return script, out
}

func TestMailboxCommand(t *testing.T) {
	e := newEnv(t, "recipient_delimiter = +\ndefault_privs = nobody\n")
	script, out := commandScript(t, e)
	e.srv.cfg.mailboxCommand = script
	code, text := e.deliver(t, "alice+Ext@example.org", sample...)
	if code != "2.0.0" || text != "delivered to command: "+script {
		t.Fatalf("status %s %s", code, text)
	}
	msg, _ := os.ReadFile(filepath.Join(out, "msg"))
	loc := fromLineRE.FindIndex(msg)
	if loc == nil {
		t.Fatalf("no From_ line: %q", msg)
	}
	// No >From quoting and no blank line at the end for commands.
	want := "Return-Path: <sender@example.org>\nX-Original-To: Alice@Example.ORG\nDelivered-To: alice+Ext@example.org\n" +
		strings.Join(sample, "\n") + "\n"
	if string(msg[loc[1]:]) != want {
		t.Fatalf("stdin\n%q\nwant\n%q", msg[loc[1]:], want)
	}
	env, _ := os.ReadFile(filepath.Join(out, "env"))
	for _, kv := range []string{"PATH=/usr/bin:/bin", "EXTENSION=ext", "LOCAL=alice+ext", "USER=alice", "LOGNAME=alice",
		"HOME=" + e.home["alice"], "RECIPIENT=alice+Ext@example.org", "SENDER=sender@example.org", "DOMAIN=example.org",
		"ORIGINAL_RECIPIENT=Alice@Example.ORG", "CLIENT_ADDRESS=192.0.2.1", "CLIENT_HOSTNAME=client.example",
		"CLIENT_HELO=helo_rm -rf", "CLIENT_PROTOCOL=ESMTP", "SHELL=/bin/sh"} {
		if !strings.Contains("\n"+string(env), "\n"+kv+"\n") {
			t.Errorf("env lacks %s:\n%s", kv, env)
		}
	}
	if pwd, _ := os.ReadFile(filepath.Join(out, "pwd")); strings.TrimSpace(string(pwd)) != e.home["alice"] {
		t.Errorf("cwd %q", pwd)
	}
}

func TestMailboxCommandStatus(t *testing.T) {
	e := newEnv(t, "default_privs = nobody\n")
	for _, c := range []struct{ cmd, code, text string }{
		{"exit 75", "4.3.0", "temporary failure"},
		{"exit 67", "5.1.1", "user unknown"},
		{"echo oops; exit 3", "5.3.0", `Command died with status 3: "echo oops; exit 3". Command output: oops`},
		{"echo '4.2.2 mailbox full'; exit 1", "4.2.2", "mailbox full"},
		{"sleep 5", "5.3.0", `Command time limit exceeded: "sleep 5"`},
	} {
		e.srv.cfg.mailboxCommand = c.cmd
		e.srv.cfg.commandTimeLimit = time.Second
		code, text := e.deliver(t, "alice@example.org", sample...)
		if code != c.code || text != c.text {
			t.Errorf("%s: %s %q, want %s %q", c.cmd, code, text, c.code, c.text)
		}
	}
	if log := e.logText(); !strings.Contains(log, "status=deferred (temporary failure)") {
		t.Errorf("log:\n%s", log)
	}
}

func TestInsufficientPrivileges(t *testing.T) {
	e := newEnv(t, "")
	e.srv.euid = os.Getuid() + 4242 // pretend to be someone else, unprivileged
	code, text := e.deliver(t, "bob@example.org", sample...)
	if code != "4.3.0" || text != "cannot deliver as user bob: insufficient privileges" {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestHomeDirectory(t *testing.T) {
	e := newEnv(t, "home_mailbox = Maildir/\n")
	os.RemoveAll(e.home["bob"])
	code, text := e.deliver(t, "bob@example.org", sample...)
	if code != "4.3.0" || !strings.HasPrefix(text, "cannot access home directory "+e.home["bob"]+": No such file") {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, "")
	id, off := e.queueFile(t, sample...)
	for _, a := range []ipc.Attrs{
		makeRequest("../../etc/passwd", off, "alice@x", ""),
		{{Name: "queue_name", Value: "deferred"}, {Name: "queue_id", Value: id}},
		makeRequest("NOSUCHFILE", off, "alice@x", ""),
		makeRequest(id, 1<<40, "alice@x", ""),
		makeRequest(id, off, strings.Repeat("a", 5000)+"@x", ""),
	} {
		st := e.srv.handle(a)
		if st.OK() {
			t.Errorf("%v accepted", a)
		}
	}
	bad := makeRequest(id, off, "alice@x", "")
	bad[0].Value = "incoming"
	if st := e.srv.handle(bad); st.Code != "4.3.0" {
		t.Errorf("queue_name incoming: %v", st)
	}
}

// pflogsumm's delivery regex (postfix-behaviour.md §10.2).
var pflogsummRE = regexp.MustCompile(`to=<([^>]*)>, (?:orig_to=<[^>]*>, )?relay=([^,]+), (?:conn_use=[^,]+, )?delay=([^,]+), (?:delays=[^,]+, )?(?:dsn=[^,]+, )?status=(\S+)(.*)$`)

func TestLogLine(t *testing.T) {
	e := newEnv(t, "")
	id, off := e.queueFile(t, sample...)
	// Served over a socket, as qmgr talks to it.
	a, b := net.Pipe()
	go e.srv.serve(b)
	br := bufio.NewReader(a)
	for _, rc := range []struct{ rcpt, orig string }{{"alice@example.org", "alice@localhost"}, {"bob@example.org", "BOB@example.org"}} {
		ipc.Write(a, makeRequest(id, off, rc.rcpt, rc.orig))
		reply, err := ipc.Read(br)
		if err != nil || reply.Get("status") != "0" || reply.Get("dsn") != "2.0.0" || reply.Get("reason") != "delivered to mailbox" {
			t.Fatalf("reply %v %v", reply, err)
		}
	}
	a.Close()
	lines := strings.Split(strings.TrimSpace(e.logText()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log:\n%s", e.logText())
	}
	want := regexp.MustCompile(`^[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d test postfix/local\[\d+\]: ` + id +
		`: to=<alice@example\.org>, orig_to=<alice@localhost>, relay=local, delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/0/[0-9.]+, dsn=2\.0\.0, status=sent \(delivered to mailbox\)$`)
	if !want.MatchString(lines[0]) {
		t.Errorf("log line %q", lines[0])
	}
	if strings.Contains(lines[1], "orig_to") {
		t.Errorf("orig_to differs only in case: %q", lines[1])
	}
	for _, l := range lines {
		m := pflogsummRE.FindStringSubmatch(l)
		if m == nil || m[2] != "local" || m[4] != "sent" || m[5] != " (delivered to mailbox)" {
			t.Errorf("pflogsumm regex on %q: %q", l, m)
		}
	}
}

// TestRealUser delivers as a freshly created account through the
// credentialed child and checks ownership of what it wrote.
func TestRealUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates a user with useradd and delivers as that user through a credentialed helper")
	}
	u := newUser(t)
	name := u.Name
	e := newEnv(t, "")
	passwd.File = "/etc/passwd"
	os.Chmod(e.spool, 0o1777)

	check := func(path string) {
		t.Helper()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) != u.UID || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: uid %d mode %v, want uid %d mode 0600", path, st.Uid, fi.Mode(), u.UID)
		}
	}
	if code, text := e.deliver(t, name+"@example.org", sample...); code != "2.0.0" {
		t.Fatalf("mbox: %s %s", code, text)
	}
	check(filepath.Join(e.spool, name))

	// A root-only spool: written as root, handed to the user.
	root := filepath.Join(e.dir, "rootspool")
	os.Mkdir(root, 0o755)
	e.srv.cfg.spoolDir = root
	if code, text := e.deliver(t, name+"@example.org", sample...); code != "2.0.0" {
		t.Fatalf("root spool: %s %s", code, text)
	}
	check(filepath.Join(root, name))

	e.srv.cfg.homeMailbox = "Maildir/"
	if code, text := e.deliver(t, name+"@example.org", sample...); code != "2.0.0" {
		t.Fatalf("maildir: %s %s", code, text)
	}
	ents, _ := os.ReadDir(filepath.Join(u.Home, "Maildir", "new"))
	if len(ents) != 1 {
		t.Fatalf("new/: %v", ents)
	}
	check(filepath.Join(u.Home, "Maildir", "new", ents[0].Name()))
	fi, _ := os.Stat(filepath.Join(u.Home, "Maildir"))
	if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u.UID {
		t.Fatalf("Maildir made by uid %d", st.Uid)
	}

	// A command runs as the user, not as root.
	out := filepath.Join(u.Home, "id.out")
	e.srv.cfg.mailboxCommand = "id -u > " + out
	if code, text := e.deliver(t, name+"@example.org", sample...); code != "2.0.0" {
		t.Fatalf("command: %s %s", code, text)
	}
	if b, _ := os.ReadFile(out); strings.TrimSpace(string(b)) != strconv.Itoa(u.UID) {
		t.Fatalf("command ran as %q", b)
	}
}

// benchDeliver measures mode; with oneOff, a pool of no helpers: each
// delivery gets a helper of its own, as the child per delivery of earlier
// versions did.
func benchDeliver(b *testing.B, mode runMode, oneOff bool, parallel int) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: the helpers get credentials")
	}
	e := newEnv(b, "home_mailbox = Maildir/\n")
	e.srv.mode = mode
	// alice as nobody, not root: every mode then really changes identity.
	pw := fmt.Sprintf("alice:x:65534:65534:alice:%s:/bin/sh\n", e.home["alice"])
	os.WriteFile(passwd.File, []byte(pw), 0o644)
	os.Chown(e.home["alice"], 65534, 65534)
	if oneOff {
		e.srv.pool.Max = 0
	}
	id, off := e.queueFile(b, sample...)
	req := makeRequest(id, off, "alice@example.org", "")
	var self0, self1, kids0, kids1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self0)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids0)
	b.ResetTimer()
	if parallel > 0 {
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if st := e.srv.handle(req); !st.OK() {
					b.Error(st)
				}
			}
		})
	} else {
		for i := 0; i < b.N; i++ {
			if st := e.srv.handle(req); !st.OK() {
				b.Fatal(st)
			}
		}
	}
	b.StopTimer()
	// CPU, which load on a shared machine does not inflate as it does
	// wall time: local's own, and its children's (a helper counts once
	// reaped, so the pool is closed first; its start-up is included).
	syscall.Getrusage(syscall.RUSAGE_SELF, &self1)
	e.srv.pool.Close()
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids1)
	cpu := func(a, b syscall.Rusage) float64 {
		return float64(b.Utime.Nano()+b.Stime.Nano()-a.Utime.Nano()-a.Stime.Nano()) / 1e3
	}
	b.ReportMetric(cpu(self0, self1)/float64(b.N), "local-cpu-µs/op")
	b.ReportMetric(cpu(kids0, kids1)/float64(b.N), "child-cpu-µs/op")
}

// go test -run XXX -bench Deliver -benchtime 200x ./local/ (as root)
func BenchmarkDeliverOneOff(b *testing.B)         { benchDeliver(b, modeServer, true, 0) }
func BenchmarkDeliverServer(b *testing.B)         { benchDeliver(b, modeServer, false, 0) }
func BenchmarkDeliverServerParallel(b *testing.B) { benchDeliver(b, modeServer, false, 4) }
func BenchmarkDeliverInProcess(b *testing.B)      { benchDeliver(b, modeInProcess, false, 0) }
func BenchmarkDeliverThread(b *testing.B)         { benchDeliver(b, modeThread, false, 0) }
func BenchmarkDeliverThreadParallel(b *testing.B) { benchDeliver(b, modeThread, false, 4) }

func TestLogFormat(t *testing.T) {
	e := newEnv(t, "")
	t0 := time.Unix(1700000000, 0)
	r := &request{Request: &deliver.Request{QueueID: "ABC123", Arrival: t0, Active: t0.Add(1500 * time.Millisecond)}, Recipient: "a@x", Orig: "b@x"}
	logDelivery(e.srv.log, r, t0.Add(2250*time.Millisecond), t0.Add(2300*time.Millisecond),
		dsn.Defer("4.3.0", "temporary failure\nx"))
	want := ": ABC123: to=<a@x>, orig_to=<b@x>, relay=local, delay=2.3, delays=1.5/0.75/0/0.05, dsn=4.3.0, status=deferred (temporary failure_x)\n"
	if got := e.logText(); !strings.HasSuffix(got, want) {
		t.Fatalf("got %q\nwant suffix %q", got, want)
	}
}

// TestConcurrent serves several qmgr connections at once, all appending to
// one mailbox: the locks must keep every message whole.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, "")
	id, off := e.queueFile(t, sample...)
	const conns, each = 4, 3
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		a, b := net.Pipe()
		go e.srv.serve(b)
		go func() {
			defer a.Close()
			br := bufio.NewReader(a)
			for i := 0; i < each; i++ {
				ipc.Write(a, makeRequest(id, off, "alice@example.org", ""))
				r, err := ipc.Read(br)
				if err == nil && r.Get("status") != "0" {
					err = fmt.Errorf("reply %v", r)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for c := 0; c < conns; c++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(filepath.Join(e.spool, "alice"))
	if n := strings.Count(string(got), "\nSubject: hi\nFrom: x@example.org\n\n>From me\n>From you\nbody\n\n"); n != conns*each {
		t.Fatalf("%d whole messages, want %d", n, conns*each)
	}
}
