package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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
