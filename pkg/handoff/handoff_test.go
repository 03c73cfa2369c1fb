package handoff

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/auth"
	"postern/pkg/config"
)

// The test binary doubles as the session processes.
const (
	serverFlag = "-test-session-server"
	childFlag  = "-test-session-child"
)

// echo answers one line with "pid params line" and ends the session.
func echo(conn net.Conn, params []byte) {
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return
	}
	fmt.Fprintf(conn, "%d %s %s", os.Getpid(), params, line)
}

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case serverFlag:
			if err := Serve(3, echo); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			os.Exit(0)
		case childFlag:
			conn, err := ChildConn(3)
			if err != nil {
				os.Exit(2)
			}
			p, err := ChildParams()
			if err != nil {
				os.Exit(3)
			}
			echo(conn, p)
			conn.Close()
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func me() *auth.User {
	return &auth.User{Username: "me", UID: os.Geteuid(), GID: os.Getegid(), Home: "/"}
}

// session accepts one connection, hands it over with serve, and talks to
// it as the client: it returns the reply's pid and text.
func session(t *testing.T, useTLS bool, serve func(*Conn) error) (pid int, reply string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var srvTLS *tls.Config
	if useTLS {
		srvTLS = selfSigned(t, t.TempDir())
	}
	errc := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		var tc *tls.Conn
		if useTLS {
			tc = tls.Server(raw, srvTLS)
			if err := tc.Handshake(); err != nil {
				errc <- err
				return
			}
		}
		c, err := Prepare(raw, tc)
		if err != nil {
			errc <- err
			return
		}
		errc <- serve(c)
	}()
	var conn net.Conn
	conn, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if useTLS {
		tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		conn = tc
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "hello\n")
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reply: %v (hand-off: %v)", err, <-errc)
	}
	// The session ended: the client must see the end of the connection.
	if _, err := r.ReadByte(); err == nil {
		t.Fatal("connection still open after the session ended")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	fmt.Sscanf(line, "%d", &pid)
	return pid, strings.TrimSpace(line[strings.IndexByte(line, ' ')+1:])
}

func TestSpawn(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprint("tls=", useTLS), func(t *testing.T) {
			_, reply := session(t, useTLS, func(c *Conn) error {
				cmd := Command(self(t), []string{childFlag}, me())
				return Spawn(cmd, c, []byte("params"))
			})
			if reply != "params hello" {
				t.Fatalf("reply %q", reply)
			}
		})
	}
}

func TestPool(t *testing.T) {
	var warnings []string
	var mu sync.Mutex
	p := &Pool{Exe: self(t), Args: []string{serverFlag}, Max: 4, Idle: time.Hour,
		Warn: func(f string, a ...any) { mu.Lock(); warnings = append(warnings, fmt.Sprintf(f, a...)); mu.Unlock() }}
	defer p.Close()
	u := me()
	serve := func(params string) func(*Conn) error {
		return func(c *Conn) error { return p.Serve(u, c, []byte(params)) }
	}
	pid1, reply := session(t, false, serve("a"))
	if reply != "a hello" {
		t.Fatalf("reply %q", reply)
	}
	// The next sessions, one over TLS and two at once, go to the same
	// server.
	pid2, reply := session(t, true, serve("b"))
	if reply != "b hello" || pid2 != pid1 {
		t.Fatalf("reply %q from pid %d, want pid %d", reply, pid2, pid1)
	}
	var wg sync.WaitGroup
	pids := make([]int, 2)
	for i := range pids {
		wg.Add(1)
		go func() { defer wg.Done(); pids[i], _ = session(t, false, serve("c")) }()
	}
	wg.Wait()
	if pids[0] != pid1 || pids[1] != pid1 {
		t.Fatalf("concurrent sessions served by %v, want %d", pids, pid1)
	}
	// Idle: the server is closed and exits; the next session starts a new
	// one.
	p.mu.Lock()
	s := p.servers[Identity{u.UID, u.GID}]
	p.Idle = 50 * time.Millisecond
	p.mu.Unlock()
	time.Sleep(60 * time.Millisecond)
	p.expire(s) // lastUsed is now long enough ago for the new Idle
	waitExit(t, s)
	pid3, _ := session(t, false, serve("d"))
	if pid3 == pid1 || pid3 == 0 {
		t.Fatalf("pid %d after the idle exit of %d", pid3, pid1)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 0 {
		t.Fatalf("warnings: %q", warnings)
	}
}

func TestPoolIdleTimer(t *testing.T) {
	p := &Pool{Exe: self(t), Args: []string{serverFlag}, Max: 4, Idle: 100 * time.Millisecond}
	u := me()
	session(t, false, func(c *Conn) error { return p.Serve(u, c, nil) })
	p.mu.Lock()
	s := p.servers[Identity{u.UID, u.GID}]
	p.mu.Unlock()
	if s == nil {
		t.Fatal("no server kept after the session")
	}
	waitExit(t, s)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.servers) != 0 {
		t.Fatal("idle server still in the pool")
	}
}

