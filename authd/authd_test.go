package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-crypt/crypt/algorithm/shacrypt"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/passwd"
	"postern/pkg/shadow"
)

func sha512(t *testing.T, pw string) string {
	h, _ := shacrypt.NewSHA512()
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Encode()
}

type testEnv struct {
	s      *server
	log    string
	slept  []time.Duration
	mu     sync.Mutex
	passwd string
}

func newTestServer(t *testing.T, mainCF string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	te := &testEnv{log: filepath.Join(dir, "maillog")}
	pf := filepath.Join(dir, "users")
	os.WriteFile(pf, []byte(strings.Join([]string{
		"fmaster:{SHA512-CRYPT}" + sha512(t, "password") + ":1000:1000::/home/fmaster::",
		"plain:{PLAIN}secret:1001:1001::/home/plain::userdb_mail=maildir:~/Mail/box",
		"locked:!{PLAIN}secret:1002:1002::/home/locked::",
		"broken:{PLAIN}secret:x:1002::/home/broken::",
		"rootish:{PLAIN}secret:0:0::/root::",
		"",
	}, "\n")), 0600)
	// System backend on fake files.
	sysPasswd := filepath.Join(dir, "passwd")
	sysShadow := filepath.Join(dir, "shadow")
	os.WriteFile(sysPasswd, []byte("root:x:0:0:root:/root:/bin/bash\nsysu:x:2000:2000:Sys U:/home/sysu:/bin/sh\nold:"+sha512(t, "oldpw")+":2001:2001::/home/old:/bin/sh\nfmaster:x:3000:3000::/home/sysfm:/bin/sh\nexp:x:2002:2002::/home/exp:/bin/sh\n"), 0644)
	os.WriteFile(sysShadow, []byte("root:"+sha512(t, "rootpw")+":19000:0:99999:7:::\nsysu:"+sha512(t, "syspw")+":19000:0:99999:7:::\nexp:"+sha512(t, "exppw")+":19000:0:99999:7::19001:\n"), 0600)
	passwd.File, shadow.File = sysPasswd, sysShadow
	t.Cleanup(func() { passwd.File, shadow.File = "/etc/passwd", "/etc/shadow" })

	c, err := config.Parse(strings.NewReader("maillog_file = " + te.log + "\npostern_passwd_file = " + pf + "\n" + mainCF))
	if err != nil {
		t.Fatal(err)
	}
	log := maillog.FromConfig("authd", c.Get)
	t.Cleanup(func() { log.Close() })
	te.s, err = newServer(c, log)
	if err != nil {
		t.Fatal(err)
	}
	te.s.sleep = func(d time.Duration) { te.mu.Lock(); te.slept = append(te.slept, d); te.mu.Unlock() }
	return te
}

func authReq(user, pw string) ipc.Attrs {
	return ipc.Attrs{{Name: "request", Value: "auth"}, {Name: "service", Value: "pop3"},
		{Name: "username", Value: user}, {Name: "password", Value: pw}, {Name: "client_address", Value: "192.0.2.1"}}
}

