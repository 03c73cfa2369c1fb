package main

import (
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
	"postern/pkg/queue/queuetest"
	"postern/pkg/testenv"
)

// testEnv is a queue directory, a test DNS server and an smtp server built from main.cf
// text.
type testEnv struct {
	t   *testing.T
	q   *queue.Queue
	dns *testenv.DNS
	log string
	srv *server
}

func newEnv(t *testing.T, maincf string) *testEnv {
	dir := t.TempDir()
	e := &testEnv{t: t, q: queue.New(filepath.Join(dir, "queue")), dns: testenv.NewDNS(t), log: filepath.Join(dir, "maillog")}
	if err := e.q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	cf := "queue_directory = " + e.q.Dir + "\nmyhostname = client.postern.test\ninet_protocols = ipv4\n" +
		"smtp_dns_resolver_address = " + e.dns.Addr() + "\n" + maincf
	c, err := config.Parse(strings.NewReader(cf))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServer(c, maillog.New("smtp", maillog.Options{MaillogFile: e.log, Hostname: "test"}))
	if err != nil {
		t.Fatal(err)
	}
	e.srv = s
	return e
}

// queueFile writes a committed queue file in active/ with the given content lines.
func (e *testEnv) queueFile(sender string, lines ...string) (string, int64) {
	return queuetest.Active(e.t, e.q, sender, "", "user@remote.test", lines...)
}

func (e *testEnv) request(id string, off int64, nexthop string, rcpts ...string) ipc.Attrs {
	a := ipc.Attrs{{Name: "queue_name", Value: "active"}, {Name: "queue_id", Value: id},
		{Name: "content_offset", Value: strconv.FormatInt(off, 10)}, {Name: "sender", Value: "alice@postern.test"},
		{Name: "arrival_time", Value: "1700000000.000000"}, {Name: "nexthop", Value: nexthop}}
	for _, r := range rcpts {
		a = append(a, ipc.Attr{Name: "recipient", Value: r})
	}
	return a
}

func (e *testEnv) logText() string {
	b, _ := os.ReadFile(e.log)
	return string(b)
}

// lineFor returns the delivery log line for rcpt (the last one).
func (e *testEnv) lineFor(rcpt string) string {
	line := ""
	for _, l := range strings.Split(e.logText(), "\n") {
		if strings.Contains(l, "to=<"+rcpt+">") {
			line = l
		}
	}
	return line
}

var sample = []string{
	"Received: from client.example (client.example [192.0.2.7]) by postern.test",
	"From: Alice <alice@postern.test>",
	"To: user@remote.test",
	"Subject: hello",
	"Message-ID: <1@postern.test>",
	"",
	"first line",
	".a line that starts with a dot",
	"caf\xc3\xa9",
}

func TestRelayhostDelivery(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	e := newEnv(t, "relayhost = [127.0.0.1]:"+strconv.Itoa(k.Port))
	id, off := e.queueFile("alice@postern.test", sample...)
	rep := e.srv.handle(e.request(id, off, "", "user@remote.test"))
	if rep.Get("status") != "0" || rep.Get("dsn") != "2.0.0" || rep.Get("reason") != "250 2.0.0 OK: queued" {
		t.Fatalf("reply %v\n%s", rep, e.logText())
	}
	msgs := k.Received()
	if len(msgs) != 1 {
		t.Fatalf("%d messages at the sink", len(msgs))
	}
	m := msgs[0]
	want := strings.Join(sample, "\r\n") + "\r\n"
	if m.Data != want {
		t.Errorf("content\n%q\nwant\n%q", m.Data, want)
	}
	if m.From != "alice@postern.test" || len(m.To) != 1 || m.To[0] != "user@remote.test" {
		t.Errorf("envelope %q %q", m.From, m.To)
	}
	if m.Opts.Body != gosmtp.Body8BitMIME || m.Opts.Size != int64(len(strings.Join(sample, "\n"))+1) {
		t.Errorf("MAIL options %+v", m.Opts)
	}
	line := e.lineFor("user@remote.test")
	wantRelay := ", relay=127.0.0.1[127.0.0.1]:" + strconv.Itoa(k.Port) + ", delay="
	if !strings.HasPrefix(line[strings.Index(line, id):], id+": to=<user@remote.test>"+wantRelay) ||
		!strings.HasSuffix(line, ", dsn=2.0.0, status=sent (250 2.0.0 OK: queued)") || !strings.Contains(line, "delays=") {
		t.Errorf("log line %q", line)
	}
}

