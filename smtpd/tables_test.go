package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/ipc"
)

func writeMap(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map")
	if err := os.WriteFile(p, []byte(text), 0644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLocalRecipientMaps(t *testing.T) {
	// Default local_recipient_maps: passwd plus $alias_maps (the test's texthash aliases:
	// webmaster, sysadmin).
	e := startSmtpd(t, "recipient_delimiter = +\nmynetworks = 192.0.2.0/24\n")
	c := e.session()
	unknown := "550 5.1.1 <%s>: Recipient address rejected: User unknown in local recipient table"
	for rcpt, want := range map[string]string{
		"nosuchuser@localhost":    unknown,
		"nosuchuser@vm.example":   unknown,
		"nosuchuser+x@localhost":  unknown,
		"fmaster@vm.example":      "250 2.1.5 Ok",
		"webmaster@localhost":     "250 2.1.5 Ok", // known only as an alias
		"Sysadmin+tag@vm.example": "250 2.1.5 Ok", // alias, via user+ext -> user
		"mailer-daemon@localhost": "250 2.1.5 Ok",
		"double-bounce@localhost": "250 2.1.5 Ok",
		"fmaster@[127.0.0.1]":     "250 2.1.5 Ok",
		"nobody1@[127.0.0.1]":     unknown,
	} {
		c.cmd("RCPT TO:<"+rcpt+">", strings.ReplaceAll(want, "%s", rcpt))
	}

	// A list of other tables replaces the default: only what they hold is known.
	users := writeMap(t, "alice@vm.example x\nbob y\n")
	e = startSmtpd(t, "local_recipient_maps = texthash:"+users+", nis:mail.aliases\n")
	c = e.session()
	c.cmd("RCPT TO:<alice@vm.example>", "250")
	c.cmd("RCPT TO:<alice@localhost>", "550 5.1.1")
	c.cmd("RCPT TO:<bob@localhost>", "250")
	c.cmd("RCPT TO:<fmaster@localhost>", "550 5.1.1")
	c.cmd("RCPT TO:<postmaster@localhost>", "250")
	if !strings.Contains(e.log(), "nis:mail.aliases") {
		t.Errorf("no warning about the skipped nis: table:\n%s", e.log())
	}

	// A table that cannot answer: 451, never 550.
	e = startSmtpd(t, "local_recipient_maps = hash:"+filepath.Join(t.TempDir(), "missing")+"\n")
	c = e.session()
	c.cmd("RCPT TO:<nosuchuser@localhost>", "451 4.3.0 <nosuchuser@localhost>: Temporary lookup failure")
	c.cmd("RCPT TO:<postmaster@localhost>", "250")
}

func TestVirtualAliasDomains(t *testing.T) {
	virt := writeMap(t, "info@fossedu.org sigiri\ninfo@linuxelabs.com kala\n@wild.example catchall\n")
	// 127.0.0.1 outside mynetworks: the domains must be authorized destinations.
	e := startSmtpd(t, "mynetworks = 192.0.2.0/24\nrecipient_delimiter = +\n"+
		"virtual_alias_domains = fossedu.org linuxelabs.com wild.example\nvirtual_alias_maps = texthash:"+virt+"\n")
	c := e.session()
	c.cmd("RCPT TO:<info@fossedu.org>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<INFO@LinuxElabs.com>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<info+list@fossedu.org>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<unknown@fossedu.org>", "550 5.1.1 <unknown@fossedu.org>: Recipient address rejected: User unknown in virtual alias table")
	c.cmd("RCPT TO:<anyone@wild.example>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<x@remote.example>", "454 4.7.1 <x@remote.example>: Relay access denied")
	e.waitLog("ABC001: reject: RCPT from localhost[127.0.0.1]: 550 5.1.1 <unknown@fossedu.org>: Recipient address rejected: User unknown in virtual alias table; from=<a@b.example> to=<unknown@fossedu.org> proto=ESMTP helo=<probe>")

	// The default virtual_alias_domains = $virtual_alias_maps: a domain is virtual only
	// when the table has it as a bare key.
	virt = writeMap(t, "example.com anything\ninfo@example.com x\ninfo@other.example y\n")
	e = startSmtpd(t, "mynetworks = 192.0.2.0/24\nvirtual_alias_maps = texthash:"+virt+"\n")
	c = e.session()
	c.cmd("RCPT TO:<info@example.com>", "250 2.1.5 Ok")
	c.cmd("RCPT TO:<nobody@example.com>", "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown in virtual alias table")
	c.cmd("RCPT TO:<info@other.example>", "454 4.7.1 <info@other.example>: Relay access denied")
	// A virtual alias for a local address makes it known, too.
	virt = writeMap(t, "ghost@vm.example fmaster\n")
	e = startSmtpd(t, "virtual_alias_maps = texthash:"+virt+"\n")
	c = e.session()
	c.cmd("RCPT TO:<ghost@vm.example>", "250 2.1.5 Ok")

	// Lookup failures are temporary.
	e = startSmtpd(t, "mynetworks = 192.0.2.0/24\nvirtual_alias_domains = fossedu.org\n"+
		"virtual_alias_maps = hash:"+filepath.Join(t.TempDir(), "virtual")+"\n")
	c = e.session()
	c.cmd("RCPT TO:<info@fossedu.org>", "451 4.3.0 <info@fossedu.org>: Temporary lookup failure")
	e = startSmtpd(t, "mynetworks = 192.0.2.0/24\nvirtual_alias_domains = hash:"+filepath.Join(t.TempDir(), "domains")+"\n")
	c = e.session()
	c.cmd("RCPT TO:<info@fossedu.org>", "451 4.3.0 <info@fossedu.org>: Temporary lookup failure")
}

func TestAliasExpansionErrorReply(t *testing.T) {
	e := startSmtpd(t, "")
	e.cleanup.status = "451"
	e.cleanup.reply = ipc.Attrs{{Name: "dsn", Value: "4.6.0"}, {Name: "reason", Value: "Alias expansion error"},
		{Name: "reason_verbatim", Value: "1"}}
	c := e.session()
	c.cmd("RCPT TO:<fmaster@localhost>", "250")
	c.cmd("DATA", "354")
	c.cmd("x\r\n.", "451 4.6.0 Alias expansion error")
}
