package main

import (
	"strings"
	"testing"

	"postern/pkg/testenv"
)

func TestAccessMaps(t *testing.T) {
	rcpt := writeMap(t, "blocked@remote.example REJECT go away\nspam.example 550 5.7.0 no spam here\n"+
		"ok.example OK\ndefer.example DEFER\nparent.example REJECT\nrestr.example reject_unauth_destination\n"+
		"tmp.example 450 try later\nnobody@ REJECT\n")
	send := writeMap(t, "bad@sender.example REJECT\n<> 554 5.7.1 no bounces\n")
	e := startSmtpd(t, "mynetworks = 127.0.0.0/8\nrecipient_delimiter = +\n"+
		"smtpd_sender_restrictions = check_sender_access texthash:"+send+"\n"+
		"smtpd_recipient_restrictions = check_recipient_access texthash:"+rcpt+", permit\n")
	c := e.session()
	c.cmd("RCPT TO:<blocked@remote.example>", "554 5.7.1 <blocked@remote.example>: Recipient address rejected: go away")
	c.cmd("RCPT TO:<blocked+x@remote.example>", "554 5.7.1 <blocked+x@remote.example>: Recipient address rejected: go away")
	c.cmd("RCPT TO:<a@spam.example>", "550 5.7.0 <a@spam.example>: Recipient address rejected: no spam here")
	c.cmd("RCPT TO:<a@ok.example>", "250")
	c.cmd("RCPT TO:<a@defer.example>", "450 4.7.1 <a@defer.example>: Recipient address rejected: Access denied")
	c.cmd("RCPT TO:<a@sub.parent.example>", "554 5.7.1 <a@sub.parent.example>: Recipient address rejected: Access denied")
	c.cmd("RCPT TO:<a@restr.example>", "554 5.7.1 <a@restr.example>: Relay access denied")
	c.cmd("RCPT TO:<a@tmp.example>", "450 4.7.1 <a@tmp.example>: Recipient address rejected: try later")
	c.cmd("RCPT TO:<nobody@anywhere.example>", "554 5.7.1")
	c.cmd("RCPT TO:<a@other.example>", "250")
	c.cmd("RSET", "250")
	c.cmd("MAIL FROM:<bad@sender.example>", "250")
	c.cmd("RCPT TO:<a@other.example>", "554 5.7.1 <bad@sender.example>: Sender address rejected: Access denied")
	c.cmd("RSET", "250")
	c.cmd("MAIL FROM:<>", "250")
	c.cmd("RCPT TO:<a@other.example>", "554 5.7.1 <>: Sender address rejected: no bounces")

	client := writeMap(t, "127.0.0 REJECT\n")
	e = startSmtpd(t, "smtpd_client_restrictions = check_client_access texthash:"+client+"\n")
	c = e.session()
	c.cmd("RCPT TO:<fmaster@localhost>", "554 5.7.1 <localhost[127.0.0.1]>: Client host rejected: Access denied")
}

func TestNonFQDNAndUnknownDomain(t *testing.T) {
	dns := testenv.NewDNS(t)
	dns.AddMX("remote.example", 10, "mx.remote.example")
	dns.AddA("a-only.example", "192.0.2.1")
	dns.AddMX("null.example", 0, ".")
	dns.Fail("broken.example")
	e := startSmtpd(t, "mynetworks = 127.0.0.0/8\nsmtpd_dns_resolver_address = "+dns.Addr()+"\n"+
		"smtpd_recipient_restrictions = reject_non_fqdn_recipient, reject_unknown_recipient_domain, permit\n")
	c := e.session()
	c.cmd("RCPT TO:<postmaster>", "504 5.5.2 <postmaster>: Recipient address rejected: need fully-qualified address")
	c.cmd("RCPT TO:<x@nodots>", "504 5.5.2 <x@nodots>: Recipient address rejected: need fully-qualified address")
	c.cmd("RCPT TO:<x@remote.example>", "250")
	c.cmd("RCPT TO:<x@a-only.example>", "250")
	c.cmd("RCPT TO:<x@nowhere.example>", "450 4.1.2 <x@nowhere.example>: Recipient address rejected: Domain not found")
	c.cmd("RCPT TO:<x@null.example>", "556 5.1.10 <x@null.example>: Recipient address rejected: Domain null.example does not accept mail (nullMX)")
	c.cmd("RCPT TO:<x@broken.example>", "450 4.1.2 <x@broken.example>: Recipient address rejected: Domain not found")
	c.cmd("RCPT TO:<fmaster@vm.example>", "250")
	c.cmd("RCPT TO:<x@[192.0.2.9]>", "250")
}

func TestSenderLoginMismatch(t *testing.T) {
	logins := writeMap(t, "u@client.example u\nalice@client.example alice\n@shared.example u, alice\n")
	e := tlsEnv(t, "smtpd_tls_security_level = may\nsmtpd_sender_login_maps = texthash:"+logins+"\n"+
		"smtpd_sender_restrictions = reject_sender_login_mismatch\n")
	c := e.mailFrom("client.example", "alice@client.example")
	c.cmd("RCPT TO:<fmaster@vm.example>", "553 5.7.1 <alice@client.example>: Sender address rejected: not logged in")
	c.cmd("RSET", "250")
	c.cmd("MAIL FROM:<stranger@else.example>", "250")
	c.cmd("RCPT TO:<fmaster@vm.example>", "250")
	c.cmd("RSET", "250")
	c.cmd("STARTTLS", "220")
	c.upgrade()
	c.cmd("EHLO client.example", "250")
	c.cmd("AUTH PLAIN "+plainResp("", "u", "pw"), "235")
	for _, tc := range []struct{ from, want string }{
		{"alice@client.example", "553 5.7.1 <alice@client.example>: Sender address rejected: not owned by user u"},
		{"stranger@else.example", "553 5.7.1 <stranger@else.example>: Sender address rejected: not owned by user u"},
		{"u@client.example", "250"},
		{"anyone@shared.example", "250"},
	} {
		c.cmd("MAIL FROM:<"+tc.from+">", "250")
		r := c.cmd("RCPT TO:<x@remote.example>", tc.want)
		if !strings.HasPrefix(r, tc.want) {
			t.Fatal(r)
		}
		c.cmd("RSET", "250")
	}
}
