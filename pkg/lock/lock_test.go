package lock

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestOFDConflicts(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	a, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if err := OFD(a, 0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := OFD(b, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("second description: err = %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("returned after %v", d)
	}

	// Closing another descriptor of the file does not drop an OFD lock
	// (it would drop a classic POSIX lock).
	c, _ := os.Open(p)
	c.Close()
	if err := OFD(b, 0); !errors.Is(err, ErrTimeout) {
		t.Fatalf("lock lost after close of another fd: %v", err)
	}

	// A classic fcntl lock (what mutt/mailx take) conflicts too, even
	// within this process.
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if err := unix.FcntlFlock(b.Fd(), unix.F_SETLK, &lk); err == nil {
		t.Fatal("classic lock granted over OFD lock")
	}

	unlocked := make(chan error)
	go func() {
		time.Sleep(50 * time.Millisecond)
		unlocked <- UnlockOFD(a)
	}()
	if err := OFD(b, 2*time.Second); err != nil {
		t.Fatalf("waiting: %v", err)
	}
	if err := <-unlocked; err != nil {
		t.Fatal(err)
	}
	if err := UnlockOFD(b); err != nil {
		t.Fatal(err)
	}
}

func TestDot(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mbox")
	d, err := Dot(p, 1, 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != p+".lock" {
		t.Fatalf("path %s", d.Path)
	}
	st, err := os.Lstat(d.Path)
	if err != nil || st.Mode().Perm() != 0 || !st.Mode().IsRegular() {
		t.Fatalf("lock file %v %v", st, err)
	}

	start := time.Now()
	if _, err := Dot(p, 3, 20*time.Millisecond, time.Minute); !errors.Is(err, ErrTimeout) {
		t.Fatalf("held lock: err = %v", err)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Error("no delay between attempts")
	}

	if err := d.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
		t.Fatal("not released")
	}

	// Stale lock is broken.
	os.WriteFile(p+".lock", nil, 0)
	time.Sleep(30 * time.Millisecond)
	d, err = Dot(p, 1, 0, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("stale lock not broken: %v", err)
	}
	d.Release()

	// No directory: a real error, not a timeout.
	if _, err := Dot(filepath.Join(p, "nodir", "x"), 5, time.Second, 0); err == nil || errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v", err)
	}
}