func TestMXDeliveryOverSTARTTLS(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", true)
	e := newEnv(t, "smtp_tcp_port = "+strconv.Itoa(k.Port)+"\nsmtp_tls_security_level = may\nsmtp_tls_loglevel = 1")
	e.dns.AddMX("remote.test", 10, "mx.remote.test")
	e.dns.AddA("mx.remote.test", "127.0.0.1")
	id, off := e.queueFile("alice@postern.test", "Subject: x", "", "7bit body")
	rep := e.srv.handle(e.request(id, off, "remote.test", "user@remote.test"))
	if rep.Get("status") != "0" {
		t.Fatalf("reply %v\n%s", rep, e.logText())
	}
	msgs := k.Received()
	if len(msgs) != 1 || !msgs[0].TLS {
		t.Fatalf("messages %+v", msgs)
	}
	if msgs[0].Opts.Body == gosmtp.Body8BitMIME {
		t.Error("BODY=8BITMIME for a 7-bit message")
	}
	log := e.logText()
	if !strings.Contains(log, "Untrusted TLS connection established to mx.remote.test[127.0.0.1]:"+strconv.Itoa(k.Port)+": TLSv1.3 with cipher ") {
		t.Errorf("no TLS line:\n%s", log)
	}
	if !strings.Contains(e.lineFor("user@remote.test"), "relay=mx.remote.test[127.0.0.1]:"+strconv.Itoa(k.Port)+", ") {
		t.Errorf("line %q", e.lineFor("user@remote.test"))
	}
}

func TestTLSLevels(t *testing.T) {
	plain := testenv.NewSink(t, "127.0.0.1", false)
	withTLS := testenv.NewSink(t, "127.0.0.1", true)
	t.Run("encrypt without STARTTLS defers", func(t *testing.T) {
		e := newEnv(t, "smtp_tls_security_level = encrypt")
		id, off := e.queueFile("a@postern.test", "x")
		rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(plain.Port), "user@remote.test"))
		if rep.Get("status") != "4" || rep.Get("dsn") != "4.7.4" ||
			rep.Get("reason") != "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]" {
			t.Fatalf("reply %v", rep)
		}
	})
	t.Run("none does not start TLS", func(t *testing.T) {
		e := newEnv(t, "smtp_tls_security_level = none")
		id, off := e.queueFile("a@postern.test", "x")
		rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(withTLS.Port), "user@remote.test"))
		if rep.Get("status") != "0" {
			t.Fatalf("reply %v", rep)
		}
		if m := withTLS.Received(); len(m) != 1 || m[0].TLS {
			t.Fatalf("messages %+v", m)
		}
	})
	t.Run("encrypt with STARTTLS", func(t *testing.T) {
		e := newEnv(t, "smtp_tls_security_level = encrypt")
		id, off := e.queueFile("a@postern.test", "x")
		rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(withTLS.Port), "user@remote.test"))
		if rep.Get("status") != "0" {
			t.Fatalf("reply %v", rep)
		}
		if m := withTLS.Received(); len(m) != 2 || !m[1].TLS {
			t.Fatalf("messages %+v", m)
		}
	})
}

func TestDeferThenDeliver(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	calls := 0
	k.Rcpt = func(string) error {
		calls++
		if calls == 1 {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
		}
		return nil
	}
	e := newEnv(t, "")
	id, off := e.queueFile("a@postern.test", "x")
	dest := "[127.0.0.1]:" + strconv.Itoa(k.Port)
	rep := e.srv.handle(e.request(id, off, dest, "user@remote.test"))
	wantReason := "host 127.0.0.1[127.0.0.1] said: 451 4.3.0 Try again later (in reply to RCPT TO command)"
	if rep.Get("status") != "4" || rep.Get("dsn") != "4.3.0" || rep.Get("reason") != wantReason ||
		rep.Get("diag_type") != "smtp" || rep.Get("diag_text") != "451 4.3.0 Try again later" {
		t.Fatalf("first reply %v", rep)
	}
	if !strings.HasSuffix(e.lineFor("user@remote.test"), "dsn=4.3.0, status=deferred ("+wantReason+")") {
		t.Errorf("line %q", e.lineFor("user@remote.test"))
	}
	rep = e.srv.handle(e.request(id, off, dest, "user@remote.test"))
	if rep.Get("status") != "0" || len(k.Received()) != 1 {
		t.Fatalf("second reply %v", rep)
	}
	// The second request reused the first connection.
	if k.Conns() != 1 || !strings.Contains(e.lineFor("user@remote.test"), ", conn_use=2, delay=") {
		t.Errorf("%d connections; line %q", k.Conns(), e.lineFor("user@remote.test"))
	}
}

