package main

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/pkg/ipc"
	"postern/pkg/testenv"
)

// fakeAuthd answers authd's protocol on $queue_directory/private/auth: user "u" with
// password "pw" is known; user "temp" gets status=temp.
type fakeAuthd struct {
	mu   sync.Mutex
	reqs []ipc.Attrs
}

func startAuthd(t *testing.T, e *env) *fakeAuthd {
	t.Helper()
	dir := filepath.Join(e.srv.queueDir, "private")
	os.MkdirAll(dir, 0755)
	f := &fakeAuthd{}
	serve(t, "unix", filepath.Join(dir, "auth"), f.serve)
	return f
}

func (f *fakeAuthd) serve(c net.Conn) {
	defer c.Close()
	req, err := ipc.Read(bufio.NewReader(c))
	if err != nil {
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	rep := ipc.Attrs{{Name: "status", Value: "fail"}}
	switch {
	case req.Get("username") == "temp":
		rep = ipc.Attrs{{Name: "status", Value: "temp"}, {Name: "reason", Value: "backend down"}}
	case req.Get("username") == "u" && req.Get("password") == "pw":
		rep = ipc.Attrs{{Name: "status", Value: "ok"}, {Name: "username", Value: "u"},
			{Name: "uid", Value: "1001"}, {Name: "gid", Value: "1001"},
			{Name: "home", Value: "/home/u"}, {Name: "maildir", Value: "/home/u/Maildir/"}}
	}
	ipc.Write(c, rep)
}

func plainResp(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

// tlsEnv is smtpd with a certificate, SASL through a fake authd, and 127.0.0.1 outside
// mynetworks.
func tlsEnv(t *testing.T, extra string) *env {
	t.Helper()
	cert, key := testenv.SelfSignedCert(t, t.TempDir(), "vm.example")
	e := startSmtpd(t, "smtpd_tls_cert_file = "+cert+"\nsmtpd_tls_key_file = "+key+"\n"+
		"smtpd_sasl_auth_enable = yes\nmynetworks = 192.0.2.0/24\n"+
		"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n"+extra)
	startAuthd(t, e)
	return e
}

// upgrade does the client side of STARTTLS on c.
func (c *client) upgrade() {
	c.t.Helper()
	tc := tls.Client(c.c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.c = tc
	c.r = bufio.NewReader(tc)
}

func TestStartTLSAndAuth(t *testing.T) {
	e := tlsEnv(t, "smtpd_tls_security_level = may\nsmtpd_tls_auth_only = yes\n")
	c := e.greet()
	ehlo := c.cmd("EHLO client.example", "250-vm.example")
	if !strings.Contains(ehlo, "250-STARTTLS\n") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("EHLO before TLS:\n%s", ehlo)
	}
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "503 5.5.1 Error: authentication not enabled")
	c.cmd("STARTTLS now", "501 5.5.4 Syntax: STARTTLS")
	c.cmd("STARTTLS", "220 2.0.0 Ready to start TLS")
	c.upgrade()
	ehlo = c.cmd("EHLO client.example", "250-vm.example")
	want := "250-vm.example\n250-PIPELINING\n250-SIZE 10240000\n250-VRFY\n250-AUTH PLAIN LOGIN\n250-ENHANCEDSTATUSCODES\n250-8BITMIME\n250-DSN\n250-SMTPUTF8\n250 CHUNKING"
	if ehlo != want {
		t.Fatalf("EHLO after TLS:\n%s\nwant\n%s", ehlo, want)
	}
	c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
	c.cmd("MAIL FROM:<u@client.example>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<x@remote.example>", "554 5.7.1 <x@remote.example>: Relay access denied")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "503 5.5.1 Error: MAIL transaction in progress")
	c.cmd("RSET", "250")
	c.cmd("AUTH FOO", "504 5.5.4")
	c.cmd("AUTH", "501 5.5.4 Syntax: AUTH mechanism")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "wrong"), "535 5.7.8 Error: authentication failed: authentication failure")
	e.waitLog("warning: localhost[127.0.0.1]: SASL PLAIN authentication failed: authentication failure, sasl_username=u")
	c.cmd("AUTH PLAIN", "334 ")
	c.cmd("*", "501 5.7.0 Authentication aborted")
	c.cmd("AUTH PLAIN", "334 ")
	c.cmd(plainResp("", "u", "pw"), "235 2.7.0 Authentication successful")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "503 5.5.1 Error: already authenticated")
	c.cmd("MAIL FROM:<u@client.example>", "250 2.1.0 Ok")
	c.cmd("RCPT TO:<x@remote.example>", "250 2.1.5 Ok")
	c.cmd("DATA", "354")
	c.cmd("Subject: t\r\n\r\nhi\r\n.", "250 2.0.0 Ok: queued as ")
	c.cmd("QUIT", "221")
	e.waitLog("client=localhost[127.0.0.1], sasl_method=PLAIN, sasl_username=u")
	l := e.waitLog("disconnect from localhost[127.0.0.1]")
	if !strings.Contains(l, "starttls=1/3 auth=1/8") {
		t.Errorf("disconnect counts:\n%s", l)
	}
	msgs := e.cleanup.got()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if !m.has("Asasl_method=PLAIN") || !m.has("Asasl_username=u") {
		t.Errorf("no SASL attributes: %q", m.recs)
	}
	if !m.has("N\tby vm.example (Postfix) with ESMTPSA id " + m.id) {
		t.Errorf("Received protocol: %q", m.recs)
	}
}