// At the limit, the least recently used idle server goes; when every
// server is busy, a one-off server takes the session and goes after it.
func TestPoolLimit(t *testing.T) {
	p := &Pool{Exe: self(t), Args: []string{serverFlag}, Max: 1, Idle: time.Hour}
	defer p.Close()
	u1, u2 := me(), me()
	u2.GID = u1.GID + 1 // as root the server runs with that gid; else just another key
	session(t, false, func(c *Conn) error { return p.Serve(u1, c, nil) })
	p.mu.Lock()
	s1 := p.servers[Identity{u1.UID, u1.GID}]
	p.mu.Unlock()
	session(t, false, func(c *Conn) error { return p.Serve(u2, c, nil) })
	waitExit(t, s1)
	p.mu.Lock()
	if len(p.servers) != 1 || p.servers[Identity{u2.UID, u2.GID}] == nil {
		t.Fatalf("servers %v", p.servers)
	}
	p.mu.Unlock()

	// Hold u2's server busy with a session that waits.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	held := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			held <- err
			return
		}
		c, _ := Prepare(raw, nil)
		held <- p.Serve(u2, c, []byte("held"))
	}()
	hc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for p.busy(u2) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	session(t, false, func(c *Conn) error { return p.Serve(u1, c, nil) })
	p.mu.Lock()
	if len(p.servers) != 1 {
		t.Fatalf("one-off server kept in the pool: %v", p.servers)
	}
	p.mu.Unlock()
	fmt.Fprintf(hc, "bye\n")
	io := bufio.NewReader(hc)
	if l, _ := io.ReadString('\n'); !strings.Contains(l, "held bye") {
		t.Fatalf("held session: %q", l)
	}
	hc.Close()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
}

func (p *Pool) busy(u *auth.User) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.servers[Identity{u.UID, u.GID}]; s != nil {
		return s.users
	}
	return 0
}

func waitExit(t *testing.T, s *server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !s.isDead() {
		if time.Now().After(deadline) {
			t.Fatal("server did not exit")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTLSParams(t *testing.T) {
	dir := t.TempDir()
	c, _ := config.Parse(strings.NewReader(""))
	if cfg, wrapper, err := TLS(c, "imapd"); cfg != nil || wrapper || err != nil {
		t.Fatalf("no certificate: %v %v %v", cfg, wrapper, err)
	}
	c.Override("pop3d_tls_wrappermode", "yes")
	if _, _, err := TLS(c, "pop3d"); err == nil || err.Error() != "pop3d_tls_wrappermode = yes needs pop3d_tls_cert_file (or smtpd_tls_cert_file)" {
		t.Fatalf("wrapper without certificate: %v", err)
	}
	selfSigned(t, dir)
	c.Override("smtpd_tls_cert_file", filepath.Join(dir, "cert.pem"))
	c.Override("smtpd_tls_key_file", filepath.Join(dir, "key.pem"))
	cfg, wrapper, err := TLS(c, "pop3d")
	if err != nil || cfg == nil || !wrapper {
		t.Fatalf("smtpd's certificate: %v %v %v", cfg, wrapper, err)
	}
	c.Override("imapd_tls_cert_file", filepath.Join(dir, "missing.pem"))
	if _, _, err := TLS(c, "imapd"); err == nil || !strings.Contains(err.Error(), "cannot load TLS certificate "+filepath.Join(dir, "missing.pem")) {
		t.Fatalf("own certificate: %v", err)
	}
	c.Override("imapd_timeout", "2m")
	if d := Duration(c, "imapd_timeout", time.Second); d != 2*time.Minute {
		t.Fatal(d)
	}
	if d := Duration(c, "imapd_other", time.Second); d != time.Second {
		t.Fatal(d)
	}
}

func TestAddrs(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if rip, lip := Addrs(a); rip != "pipe" || lip != "pipe" {
		t.Fatal(rip, lip)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if rip, lip := Addrs(c); rip != "127.0.0.1" || lip != "127.0.0.1" {
		t.Fatal(rip, lip)
	}
}

// selfSigned writes cert.pem and key.pem into dir and returns a server
// config with them.
func selfSigned(t *testing.T, dir string) *tls.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
	os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0600)
	os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0600)
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{kp}}
}