func TestRejected(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	k.Rcpt = func(to string) error {
		if strings.HasPrefix(to, "nosuch") {
			return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: User unknown"}
		}
		return nil
	}
	e := newEnv(t, "")
	id, off := e.queueFile("a@postern.test", "x")
	rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(k.Port), "nosuch@remote.test", "user@remote.test"))
	diag := "550 5.1.1 <nosuch@remote.test>: Recipient address rejected: User unknown"
	// Two recipients: the reply holds one status block per recipient, in order.
	var blocks []ipc.Attrs
	for _, a := range rep {
		if a.Name == "status" {
			blocks = append(blocks, nil)
		}
		blocks[len(blocks)-1] = append(blocks[len(blocks)-1], a)
	}
	if len(blocks) != 2 {
		t.Fatalf("reply %v", rep)
	}
	if b := blocks[0]; b.Get("status") != "5" || b.Get("dsn") != "5.1.1" || b.Get("diag_text") != diag ||
		b.Get("reason") != "host 127.0.0.1[127.0.0.1] said: "+diag+" (in reply to RCPT TO command)" || b.Get("mta_mname") != "127.0.0.1" {
		t.Errorf("rejected recipient %v", b)
	}
	if b := blocks[1]; b.Get("status") != "0" {
		t.Errorf("accepted recipient %v", b)
	}
	if m := k.Received(); len(m) != 1 || len(m[0].To) != 1 || m[0].To[0] != "user@remote.test" {
		t.Errorf("sink got %+v", m)
	}
	if !strings.Contains(e.lineFor("nosuch@remote.test"), "dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: ") {
		t.Errorf("line %q", e.lineFor("nosuch@remote.test"))
	}
}

func TestDataRejected(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	k.Data = func() error {
		return &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "Spam"}
	}
	e := newEnv(t, "")
	id, off := e.queueFile("a@postern.test", "x")
	rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(k.Port), "user@remote.test"))
	if rep.Get("status") != "5" || rep.Get("reason") != "host 127.0.0.1[127.0.0.1] said: 554 5.7.1 Spam (in reply to end of DATA command)" {
		t.Fatalf("reply %v", rep)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			defer c.Close() // hold it open, say nothing
		}
	}()
	e := newEnv(t, "smtp_helo_timeout = 1s")
	id, off := e.queueFile("a@postern.test", "x")
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	start := time.Now()
	rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+port, "user@remote.test"))
	want := "conversation with 127.0.0.1[127.0.0.1] timed out while receiving the initial server greeting"
	if rep.Get("status") != "4" || rep.Get("dsn") != "4.4.2" || rep.Get("reason") != want {
		t.Fatalf("reply %v", rep)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if !strings.Contains(e.lineFor("user@remote.test"), "relay=127.0.0.1[127.0.0.1]:"+port+", ") {
		t.Errorf("line %q", e.lineFor("user@remote.test"))
	}
}

