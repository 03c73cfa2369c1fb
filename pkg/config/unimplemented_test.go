package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadDir writes main.cf and master.cf into a new directory and loads both.
func loadDir(t *testing.T, maincf, mastercf string) (*Config, []Service) {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(maincf), 0644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte(mastercf), 0644)
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadMaster(dir, c)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestUnimplementedParams(t *testing.T) {
	c, svcs := loadDir(t, `
smtpd_milters = inet:localhost:8891
content_filter = smtp:[127.0.0.1]:10025
header_checks = regexp:/etc/postfix/header_checks
mailbox_transport = lmtp:unix:private/dovecot-lmtp
# the same as Postfix: empty (off), the default, Postern's behaviour, inert, implemented
body_checks =
milter_header_checks = $no_such_parameter
smtpd_delay_reject = YES
fast_flush_domains = $relay_domains
smtpd_tls_session_cache_timeout = 3600
biff = no
readme_directory = no
disable_vrfy_command = yes
relay_destination_concurrency_limit = 5
# the Postfix default is yes, and Postern does not biff
# per-transport, not read by qmgr
relay_initial_destination_concurrency = 3
# by expansion
my_milters = inet:localhost:1234
no_milters =
non_smtpd_milters = $my_milters
submission_milters = $no_milters
`, `
smtp      inet  n       -       y       -       -       smtpd
relay     unix  -       -       y       -       -       smtp
submission inet n       -       y       -       -       smtpd
  -o syslog_name=postfix/$service_name
  -o smtpd_milters=$submission_milters
  -o content_filter=
  -o { header_checks = pcre:/etc/postfix/submission_header_checks }
  -o smtpd_proxy_filter=${service_name}_proxy
`)
	got := UnimplementedParams(c, svcs)
	main, master := filepath.Join(c.Dir(), "main.cf"), filepath.Join(c.Dir(), "master.cf")
	want := []string{
		main + ": parameter content_filter is not implemented by Postern and is ignored",
		main + ": parameter header_checks is not implemented by Postern and is ignored",
		main + ": parameter mailbox_transport is not implemented by Postern and is ignored",
		main + ": parameter non_smtpd_milters is not implemented by Postern and is ignored",
		main + ": parameter relay_initial_destination_concurrency is not implemented by Postern and is ignored",
		main + ": parameter smtpd_milters is not implemented by Postern and is ignored",
		master + ": service submission: parameter header_checks is not implemented by Postern and is ignored",
		master + ": service submission: parameter smtpd_proxy_filter is not implemented by Postern and is ignored",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Marking a parameter implemented silences it.
	implemented["smtpd_milters"] = true
	defer delete(implemented, "smtpd_milters")
	for _, w := range UnimplementedParams(c, svcs) {
		if strings.Contains(w, "parameter smtpd_milters ") {
			t.Errorf("implemented smtpd_milters still warned: %s", w)
		}
	}
}

func TestBehavesAs(t *testing.T) {
	c, svcs := loadDir(t, "biff = yes\ndisable_mime_output_conversion = no\n", "")
	got := UnimplementedParams(c, svcs)
	if len(got) != 2 || !strings.Contains(got[0], "parameter biff ") || !strings.Contains(got[1], "parameter disable_mime_output_conversion ") {
		t.Errorf("biff = yes (the default Postern does not follow): %q", got)
	}
}

func TestUnimplementedRestrictionsAndTables(t *testing.T) {
	c, svcs := loadDir(t, `daemon_directory = /nonexistent
smtpd_client_restrictions = reject_rbl_client bl.example.org
smtpd_recipient_restrictions = permit_mynetworks,
    reject_rbl_client zen.spamhaus.org, check_policy_service unix:private/policy,
    reject_unauth_destination, hash:/etc/postfix/access, Frobnicate,
    check_client_access ldap:/etc/postfix/ldap-access.cf,
    check_sender_access cidr:/etc/postfix/cidr, from_friends, permit
smtpd_restriction_classes = from_friends
from_friends = check_sender_access hash:/etc/postfix/friends, reject
alias_maps = hash:/etc/aliases, nis:mail.aliases, proxy:mysql:/etc/postfix/mysql-aliases.cf
transport_maps = $alias_maps
smtpd_milters = ldap:/not/checked/here
`, `
submission inet n - y - - smtpd
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject_unknown_client_hostname,reject
`)
	got := Unimplemented(c, svcs)
	main, master := filepath.Join(c.Dir(), "main.cf"), filepath.Join(c.Dir(), "master.cf")
	tail := ": recipients that reach it get 451 4.3.5 Server configuration error"
	want := []string{
		main + ": parameter smtpd_milters is not implemented by Postern and is ignored",
		main + ": parameter smtpd_restriction_classes is not implemented by Postern and is ignored",
		main + ": smtpd_client_restrictions: restriction reject_rbl_client is not implemented by Postern" + tail,
		main + ": smtpd_recipient_restrictions: restriction check_policy_service is not implemented by Postern" + tail,
		main + ": smtpd_recipient_restrictions: restriction hash:/etc/postfix/access (a table without check_*_access before it) is not implemented by Postern" + tail,
		main + ": smtpd_recipient_restrictions: restriction Frobnicate is unknown" + tail,
		main + ": smtpd_recipient_restrictions: restriction from_friends (a class of smtpd_restriction_classes) is not implemented by Postern" + tail,
		master + ": service submission: smtpd_recipient_restrictions: restriction reject_unknown_client_hostname is not implemented by Postern" + tail,
		main + ": alias_maps: table type nis is not supported by Postern: nis:mail.aliases is skipped",
		main + ": alias_maps: table type mysql is not supported by Postern: proxy:mysql:/etc/postfix/mysql-aliases.cf is skipped",
		main + ": smtpd_recipient_restrictions: table type ldap is not supported by Postern: ldap:/etc/postfix/ldap-access.cf is skipped",
		master + " line 2: service submission: program /nonexistent/smtpd not found -- skipped",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSMTPDRestrictionsArePostfixs: every restriction smtpd implements is Postfix's (or, for
// dunno, harmless).
func TestSMTPDRestrictionsArePostfixs(t *testing.T) {
	for r := range SMTPDRestrictions {
		if _, ok := postfixRestrictions[r]; !ok && r != "dunno" {
			t.Errorf("%s is no Postfix restriction", r)
		}
	}
}

// TestProgram: what master does with each kind of master.cf program.
func TestProgram(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	for _, p := range []string{"smtpd", "showq"} { // Postern's (this test is built from the module)
		if err := os.Link(self, filepath.Join(bin, p)); err != nil {
			b, _ := os.ReadFile(self)
			os.WriteFile(filepath.Join(bin, p), b, 0755)
		}
	}
	for _, p := range []string{"pipe", "mydaemon"} { // Postfix's pipe; someone's own program
		os.WriteFile(filepath.Join(bin, p), []byte("#!/bin/sh\n"), 0755)
	}
	c, svcs := loadDir(t, "daemon_directory = "+bin+"\n", `
smtp      inet  n       -       y       -       -       smtpd
showq     unix  n       -       y       -       -       showq
rewrite   unix  -       -       y       -       -       trivial-rewrite
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
verify    unix  -       -       y       -       1       verify
mine      unix  -       n       n       -       -       mydaemon
`)
	want := map[string]ProgramStatus{"smtp": ProgramRun, "showq": ProgramRun, "rewrite": ProgramBuiltin,
		"tlsmgr": ProgramBuiltin, "error": ProgramBuiltin, "retry": ProgramMissing, "maildrop": ProgramPostfix,
		"verify": ProgramMissing, "mine": ProgramRun}
	for _, s := range svcs {
		if _, st := s.Program(bin); st != want[s.Name] {
			t.Errorf("%s: status %d, want %d", s.Name, st, want[s.Name])
		}
	}
	m := filepath.Join(c.Dir(), "master.cf")
	wantW := []string{
		m + " line 7: service retry: program " + bin + "/error not found -- skipped",
		m + " line 8: service maildrop: program " + bin + "/pipe is Postfix's: Postern does not implement pipe -- skipped",
		m + " line 10: service verify: program " + bin + "/verify not found -- skipped",
	}
	if got := Unimplemented(c, svcs); !reflect.DeepEqual(got, wantW) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantW, "\n"))
	}
}

