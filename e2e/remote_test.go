package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// TestRemoteDelivery sends mail for user@remote.test into Postern over SMTP; qmgr routes
// it to the smtp agent, which finds the MX in the test DNS server and delivers to a
// go-smtp sink on loopback.
func TestRemoteDelivery(t *testing.T) {
	need(t, append(core, "smtp")...)
	dns := testenv.NewDNS(t)
	sink := testenv.NewSink(t, "127.0.0.1", true)
	dns.AddMX("remote.test", 10, "mx.remote.test")
	dns.AddA("mx.remote.test", "127.0.0.1")
	// silent.test's MX accepts connections at the sink's port on 127.0.0.3 and never speaks.
	dns.AddMX("silent.test", 10, "mx.silent.test")
	dns.AddA("mx.silent.test", "127.0.0.3")
	silent, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", sink.Port))
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	// The sink answers 451 to the first RCPT for later@remote.test and 550 for
	// nosuch@remote.test.
	var mu sync.Mutex
	tries := map[string]int{}
	sink.Rcpt = func(to string) error {
		mu.Lock()
		defer mu.Unlock()
		tries[to]++
		switch {
		case to == "later@remote.test" && tries[to] == 1:
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
		case to == "nosuch@remote.test":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<nosuch@remote.test>: Recipient address rejected: User unknown"}
		}
		return nil
	}
	e := testenv.Start(t, testenv.Options{MainCF: fmt.Sprintf("smtp_dns_resolver_address = %s\nsmtp_tcp_port = %d\n"+
		"smtp_tls_security_level = may\nsmtp_tls_loglevel = 1\n"+
		"smtp_helo_timeout = 2s\nminimal_backoff_time = 1s\nmaximal_backoff_time = 2s\nqueue_run_delay = 1s\n", dns.Addr(), sink.Port)})
	relay := regexp.QuoteMeta(fmt.Sprintf("relay=mx.remote.test[127.0.0.1]:%d, ", sink.Port))

	t.Run("delivered over STARTTLS with headers intact", func(t *testing.T) {
		body := "From: Alice <alice@postern.test>\r\nTo: <user@remote.test>\r\nSubject: to a remote domain\r\n" +
			"Message-ID: <remote-1@postern.test>\r\n\r\nHello over there.\r\n.leading dot\r\n"
		id := e.SendMail(t, "alice@postern.test", []string{"user@remote.test"}, body)
		var got []testenv.SunkMessage
		e.WaitFor(t, 20*time.Second, func() bool {
			got = nil
			for _, m := range sink.Received() {
				if len(m.To) == 1 && m.To[0] == "user@remote.test" {
					got = append(got, m)
				}
			}
			return len(got) > 0
		})
		m := got[0]
		if m.From != "alice@postern.test" || !m.TLS {
			t.Errorf("from %q, TLS %v", m.From, m.TLS)
		}
		if !strings.HasPrefix(m.Data, "Received: from ") || !strings.Contains(m.Data, "by postern.test") {
			t.Errorf("no Received: header of Postern's first:\n%s", m.Data)
		}
		for _, want := range []string{"\r\nFrom: Alice <alice@postern.test>\r\n", "\r\nTo: <user@remote.test>\r\n",
			"\r\nSubject: to a remote domain\r\n", "\r\nMessage-ID: <remote-1@postern.test>\r\n",
			"\r\n\r\nHello over there.\r\n.leading dot\r\n"} {
			if !strings.Contains(m.Data, want) {
				t.Errorf("message lacks %q:\n%s", want, m.Data)
			}
		}
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: to=<user@remote\.test>, `+relay+
			`(conn_use=\d+, )?delay=[0-9.]+, delays=[0-9.]+/[0-9.]+/[0-9.]+/[0-9.]+, dsn=2\.0\.0, status=sent \(250 2\.0\.0 OK: queued\)`))
		e.WaitLog(t, regexp.MustCompile(`Untrusted TLS connection established to mx\.remote\.test\[127\.0\.0\.1\]:\d+: TLSv1\.[23] with cipher`))
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: removed`))
	})

	t.Run("451 then 250: deferred, then delivered", func(t *testing.T) {
		id := e.SendMail(t, "alice@postern.test", []string{"later@remote.test"}, "Subject: later\r\n\r\nx\r\n")
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: to=<later@remote\.test>, `+relay+`.*dsn=4\.3\.0, status=deferred `+
			regexp.QuoteMeta(`(host mx.remote.test[127.0.0.1] said: 451 4.3.0 Try again later (in reply to RCPT TO command))`)))
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: to=<later@remote\.test>, `+relay+`.*dsn=2\.0\.0, status=sent`))
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: removed`))
	})

	t.Run("550: bounced with the remote reply", func(t *testing.T) {
		id := e.SendMail(t, "alice@postern.test", []string{"nosuch@remote.test"}, "Subject: nosuch\r\n\r\nx\r\n")
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: to=<nosuch@remote\.test>, `+relay+`.*dsn=5\.1\.1, status=bounced `+
			regexp.QuoteMeta(`(host mx.remote.test[127.0.0.1] said: 550 5.1.1 <nosuch@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command))`)))
	})

	t.Run("a server that never answers: timeout, deferred", func(t *testing.T) {
		id := e.SendMail(t, "alice@postern.test", []string{"user@silent.test"}, "Subject: silent\r\n\r\nx\r\n")
		e.WaitLog(t, regexp.MustCompile(regexp.QuoteMeta(id)+`: to=<user@silent\.test>, relay=mx\.silent\.test\[127\.0\.0\.3\]:\d+, .*dsn=4\.4\.2, status=deferred `+
			regexp.QuoteMeta(`(conversation with mx.silent.test[127.0.0.3] timed out while receiving the initial server greeting)`)))
	})
}
