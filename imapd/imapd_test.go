package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
)

type fakeAuth struct{ home string }

func (f *fakeAuth) Authenticate(service, user, pass, rip string) (*auth.User, error) {
	if user == "fmaster" && pass == "password" && service == "imap" {
		return &auth.User{Username: user, UID: os.Getuid(), GID: os.Getgid(), Home: f.home, Maildir: filepath.Join(f.home, "Maildir")}, nil
	}
	return nil, auth.ErrFailed
}

// startServer runs an in-process imapd on a loopback port.
func startServer(t *testing.T) (addr, home string, logf string) {
	t.Helper()
	home = t.TempDir()
	logf = filepath.Join(home, "maillog")
	log := maillog.New("imapd", maillog.Options{MaillogFile: logf})
	s := &server{log: log, appendLimit: 1 << 20,
		Login: &handoff.Login{Auth: &fakeAuth{home: home}, Timeout: 10 * time.Second, InProcess: true}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); s.handle(c) }()
		}
	}()
	return ln.Addr().String(), home, logf
}

type tclient struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) (*tclient, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	tc := &tclient{t: t, c: c, r: bufio.NewReader(c)}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return tc, tc.line()
}

// line reads one response line, with any literals it carries inlined.
func (tc *tclient) line() string {
	tc.t.Helper()
	var b strings.Builder
	for {
		l, err := tc.r.ReadString('\n')
		if err != nil {
			tc.t.Fatalf("read: %v (so far %q)", err, b.String()+l)
		}
		l = strings.TrimSuffix(l, "\r\n")
		b.WriteString(l)
		m := regexp.MustCompile(`\{(\d+)\}$`).FindStringSubmatch(l)
		if m == nil {
			return b.String()
		}
		n, _ := strconv.Atoi(m[1])
		buf := make([]byte, n)
		if _, err := ioReadFull(tc.r, buf); err != nil {
			tc.t.Fatal(err)
		}
		b.Write(buf)
	}
}

func (tc *tclient) send(s string) {
	tc.t.Helper()
	if _, err := tc.c.Write([]byte(s + "\r\n")); err != nil {
		tc.t.Fatal(err)
	}
}

// cmd sends a tagged command and returns the untagged lines and the
// tagged completion.
func (tc *tclient) cmd(tag, text string) ([]string, string) {
	tc.t.Helper()
	tc.send(tag + " " + text)
	var out []string
	for {
		l := tc.line()
		if strings.HasPrefix(l, tag+" ") {
			return out, l
		}
		out = append(out, l)
	}
}

func (tc *tclient) ok(tag, text string) []string {
	tc.t.Helper()
	u, done := tc.cmd(tag, text)
	if !strings.HasPrefix(done, tag+" OK") {
		tc.t.Fatalf("%s %s: %s (untagged %q)", tag, text, done, u)
	}
	return u
}

func login(t *testing.T, addr string) *tclient {
	tc, greet := dial(t, addr)
	if !strings.HasPrefix(greet, "* OK [CAPABILITY IMAP4rev1") {
		t.Fatalf("greeting %q", greet)
	}
	tc.ok("a", "login fmaster password")
	return tc
}

func writeMsg(t *testing.T, dir, sub, name, body string, mtime time.Time) string {
	t.Helper()
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(dir, d), 0700)
	}
	p := filepath.Join(dir, sub, name)
	if err := os.WriteFile(p, []byte(body), 0600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		os.Chtimes(p, mtime, mtime)
	}
	return p
}

func msgText(i int) string {
	return fmt.Sprintf("From: Sender %d <s%d@example.org>\nTo: fmaster@example.org\nSubject: test message %d\nDate: Mon, 2 Nov 2026 10:00:00 +0000\nMessage-ID: <m%d@example.org>\n\nHello number %d.\nSecond line.\n", i, i, i, i, i)
}

func names(t *testing.T, dir string) []string {
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func TestSeedDialogue(t *testing.T) {
	addr, _, logf := startServer(t)
	tc, greet := dial(t, addr)
	if !strings.Contains(greet, "AUTH=PLAIN") {
		t.Errorf("greeting %q", greet)
	}
	_, done := tc.cmd("a", "login fmaster password")
	if !strings.HasPrefix(done, "a OK") || !strings.Contains(done, "LOGIN Ok.") {
		t.Fatalf("login: %q", done)
	}
	u, done := tc.cmd("a", "logout")
	if len(u) != 1 || !strings.HasPrefix(u[0], "* BYE") || !strings.HasPrefix(done, "a OK") {
		t.Fatalf("logout: %q %q", u, done)
	}
	log, _ := os.ReadFile(logf)
	if !regexp.MustCompile(`imapd\[\d+\]: Login: user=<fmaster>, method=PLAIN, rip=127\.0\.0\.1, lip=127\.0\.0\.1`).Match(log) {
		t.Errorf("log:\n%s", log)
	}
}

func TestLoginFailures(t *testing.T) {
	addr, _, logf := startServer(t)
	tc, _ := dial(t, addr)
	if _, done := tc.cmd("a", "login fmaster wrong"); !strings.HasPrefix(done, "a NO") {
		t.Errorf("wrong password: %q", done)
	}
	if _, done := tc.cmd("b", "select INBOX"); !strings.HasPrefix(done, "b BAD") {
		t.Errorf("select before login: %q", done)
	}
	// A literal password and AUTHENTICATE PLAIN with and without SASL-IR.
	tc.send("c login {7}")
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("literal: %q", l)
	}
	tc.send("fmaster {8+}")
	tc.send("password")
	if l := tc.line(); !strings.HasPrefix(l, "c OK") {
		t.Fatalf("literal login: %q", l)
	}
	tc.ok("d", "noop")

	tc2, _ := dial(t, addr)
	tc2.ok("e", "authenticate PLAIN AGZtYXN0ZXIAcGFzc3dvcmQ=")
	tc3, _ := dial(t, addr)
	tc3.send("f authenticate plain")
	if l := tc3.line(); l != "+ " {
		t.Fatalf("continuation %q", l)
	}
	tc3.send("AGZtYXN0ZXIAcGFzc3dvcmQ=")
	if l := tc3.line(); !strings.HasPrefix(l, "f OK") {
		t.Fatalf("authenticate: %q", l)
	}
	// Huge literal before login: refused, connection survives or closes, no crash.
	tc4, _ := dial(t, addr)
	tc4.send("g login {99999999}")
	if l := tc4.line(); !strings.Contains(l, "BAD") {
		t.Errorf("huge literal: %q", l)
	}
	log, _ := os.ReadFile(logf)
	if !strings.Contains(string(log), "Login failed: user=<fmaster>, method=PLAIN") {
		t.Errorf("log:\n%s", log)
	}
}

func ioReadFull(r *bufio.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := r.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
