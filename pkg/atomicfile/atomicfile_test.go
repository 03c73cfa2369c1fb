package atomicfile

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// leftovers lists the files in dir other than the names given.
func leftovers(t *testing.T, dir string, keep ...string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
outer:
	for _, e := range ents {
		for _, k := range keep {
			if e.Name() == k {
				continue outer
			}
		}
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "main.cf")
	os.WriteFile(p, []byte("old\n"), 0644)
	old, _ := os.Stat(p)
	if err := WriteFile(p, []byte("new\n"), Options{Mode: 0640}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	st, _ := os.Stat(p)
	if string(b) != "new\n" || st.Mode().Perm() != 0640 || os.SameFile(old, st) {
		t.Fatalf("%q %v same=%v", b, st.Mode(), os.SameFile(old, st))
	}
	if l := leftovers(t, dir, "main.cf"); l != nil {
		t.Fatalf("left behind: %v", l)
	}
}

// The mode is set exactly, whatever the umask, and defaults to 0600.
func TestMode(t *testing.T) {
	dir := t.TempDir()
	old := syscall.Umask(0077)
	defer syscall.Umask(old)
	for _, m := range []os.FileMode{0666, 0644, 0600, 0} {
		p := filepath.Join(dir, "f")
		if err := WriteFile(p, []byte("x"), Options{Mode: m}); err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(p)
		want := m
		if m == 0 {
			want = 0600
		}
		if st.Mode().Perm() != want {
			t.Errorf("mode %v: got %v", m, st.Mode().Perm())
		}
	}
}

func TestOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "aliases.db")
	if err := WriteFile(p, []byte("x"), Options{Mode: 0644, Chown: true, UID: 12345, GID: -1}); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if sys := st.Sys().(*syscall.Stat_t); sys.Uid != 12345 || sys.Gid != 0 || st.Mode().Perm() != 0644 {
		t.Fatalf("uid %d gid %d mode %v", sys.Uid, sys.Gid, st.Mode())
	}
}

// A write that fails midway (the file size limit, EFBIG) leaves the old
// file as it was and no temporary file.
func TestWriteFailsMidway(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "courierimapuiddb")
	oldData := []byte("1 123 2\n1 a\n")
	os.WriteFile(p, oldData, 0600)

	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	small := lim
	small.Cur = 4096
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &small); err != nil {
		t.Skip(err)
	}
	err := WriteFile(p, bytes.Repeat([]byte("x"), 1<<20), Options{})
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim)
	if !errors.Is(err, syscall.EFBIG) {
		t.Fatalf("err = %v, want EFBIG", err)
	}
	if b, _ := os.ReadFile(p); !bytes.Equal(b, oldData) {
		t.Fatalf("old file changed: %q", b)
	}
	if l := leftovers(t, dir, "courierimapuiddb"); l != nil {
		t.Fatalf("left behind: %v", l)
	}
}

// A caller whose source fails midway aborts: the old file stays.
func TestAbort(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	p := filepath.Join(dir, "t.db")
	os.WriteFile(p, []byte("old"), 0644)
	f, err := Create(p, Options{TmpDir: tmp})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(f.Name()) != tmp || !strings.HasPrefix(filepath.Base(f.Name()), ".t.db.tmp") {
		t.Fatalf("temporary file %s", f.Name())
	}
	f.Write([]byte("half of the new"))
	f.Abort()
	f.Abort()
	if err := f.Commit(); err == nil {
		t.Fatal("commit after abort")
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("old file changed: %q", b)
	}
	if l := leftovers(t, tmp); l != nil {
		t.Fatalf("left behind: %v", l)
	}
}

// A rename that fails (the name is a non-empty directory) leaves the
// directory and no temporary file, and says what failed.
func TestRenameFails(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(p, "x"), 0700)
	err := WriteFile(p, []byte("data"), Options{})
	var le *os.LinkError
	if !errors.As(err, &le) || le.Op != "rename" || le.New != p {
		t.Fatalf("err = %v", err)
	}
	if l := leftovers(t, dir, "sub"); l != nil {
		t.Fatalf("left behind: %v", l)
	}
	if _, err := os.Stat(filepath.Join(p, "x")); err != nil {
		t.Fatal(err)
	}
}

func TestCreateFails(t *testing.T) {
	_, err := Create(filepath.Join(t.TempDir(), "no", "such"), Options{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v", err)
	}
}
