package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/auth"
	"postern/pkg/handoff"
	"postern/pkg/ipc"
	"postern/pkg/maildir"
	"postern/pkg/maillog"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == sessionFlag {
		os.Exit(sessionMain())
	}
	os.Exit(m.Run())
}

// fakeAuthd speaks authd's protocol on a unix socket: fmaster/password
// logs in to maildir as uid; failures are delayed like authd's.
type fakeAuthd struct {
	sock    string
	maildir string
	uid     int
	delay   time.Duration
}

func startAuthd(t *testing.T, md string, uid int) *fakeAuthd {
	t.Helper()
	a := &fakeAuthd{sock: filepath.Join(t.TempDir(), "auth"), maildir: md, uid: uid, delay: 200 * time.Millisecond}
	ln, err := net.Listen("unix", a.sock)
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
			go func() {
				defer c.Close()
				req, err := ipc.Read(bufio.NewReader(c))
				if err != nil {
					return
				}
				if req.Get("username") == "fmaster" && req.Get("password") == "password" && req.Get("service") == "pop3" {
					ipc.Write(c, (&auth.User{Username: "fmaster", UID: a.uid, GID: a.uid, Home: filepath.Dir(a.maildir), Maildir: a.maildir + "/"}).Reply())
					return
				}
				time.Sleep(a.delay)
				ipc.Write(c, ipc.Attrs{{Name: "status", Value: "fail"}})
			}()
		}
	}()
	return a
}

type testServer struct {
	addr string
	dir  string // Maildir
	log  string
	srv  *server
}

func newTestServer(t *testing.T, inProcess bool) *testServer {
	t.Helper()
	root := t.TempDir()
	ts := &testServer{dir: filepath.Join(root, "home", "Maildir"), log: filepath.Join(root, "maillog")}
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(ts.dir, d), 0700)
	}
	a := startAuthd(t, ts.dir, os.Geteuid())
	log := maillog.New("pop3d", maillog.Options{MaillogFile: ts.log})
	t.Cleanup(func() { log.Close() })
	ts.srv = &server{log: log, maxFailures: 3, Login: &handoff.Login{Auth: &auth.Client{Socket: a.sock, Timeout: 5 * time.Second},
		Timeout: 10 * time.Second, InProcess: inProcess}}
	ts.srv.Exe, _ = os.Executable()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ts.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go ts.srv.handle(c)
		}
	}()
	return ts
}

func (ts *testServer) logText() string {
	b, _ := os.ReadFile(ts.log)
	return string(b)
}

// deliver puts a message into new/ the way local(8) does.
func (ts *testServer) deliver(t *testing.T, content string, when time.Time) string {
	t.Helper()
	p, err := maildir.Deliver(ts.dir, nil, strings.NewReader(content), maildir.Options{Now: func() time.Time { return when }})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p)
}

type pop3Client struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *pop3Client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	p := &pop3Client{t: t, c: c, r: bufio.NewReader(c)}
	p.expect("+OK Hello there.")
	return p
}

