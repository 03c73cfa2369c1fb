package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestLockFileOwners checks master.pid and master.lock against what
// Postfix's master makes (master.c): both 0600, master.pid root's,
// master.lock mail_owner's, so that Postfix can start after Postern; an
// older root-owned 0644 master.lock is repaired, and a symbolic link in
// data_directory (which mail_owner can write) is refused.
func TestLockFileOwners(t *testing.T) {
	root := os.Geteuid() == 0
	dir := t.TempDir()
	qdir, ddir := filepath.Join(dir, "spool"), filepath.Join(dir, "data")
	os.MkdirAll(filepath.Join(qdir, "pid"), 0755)
	os.MkdirAll(ddir, 0700)
	owner := &ids{name: "test", uid: 65534, gid: 65533}
	// What an older Postern left: root's and world-readable.
	os.WriteFile(lockPath(ddir), []byte("stale\n"), 0644)

	l, err := acquireLocks(qdir, ddir, owner)
	if err != nil {
		t.Fatal(err)
	}
	check := func(path string, uid, gid uint32) {
		t.Helper()
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0600 {
			t.Errorf("%s: mode %v, want -rw-------", path, fi.Mode())
		}
		st := fi.Sys().(*syscall.Stat_t)
		if root && (st.Uid != uid || st.Gid != gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", path, st.Uid, st.Gid, uid, gid)
		}
		b, _ := os.ReadFile(path)
		if len(b) != 33 || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
			t.Errorf("%s holds %q", path, b)
		}
	}
	check(pidPath(qdir), 0, 0)
	check(lockPath(ddir), 65534, 65533)
	if !isRunning(qdir, ddir) {
		t.Error("isRunning = false while the locks are held")
	}
	l.release(true)
	if _, err := os.Lstat(pidPath(qdir)); err == nil {
		t.Error("master.pid left after release")
	}

	os.Remove(lockPath(ddir))
	target := filepath.Join(dir, "victim")
	os.WriteFile(target, []byte("keep\n"), 0644)
	os.Symlink(target, lockPath(ddir))
	if l, err := acquireLocks(qdir, ddir, owner); err == nil {
		l.release(true)
		t.Fatal("master.lock as a symbolic link accepted")
	}
	fi, _ := os.Stat(target)
	if b, _ := os.ReadFile(target); string(b) != "keep\n" || fi.Mode() != 0644 {
		t.Errorf("link target changed: %q %v", b, fi.Mode())
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != uint32(os.Geteuid()) {
		t.Errorf("link target given to uid %d", st.Uid)
	}
}
