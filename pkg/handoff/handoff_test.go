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
	"postern/pkg/runas"
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
				cmd := runas.Command(self(t), []string{childFlag}, me())
				return Spawn(cmd, c, []byte("params"))
			})
			if reply != "params hello" {
				t.Fatalf("reply %q", reply)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	var warnings []string
	var mu sync.Mutex
	warn := func(f string, a ...any) { mu.Lock(); warnings = append(warnings, fmt.Sprintf(f, a...)); mu.Unlock() }
	p := NewSessions(self(t), []string{serverFlag}, 4, time.Hour, warn)
	defer p.Close()
	u := me()
	serve := func(p *Sessions, params string) func(*Conn) error {
		return func(c *Conn) error { return p.Serve(u, c, []byte(params)) }
	}
	pid1, reply := session(t, false, serve(p, "a"))
	if reply != "a hello" {
		t.Fatalf("reply %q", reply)
	}
	// The next sessions, one over TLS and two at once, go to the same
	// server.
	pid2, reply := session(t, true, serve(p, "b"))
	if reply != "b hello" || pid2 != pid1 {
		t.Fatalf("reply %q from pid %d, want pid %d", reply, pid2, pid1)
	}
	var wg sync.WaitGroup
	pids := make([]int, 2)
	for i := range pids {
		wg.Add(1)
		go func() { defer wg.Done(); pids[i], _ = session(t, false, serve(p, "c")) }()
	}
	wg.Wait()
	if pids[0] != pid1 || pids[1] != pid1 {
		t.Fatalf("concurrent sessions served by %v, want %d", pids, pid1)
	}
	// Idle: the server is closed and exits; the next session starts a new
	// one (the pool's own tests are pkg/runas's).
	q := NewSessions(self(t), []string{serverFlag}, 4, 50*time.Millisecond, warn)
	defer q.Close()
	pid1, _ = session(t, false, serve(q, "d"))
	for deadline := time.Now().Add(10 * time.Second); len(q.pool.Servers()) > 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("idle server kept")
		}
	}
	pid3, _ := session(t, false, serve(q, "e"))
	if pid3 == pid1 || pid3 == 0 {
		t.Fatalf("pid %d after the idle exit of %d", pid3, pid1)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(warnings) != 0 {
		t.Fatalf("warnings: %q", warnings)
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