// TestDebianStock: Debian's own main.cf and master.cf (testdata/debian, as postinst writes
// them) ask for nothing Postern does not do (master.cf's programs aside: TestProgram).
func TestDebianStock(t *testing.T) {
	c, err := Load("testdata/debian")
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := LoadMaster("testdata/debian", c)
	if err != nil {
		t.Fatal(err)
	}
	if got := UnimplementedSettings(c, svcs); len(got) > 0 {
		t.Errorf("warnings:\n%s", strings.Join(got, "\n"))
	}
	// A sanity check that this can fail: the same main.cf with a milter added.
	c.file["smtpd_milters"] = "inet:localhost:8891"
	if got := UnimplementedSettings(c, svcs); len(got) != 1 {
		t.Errorf("with smtpd_milters: %q", got)
	}
}

func TestUnimplementedValues(t *testing.T) {
	c, svcs := loadDir(t, "smtp_tls_security_level = verify\n", `
relay unix - - y - - smtp -o smtp_tls_security_level=may
secure unix - - y - - smtp -o { smtp_tls_security_level = dane }
`)
	got := UnimplementedSettings(c, svcs)
	want := []string{
		filepath.Join(c.Dir(), "main.cf") + ": smtp_tls_security_level = verify is not implemented by Postern: it is treated as encrypt, without verifying the server's certificate",
		filepath.Join(c.Dir(), "master.cf") + ": service secure: smtp_tls_security_level = dane is not implemented by Postern: it is treated as encrypt, without verifying the server's certificate",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
