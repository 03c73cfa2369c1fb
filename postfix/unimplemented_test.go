package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// instance makes a configuration directory whose main.cf is maincf plus the paths of a
// scratch instance, with master.cf mastercf and, in daemon_directory, copies of this
// package's postfix binary (a Postern program) named programs.
func instance(t *testing.T, bin, maincf, mastercf string, programs ...string) (dir string, run func(args ...string) (string, int)) {
	t.Helper()
	dir = t.TempDir()
	os.Chmod(dir, 0755)
	os.MkdirAll(dir+"/etc", 0755)
	os.MkdirAll(dir+"/bin", 0755)
	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range programs {
		os.WriteFile(filepath.Join(dir, "bin", p), exe, 0755)
	}
	maincf += "\nqueue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\ndaemon_directory = " + dir + "/bin\n" +
		"command_directory = " + dir + "/bin\nmeta_directory = " + dir + "/etc\nshlib_directory = no\nmaillog_file = " + dir + "/log\nmaillog_file_prefixes = " + dir + "\n" +
		"mail_owner = nobody\n" +
		// The instance's own aliases, not this machine's /etc/aliases.db (which may be
		// Postfix's Berkeley DB file, a warning of checkTables).
		"alias_maps = hash:" + dir + "/aliases\nalias_database = hash:" + dir + "/aliases\n"
	os.WriteFile(filepath.Join(dir, "etc", "main.cf"), []byte(maincf), 0644)
	os.WriteFile(filepath.Join(dir, "etc", "master.cf"), []byte(mastercf), 0644)
	return dir, func(args ...string) (string, int) {
		out, err := exec.Command(bin, append([]string{"-c", dir + "/etc"}, args...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
}

// warnings returns the "warning: " texts of postfix-script's output lines.
func warnings(out string) []string {
	var w []string
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "postfix/postfix-script: warning: "); ok {
			w = append(w, rest)
		}
	}
	return w
}

// loggedWarnings returns the warnings postfix-script logged to maillog_file.
func loggedWarnings(t *testing.T, dir string) []string {
	b, _ := os.ReadFile(filepath.Join(dir, "log"))
	var w []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, " postfix/postfix-script["); i > 0 {
			if _, rest, ok := strings.Cut(l[i:], "]: warning: "); ok {
				w = append(w, rest)
			}
		}
	}
	return w
}

// TestCheckUnimplemented: postfix check shows and logs one warning per parameter Postern
// does not implement; reload shows them (master logs them), and a main.cf without them is
// quiet.
func TestCheckUnimplemented(t *testing.T) {
	bin := build(t)
	dir, run := instance(t, bin, `
smtpd_milters = inet:localhost:8891
content_filter = smtp:[127.0.0.1]:10025
header_checks = regexp:/etc/postfix/header_checks
mailbox_transport = lmtp:unix:private/dovecot-lmtp
non_smtpd_milters =
biff = no
`, "smtp inet n - n - - smtpd\n", "smtpd")
	cf := dir + "/etc/main.cf"
	want := []string{
		cf + ": parameter content_filter is not implemented by Postern and is ignored",
		cf + ": parameter header_checks is not implemented by Postern and is ignored",
		cf + ": parameter mailbox_transport is not implemented by Postern and is ignored",
		cf + ": parameter smtpd_milters is not implemented by Postern and is ignored",
	}
	out, code := run("check")
	if code != 0 || !reflect.DeepEqual(warnings(out), want) {
		t.Errorf("check: exit %d, warnings:\n%s\nwant:\n%s", code, strings.Join(warnings(out), "\n"), strings.Join(want, "\n"))
	}
	if got := loggedWarnings(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("logged:\n%s", strings.Join(got, "\n"))
	}
	// reload shows them; master, not postfix, logs them.
	out, code = run("reload")
	if code != 1 || !reflect.DeepEqual(warnings(out), want) || !strings.Contains(out, "fatal: the Postfix mail system is not running") {
		t.Errorf("reload: exit %d:\n%s", code, out)
	}
	if got := loggedWarnings(t, dir); len(got) != len(want) {
		t.Errorf("reload logged the warnings again:\n%s", strings.Join(got, "\n"))
	}

	// start shows them too (here master is missing, so it goes no further); master would
	// log them.
	out, code = run("start")
	if code != 1 || !reflect.DeepEqual(warnings(out), want) || !strings.Contains(out, "starting the Postfix mail system") {
		t.Errorf("start: exit %d:\n%s", code, out)
	}
	if got := loggedWarnings(t, dir); len(got) != len(want) {
		t.Errorf("start logged the warnings from postfix:\n%s", strings.Join(got, "\n"))
	}

	_, run = instance(t, bin, "smtpd_milters =\nbiff = no\n", "smtp inet n - n - - smtpd\n", "smtpd")
	if out, code := run("check"); code != 0 || len(warnings(out)) > 0 {
		t.Errorf("check of a configuration Postern implements: exit %d\n%s", code, out)
	}
}

// TestCheckDebianStock: Debian's stock main.cf and master.cf (pkg/config/testdata/debian)
// give warnings only for what really differs: none for main.cf, and the master.cf services
// whose programs are not there.
func TestCheckDebianStock(t *testing.T) {
	bin := build(t)
	maincf, err := os.ReadFile("../pkg/config/testdata/debian/main.cf")
	if err != nil {
		t.Fatal(err)
	}
	mastercf, err := os.ReadFile("../pkg/config/testdata/debian/master.cf")
	if err != nil {
		t.Fatal(err)
	}
	dir, run := instance(t, bin, string(maincf), string(mastercf), "smtpd", "pickup", "cleanup", "qmgr", "bounce", "smtp", "local")
	mcf, b := dir+"/etc/master.cf", dir+"/bin/"
	want := []string{
		mcf + " line 62: service verify: program " + b + "verify not found -- skipped",
		mcf + " line 63: service flush: program " + b + "flush not found -- skipped",
		mcf + " line 70: service showq: program " + b + "showq not found -- skipped",
		mcf + " line 72: service retry: program " + b + "error not found -- skipped",
		mcf + " line 73: service discard: program " + b + "discard not found -- skipped",
		mcf + " line 75: service virtual: program " + b + "virtual not found -- skipped",
		mcf + " line 76: service lmtp: program " + b + "lmtp not found -- skipped",
		mcf + " line 79: service postlog: program " + b + "postlogd not found -- skipped",
		mcf + " line 93: service maildrop: program " + b + "pipe not found -- skipped",
		mcf + " line 125: service uucp: program " + b + "pipe not found -- skipped",
		mcf + " line 130: service ifmail: program " + b + "pipe not found -- skipped",
		mcf + " line 132: service bsmtp: program " + b + "pipe not found -- skipped",
		mcf + " line 134: service scalemail-backend: program " + b + "pipe not found -- skipped",
		mcf + " line 136: service mailman: program " + b + "pipe not found -- skipped",
	}
	out, code := run("check")
	if code != 0 || !reflect.DeepEqual(warnings(out), want) {
		t.Errorf("check: exit %d, warnings:\n%s\nwant:\n%s", code, strings.Join(warnings(out), "\n"), strings.Join(want, "\n"))
	}
}
