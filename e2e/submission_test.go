package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

// writeServerCert writes a self-signed certificate and key for name into dir. The key is
// the test user's, mode 0600 (root's when running as root): smtpd reads it before it drops
// privileges, so mail_owner never needs to.
func writeServerCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	return testenv.SelfSignedCert(t, dir, name)
}

// TestSubmission is the submission service of Debian's master.cf (TLS required, AUTH
// only after STARTTLS, authenticated clients may relay) with a real authd checking a
// passwd-file user, and the smtp agent delivering the relayed message to a sink that
// stands for the remote MX.
func TestSubmission(t *testing.T) {
	need(t, append(core, "smtp", "authd")...)
	dns := testenv.NewDNS(t)
	sink := testenv.NewSink(t, "127.0.0.1", true)
	dns.AddMX("remote.test", 10, "mx.remote.test")
	dns.AddA("mx.remote.test", "127.0.0.1")

	dir := testenv.TempRoot(t, "pt-sub-")
	cert, key := writeServerCert(t, dir, "postern.test")
	users := filepath.Join(dir, "users")
	if err := os.WriteFile(users, []byte("alice:{PLAIN}s3cret:2001:2001::/nonexistent/alice::\n"), 0600); err != nil {
		t.Fatal(err)
	}
	sub, err := testenv.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	e := testenv.Start(t, testenv.Options{
		MainCF: fmt.Sprintf("smtp_dns_resolver_address = %s\nsmtp_tcp_port = %d\nsmtp_tls_security_level = may\n"+
			"smtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n"+
			"postern_passwd_file = %s\nauthd_system_users = no\nauthd_failure_delay = 1s\n"+
			// 127.0.0.2 is a client from outside.
			"mynetworks = 127.0.0.1/32\n"+
			"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination\n",
			dns.Addr(), sink.Port, cert, key, users),
		// unpriv "-" (y), as Debian's submission line: smtpd runs as mail_owner.
		MasterCF: sub + " inet n - n - - smtpd\n" +
			"  -o syslog_name=postfix/submission\n" +
			"  -o smtpd_tls_security_level=encrypt\n" +
			"  -o smtpd_sasl_auth_enable=yes\n" +
			"  -o smtpd_tls_auth_only=yes\n" +
			"  -o smtpd_reject_unlisted_recipient=no\n" +
			"  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n",
	})
	tlsCfg := &tls.Config{InsecureSkipVerify: true}

	t.Run("AUTH and MAIL before STARTTLS are refused", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", sub, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		read := func() string {
			var lines []string
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("read: %v (%q)", err, lines)
				}
				lines = append(lines, strings.TrimRight(l, "\r\n"))
				if len(l) < 4 || l[3] != '-' {
					return strings.Join(lines, "\n")
				}
			}
		}
		cmd := func(line, want string) string {
			fmt.Fprintf(c, "%s\r\n", line)
			got := read()
			if !strings.HasPrefix(got, want) {
				t.Fatalf("%s: got %q, want %q", line, got, want)
			}
			return got
		}
		read()
		ehlo := cmd("EHLO client.test", "250-")
		if !strings.Contains(ehlo, "250-STARTTLS") || strings.Contains(ehlo, "AUTH") {
			t.Errorf("EHLO before TLS:\n%s", ehlo)
		}
		plain := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00s3cret"))
		cmd("AUTH PLAIN "+plain, "530 5.7.0 Must issue a STARTTLS command first")
		cmd("MAIL FROM:<alice@postern.test>", "530 5.7.0 Must issue a STARTTLS command first")
		cmd("QUIT", "221")
	})

	t.Run("wrong password: 535 5.7.8", func(t *testing.T) {
		c, err := smtp.DialStartTLS(sub, tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Auth(sasl.NewPlainClient("", "alice", "wrong"))
		se, ok := err.(*smtp.SMTPError)
		if !ok || se.Code != 535 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
			t.Fatalf("got %v", err)
		}
		e.WaitLog(t, regexp.MustCompile(`postfix/submission/smtpd\[\d+\]: warning: \w+\[127\.0\.0\.1\]: SASL PLAIN authentication failed: authentication failure, sasl_username=alice`))
	})

	t.Run("unauthenticated relay from outside mynetworks: 554 5.7.1", func(t *testing.T) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 10 * time.Second}
		conn, err := d.Dial("tcp", sub)
		if err != nil {
			t.Fatal(err)
		}
		c, err := smtp.NewClientStartTLS(conn, tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Mail("mallory@outside.test", nil); err != nil {
			t.Fatal(err)
		}
		err = c.Rcpt("user@remote.test", nil)
		se, ok := err.(*smtp.SMTPError)
		if !ok || se.Code != 554 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) || !strings.Contains(se.Message, "Relay access denied") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("after STARTTLS and AUTH a relay is accepted and delivered", func(t *testing.T) {
		c, err := smtp.DialStartTLS(sub, tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "alice", "s3cret")); err != nil {
			t.Fatal(err)
		}
		body := "From: <alice@postern.test>\r\nTo: <user@remote.test>\r\nSubject: submitted\r\n\r\nSent from a mail client.\r\n"
		if err := c.SendMail("alice@postern.test", []string{"user@remote.test"}, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		c.Quit()
		var got *testenv.SunkMessage
		e.WaitFor(t, 30*time.Second, func() bool {
			for _, m := range sink.Received() {
				if len(m.To) == 1 && m.To[0] == "user@remote.test" {
					got = &m
					return true
				}
			}
			return false
		})
		if got.From != "alice@postern.test" || !strings.Contains(got.Data, "Subject: submitted\r\n") ||
			!strings.Contains(got.Data, "Sent from a mail client.") {
			t.Errorf("sink got from %q:\n%s", got.From, got.Data)
		}
		if !regexp.MustCompile(`with ESMTPSA id [0-9A-F]+`).MatchString(got.Data) {
			t.Errorf("no ESMTPSA in Received:\n%s", got.Data)
		}
		e.WaitLog(t, regexp.MustCompile(`postfix/submission/smtpd\[\d+\]: ([0-9A-F]+): client=\w+\[127\.0\.0\.1\], sasl_method=PLAIN, sasl_username=alice`))
		e.WaitLog(t, regexp.MustCompile(`to=<user@remote\.test>, relay=mx\.remote\.test\[127\.0\.0\.1\]:\d+, .*status=sent`))
	})
}