func TestAuthBackends(t *testing.T) {
	te := newTestServer(t, "home_mailbox = Maildir/\n")
	ok := []struct{ user, pw, uid, maildir string }{
		{"fmaster", "password", "1000", "/home/fmaster/Maildir/"}, // passwd-file shadows the system user
		{"plain", "secret", "1001", "/home/plain/Mail/box/"},
		{"sysu", "syspw", "2000", "/home/sysu/Maildir/"},
		{"old", "oldpw", "2001", "/home/old/Maildir/"},
	}
	for _, c := range ok {
		rep := te.s.serve(authReq(c.user, c.pw))
		if rep.Get("status") != "ok" || rep.Get("uid") != c.uid || rep.Get("maildir") != c.maildir || rep.Get("username") != c.user {
			t.Errorf("%s: %v", c.user, rep)
		}
	}
	bad := [][2]string{{"fmaster", "Password"}, {"fmaster", ""}, {"nosuch", "password"}, {"locked", "secret"},
		{"broken", "secret"}, {"rootish", "secret"}, {"root", "rootpw"}, {"exp", "exppw"}, {"sysu", "password"},
		{"bad\nuser", "x"}, {"../etc", "x"}, {"", ""}}
	for _, c := range bad {
		rep := te.s.serve(authReq(c[0], c[1]))
		if len(rep) != 1 || rep.Get("status") != "fail" {
			t.Errorf("%q/%q: %v (want exactly status=fail)", c[0], c[1], rep)
		}
	}
	if len(te.slept) != len(bad) {
		t.Errorf("delays: %v", te.slept)
	}
	log, _ := os.ReadFile(te.log)
	for _, want := range []string{
		"warning: pop3 authentication failed: user=<fmaster>, rip=192.0.2.1, reason=password mismatch",
		"user=<nosuch>, rip=192.0.2.1, reason=unknown user", "user=<locked>, rip=192.0.2.1, reason=account locked",
		"reason=root login refused", "user=<exp>, rip=192.0.2.1, reason=account expired", "user=<bad?user>",
	} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestLookup(t *testing.T) {
	te := newTestServer(t, "authd_system_users = no\n")
	rep := te.s.serve(ipc.Attrs{{Name: "request", Value: "lookup"}, {Name: "username", Value: "plain"}})
	if rep.Get("status") != "ok" || rep.Get("home") != "/home/plain" {
		t.Fatal(rep)
	}
	for _, u := range []string{"sysu", "nosuch", "broken"} {
		rep = te.s.serve(ipc.Attrs{{Name: "request", Value: "lookup"}, {Name: "username", Value: u}})
		if rep.Get("status") != "fail" {
			t.Errorf("%s: %v", u, rep)
		}
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle(time.Second, 8*time.Second)
	now := time.Unix(1000, 0)
	var got []time.Duration
	for i := 0; i < 6; i++ {
		got = append(got, th.failure("1.2.3.4", "u"+string(rune('a'+i)), now))
	}
	want := []time.Duration{1, 2, 4, 8, 8, 8}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("per client: %v", got)
		}
	}
	// Per user, from another client; success clears it.
	th.failure("5.6.7.8", "x", now)
	if d := th.failure("9.9.9.9", "X", now); d != 2*time.Second {
		t.Fatalf("per user: %v", d)
	}
	th.success("x")
	if d := th.failure("10.0.0.1", "x", now); d != time.Second {
		t.Fatalf("after success: %v", d)
	}
	// Forgotten after a quiet period.
	if d := th.failure("1.2.3.4", "new", now.Add(time.Hour)); d != time.Second {
		t.Fatalf("after quiet: %v", d)
	}
}

func TestServeSocket(t *testing.T) {
	te := newTestServer(t, "authd_failure_delay = 50ms\n")
	te.s.sleep = time.Sleep
	sock := filepath.Join(t.TempDir(), "auth")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go te.s.handle(c)
		}
	}()
	c, err := ipc.Dial(sock, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// Several requests on one connection.
	for _, pw := range []string{"password", "nope"} {
		rep, err := c.Request(authReq("fmaster", pw), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"password": "ok", "nope": "fail"}[pw]; rep.Get("status") != want {
			t.Fatalf("%s: %v", pw, rep)
		}
	}
	c.Close()
	// An oversized request is dropped, not buffered.
	c, _ = ipc.Dial(sock, time.Second)
	big := ipc.Attrs{{Name: "request", Value: "auth"}}
	for i := 0; i < 100; i++ {
		big = big.Add("x", strings.Repeat("a", 1000))
	}
	_, err = c.Request(big, 5*time.Second)
	if err == nil {
		t.Fatal("oversized request answered")
	}
	c.Close()
	// A long line too.
	c, _ = ipc.Dial(sock, time.Second)
	c.Write([]byte("password=" + strings.Repeat("a", 8000) + "\n\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := bufio.NewReader(c).ReadByte(); err == nil {
		t.Fatal("long line answered")
	}
	c.Close()
}

func TestPeerCredRefused(t *testing.T) {
	te := newTestServer(t, "")
	te.s.allowed = map[int]bool{12345: true}
	sock := filepath.Join(t.TempDir(), "auth")
	ln, _ := net.Listen("unix", sock)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			te.s.handle(c)
		}
	}()
	c, _ := ipc.Dial(sock, time.Second)
	defer c.Close()
	if _, err := c.Request(authReq("fmaster", "password"), 5*time.Second); err == nil {
		t.Fatal("request from a foreign uid answered")
	}
	log, _ := os.ReadFile(te.log)
	if !strings.Contains(string(log), "warning: refusing request from uid") {
		t.Fatalf("log: %s", log)
	}
}
