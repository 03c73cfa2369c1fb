package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/passwd"
	"postern/pkg/queue"
)

// fakeCleanup speaks the cleanup protocol on public/cleanup and keeps what it received.
type fakeCleanup struct {
	mu      sync.Mutex
	n       int
	msgs    []*gotMsg // completed (ended with E)
	dropped int       // streams that ended without E
	status  string    // reply status, "0" by default
	reply   ipc.Attrs // the rest of a failure reply; dsn 5.3.4 "message file too big" when nil
	ln      net.Listener
}

type gotMsg struct {
	id   string
	recs []string // "T" + data
}

func (m *gotMsg) has(rec string) bool {
	for _, r := range m.recs {
		if r == rec {
			return true
		}
	}
	return false
}

func startCleanup(t testing.TB, qdir string) *fakeCleanup {
	t.Helper()
	os.MkdirAll(filepath.Join(qdir, "public"), 0755)
	f := &fakeCleanup{status: "0"}
	f.ln = serve(t, "unix", filepath.Join(qdir, "public", "cleanup"), f.serve)
	return f
}

// serve listens on address until the test ends, and runs handle for each connection.
func serve(t testing.TB, network, address string, handle func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
	return ln
}

func (f *fakeCleanup) serve(c net.Conn) {
	defer c.Close()
	f.mu.Lock()
	f.n++
	id := fmt.Sprintf("ABC%03d", f.n)
	f.mu.Unlock()
	ipc.Write(c, ipc.Attrs{{Name: "queue_id", Value: id}})
	m := &gotMsg{id: id}
	rr := queue.NewRecordReader(c, 0)
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			f.mu.Lock()
			f.dropped++
			f.mu.Unlock()
			return
		}
		m.recs = append(m.recs, string(typ)+string(data))
		if typ == 'E' {
			break
		}
	}
	f.mu.Lock()
	f.msgs = append(f.msgs, m)
	st, rest := f.status, f.reply
	f.mu.Unlock()
	a := ipc.Attrs{{Name: "status", Value: st}}
	if st != "0" && rest != nil {
		a = append(a, rest...)
	} else if st != "0" {
		a = append(a, ipc.Attr{Name: "dsn", Value: "5.3.4"}, ipc.Attr{Name: "reason", Value: "message file too big"})
	}
	ipc.Write(c, a)
}

func (f *fakeCleanup) got() []*gotMsg {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*gotMsg(nil), f.msgs...)
}

type env struct {
	t       testing.TB
	addr    string
	logPath string
	cleanup *fakeCleanup
	srv     *server
}

// startSmtpd runs the real smtpd logic on a loopback listener with main.cf text extra.
func startSmtpd(t *testing.T, extra string) *env {
	t.Helper()
	e := newTestServer(t, extra)
	e.addr = serve(t, "tcp", "127.0.0.1:0", e.srv.handle).Addr().String()
	return e
}

// newTestServer builds the server and its fake cleanup service.
func newTestServer(t testing.TB, extra string) *env {
	t.Helper()
	dir := t.TempDir()
	qdir := filepath.Join(dir, "q")
	pw := filepath.Join(dir, "passwd")
	os.WriteFile(pw, []byte("root:x:0:0:root:/root:/bin/sh\nfmaster:x:1001:1001:F Master:/home/fmaster:/bin/sh\n"), 0644)
	// texthash: reads the aliases file as postmap source ("name: value" keeps the colon
	// in the key), so the test table is written in postmap form.
	aliases := filepath.Join(dir, "aliases")
	os.WriteFile(aliases, []byte("webmaster fmaster\nsysadmin root\n"), 0644)
	old := passwd.File
	passwd.File = pw
	t.Cleanup(func() { passwd.File = old })
	lookupName = func(ip netip.Addr) string {
		if ip.IsLoopback() {
			return "localhost"
		}
		return ""
	}
	main := fmt.Sprintf(`compatibility_level = 3.6
myhostname = vm.example
mydomain = example
queue_directory = %s
maillog_file = %s
alias_maps = texthash:%s
smtpd_error_sleep_time = 0
inet_interfaces = loopback-only
%s`, qdir, filepath.Join(dir, "maillog"), aliases, extra)
	cfg, err := config.Parse(strings.NewReader(main))
	if err != nil {
		t.Fatal(err)
	}
	log := maillog.FromConfig("smtpd", cfg.Get)
	s, err := newServer(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, logPath: filepath.Join(dir, "maillog"), srv: s}
	e.cleanup = startCleanup(t, qdir)
	return e
}