func (p *pop3Client) line() string {
	p.t.Helper()
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Fatalf("read: %v (got %q)", err, l)
	}
	if !strings.HasSuffix(l, "\r\n") {
		p.t.Fatalf("line without CRLF: %q", l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (p *pop3Client) expect(want string) {
	p.t.Helper()
	if got := p.line(); got != want {
		p.t.Fatalf("got %q, want %q", got, want)
	}
}

func (p *pop3Client) cmd(line, want string) {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	p.expect(want)
}

// multi reads a multi-line body up to the dot line, undoing nothing: the
// raw bytes as sent.
func (p *pop3Client) multi() string {
	p.t.Helper()
	var b strings.Builder
	for {
		l, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("read: %v", err)
		}
		if l == ".\r\n" {
			return b.String()
		}
		b.WriteString(l)
	}
}

func (p *pop3Client) login() {
	p.t.Helper()
	p.cmd("user fmaster", "+OK Password required.")
	p.cmd("pass password", "+OK logged in.")
}

const msg1 = "Subject: one\nFrom: a@example.org\n\nline 1\n.dotted\n..two dots\n.\nlast line without newline"
const msg2 = "Subject: two\r\n\r\nalready CRLF\r\n"

func TestDialogue(t *testing.T) {
	ts := newTestServer(t, true)
	n1 := ts.deliver(t, msg1, time.Unix(1700000000, 0))
	n2 := ts.deliver(t, msg2, time.Unix(1700000100, 0))
	wire1 := "Subject: one\r\nFrom: a@example.org\r\n\r\nline 1\r\n..dotted\r\n...two dots\r\n..\r\nlast line without newline\r\n"
	size1 := len(wire1) - 3 // less the three stuffed dots
	size2 := len(msg2)

	p := dial(t, ts.addr)
	p.cmd("CAPA", "+OK Here's what I can do:")
	if got := p.multi(); got != "SASL PLAIN LOGIN\r\nTOP\r\nUSER\r\nLOGIN-DELAY 10\r\nPIPELINING\r\nUIDL\r\nUTF8 USER\r\nIMPLEMENTATION Postern\r\n" {
		t.Fatalf("CAPA: %q", got)
	}
	p.cmd("stat", "-ERR Invalid command.")
	p.cmd("PASS password", "-ERR USER/PASS required.")
	p.login()
	if !strings.Contains(ts.logText(), "pop3d[") || !strings.Contains(ts.logText(), "Login: user=<fmaster>, method=PLAIN, rip=127.0.0.1, lip=127.0.0.1") {
		t.Fatalf("log: %s", ts.logText())
	}
	// new/ went to cur/ with ":2,".
	if ents, _ := os.ReadDir(filepath.Join(ts.dir, "new")); len(ents) != 0 {
		t.Fatal("new/ not emptied")
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n1+":2,")); err != nil {
		t.Fatal(err)
	}
	p.cmd("STAT", fmt.Sprintf("+OK 2 %d", size1+size2))
	p.cmd("LIST", "+OK POP3 clients that break here, they violate STD53.")
	if got := p.multi(); got != fmt.Sprintf("1 %d\r\n2 %d\r\n", size1, size2) {
		t.Fatalf("LIST: %q", got)
	}
	p.cmd("LIST 2", fmt.Sprintf("+OK 2 %d", size2))
	p.cmd("LIST 3", "-ERR Invalid message number.")
	p.cmd("LIST x", "-ERR Invalid message number.")
	p.cmd("UIDL", "+OK")
	uidl := p.multi()
	lines := strings.Split(strings.TrimSuffix(uidl, "\r\n"), "\r\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "1 UID1-") || !strings.HasPrefix(lines[1], "2 UID2-") {
		t.Fatalf("UIDL: %q", uidl)
	}
	p.cmd("UIDL 2", "+OK "+lines[1])
	p.cmd("TOP 1 1", "+OK headers follow.")
	if got := p.multi(); got != "Subject: one\r\nFrom: a@example.org\r\n\r\nline 1\r\n" {
		t.Fatalf("TOP: %q", got)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n1+":2,")); err != nil {
		t.Fatal("TOP marked the message seen")
	}
	p.cmd("RETR 1", fmt.Sprintf("+OK %d octets follow.", size1))
	if got := p.multi(); got != wire1 {
		t.Fatalf("RETR 1:\n%q\nwant\n%q", got, wire1)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n1+":2,S")); err != nil {
		t.Fatal("RETR did not mark the message seen")
	}
	p.cmd("RETR 2", fmt.Sprintf("+OK %d octets follow.", size2))
	if got := p.multi(); got != msg2 {
		t.Fatalf("RETR 2: %q", got)
	}
	p.cmd("DELE 1", "+OK Deleted.")
	p.cmd("DELE 1", "-ERR Invalid message number.")
	p.cmd("RETR 1", "-ERR Invalid message number.")
	p.cmd("STAT", fmt.Sprintf("+OK 1 %d", size2))
	p.cmd("LIST", "+OK POP3 clients that break here, they violate STD53.")
	if got := p.multi(); got != fmt.Sprintf("2 %d\r\n", size2) {
		t.Fatalf("LIST after DELE: %q", got)
	}
	p.cmd("RSET", "+OK Resurrected.")
	p.cmd("STAT", fmt.Sprintf("+OK 2 %d", size1+size2))
	p.cmd("NOOP", "+OK Yup.")
	p.cmd("USER x", "-ERR Invalid command.")
	p.cmd("DELE 2", "+OK Deleted.")
	p.cmd("QUIT", "+OK Bye-bye.")
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n2+":2,S")); !os.IsNotExist(err) {
		t.Fatalf("deleted message still there: %v", err)
	}
	if !strings.Contains(ts.logText(), "Logged out: user=<fmaster>, rip=127.0.0.1, lip=127.0.0.1, top=1/") {
		t.Fatalf("log: %s", ts.logText())
	}

	// Second session: same UIDL for the survivor; a new message gets UID3.
	ts.deliver(t, "Subject: three\n\nx\n", time.Unix(1700000200, 0))
	p = dial(t, ts.addr)
	p.login()
	p.cmd("UIDL", "+OK")
	uidv := strings.TrimPrefix(lines[0], "1 UID1-")
	if got := p.multi(); got != lines[0]+"\r\n2 UID3-"+uidv+"\r\n" {
		t.Fatalf("UIDL in second session: %q (first %q)", got, uidl)
	}
	// A dropped connection deletes nothing.
	p.cmd("DELE 1", "+OK Deleted.")
	p.c.Close()
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n1+":2,S")); err != nil {
		t.Fatal("dropped session deleted a message")
	}
	// The list file is Courier's format.
	data, _ := os.ReadFile(filepath.Join(ts.dir, maildir.POP3ListFile))
	if !strings.HasPrefix(string(data), "/3 4 "+uidv+"\n"+n1+":2,") {
		t.Fatalf("courierpop3dsizelist: %q", data)
	}
}