func TestConnectRefusedTriesNextMX(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	e := newEnv(t, "smtp_tcp_port = "+strconv.Itoa(k.Port))
	// Nothing listens on 127.0.0.2 at the sink's port.
	e.dns.AddMX("remote.test", 10, "mx1.remote.test")
	e.dns.AddMX("remote.test", 20, "mx2.remote.test")
	e.dns.AddA("mx1.remote.test", "127.0.0.2")
	e.dns.AddA("mx2.remote.test", "127.0.0.1")
	id, off := e.queueFile("a@postern.test", "x")
	rep := e.srv.handle(e.request(id, off, "remote.test", "user@remote.test"))
	if rep.Get("status") != "0" || len(k.Received()) != 1 {
		t.Fatalf("reply %v\n%s", rep, e.logText())
	}
	port := strconv.Itoa(k.Port)
	if !strings.Contains(e.logText(), ": connect to mx1.remote.test[127.0.0.2]:"+port+": Connection refused\n") {
		t.Errorf("no connect line:\n%s", e.logText())
	}
	if !strings.Contains(e.lineFor("user@remote.test"), "relay=mx2.remote.test[127.0.0.1]:"+port+", ") {
		t.Errorf("line %q", e.lineFor("user@remote.test"))
	}

	// All refused: relay=none and 4.4.1.
	e2 := newEnv(t, "smtp_tcp_port = "+strconv.Itoa(k.Port))
	e2.dns.AddMX("remote.test", 10, "mx1.remote.test")
	e2.dns.AddA("mx1.remote.test", "127.0.0.2")
	id, off = e2.queueFile("a@postern.test", "x")
	rep = e2.srv.handle(e2.request(id, off, "remote.test", "user@remote.test"))
	if rep.Get("status") != "4" || rep.Get("dsn") != "4.4.1" || rep.Get("reason") != "connect to mx1.remote.test[127.0.0.2]:"+port+": Connection refused" {
		t.Fatalf("reply %v", rep)
	}
	if !strings.Contains(e2.lineFor("user@remote.test"), "relay=none, ") {
		t.Errorf("line %q", e2.lineFor("user@remote.test"))
	}
}

func TestImplicitMXAndDNSFailures(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	e := newEnv(t, "smtp_tcp_port = "+strconv.Itoa(k.Port))
	e.dns.AddA("remote.test", "127.0.0.1") // no MX: the domain's own address
	e.dns.AddMX("null.test", 0, ".")
	e.dns.Fail("broken.test")
	for _, tc := range []struct{ dest, status, dsn, reason string }{
		{"remote.test", "0", "2.0.0", "250 2.0.0 OK: queued"},
		{"nosuch.test", "5", "5.4.4", "Host or domain name not found. Name service error for name=nosuch.test type=A: Host not found"},
		{"null.test", "5", "5.1.10", "Domain null.test does not accept mail (nullMX)"},
		{"broken.test", "4", "4.4.3", "Host or domain name not found. Name service error for name=broken.test type=MX: Host not found, try again"},
	} {
		id, off := e.queueFile("a@postern.test", "x")
		rep := e.srv.handle(e.request(id, off, tc.dest, "user@"+tc.dest))
		if rep.Get("status") != tc.status || rep.Get("dsn") != tc.dsn || rep.Get("reason") != tc.reason {
			t.Errorf("%s: reply %v", tc.dest, rep)
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	e := newEnv(t, "")
	id, off := e.queueFile("a@postern.test", "x")
	for _, a := range []ipc.Attrs{
		e.request("../x", off, "", "u@remote.test"),
		e.request(id, off, "", "u@remote.test\r\nRSET"),
		e.request(id, off, ""),
		{{Name: "queue_name", Value: "deferred"}, {Name: "queue_id", Value: id}},
	} {
		rep := e.srv.handle(a)
		if rep.Get("status") != "4" || rep.Get("reason") != "malformed delivery request" {
			t.Errorf("%v: reply %v", a, rep)
		}
	}
}

// TestServeOverSocket runs the agent on a unix socket as qmgr talks to it.
func TestServeOverSocket(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	e := newEnv(t, "")
	id, off := e.queueFile("a@postern.test", "x")
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "smtp"))
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
			go e.srv.serve(c)
		}
	}()
	c, err := ipc.Dial(ln.Addr().String(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 0; i < 2; i++ {
		rep, err := c.Request(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(k.Port), "user@remote.test"), 10*time.Second)
		if err != nil || rep.Get("status") != "0" {
			t.Fatalf("request %d: %v %v", i, rep, err)
		}
	}
	if n := len(k.Received()); n != 2 {
		t.Fatalf("%d messages", n)
	}
}