func TestAuthLoginAndTemp(t *testing.T) {
	e := tlsEnv(t, "smtpd_tls_security_level = may\nsmtpd_tls_auth_only = no\nbroken_sasl_auth_clients = yes\n")
	c := e.greet()
	ehlo := c.cmd("EHLO client.example", "250-")
	if !strings.Contains(ehlo, "250-STARTTLS\n250-AUTH PLAIN LOGIN\n250-AUTH=PLAIN LOGIN\n") {
		t.Fatalf("EHLO:\n%s", ehlo)
	}
	c.cmd("AUTH PLAIN "+plainResp("", "temp", "x"), "454 4.7.0 Temporary authentication failure")
	e.waitLog("SASL PLAIN authentication failed: backend down, sasl_username=temp")
	c.cmd("AUTH PLAIN "+plainResp("other", "u", "pw"), "535 5.7.8")
	c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
	c.cmd(base64.StdEncoding.EncodeToString([]byte("u")), "334 UGFzc3dvcmQ6")
	c.cmd(base64.StdEncoding.EncodeToString([]byte("pw")), "235 2.7.0 Authentication successful")
	c.cmd("MAIL FROM:<u@client.example>", "250")
	c.cmd("RCPT TO:<x@remote.example>", "250")
}

// dialStartTLS connects go-smtp's client to e and starts TLS.
func dialStartTLS(t *testing.T, e *env) *smtp.Client {
	t.Helper()
	sc, err := smtp.DialStartTLS(e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	return sc
}

func TestEncryptLevel(t *testing.T) {
	e := tlsEnv(t, "smtpd_tls_security_level = encrypt\n")
	c := e.greet()
	ehlo := c.cmd("EHLO client.example", "250-")
	if !strings.Contains(ehlo, "250-STARTTLS") || strings.Contains(ehlo, "AUTH") {
		t.Fatalf("EHLO:\n%s", ehlo)
	}
	c.cmd("MAIL FROM:<u@client.example>", "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("RSET", "530 5.7.0 Must issue a STARTTLS command first")
	c.cmd("NOOP", "250")

	// go-smtp's client: STARTTLS, AUTH PLAIN, a relayed message.
	sc := dialStartTLS(t, e)
	if err := sc.Auth(sasl.NewPlainClient("", "u", "wrong")); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("wrong password: %v", err)
	} else if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
		t.Fatalf("wrong password: %#v", err)
	}
	if err := sc.Auth(sasl.NewPlainClient("", "u", "pw")); err != nil {
		t.Fatalf("%v\n%s", err, e.log())
	}
	if err := sc.SendMail("u@client.example", []string{"x@remote.example"}, strings.NewReader("Subject: t\r\n\r\nhi\r\n")); err != nil {
		t.Fatalf("%v\n%s", err, e.log())
	}
	sc.Quit()
	if n := len(e.cleanup.got()); n != 1 {
		t.Fatalf("%d messages", n)
	}

	// Without authentication, relaying from outside mynetworks is refused.
	sc = dialStartTLS(t, e)
	if err := sc.Mail("a@client.example", nil); err != nil {
		t.Fatal(err)
	}
	err := sc.Rcpt("x@remote.example", nil)
	if se, ok := err.(*smtp.SMTPError); !ok || se.Code != 554 || !strings.Contains(se.Message, "Relay access denied") {
		t.Fatalf("unauthenticated relay: %v", err)
	}
}

