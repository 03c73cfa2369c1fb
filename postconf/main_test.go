package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func pc(t *testing.T, args ...string) (stdout, stderr string, status int) {
	t.Helper()
	var o, e bytes.Buffer
	status = run(args, &o, &e)
	return o.String(), e.String(), status
}

func setup(t *testing.T, mainCf, masterCf string) string {
	t.Helper()
	dir := t.TempDir()
	if mainCf != "" {
		if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(mainCf), 0640); err != nil {
			t.Fatal(err)
		}
	}
	if masterCf != "" {
		if err := os.WriteFile(filepath.Join(dir, "master.cf"), []byte(masterCf), 0644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readMain(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "main.cf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const sampleMain = `# Debian-ish main.cf
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# appending .domain is the MUA's job.
append_dot_mydomain = no
myhostname = vm.example.org
mydestination = $myhostname,
    # a comment inside
    localhost
compatibility_level = 3.6
typo_param = 1
relay_destination_concurrency_limit = 1
`

const sampleMaster = `smtp      inet  n       -       y       -       -       smtpd
relay     unix  -       -       y       -       -       smtp
  -o syslog_name=postfix/$service_name
submission inet n       -       y       -       -       smtpd
  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }
flush     unix  n       -       y       1000?   0       flush
`

func TestShowNames(t *testing.T) {
	dir := setup(t, sampleMain, sampleMaster)
	out, errOut, st := pc(t, "-c", dir, "smtpd_banner", "biff", "nosuch_param", "mail_version")
	if st != 0 {
		t.Fatalf("status %d", st)
	}
	want := "smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)\nbiff = no\nmail_version = 3.7.11\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if !strings.Contains(errOut, "postconf: warning: nosuch_param: unknown parameter\n") {
		t.Errorf("stderr = %q", errOut)
	}
	if !strings.Contains(errOut, "postconf: warning: "+dir+"/main.cf: unused parameter: typo_param=1\n") {
		t.Errorf("no unused warning: %q", errOut)
	}
	if strings.Contains(errOut, "relay_destination_concurrency_limit") {
		t.Errorf("per-transport parameter flagged: %q", errOut)
	}

	out, _, _ = pc(t, "-c", dir, "-x", "smtpd_banner", "mydestination")
	if out != "smtpd_banner = vm.example.org ESMTP Postfix (Debian/GNU)\nmydestination = vm.example.org,    localhost\n" {
		t.Errorf("-x: %q", out)
	}
	out, _, _ = pc(t, "-hx", "-c", dir, "smtpd_banner")
	if out != "vm.example.org ESMTP Postfix (Debian/GNU)\n" {
		t.Errorf("-hx: %q", out)
	}
	out, _, _ = pc(t, "-c", dir, "-H", "biff")
	if out != "biff\n" {
		t.Errorf("-H: %q", out)
	}
	out, _, _ = pc(t, "-c", dir, "relayhost")
	if out != "relayhost =\n" {
		t.Errorf("empty value: %q", out)
	}
	out, _, _ = pc(t, "-c", dir, "-o", "inet_interfaces=", "-hx", "inet_interfaces")
	if out != "\n" {
		t.Errorf("-o override: %q", out)
	}
	out, _, _ = pc(t, "-c", dir, "-o", "mydomain=x.test", "-x", "-h", "localhost_name_test_unknown")
	if out != "" {
		t.Errorf("unknown with -h: %q", out)
	}
}

func TestShowAllAndN(t *testing.T) {
	dir := setup(t, sampleMain, sampleMaster)
	out, _, st := pc(t, "-c", dir)
	if st != 0 {
		t.Fatal(st)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 800 {
		t.Errorf("only %d lines", len(lines))
	}
	for i := 1; i < len(lines); i++ {
		if lines[i-1] >= lines[i] {
			t.Fatalf("not sorted: %q >= %q", lines[i-1], lines[i])
		}
	}
	if !strings.Contains(out, "\nbiff = no\n") || !strings.Contains(out, "\nqueue_directory = /var/spool/postfix\n") {
		t.Error("missing expected lines")
	}
	if strings.Contains(out, "typo_param") {
		t.Error("unused parameter printed in full listing")
	}

	out, _, _ = pc(t, "-n", "-c", dir)
	want := `append_dot_mydomain = no
biff = no
compatibility_level = 3.6
mydestination = $myhostname,    localhost
myhostname = vm.example.org
relay_destination_concurrency_limit = 1
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
typo_param = 1
`
	if out != want {
		t.Errorf("-n:\n%s\nwant:\n%s", out, want)
	}
}

func TestShowDefaults(t *testing.T) {
	dir := setup(t, sampleMain, "")
	out, errOut, _ := pc(t, "-c", dir, "-d", "biff", "append_dot_mydomain", "smtpd_banner", "compatibility_level", "mailbox_size_limit")
	want := "biff = yes\nappend_dot_mydomain = ${{$compatibility_level} <level {1} ? {yes} : {no}}\n" +
		"smtpd_banner = $myhostname ESMTP $mail_name\ncompatibility_level = 0\nmailbox_size_limit = 51200000\n"
	if out != want || errOut != "" {
		t.Errorf("-d: %q %q", out, errOut)
	}
	out, _, _ = pc(t, "-dhx", "append_dot_mydomain")
	if out != "yes\n" {
		t.Errorf("-dhx: %q", out)
	}
	out, _, _ = pc(t, "-d")
	if n := strings.Count(out, "\n"); n < 800 {
		t.Errorf("-d printed %d lines", n)
	}
}

func TestEditPreservesComments(t *testing.T) {
	dir := setup(t, sampleMain, sampleMaster)
	out, errOut, st := pc(t, "-c", dir, "-e", "mydestination = a, b", "biff=yes", "new_param_x = 1", "relayhost = [smtp.example.com]:587")
	if st != 0 || out != "" {
		t.Fatalf("status %d out %q err %q", st, out, errOut)
	}
	want := `# Debian-ish main.cf
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = yes

# appending .domain is the MUA's job.
append_dot_mydomain = no
myhostname = vm.example.org
mydestination = a, b
    # a comment inside
compatibility_level = 3.6
typo_param = 1
relay_destination_concurrency_limit = 1
new_param_x = 1
relayhost = [smtp.example.com]:587
`
	if got := readMain(t, dir); got != want {
		t.Errorf("main.cf:\n%s\nwant:\n%s", got, want)
	}
	st2, _ := os.Stat(filepath.Join(dir, "main.cf"))
	if st2.Mode().Perm() != 0640 {
		t.Errorf("mode = %v", st2.Mode().Perm())
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "main.cf" && e.Name() != "master.cf" {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

func TestEditImpliedAndEveryOccurrence(t *testing.T) {
	dir := setup(t, "a = 1\nb = 2\n  cont\na = 3\r\nc = 4", "")
	if _, _, st := pc(t, "-c", dir, "a=x", "c = y", "d=z"); st != 0 {
		t.Fatal(st)
	}
	if got, want := readMain(t, dir), "a = x\nb = 2\n  cont\na = x\nc = y\nd = z\n"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestEditAtomicReplace(t *testing.T) {
	dir := setup(t, "a = 1\n", "")
	path := filepath.Join(dir, "main.cf")
	// A reader holding the old file keeps seeing the old content: the file is replaced, not
	// rewritten in place.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, _ := os.Stat(path)
	if _, _, st := pc(t, "-c", dir, "-e", "a = 2"); st != 0 {
		t.Fatal(st)
	}
	after, _ := os.Stat(path)
	if os.SameFile(before, after) {
		t.Error("main.cf was rewritten in place, not replaced")
	}
	old := make([]byte, 100)
	n, _ := f.Read(old)
	if string(old[:n]) != "a = 1\n" || readMain(t, dir) != "a = 2\n" {
		t.Errorf("old %q new %q", old[:n], readMain(t, dir))
	}
}

func TestEditCreatesMissing(t *testing.T) {
	dir := setup(t, "", "")
	if _, e, st := pc(t, "-c", dir, "myhostname=h.example"); st != 0 {
		t.Fatal(st, e)
	}
	if got := readMain(t, dir); got != "myhostname = h.example\n" {
		t.Errorf("got %q", got)
	}
}

func TestEditErrors(t *testing.T) {
	dir := setup(t, "a = 1\n", "")
	for _, args := range [][]string{
		{"-c", dir, "-e", "novalue"},
		{"-c", dir, "-e", "bad name = 1"},
		{"-c", dir, "-e", "a = x\ny = 1"},
		{"-c", dir, "-X", "a=1"},
		{"-c", dir, "-X"},
		{"-c", filepath.Join(dir, "missing"), "-e", "a=1"},
		{"-Q"},
		{"-c"},
	} {
		_, errOut, st := pc(t, args...)
		if st != 1 || !strings.HasPrefix(errOut, "postconf: fatal: ") {
			t.Errorf("%q: status %d stderr %q", args, st, errOut)
		}
	}
	if got := readMain(t, dir); got != "a = 1\n" {
		t.Errorf("main.cf changed: %q", got)
	}
}

func TestDeleteAndComment(t *testing.T) {
	dir := setup(t, "# head\na = 1\n  cont1\n# keep\n  cont2\nb = 2\na = 3\nc = 4\n", "")
	if _, e, st := pc(t, "-c", dir, "-X", "a", "nonexistent"); st != 0 {
		t.Fatal(st, e)
	}
	if got, want := readMain(t, dir), "# head\n# keep\nb = 2\nc = 4\n"; got != want {
		t.Errorf("-X: got %q want %q", got, want)
	}
	if _, _, st := pc(t, "-c", dir, "-#", "b"); st != 0 {
		t.Fatal(st)
	}
	if got, want := readMain(t, dir), "# head\n# keep\n#b = 2\nc = 4\n"; got != want {
		t.Errorf("-#: got %q want %q", got, want)
	}
}

func TestMaster(t *testing.T) {
	dir := setup(t, "", sampleMaster)
	out, errOut, st := pc(t, "-c", dir, "-M")
	if st != 0 {
		t.Fatal(st, errOut)
	}
	want := `smtp       inet  n       -       y       -       -       smtpd
relay      unix  -       -       y       -       -       smtp -o syslog_name=postfix/$service_name
submission inet  n       -       y       -       -       smtpd -o {smtpd_client_restrictions=permit_sasl_authenticated, reject}
flush      unix  n       -       y       1000?   0       flush
`
	if out != want {
		t.Errorf("-M:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = pc(t, "-c", dir, "-M", "smtp/inet", "flush")
	if out != "smtp       inet  n       -       y       -       -       smtpd\nflush      unix  n       -       y       1000?   0       flush\n" {
		t.Errorf("-M selection: %q", out)
	}
	out, _, _ = pc(t, "-c", dir, "-M", "smtp/unix")
	if out != "" {
		t.Errorf("-M smtp/unix: %q", out)
	}
	if _, _, st := pc(t, "-c", t.TempDir(), "-M"); st != 1 {
		t.Error("missing master.cf not fatal")
	}
}

func TestMailConfigEnv(t *testing.T) {
	dir := setup(t, "biff = no\n", "")
	t.Setenv("MAIL_CONFIG", dir)
	out, _, _ := pc(t, "-h", "biff")
	if out != "no\n" {
		t.Errorf("MAIL_CONFIG not used: %q", out)
	}
}

func TestBadMainCf(t *testing.T) {
	dir := setup(t, "a = 1\nthis is bad\n", "")
	_, errOut, st := pc(t, "-c", dir, "a")
	if st != 1 || !strings.Contains(errOut, "postconf: fatal: "+filepath.Join(dir, "main.cf")+", line 2: missing '='") {
		t.Errorf("status %d stderr %q", st, errOut)
	}
}

// Postern's own parameters print with -d as before they moved into pkg/config's one table.
func TestShowPosternDefaults(t *testing.T) {
	out, errOut, st := pc(t, "-d", "smtp_dns_resolver_address", "smtpd_dns_resolver_address",
		"imapd_session_servers", "imapd_session_idle", "authd_failure_delay", "pop3d_tls_cert_file")
	want := "smtp_dns_resolver_address =\nsmtpd_dns_resolver_address = $smtp_dns_resolver_address\n" +
		"imapd_session_servers = 100\nimapd_session_idle = 120s\nauthd_failure_delay = 2s\n" +
		"pop3d_tls_cert_file = $smtpd_tls_cert_file\n"
	if out != want || errOut != "" || st != 0 {
		t.Errorf("-d: %d %q %q", st, out, errOut)
	}
}

// TestBadOption pins the words of getopt's refusals: the letter, then the usage line.
func TestBadOption(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-Q"}, "postconf: fatal: invalid option -- 'Q'\n" + usage + "\n"},
		{[]string{"-nQ"}, "postconf: fatal: invalid option -- 'Q'\n" + usage + "\n"},
		{[]string{"-n", "-c"}, "postconf: fatal: option requires an argument -- 'c'\n" + usage + "\n"},
	} {
		out, errOut, st := pc(t, c.args...)
		if st != 1 || out != "" || errOut != c.want {
			t.Errorf("%q: status %d stdout %q stderr %q, want 1 %q", c.args, st, out, errOut, c.want)
		}
	}
	// Grouped letters with the directory glued on read as -n -c DIR.
	dir := setup(t, "a = 1\n", "")
	if out, errOut, st := pc(t, "-nc"+dir); st != 0 || out != "a = 1\n" {
		t.Errorf("-nc%s: status %d stdout %q stderr %q", dir, st, out, errOut)
	}
}