func TestWrongPassword(t *testing.T) {
	ts := newTestServer(t, true)
	p := dial(t, ts.addr)
	start := time.Now()
	p.cmd("USER fmaster", "+OK Password required.")
	p.cmd("PASS wrong", "-ERR Login failed.")
	if time.Since(start) < 200*time.Millisecond {
		t.Fatal("failure answered before authd's delay")
	}
	p.cmd("USER nobody", "+OK Password required.")
	p.cmd("PASS password", "-ERR Login failed.")
	p.cmd("PASS password", "-ERR USER/PASS required.")
	p.cmd("USER fmaster", "+OK Password required.")
	p.cmd("PASS x", "-ERR Login failed.")
	// maxFailures = 3 in tests: the connection is closed.
	if l, err := p.r.ReadString('\n'); err == nil {
		t.Fatalf("connection left open after too many failures: %q", l)
	}
	if !strings.Contains(ts.logText(), "Login failed: user=<nobody>, method=PLAIN, rip=127.0.0.1") {
		t.Fatalf("log: %s", ts.logText())
	}
	p = dial(t, ts.addr)
	p.cmd("QUIT", "+OK Better luck next time.")
}

func TestSASL(t *testing.T) {
	ts := newTestServer(t, true)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	p := dial(t, ts.addr)
	p.cmd("AUTH", "+OK")
	if got := p.multi(); got != "PLAIN\r\nLOGIN\r\n" {
		t.Fatal(got)
	}
	p.cmd("AUTH CRAM-MD5", "-ERR Unsupported authentication mechanism.")
	p.cmd("AUTH PLAIN !!!", "-ERR Invalid base64 data.")
	p.cmd("AUTH PLAIN "+b64("\x00fmaster\x00bad"), "-ERR Login failed.")
	p.cmd("AUTH PLAIN "+b64("other\x00fmaster\x00password"), "-ERR Invalid authentication data.")
	p.cmd("AUTH PLAIN", "+ ")
	p.cmd("*", "-ERR Authentication cancelled.")
	p.cmd("AUTH LOGIN", "+ "+b64("Username:"))
	p.cmd(b64("fmaster"), "+ "+b64("Password:"))
	p.cmd(b64("password"), "+OK logged in.")
	p.cmd("QUIT", "+OK Bye-bye.")
	if !strings.Contains(ts.logText(), "method=LOGIN") {
		t.Fatal(ts.logText())
	}
	p = dial(t, ts.addr)
	p.cmd("AUTH PLAIN", "+ ")
	p.cmd(b64("\x00fmaster\x00password"), "+OK logged in.")
	p.cmd("QUIT", "+OK Bye-bye.")
}