func TestWrapperMode(t *testing.T) {
	e := tlsEnv(t, "smtpd_tls_wrappermode = yes\nsmtpd_tls_auth_only = yes\n")
	conn, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	c := &client{t: t, c: conn, r: bufio.NewReader(conn)}
	c.reply()
	ehlo := c.cmd("EHLO client.example", "250-")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "250-AUTH PLAIN LOGIN") {
		t.Fatalf("EHLO:\n%s", ehlo)
	}
	c.cmd("STARTTLS", "554 5.5.1 Error: TLS already active")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "235")
	c.cmd("MAIL FROM:<u@client.example>", "250")
	c.cmd("RCPT TO:<x@remote.example>", "250")

	// A plain-text client gets nothing but a closed connection.
	p := e.dial()
	p.send("EHLO x\r\n")
	if _, err := p.r.ReadString('\n'); err == nil {
		t.Fatal("plain text answered")
	}
}

func TestTLSNotAvailable(t *testing.T) {
	e := startSmtpd(t, "smtpd_tls_security_level = may\nsmtpd_tls_cert_file = /nonexistent/cert.pem\n")
	e.waitLog("cannot load TLS certificate /nonexistent/cert.pem")
	c := e.greet()
	c.cmd("STARTTLS", "454 4.7.0 TLS not available due to local problem")
	e = startSmtpd(t, "")
	c = e.greet()
	c.cmd("STARTTLS", "502 5.5.1 Error: command not implemented")
}

func TestConnectionCountLimit(t *testing.T) {
	e := startSmtpd(t, "smtpd_client_connection_count_limit = 2\nsmtpd_client_event_limit_exceptions =\n")
	a, b := e.dial(), e.dial()
	a.reply()
	b.reply()
	c := e.dial()
	if r := c.reply(); r != "421 4.7.0 vm.example Error: too many connections from 127.0.0.1" {
		t.Fatalf("third connection: %q", r)
	}
	e.waitLog("warning: Connection concurrency limit exceeded: 3 from localhost[127.0.0.1] for service smtp")
	a.cmd("QUIT", "221")
	e.waitLog("disconnect from localhost[127.0.0.1] quit=1")
	d := e.dial()
	if r := d.reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("after a QUIT: %q", r)
	}

	// mynetworks is exempt by default.
	e = startSmtpd(t, "smtpd_client_connection_count_limit = 1\nmynetworks = 127.0.0.0/8\n")
	a, b = e.dial(), e.dial()
	a.reply()
	if r := b.reply(); !strings.HasPrefix(r, "220 ") {
		t.Fatalf("exempt client: %q", r)
	}
}

func TestConnectionRateLimit(t *testing.T) {
	e := startSmtpd(t, "smtpd_client_connection_rate_limit = 2\nsmtpd_client_event_limit_exceptions =\n")
	for i := 0; i < 2; i++ {
		c := e.dial()
		c.reply()
		c.cmd("QUIT", "221")
	}
	c := e.dial()
	if r := c.reply(); !strings.HasPrefix(r, "421 4.7.0 vm.example Error: too many connections from 127.0.0.1") {
		t.Fatalf("third connection: %q", r)
	}
	e.waitLog("warning: Connection rate limit exceeded: 3 from localhost[127.0.0.1] for service smtp")
}

func TestAuthFailureDelay(t *testing.T) {
	e := tlsEnv(t, "smtpd_tls_security_level = may\nsmtpd_error_sleep_time = 200ms\n")
	c := e.greet()
	c.cmd("EHLO client.example", "250")
	for i := 1; i <= 3; i++ {
		start := time.Now()
		c.cmd("AUTH PLAIN "+plainResp("", "u", "wrong"), "535 5.7.8")
		if d := time.Since(start); d < time.Duration(i)*200*time.Millisecond {
			t.Fatalf("failure %d answered after %v", i, d)
		}
	}
}

// A client trickling its message a byte at a time is cut off once the DATA phase exceeds
// smtpd_timeout plus what smtpd_min_data_rate allows for the bytes sent.
func TestSlowDataBound(t *testing.T) {
	e := startSmtpd(t, "smtpd_timeout = 1s\nsmtpd_min_data_rate = 1000\nmynetworks = 127.0.0.0/8\n")
	c := e.mailFrom("client.example", "a@client.example")
	c.cmd("RCPT TO:<x@remote.example>", "250")
	c.cmd("DATA", "354")
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
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("cut off only after %v", d)
			}
			e.waitLog("timeout after DATA from localhost[127.0.0.1]")
			return
		case <-time.After(200 * time.Millisecond):
			c.c.Write([]byte("x"))
		}
		if i > 50 {
			t.Fatal("never cut off")
		}
	}
}
