package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The full start/stop cycle is tested with master in postern/master.

func build(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "postfix")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func TestCommands(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()
	cf := "queue_directory = " + dir + "/q\ndata_directory = " + dir + "/d\ndaemon_directory = " + dir + "/bin\nmaillog_file = " + dir + "/log\nmaillog_file_prefixes = " + dir + "\nmail_owner = nobody\n"
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0644)
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp inet n - y - - smtpd\n"), 0644)
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin, append([]string{"-c", dir}, args...)...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
	if out, code := run("check"); code != 0 {
		t.Fatalf("check: %d %s", code, out)
	}
	for _, d := range []string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "bounce", "defer", "trace", "private", "public", "pid", "saved"} {
		if fi, err := os.Stat(filepath.Join(dir, "q", d)); err != nil || !fi.IsDir() {
			t.Errorf("queue directory %s not created", d)
		}
	}
	if out, code := run("status"); code != 1 || !strings.Contains(out, "postfix/postfix-script: the Postfix mail system is not running") {
		t.Errorf("status: %d %q", code, out)
	}
	if out, code := run("stop"); code != 1 || !strings.Contains(out, "fatal: the Postfix mail system is not running") {
		t.Errorf("stop: %d %q", code, out)
	}
	if out, code := run("bogus"); code != 1 || !strings.Contains(out, "fatal: unknown command: 'bogus'. Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)") {
		t.Errorf("bogus: %d %q", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "log")); !strings.Contains(string(b), "postfix/postfix-script[") {
		t.Errorf("nothing logged: %q", b)
	}
	os.WriteFile(filepath.Join(dir, "master.cf"), []byte("smtp inet n - y - smtpd\n"), 0644)
	if out, code := run("check"); code != 1 {
		t.Errorf("check with a broken master.cf: %d %q", code, out)
	}
}
