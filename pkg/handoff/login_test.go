package handoff

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/maillog"
)

// NewLogin reads <prog>_*; Begin does the wrapper-mode handshake, and
// logs a failed one with the client's addresses.
func TestLoginBegin(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir)
	c, _ := config.Parse(strings.NewReader("pop3d_tls_wrappermode = yes\npop3d_timeout = 7s\npop3d_tls_auth_only = yes\n" +
		"smtpd_tls_cert_file = " + filepath.Join(dir, "cert.pem") + "\nsmtpd_tls_key_file = " + filepath.Join(dir, "key.pem") + "\n"))
	l, err := NewLogin(c, "pop3d")
	if err != nil {
		t.Fatal(err)
	}
	if exe, _ := os.Executable(); !l.Wrapper || l.TLS == nil || l.Timeout != 7*time.Second || !l.TLSAuthOnly || l.Exe != exe || l.Auth == nil {
		t.Fatalf("%+v", l)
	}
	logf := filepath.Join(dir, "log")
	log := maillog.New("pop3d", maillog.Options{MaillogFile: logf})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type begun struct {
		tc       *tls.Conn
		rip, lip string
		ok       bool
	}
	res := make(chan begun, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			tc, rip, lip, ok := l.Begin(conn, log)
			res <- begun{tc, rip, lip, ok}
			if tc != nil {
				tc.Write([]byte("hi\n"))
			}
			conn.Close()
		}
	}()
	cc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := cc.Read(buf); err != nil || string(buf) != "hi\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	cc.Close()
	if b := <-res; !b.ok || b.tc == nil || b.rip != "127.0.0.1" || b.lip != "127.0.0.1" {
		t.Fatalf("TLS client: %+v", b)
	}
	pc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	pc.Write([]byte("USER me\r\n"))
	if b := <-res; b.ok || b.tc != nil {
		t.Fatalf("plain client in wrapper mode: %+v", b)
	}
	pc.Close()
	if got, _ := os.ReadFile(logf); !strings.Contains(string(got), "pop3d[") || !strings.Contains(string(got), ": TLS handshake failed: rip=127.0.0.1, lip=127.0.0.1: ") {
		t.Fatalf("log: %q", got)
	}
}