// TestCachedSessionIsTheServer checks that a 4xx on a reused connection defers when that
// server is the destination's only one, rather than trying it again on a new connection.
func TestCachedSessionIsTheServer(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", false)
	k.Rcpt = func(to string) error {
		if to == "later@remote.test" {
			return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
		}
		return nil
	}
	e := newEnv(t, "smtp_tcp_port = "+strconv.Itoa(k.Port))
	e.dns.AddMX("remote.test", 10, "mx.remote.test")
	e.dns.AddA("mx.remote.test", "127.0.0.1")
	id, off := e.queueFile("a@postern.test", "x")
	if rep := e.srv.handle(e.request(id, off, "remote.test", "user@remote.test")); rep.Get("status") != "0" {
		t.Fatalf("first reply %v", rep)
	}
	rep := e.srv.handle(e.request(id, off, "remote.test", "later@remote.test"))
	if rep.Get("status") != "4" || rep.Get("dsn") != "4.3.0" || k.Conns() != 1 {
		t.Fatalf("second reply %v, %d connections", rep, k.Conns())
	}
	if !strings.Contains(e.lineFor("later@remote.test"), ", conn_use=2, ") {
		t.Errorf("line %q", e.lineFor("later@remote.test"))
	}
}

// TestTLSTrustAndSessionCache: with smtp_tls_CApath (or CAfile) holding the server's
// certificate the connection is logged "Trusted", and with smtp_tls_session_cache_database
// set a second connection resumes the TLS session; without them, "Untrusted" and a full
// handshake.
func TestTLSTrustAndSessionCache(t *testing.T) {
	k := testenv.NewSink(t, "127.0.0.1", true)
	ca := t.TempDir()
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Certificate[0]})
	os.WriteFile(filepath.Join(ca, "0123abcd.0"), pemCert, 0644)
	os.WriteFile(filepath.Join(ca, "cafile.pem"), pemCert, 0644)
	deliverTwice := func(t *testing.T, extra string) (*testEnv, []testenv.SunkMessage) {
		e := newEnv(t, "smtp_tls_security_level = may\nsmtp_tls_loglevel = 1\n"+extra)
		before := len(k.Received())
		for i := 0; i < 2; i++ {
			id, off := e.queueFile("a@postern.test", "x")
			if rep := e.srv.handle(e.request(id, off, "[127.0.0.1]:"+strconv.Itoa(k.Port), "user@remote.test")); rep.Get("status") != "0" {
				t.Fatalf("reply %v\n%s", rep, e.logText())
			}
			e.srv.cache.expire(time.Now().Add(time.Hour), 0) // the next delivery connects anew
		}
		return e, k.Received()[before:]
	}
	established := func(e *testEnv) []string {
		var words []string
		for _, l := range strings.Split(e.logText(), "\n") {
			if i := strings.Index(l, " TLS connection established to "); i > 0 {
				f := strings.Fields(l[:i])
				words = append(words, f[len(f)-1])
			}
		}
		return words
	}
	t.Run("CApath and session cache", func(t *testing.T) {
		e, m := deliverTwice(t, "smtp_tls_CApath = "+ca+"\nsmtp_tls_session_cache_database = btree:${data_directory}/smtp_scache\n")
		if w := established(e); len(w) != 2 || w[0] != "Trusted" || w[1] != "Trusted" {
			t.Errorf("logged %q, want Trusted twice\n%s", w, e.logText())
		}
		if len(m) != 2 || !m[0].TLS || m[0].Resumed || !m[1].TLS || !m[1].Resumed {
			t.Errorf("sessions %+v: want the second one resumed", m)
		}
	})
	t.Run("CAfile", func(t *testing.T) {
		e, _ := deliverTwice(t, "smtp_tls_CAfile = "+filepath.Join(ca, "cafile.pem")+"\n")
		if w := established(e); len(w) != 2 || w[0] != "Trusted" {
			t.Errorf("logged %q, want Trusted\n%s", w, e.logText())
		}
	})
	t.Run("neither", func(t *testing.T) {
		e, m := deliverTwice(t, "")
		if w := established(e); len(w) != 2 || w[0] != "Untrusted" || w[1] != "Untrusted" {
			t.Errorf("logged %q, want Untrusted twice", w)
		}
		if len(m) != 2 || m[1].Resumed {
			t.Errorf("sessions %+v: none resumed without a session cache", m)
		}
	})
}