func TestPipelinedLogin(t *testing.T) {
	ts := newTestServer(t, true)
	ts.deliver(t, "Subject: x\n\nbody\n", time.Unix(1700000000, 0))
	p := dial(t, ts.addr)
	io.WriteString(p.c, "USER fmaster\r\nPASS password\r\nSTAT\r\nQUIT\r\n")
	p.expect("+OK Password required.")
	p.expect("+OK logged in.")
	p.expect("+OK 1 20")
	p.expect("+OK Bye-bye.")
}

func TestOneSessionPerMailbox(t *testing.T) {
	ts := newTestServer(t, true)
	p1 := dial(t, ts.addr)
	p1.login()
	p2 := dial(t, ts.addr)
	p2.cmd("USER fmaster", "+OK Password required.")
	p2.cmd("PASS password", "-ERR [IN-USE] Unable to lock maildir: another POP3 session is active.")
	p1.cmd("QUIT", "+OK Bye-bye.")
	time.Sleep(100 * time.Millisecond)
	p3 := dial(t, ts.addr)
	p3.login()
}

func TestDropMidRetr(t *testing.T) {
	ts := newTestServer(t, true)
	big := "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 999)+"\n", 5000)
	name := ts.deliver(t, big, time.Unix(1700000000, 0))
	p := dial(t, ts.addr)
	p.login()
	p.cmd("DELE 1", "+OK Deleted.")
	p.cmd("RSET", "+OK Resurrected.")
	fmt.Fprintf(p.c, "RETR 1\r\n")
	buf := make([]byte, 1000)
	io.ReadFull(p.r, buf)
	p.c.Close()
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", name+":2,")); err != nil {
		t.Fatalf("message gone after a dropped RETR: %v", err)
	}
	p = dial(t, ts.addr) // the lock was released, the server still serves
	p.login()
	p.cmd("STAT", fmt.Sprintf("+OK 1 %d", len(big)+5002))
}

func TestHostileInput(t *testing.T) {
	ts := newTestServer(t, true)
	p := dial(t, ts.addr)
	p.cmd(strings.Repeat("A", 10000), "-ERR Invalid command.")
	p.cmd("USER a\x00b", "-ERR Invalid command.")
	p.cmd("", "-ERR Invalid command.")
	for _, c := range []string{"RETR 1", "LIST", "UIDL", "DELE 1", "TOP 1 1", "RSET"} {
		p.cmd(c, "-ERR Invalid command.")
	}
	p.login()
	for _, c := range []string{"RETR 0", "RETR -1", "RETR 99999999999999999999", "TOP 1", "RETR ../../etc/passwd"} {
		p.cmd(c, "-ERR Invalid message number.")
	}
	p.cmd("STLS", "-ERR Invalid command.")
	p.cmd("QUIT", "+OK Bye-bye.")
}

func selfSigned(t *testing.T) (certFile string, cfg *tls.Config) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	certFile = filepath.Join(t.TempDir(), "cert.pem")
	os.WriteFile(certFile, pemData, 0600)
	kp, err := tls.X509KeyPair(pemData, pemData)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, &tls.Config{Certificates: []tls.Certificate{kp}}
}

