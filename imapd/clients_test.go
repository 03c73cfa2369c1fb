package main

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/maillog"
)

func TestMain(m *testing.M) {
	// The root path starts this test binary as the session child.
	if len(os.Args) > 1 && os.Args[1] == sessionFlag {
		os.Exit(sessionMain())
	}
	os.Exit(m.Run())
}

const imaplibScript = `
import imaplib, sys
port, path = int(sys.argv[1]), sys.argv[2]
M = imaplib.IMAP4("127.0.0.1", port)
M.login("fmaster", "password")
typ, boxes = M.list()
assert typ == "OK" and any(b'INBOX' in b for b in boxes), boxes
typ, data = M.select("INBOX")
assert typ == "OK" and data[0] == b"1", data
typ, data = M.search(None, '(SUBJECT "message 1")')
assert data[0] == b"1", data
typ, data = M.fetch("1", "(BODY.PEEK[])")
want = open(path, "rb").read().replace(b"\n", b"\r\n")
assert data[0][1] == want, (data[0][1], want)
M.store("1", "+FLAGS", "\\Seen")
M.create("INBOX.Py")
M.copy("1", "INBOX.Py")
typ, data = M.status("INBOX.Py", "(MESSAGES)")
assert b"MESSAGES 1" in data[0], data
M.append("INBOX.Py", None, None, b"Subject: appended\r\n\r\nbody\r\n")
M.store("1", "+FLAGS", "\\Deleted")
typ, data = M.expunge()
assert data[0] == b"1", data
M.logout()
M = imaplib.IMAP4("127.0.0.1", port)
M.login("fmaster", "password")
M.select("INBOX.Py")
typ, data = M.fetch("1:*", "(FLAGS)")
assert b"\\Seen" in data[0], data
assert len(data) == 2, data
M.logout()
print("ok")
`

func TestPythonImaplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	p := writeMsg(t, md, "new", "1700000001.Vfe00I1M1.host", msgText(1), time.Time{})
	want, _ := os.ReadFile(p)
	saved := filepath.Join(home, "orig")
	os.WriteFile(saved, want, 0600)
	_, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(py, "-c", imaplibScript, port, saved).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "ok") {
		t.Fatalf("imaplib: %v\n%s", err, out)
	}
	cur := names(t, filepath.Join(md, "cur"))
	if len(cur) != 0 {
		t.Errorf("INBOX cur after expunge: %v", cur)
	}
}

func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	p := writeMsg(t, md, "cur", "1700000001.Vfe00I1M1.host:2,", msgText(1), time.Time{})
	want, _ := os.ReadFile(p)
	out, err := exec.Command(curl, "-s", "--max-time", "10", "imap://"+addr+"/", "-u", "fmaster:password").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "INBOX") {
		t.Fatalf("curl list: %v %s", err, out)
	}
	out, err = exec.Command(curl, "-s", "--max-time", "10", "imap://"+addr+"/INBOX;UID=1", "-u", "fmaster:password").Output()
	if err != nil || strings.ReplaceAll(string(out), "\r\n", "\n") != string(want) {
		t.Fatalf("curl fetch: %v %q", err, out)
	}
	out, err = exec.Command(curl, "-s", "--max-time", "10", "imap://"+addr+"/INBOX?SUBJECT%20message", "-u", "fmaster:password").Output()
	if err != nil || !strings.Contains(string(out), "SEARCH 1") {
		t.Fatalf("curl search: %v %q", err, out)
	}
}

// As root, a logged-in connection is served by a child running as the
// user: files it creates belong to the user.
func TestRootSessionChild(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	dir := t.TempDir()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0005 == 0 {
			os.Chmod(d, fi.Mode().Perm()|0005)
			defer os.Chmod(d, fi.Mode().Perm())
		}
	}
	home := filepath.Join(dir, "home")
	os.MkdirAll(home, 0755)
	os.Chown(home, uid, gid)
	cfg := filepath.Join(dir, "etc")
	os.MkdirAll(cfg, 0755)
	logf := filepath.Join(dir, "maillog")
	os.WriteFile(logf, nil, 0666)
	os.Chmod(logf, 0666)
	os.WriteFile(filepath.Join(cfg, "main.cf"), []byte("maillog_file = "+logf+"\nmaillog_file_prefixes = /\n"), 0644)
	// The session child must be able to exec the binary as the user.
	self, _ := os.Executable()
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "imapd.test")
	if err := os.WriteFile(exe, bin, 0755); err != nil {
		t.Fatal(err)
	}
	s := &server{log: maillog.New("imapd", maillog.Options{MaillogFile: logf}), appendLimit: 1 << 20,
		args: []string{"-c", cfg}, Login: &handoff.Login{Timeout: 10 * time.Second, Exe: exe,
			Auth: authFunc(func(u, p string) (*auth.User, error) {
				if u == "fmaster" && p == "password" {
					return &auth.User{Username: "fmaster", UID: uid, GID: gid, Home: home, Maildir: filepath.Join(home, "Maildir")}, nil
				}
				return nil, auth.ErrFailed
			})}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{}, 2)
	go func() {
		for i := 0; i < 2; i++ {
			c, err := ln.Accept()
			if err == nil {
				s.handle(c)
			}
			done <- struct{}{}
		}
	}()
	defer s.sessions().Close()
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			t.Logf("log:\n%s", b)
		}
	}()
	tc := login(t, ln.Addr().String())
	tc.ok("b", "create INBOX.Child")
	if u := tc.ok("b2", "select INBOX.Child"); !contains(u, "* 0 EXISTS") {
		t.Errorf("select of a new folder: %q", u)
	}
	tc.ok("c", "logout")
	<-done
	fi, err := os.Stat(filepath.Join(home, "Maildir", ".Child", "cur"))
	if err != nil {
		b, _ := os.ReadFile(logf)
		t.Fatalf("%v\n%s", err, b)
	}
	if st := fi.Sys().(interface{}); st == nil {
		t.Fatal("no stat")
	}
	if owner := statUID(fi); owner != uid {
		t.Errorf("folder owned by uid %d, want %d", owner, uid)
	}
	// The next login of the user goes to the same session server, which
	// still has INBOX.Child open and sees what changed meanwhile.
	writeMsg(t, filepath.Join(home, "Maildir", ".Child"), "new", "1700000000.1.host", msgText(1), time.Time{})
	os.Chown(filepath.Join(home, "Maildir", ".Child", "new", "1700000000.1.host"), uid, gid)
	tc = login(t, ln.Addr().String())
	if u := tc.ok("b", "select INBOX.Child"); !contains(u, "* 1 EXISTS") {
		t.Errorf("select after a delivery: %q", u)
	}
	tc.ok("c", "logout")
	<-done
	b, _ := os.ReadFile(logf)
	pids := regexp.MustCompile(`imapd\[(\d+)\]: Disconnected`).FindAllStringSubmatch(string(b), -1)
	if len(pids) != 2 || pids[0][1] != pids[1][1] {
		t.Errorf("sessions not served by one session server: %q", pids)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

type authFunc func(u, p string) (*auth.User, error)

func (f authFunc) Authenticate(service, u, p, rip string) (*auth.User, error) { return f(u, p) }

func statUID(fi os.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