func (e *env) log() string {
	b, _ := os.ReadFile(e.logPath)
	return string(b)
}

// waitLog waits for a log line containing s.
func (e *env) waitLog(s string) string {
	e.t.Helper()
	for i := 0; i < 200; i++ {
		if l := e.log(); strings.Contains(l, s) {
			return l
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("log has no %q:\n%s", s, e.log())
	return ""
}

type client struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	e.t.Cleanup(func() { c.Close() })
	return &client{t: e.t, c: c, r: bufio.NewReader(c)}
}

// reply reads one whole (possibly multi-line) reply.
func (c *client) reply() string {
	c.t.Helper()
	var lines []string
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			c.t.Fatalf("read reply: %v (so far %q)", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if len(l) < 4 || l[3] != '-' {
			return strings.Join(lines, "\n")
		}
	}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// cmd sends a line and checks that the reply starts with want.
func (c *client) cmd(line, want string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	r := c.reply()
	if !strings.HasPrefix(r, want) {
		c.t.Fatalf("%q: got %q, want %q...", line, r, want)
	}
	return r
}

// greet dials e and reads the banner.
func (e *env) greet() *client {
	e.t.Helper()
	c := e.dial()
	c.reply()
	return c
}

// mailFrom opens a dialogue up to an accepted MAIL FROM:<from> after EHLO helo.
func (e *env) mailFrom(helo, from string) *client {
	e.t.Helper()
	c := e.greet()
	c.cmd("EHLO "+helo, "250")
	c.cmd("MAIL FROM:<"+from+">", "250")
	return c
}

// session opens a dialogue up to MAIL FROM:<a@b.example>.
func (e *env) session() *client {
	e.t.Helper()
	return e.mailFrom("probe", "a@b.example")
}

// inData opens a dialogue up to DATA's 354, for a message from <> to fmaster@localhost.
func (e *env) inData() *client {
	e.t.Helper()
	c := e.mailFrom("probe", "")
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.cmd("DATA", "354")
	return c
}

func TestHowtoDialogue(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.dial()
	if g := c.reply(); g != "220 vm.example ESMTP Postfix" {
		t.Fatalf("banner %q", g)
	}
	ehlo := c.cmd("ehlo localhost", "250-vm.example")
	want := "250-vm.example\n250-PIPELINING\n250-SIZE 10240000\n250-VRFY\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING"
	if ehlo != want {
		t.Errorf("EHLO reply\n%s\nwant\n%s", ehlo, want)
	}
	c.cmd("mail from: root@localhost", "250 2.1.0 Ok")
	c.cmd("rcpt to: fmaster@localhost", "250 2.1.5 Ok")
	c.cmd("data", "354 End data with <CR><LF>.<CR><LF>")
	c.send("Subjet: test\r\n\r\nhello\r\n..dot\r\n")
	r := c.cmd(".", "250 2.0.0 Ok: queued as ABC")
	c.cmd("quit", "221 2.0.0 Bye")
	id := strings.TrimPrefix(r, "250 2.0.0 Ok: queued as ")

	msgs := e.cleanup.got()
	if len(msgs) != 1 {
		t.Fatalf("cleanup got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.id != id {
		t.Errorf("id %s, reply %s", m.id, id)
	}
	for _, rec := range []string{"Arewrite_context=local", "Aclient_name=localhost", "Aclient_address=127.0.0.1",
		"Ahelo_name=localhost", "Aprotocol_name=ESMTP", "Slocalhost", "Sroot@localhost", "Ofmaster@localhost", "Rfmaster@localhost",
		"NSubjet: test", "N", "Nhello", "N.dot", "X", "E"} {
		if rec == "Slocalhost" {
			continue
		}
		if !m.has(rec) {
			t.Errorf("record %q missing from %q", rec, m.recs)
		}
	}
	// M, then the Received header first.
	var i int
	for i = range m.recs {
		if m.recs[i] == "M" {
			break
		}
	}
	if !strings.HasPrefix(m.recs[i+1], "NReceived: from localhost (localhost [127.0.0.1])") ||
		m.recs[i+2] != "N\tby vm.example (Postfix) with ESMTP id "+id ||
		!strings.HasPrefix(m.recs[i+3], "N\tfor <fmaster@localhost>; ") || m.recs[i+4] != "NSubjet: test" {
		t.Errorf("Received header: %q", m.recs[i:i+5])
	}
	date := strings.TrimPrefix(m.recs[i+3], "N\tfor <fmaster@localhost>; ")
	if _, err := time.Parse("Mon, _2 Jan 2006 15:04:05 -0700 (MST)", date); err != nil {
		t.Errorf("date %q: %v", date, err)
	}
	l := e.waitLog("disconnect from localhost[127.0.0.1]")
	for _, s := range []string{"connect from localhost[127.0.0.1]", id + ": client=localhost[127.0.0.1]",
		"disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"} {
		if !strings.Contains(l, s) {
			t.Errorf("log lacks %q:\n%s", s, l)
		}
	}
}

func TestNoHeloBareAddresses(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.greet()
	c.cmd("MAIL FROM:<root>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<postmaster>", "250 2.1.5 Ok")
	c.cmd("DATA", "354")
	c.send("x\r\n.\r\n")
	c.reply()
	c.cmd("QUIT", "221")
	m := e.cleanup.got()[0]
	for _, rec := range []string{"Opostmaster", "Rpostmaster@vm.example", "Sroot@vm.example", "Aprotocol_name=SMTP"} {
		if !m.has(rec) {
			t.Errorf("record %q missing from %q", rec, m.recs)
		}
	}
	if m.has("Ahelo_name=localhost") {
		t.Errorf("synthetic HELO leaked: %q", m.recs)
	}
	// A HELO given after the synthetic one counts.
	c = e.greet()
	c.cmd("MAIL FROM:<root>", "250 2.1.0 Ok")
	c.cmd("EHLO late.example", "250-vm.example")
	c.cmd("MAIL FROM:<root>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<postmaster>", "250 2.1.5 Ok")
	c.cmd("DATA", "354")
	c.cmd(".", "250")
	if m := e.cleanup.got()[1]; !m.has("Ahelo_name=late.example") || !m.has("Aprotocol_name=ESMTP") {
		t.Errorf("late EHLO not recorded: %q", m.recs)
	}
	l := e.waitLog("disconnect from")
	if !strings.Contains(l, "mail=1 rcpt=1 data=1 quit=1 commands=4") {
		t.Errorf("counts:\n%s", l)
	}
}

func TestRelayDenied(t *testing.T) {
	// 127.0.0.1 outside mynetworks: stock restrictions defer, reject_unauth_destination rejects.
	e := startSmtpd(t, "mynetworks = 192.0.2.0/24\n")
	c := e.session()
	c.cmd("RCPT TO:<x@remote.example>", "454 4.7.1 <x@remote.example>: Relay access denied")
	c.cmd("RCPT TO:<fmaster@vm.example>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<fmaster@[127.0.0.1]>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<a@b@vm.example>", "454 4.7.1")
	l := e.waitLog("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 454 4.7.1 <x@remote.example>: Relay access denied; from=<a@b.example> to=<x@remote.example> proto=ESMTP helo=<probe>")
	_ = l

	e = startSmtpd(t, "mynetworks = 192.0.2.0/24\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n")
	c = e.session()
	c.cmd("RCPT TO:<x@remote.example>", "554 5.7.1 <x@remote.example>: Relay access denied")
	c.cmd("DATA", "554 5.5.1 Error: no valid recipients")

	// From inside mynetworks, relaying is allowed.
	e = startSmtpd(t, "mynetworks = 127.0.0.0/8 [::1]/128\n")
	c = e.session()
	c.cmd("RCPT TO:<x@remote.example>", "250 2.1.5 Ok")
}

func TestUnknownUser(t *testing.T) {
	e := startSmtpd(t, "recipient_delimiter = +\n")
	c := e.mailFrom("probe", "")
	c.cmd("RCPT TO:<nosuchuser@localhost>", "550 5.1.1 <nosuchuser@localhost>: Recipient address rejected: User unknown in local recipient table")
	c.cmd("RCPT TO:<FMaster+ext@localhost>", "250")
	c.cmd("RCPT TO:<Postmaster@localhost>", "250")
	e.waitLog("reject: RCPT from localhost[127.0.0.1]: 550 5.1.1")

	e = startSmtpd(t, "local_recipient_maps =\n")
	c = e.mailFrom("probe", "")
	c.cmd("RCPT TO:<nosuchuser@localhost>", "250")
}

// TestSoftBounceReplies: with soft_bounce = yes every 5xx reply goes out, and is logged, as
// 4xx with a 4.X.Y detail code, as Postfix's smtpd does; other replies are unchanged.
func TestSoftBounceReplies(t *testing.T) {
	e := startSmtpd(t, "soft_bounce = yes\nmynetworks = 192.0.2.0/24\nsmtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n")
	c := e.mailFrom("probe", "")
	want := "450 4.1.1 <nosuchuser@localhost>: Recipient address rejected: User unknown in local recipient table"
	if r := c.cmd("RCPT TO:<nosuchuser@localhost>", want); r != want {
		t.Fatalf("got %q", r)
	}
	e.waitLog("NOQUEUE: reject: RCPT from localhost[127.0.0.1]: " + want + "; from=<> to=<nosuchuser@localhost> proto=ESMTP helo=<probe>")
	c.cmd("RCPT TO:<x@remote.example>", "454 4.7.1 <x@remote.example>: Relay access denied")
	c.cmd("DATA", "454 4.5.1 Error: no valid recipients")
	c.cmd("RCPT TO:<fmaster@localhost>", "250 2.1.5 Ok")
	c.cmd("BOGUS", "400 4.5.2 Error: command not recognized")
}

func TestSoftReply(t *testing.T) {
	for in, want := range map[string]string{
		"550 5.1.1 x": "450 4.1.1 x", "554 Transaction failed": "454 Transaction failed", "552": "452",
		"250 2.0.0 Ok": "250 2.0.0 Ok", "421 4.3.0 bye": "421 4.3.0 bye", "5": "5", "": "",
	} {
		if got := softReply(in); got != want {
			t.Errorf("softReply(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRestrictions(t *testing.T) {
	for _, tc := range []struct{ extra, want, log string }{
		// permit_mynetworks ends the relay list only.
		{"smtpd_recipient_restrictions = reject\n",
			"554 5.7.1 <fmaster@localhost>: Recipient address rejected: Access denied", ""},
		{"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = bogus_thing, reject\n",
			"451 4.3.5 Server configuration error", "warning: unknown smtpd restriction: \"bogus_thing\""},
		{"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = reject_rbl_client zen.example, reject\n",
			"451 4.3.5 Server configuration error", "warning: restriction reject_rbl_client is not implemented by Postern"},
		{"smtpd_relay_restrictions = reject_unauth_destination\nsmtpd_recipient_restrictions = permit_mynetworks, reject\n",
			"250", ""},
	} {
		e := startSmtpd(t, tc.extra)
		e.mailFrom("probe", "").cmd("RCPT TO:<fmaster@localhost>", tc.want)
		if tc.log != "" {
			e.waitLog(tc.log)
		}
	}

	cfg, _ := config.Parse(strings.NewReader("compatibility_level = 3.6\nsmtpd_relay_restrictions = permit_mynetworks\n"))
	if _, err := newServer(cfg, maillog.New("smtpd", maillog.Options{MaillogFile: "/dev/null"})); err == nil ||
		!strings.Contains(err.Error(), "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at least one working instance of: reject_unauth_destination") {
		t.Errorf("no fatal for missing reject: %v", err)
	}
}

func TestSizeLimits(t *testing.T) {
	e := startSmtpd(t, "message_size_limit = 1000\nsmtpd_recipient_limit = 2\n")
	c := e.greet()
	c.cmd("EHLO probe", "250")
	c.cmd("MAIL FROM:<> SIZE=999999999", "552 5.3.4 Message size exceeds fixed limit")
	c.cmd("MAIL FROM:<> SIZE=10", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.cmd("RCPT TO:<root@localhost>", "250")
	c.cmd("RCPT TO:<postmaster@localhost>", "452 4.5.3 Error: too many recipients")
	c.cmd("DATA", "354")
	c.send(strings.Repeat("0123456789012345678901234567890123456789\r\n", 100))
	c.cmd(".", "552 5.3.4 Error: message file too big")
	// The next transaction on the same connection works.
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.cmd("DATA", "354")
	c.send("small\r\n")
	c.cmd(".", "250 2.0.0 Ok: queued as")
	c.cmd("QUIT", "221")
	if n := len(e.cleanup.got()); n != 1 {
		t.Errorf("%d messages queued", n)
	}
	e.waitLog("disconnect from")
	time.Sleep(50 * time.Millisecond)
	e.cleanup.mu.Lock()
	d := e.cleanup.dropped
	e.cleanup.mu.Unlock()
	if d != 1 {
		t.Errorf("%d streams dropped, want 1", d)
	}
}

func TestCleanupStatus(t *testing.T) {
	e := startSmtpd(t, "")
	e.cleanup.status = "552"
	c := e.inData()
	c.cmd("x\r\n.", "552 5.3.4 Error: message file too big")

	e.cleanup.ln.Close()
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "451 4.3.0 Error: queue file write error")
}

func TestHostileInput(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.inData()
	long := strings.Repeat("x", 1<<20)
	c.send("nul\x00byte\r\nbare\nlf\r\n8bit \xff\xfe\r\n" + long + "\r\n")
	c.cmd(".", "250 2.0.0 Ok: queued as")
	c.cmd("NOOP", "250 2.0.0 Ok")
	c.cmd("\x00\x01garbage", "221 2.7.0 Error: I can break rules, too. Goodbye.")
	m := e.cleanup.got()[0]
	for _, rec := range []string{"Nnul\x00byte", "Nbare", "Nlf", "N8bit \xff\xfe"} {
		if !m.has(rec) {
			t.Errorf("record %q missing", rec)
		}
	}
	var total, ls int
	for _, r := range m.recs {
		if r[0] == 'L' {
			ls++
			total += len(r) - 1
			if len(r)-1 != 2048 {
				t.Errorf("L record of %d bytes", len(r)-1)
			}
		}
		if r[0] == 'N' && strings.HasPrefix(r, "Nxxx") {
			total += len(r) - 1
		}
	}
	if total != 1<<20 || ls != (1<<20)/2048-1 {
		t.Errorf("long line stored as %d bytes in %d L records", total, ls)
	}

	// Long command lines, unknown commands and a second session.
	c = e.dial()
	if g := c.reply(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("second session banner %q", g)
	}
	c.cmd("HELO "+strings.Repeat("h", 5000), "250 vm.example")
	c.cmd("FOO bar", "500 5.5.2 Error: command not recognized")
	c.cmd("", "500 5.5.2 Error: bad syntax")
	c.cmd("EHLO", "501 Syntax: EHLO hostname")
	c.cmd("RCPT TO:<a@b>", "503 5.5.1 Error: need MAIL command")
	c.cmd("DATA", "503 5.5.1 Error: need RCPT command")
	c.cmd("VRFY fmaster", "252 2.0.0 fmaster")
	c.cmd("RSET", "250 2.0.0 Ok")
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("MAIL FROM:<>", "503 5.5.1 Error: nested MAIL command")
	c.cmd("QUIT", "221")
	l := e.waitLog("unknown=0/1")
	if !strings.Contains(l, "helo=1 ehlo=0/1 mail=1/2 rcpt=0/1 data=0/1 rset=1 vrfy=1 quit=1 unknown=0/1 commands=5/10") {
		t.Errorf("counts:\n%s", l)
	}
}

func TestPipeliningOneWrite(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.greet()
	c.send("EHLO p\r\nMAIL FROM:<>\r\nRCPT TO:<fmaster@localhost>\r\nDATA\r\n")
	// All four replies arrive together.
	time.Sleep(100 * time.Millisecond)
	buf := make([]byte, 4096)
	n, _ := c.c.Read(buf)
	got := string(buf[:n])
	if !strings.Contains(got, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 ") {
		t.Errorf("pipelined replies in one read: %q", got)
	}
	c.send("hi\r\n.\r\nQUIT\r\n")
	c.reply()
	c.reply()
}

func TestTooManyErrors(t *testing.T) {
	e := startSmtpd(t, "smtpd_hard_error_limit = 3\n")
	c := e.greet()
	c.cmd("FOO", "500")
	c.cmd("FOO", "500")
	c.cmd("FOO", "500")
	c.send("NOOP\r\n")
	if r := c.reply(); r != "421 4.7.0 vm.example Error: too many errors" {
		t.Errorf("got %q", r)
	}
	e.waitLog("too many errors after FOO from localhost[127.0.0.1]")
}

func TestLostConnection(t *testing.T) {
	e := startSmtpd(t, "")
	c := e.inData()
	c.send("partial\r\n")
	c.c.Close()
	e.waitLog("lost connection after DATA from localhost[127.0.0.1]")
	e.waitLog("disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4")
	time.Sleep(50 * time.Millisecond)
	if n := len(e.cleanup.got()); n != 0 {
		t.Errorf("%d messages queued from a lost connection", n)
	}
}

func TestTimeout(t *testing.T) {
	e := startSmtpd(t, "smtpd_timeout = 1s\n")
	c := e.greet()
	if r := c.reply(); r != "421 4.4.2 vm.example Error: timeout exceeded" {
		t.Errorf("got %q", r)
	}
	e.waitLog("timeout after CONNECT from localhost[127.0.0.1]")
}

// A command line must arrive whole within smtpd_timeout: a client trickling it a byte at a
// time (each read well within the timeout) is cut off all the same.
func TestSlowLineBound(t *testing.T) {
	e := startSmtpd(t, "smtpd_timeout = 1s\n")
	c := e.greet()
	c.cmd("EHLO client.example", "250")
	start := time.Now()
	done := make(chan string)
	go func() {
		l, _ := c.r.ReadString('\n')
		done <- l
	}()
	for i := 0; ; i++ {
		select {
		case l := <-done:
			if !strings.HasPrefix(l, "421 4.4.2 vm.example Error: timeout exceeded") {
				t.Fatalf("got %q", l)
			}
			if d := time.Since(start); d > 1500*time.Millisecond {
				t.Fatalf("cut off only after %v", d)
			}
			e.waitLog("timeout after EHLO from localhost[127.0.0.1]")
			return
		case <-time.After(200 * time.Millisecond):
			c.c.Write([]byte("N"))
		}
		if i > 50 {
			t.Fatal("never cut off")
		}
	}
}
