package main

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWarn gives a root instance wrong owners and modes and expects
// postfix-script's warnings for them, and none for a correct queue.
func TestCheckWarn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the ownership checks run only as root")
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("no postfix user")
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		t.Skip("no postdrop group")
	}
	bin := build(t)
	dir := t.TempDir()
	os.Chmod(dir, 0755)
	q, data, cmd := dir+"/q", dir+"/d", dir+"/cmd"
	cf := "queue_directory = " + q + "\ndata_directory = " + data + "\ndaemon_directory = " + dir + "/bin\ncommand_directory = " + cmd +
		"\nmeta_directory = " + dir + "/etc\nshlib_directory = no\nmaillog_file = " + dir + "/log\nmaillog_file_prefixes = " + dir + "\n" +
		// Not this machine's /etc/aliases.db, which may be Postfix's (checkTables).
		"alias_maps =\nalias_database =\n"
	os.MkdirAll(dir+"/etc", 0755)
	os.MkdirAll(dir+"/bin", 0755)
	if exe, err := os.ReadFile(bin); err == nil { // a Postern program for master.cf's smtpd
		os.WriteFile(dir+"/bin/smtpd", exe, 0755)
	}
	os.WriteFile(dir+"/etc/main.cf", []byte(cf), 0644)
	os.WriteFile(dir+"/etc/master.cf", []byte("smtp inet n - y - - smtpd\n"), 0644)
	os.MkdirAll(cmd, 0755)
	for _, p := range []string{"postdrop", "postqueue"} {
		os.WriteFile(filepath.Join(cmd, p), []byte("#!/bin/sh\n"), 0755)
	}
	run := func(args ...string) string {
		out, _ := exec.Command(bin, append([]string{"-c", dir + "/etc"}, args...)...).CombinedOutput()
		return string(out)
	}
	// A link to a root file elsewhere, as Debian's makedefs.out, is fine:
	// its own 0777 mode is not the file's.
	os.WriteFile(dir+"/makedefs.out", []byte("x\n"), 0644)
	os.Symlink(dir+"/makedefs.out", dir+"/etc/makedefs.out")
	run("check") // creates the queue
	run("set-permissions")
	if out := run("check"); strings.Contains(out, "warning") {
		t.Errorf("warnings for a correct instance:\n%s", out)
	}

	os.WriteFile(dir+"/writable", []byte("x\n"), 0666)
	os.Chmod(dir+"/writable", 0666)
	os.Symlink(dir+"/writable", dir+"/etc/writable")
	os.Chown(q+"/incoming", 0, 0)
	os.Chmod(data, 0770)
	os.Chmod(cmd+"/postdrop", 0755)
	os.Chown(cmd+"/postqueue", 0, 0)
	out := run("check")
	for _, w := range []string{
		"warning: not owned by postfix: " + q + "/incoming",
		"warning: group or other writable: " + data + "/.",
		"warning: group or other writable: " + dir + "/etc/./writable",
		"warning: not set-gid or not owner+group+world executable: " + cmd + "/postdrop",
		"warning: not owned by group postdrop: " + cmd + "/postqueue",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("postfix check lacks %q:\n%s", w, out)
		}
	}
}