func TestSTLS(t *testing.T) {
	ts := newTestServer(t, true)
	_, ts.srv.TLS = selfSigned(t)
	ts.deliver(t, "Subject: x\n\nbody\n", time.Unix(1700000000, 0))
	p := dial(t, ts.addr)
	p.cmd("CAPA", "+OK Here's what I can do:")
	if got := p.multi(); !strings.Contains(got, "\r\nSTLS\r\n") {
		t.Fatal(got)
	}
	p.cmd("STLS", "+OK Begin SSL/TLS negotiation now.")
	tc := tls.Client(p.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	p = &pop3Client{t: t, c: tc, r: bufio.NewReader(tc)}
	p.cmd("CAPA", "+OK Here's what I can do:")
	if got := p.multi(); strings.Contains(got, "STLS") {
		t.Fatal("STLS offered twice")
	}
	p.login()
	p.cmd("RETR 1", "+OK 20 octets follow.")
	if got := p.multi(); got != "Subject: x\r\n\r\nbody\r\n" {
		t.Fatal(got)
	}
	p.cmd("QUIT", "+OK Bye-bye.")
	if !strings.Contains(ts.logText(), "lip=127.0.0.1, TLS") {
		t.Fatal(ts.logText())
	}
}

// TestSessionAsUser runs the real privilege separation: pop3d as root
// starts "pop3d -session" as the mailbox owner (root only).
func TestSessionAsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, tlsOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", tlsOn), func(t *testing.T) {
			const uid = 65534 // nobody
			ts := newTestServer(t, false)
			// The session binary and the Maildir must be reachable by uid.
			exeDir := t.TempDir()
			os.Chmod(exeDir, 0755)
			os.Chmod(filepath.Dir(exeDir), 0755)
			exe := filepath.Join(exeDir, "pop3d")
			data, _ := os.ReadFile(ts.srv.Exe)
			os.WriteFile(exe, data, 0755)
			ts.srv.Exe = exe
			root := filepath.Dir(filepath.Dir(ts.dir))
			os.Chmod(filepath.Dir(root), 0755)
			os.Chmod(root, 0755)
			os.Chmod(ts.log, 0666)
			name := ts.deliver(t, "Subject: x\n\nbody\n", time.Unix(1700000000, 0))
			filepath.Walk(filepath.Dir(ts.dir), func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, uid) })
			a := startAuthd(t, ts.dir, uid)
			ts.srv.Auth = &auth.Client{Socket: a.sock, Timeout: 5 * time.Second}
			p := dial(t, ts.addr)
			if tlsOn {
				_, ts.srv.TLS = selfSigned(t)
				p.cmd("STLS", "+OK Begin SSL/TLS negotiation now.")
				tc := tls.Client(p.c, &tls.Config{InsecureSkipVerify: true})
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				p = &pop3Client{t: t, c: tc, r: bufio.NewReader(tc)}
			}
			// Pipelined after PASS: must reach the child.
			io.WriteString(p.c, "USER fmaster\r\nPASS password\r\nSTAT\r\n")
			p.expect("+OK Password required.")
			p.expect("+OK logged in.")
			p.expect("+OK 1 20")
			p.cmd("RETR 1", "+OK 20 octets follow.")
			if got := p.multi(); got != "Subject: x\r\n\r\nbody\r\n" {
				t.Fatal(got)
			}
			p.cmd("QUIT", "+OK Bye-bye.")
			st, err := os.Stat(filepath.Join(ts.dir, maildir.POP3ListFile))
			if err != nil {
				t.Fatal(err)
			}
			if ownerOf(st) != uid {
				t.Fatalf("courierpop3dsizelist written by uid %d, not the user", ownerOf(st))
			}
			if _, err := os.Stat(filepath.Join(ts.dir, "cur", name+":2,S")); err != nil {
				t.Fatal("message not marked seen by the session")
			}
			time.Sleep(100 * time.Millisecond)
			if log := ts.logText(); !strings.Contains(log, "Logged out: user=<fmaster>") {
				t.Fatalf("child did not log: %s", log)
			}
		})
	}
}

// TestPoplib runs Python's poplib against the server (when python3 exists).
func TestPoplib(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	ts := newTestServer(t, true)
	names := []string{
		ts.deliver(t, msg1, time.Unix(1700000000, 0)),
		ts.deliver(t, "Subject: second\n\n.starts with a dot\nend\n", time.Unix(1700000100, 0)),
	}
	host, port, _ := net.SplitHostPort(ts.addr)
	cmd := exec.Command(py, "testdata/poplib_client.py", host, port, ts.dir, strings.Join(names, ","))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("poplib client: %v\n%s", err, out.String())
	}
	t.Log(out.String())
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER fmaster", "pass pass word ", "TOP 1 10", "\tlist\t2", "AUTH PLAIN AGZtAHB3", "", "x\x00y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		cmd, ok := parseCommand(line)
		if !ok {
			return
		}
		if cmd.verb == "" || strings.ContainsAny(cmd.verb, " \t") || cmd.verb != strings.ToUpper(cmd.verb) {
			t.Fatalf("verb %q from %q", cmd.verb, line)
		}
		for _, a := range cmd.args {
			if a == "" || strings.ContainsAny(a, " \t") {
				t.Fatalf("arg %q from %q", a, line)
			}
		}
		if !strings.HasSuffix(line, cmd.rest) {
			t.Fatalf("rest %q not a suffix of %q", cmd.rest, line)
		}
		r := bufio.NewReader(strings.NewReader(line + "\r\n"))
		if got, err := readLine(r); err != nil || got != line {
			t.Fatalf("readLine(%q) = %q, %v", line, got, err)
		}
	})
}

