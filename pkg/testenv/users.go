package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// User creates a system user for the test (root only) with a home under a
// temporary directory, removed with userdel -r when the test ends. Without
// root the test is skipped.
func User(t testing.TB) (name, home string, uid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("testenv: needs root to create a system user")
	}
	var b [4]byte
	rand.Read(b[:])
	name = "pt" + hex.EncodeToString(b[:])
	parent := TempRoot(t, "pth-")
	home = filepath.Join(parent, name)
	out, err := exec.Command("useradd", "-m", "-d", home, "-s", "/bin/sh", name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		// userdel -r also removes /var/mail/NAME, which is not ours but was
		// never created either; its complaint about that is ignored.
		exec.Command("userdel", "-r", "-f", name).Run()
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	return name, u.HomeDir, uid
}

// CurrentUser is the invoking user, for tests that deliver to an mbox in
// the temporary mail spool and need no new account. As root it creates a
// user like User does, since mail for root is not what a test should touch.
func CurrentUser(t testing.TB) (name, home string, uid int) {
	t.Helper()
	if os.Geteuid() == 0 {
		return User(t)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("current user: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	return u.Username, u.HomeDir, uid
}

// CommandAs prepares BinDir/program with args to run as the system user name (root only),
// with the instance's MAIL_CONFIG and the named supplementary groups. Giving "postdrop" stands
// for what the set-gid postdrop bits of an installed postqueue or postdrop grant: testenv
// cannot install set-gid copies, since those refuse a configuration directory outside
// alternate_config_directories. Set Args[0] to run it under another name (mailq).
func (e *Env) CommandAs(t testing.TB, name string, groups []string, program string, args ...string) *exec.Cmd {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("lookup %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	for _, g := range groups {
		gr, err := user.LookupGroup(g)
		if err != nil {
			t.Fatalf("lookup group %s: %v", g, err)
		}
		n, _ := strconv.Atoi(gr.Gid)
		cred.Groups = append(cred.Groups, uint32(n))
	}
	cmd := exec.Command(filepath.Join(e.BinDir, program), args...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir, "HOME="+u.HomeDir, "USER="+name, "LOGNAME="+name)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	return cmd
}
