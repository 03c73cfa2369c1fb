package queue

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// owner returns the uid and gid of path.
func owner(t *testing.T, path string) (fs.FileMode, uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return fi.Mode() & (fs.ModeType | fs.ModePerm | fs.ModeSetgid | fs.ModeSticky), st.Uid, st.Gid
}

// TestInitOwners checks that Init, InitDataDir and MkdirHash give what
// they create Postfix's owners and modes (postfix-files): as root, every
// queue directory but pid/ is mail_owner's with group root, maildrop/ and
// public/ group setgid_group; data_directory mail_owner's 0700; a hash
// subdirectory made by a root postsuper mail_owner's 0700.
func TestInitOwners(t *testing.T) {
	root := os.Geteuid() == 0
	const uid, gid, setgid = 65534, 65533, 65532 // need not exist: chown takes numbers
	dir := t.TempDir()
	q := New(filepath.Join(dir, "spool"))
	u, sg := -1, -1
	if root {
		u, sg = uid, setgid
	}
	if err := q.Init(u, sg); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode     fs.FileMode
		uid, gid uint32
	}{
		"maildrop": {fs.ModeDir | fs.ModeSticky | 0730, uid, setgid},
		"public":   {fs.ModeDir | fs.ModeSetgid | 0710, uid, setgid},
		"pid":      {fs.ModeDir | 0755, 0, 0},
		"incoming": {fs.ModeDir | 0700, uid, 0},
		"private":  {fs.ModeDir | 0700, uid, 0},
		"deferred": {fs.ModeDir | 0700, uid, 0},
		"flush":    {fs.ModeDir | 0700, uid, 0},
	}
	for _, d := range AllDirs {
		mode, du, dg := owner(t, filepath.Join(q.Dir, d))
		if mode != fs.ModeDir|DirMode(d) {
			t.Errorf("%s: mode %v, want %v", d, mode, fs.ModeDir|DirMode(d))
		}
		w, ok := want[d]
		if !ok {
			continue
		}
		if mode != w.mode {
			t.Errorf("%s: mode %v, want %v", d, mode, w.mode)
		}
		if root && (du != w.uid || dg != w.gid) {
			t.Errorf("%s: owner %d:%d, want %d:%d", d, du, dg, w.uid, w.gid)
		}
	}

	data := filepath.Join(dir, "lib", "postfix")
	if err := InitDataDir(data, u); err != nil {
		t.Fatal(err)
	}
	if mode, du, dg := owner(t, data); mode != fs.ModeDir|0700 || root && (du != uid || dg != 0) {
		t.Errorf("data_directory: %v %d:%d, want drwx------ %d:0", mode, du, dg, uid)
	}

	if root {
		q.SetOwner(uid, gid)
	}
	if err := os.WriteFile(q.Path(Hold, "ABC123"), []byte("x"), 0700); err != nil {
		t.Fatal(err)
	}
	if err := q.Move("ABC123", Hold, Deferred); err != nil {
		t.Fatal(err)
	}
	mode, du, dg := owner(t, filepath.Dir(q.Path(Deferred, "ABC123")))
	if mode != fs.ModeDir|0700 || root && (du != uid || dg != gid) {
		t.Errorf("hash directory: %v %d:%d, want drwx------ %d:%d", mode, du, dg, uid, gid)
	}
}