// TOP of a message whose header ends at a line that is not a header
// (the howto's first message as older Postern versions stored it) sends
// the header, the empty line it lacks and the first body lines; RETR and
// LIST keep the file as it is.
func TestTopMalformedHeader(t *testing.T) {
	ts := newTestServer(t, true)
	msg := "Subjet: My first mail on Postfix\nFrom: root@localhost\nAre you there?\n.second\n"
	ts.deliver(t, msg, time.Unix(1700000000, 0))
	wire := strings.ReplaceAll(msg, "\n", "\r\n")
	p := dial(t, ts.addr)
	p.login()
	p.cmd("LIST 1", fmt.Sprintf("+OK 1 %d", len(wire)))
	for _, c := range []struct {
		n    int
		want string
	}{
		{0, "Subjet: My first mail on Postfix\r\nFrom: root@localhost\r\n\r\n"},
		{1, "Subjet: My first mail on Postfix\r\nFrom: root@localhost\r\n\r\nAre you there?\r\n"},
		{9, "Subjet: My first mail on Postfix\r\nFrom: root@localhost\r\n\r\nAre you there?\r\n..second\r\n"},
	} {
		p.cmd(fmt.Sprintf("TOP 1 %d", c.n), "+OK headers follow.")
		if got := p.multi(); got != c.want {
			t.Errorf("TOP 1 %d: %q, want %q", c.n, got, c.want)
		}
	}
	p.cmd("RETR 1", fmt.Sprintf("+OK %d octets follow.", len(wire)))
	if got := p.multi(); got != strings.Replace(wire, "\n.second", "\n..second", 1) {
		t.Errorf("RETR 1: %q", got)
	}
	p.cmd("QUIT", "+OK Bye-bye.")
}

// TestRetrRenamedGoneLarge: RETR follows a message another client renamed
// (new flags), says so for one deleted under it, and sends a message larger
// than its buffers, with dot-stuffing across its pieces, whole.
func TestRetrRenamedGoneLarge(t *testing.T) {
	ts := newTestServer(t, true)
	n1 := ts.deliver(t, "Subject: one\n\nbody\n", time.Unix(1700000000, 0))
	n2 := ts.deliver(t, "Subject: two\n\nbody\n", time.Unix(1700000100, 0))
	var big strings.Builder
	big.WriteString("Subject: big\n\n")
	for big.Len() < 300<<10 {
		big.WriteString(".dot " + strings.Repeat("x", 70) + "\r\n" + strings.Repeat("y", 4000) + "\n")
	}
	ts.deliver(t, big.String(), time.Unix(1700000200, 0))
	wire := strings.ReplaceAll(strings.ReplaceAll(big.String(), "\r\n", "\n"), "\n", "\r\n")
	wire = strings.ReplaceAll(wire, "\r\n.", "\r\n..")

	p := dial(t, ts.addr)
	p.login()
	if err := os.Rename(filepath.Join(ts.dir, "cur", n1+":2,"), filepath.Join(ts.dir, "cur", n1+":2,F")); err != nil {
		t.Fatal(err)
	}
	p.cmd("RETR 1", "+OK 22 octets follow.")
	if got := p.multi(); got != "Subject: one\r\n\r\nbody\r\n" {
		t.Fatalf("RETR of a renamed message: %q", got)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "cur", n1+":2,FS")); err != nil {
		t.Fatal("renamed message not marked seen")
	}
	os.Remove(filepath.Join(ts.dir, "cur", n2+":2,"))
	p.cmd("RETR 2", "-ERR Can't open the message file - it's gone!")
	p.cmd("RETR 3", fmt.Sprintf("+OK %d octets follow.", len(wire)-strings.Count(wire, "\r\n..")))
	if got := p.multi(); got != wire {
		t.Fatalf("RETR of %d bytes: got %d bytes", len(wire), len(got))
	}
	p.cmd("QUIT", "+OK Bye-bye.")
	if !strings.Contains(ts.logText(), ", retr=2/") {
		t.Fatalf("log: %s", ts.logText())
	}
}
