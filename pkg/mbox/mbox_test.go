package mbox

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/lock"
)

var fixed = time.Date(2026, 11, 5, 9, 6, 47, 0, time.UTC)

func testOpts() Options {
	return Options{
		DotLock: true, Fcntl: true,
		LockAttempts: 3, LockDelay: 20 * time.Millisecond, StaleLock: 500 * time.Second,
		Now: func() time.Time { return fixed },
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAppendExactBytes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	body := "Subject: x\n\nFrom me\n>From you\n From x\nFrom\nlast"
	pre := []string{"Return-Path: <root@localhost>", "X-Original-To: u@localhost", "Delivered-To: u@localhost"}
	if err := Append(p, "root@localhost", pre, strings.NewReader(body), testOpts()); err != nil {
		t.Fatal(err)
	}
	want := "From root@localhost  Thu Nov  5 09:06:47 2026\n" +
		"Return-Path: <root@localhost>\nX-Original-To: u@localhost\nDelivered-To: u@localhost\n" +
		"Subject: x\n\n>From me\n>From you\n From x\nFrom\nlast\n\n"
	if got := readFile(t, p); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0600 {
		t.Errorf("mode %v", st.Mode())
	}
	if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dot lock not released: %v", err)
	}

	// Second append: null sender, body already ending in a newline.
	if err := Append(p, "", []string{"Return-Path: <>"}, strings.NewReader("a\n"), testOpts()); err != nil {
		t.Fatal(err)
	}
	want += "From MAILER-DAEMON  Thu Nov  5 09:06:47 2026\nReturn-Path: <>\na\n\n"
	if got := readFile(t, p); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAppendLongLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	long := strings.Repeat("x", 3*bufSize+7)
	body := long + "From a\nFrom " + long + "\n" + long
	if err := Append(p, "s", nil, strings.NewReader(body), testOpts()); err != nil {
		t.Fatal(err)
	}
	want := "From s  Thu Nov  5 09:06:47 2026\n" + long + "From a\n>From " + long + "\n" + long + "\n\n"
	if got := readFile(t, p); got != want {
		t.Fatal("long line content mismatch")
	}
}

type failingReader struct {
	data string
	n    int
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n >= len(r.data) {
		return 0, syscall.EIO
	}
	n := copy(p, r.data[r.n:])
	r.n += n
	return n, nil
}

func TestReadErrorTruncates(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	if err := Append(p, "s", nil, strings.NewReader("first\n"), testOpts()); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, p)
	// Bigger than the buffer, so part of it reaches the file before the error.
	r := &failingReader{data: strings.Repeat("line\n", 50000)}
	err := Append(p, "s", nil, r, testOpts())
	var me *Error
	if !errors.As(err, &me) || !me.Temporary() || me.Status != "4.3.0" {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(me.Text, "error reading message") {
		t.Errorf("text %q", me.Text)
	}
	if got := readFile(t, p); got != before {
		t.Fatalf("not truncated: %d bytes, want %d", len(got), len(before))
	}
	if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
		t.Errorf("dot lock not released after error: %v", err)
	}
}

func TestSizeLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	opt := testOpts()
	opt.SizeLimit = 200
	if err := Append(p, "s", nil, strings.NewReader("small\n"), opt); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, p)
	err := Append(p, "s", nil, strings.NewReader(strings.Repeat("y", 300)), opt)
	var me *Error
	if !errors.As(err, &me) || me.Temporary() || me.Status != "5.2.2" {
		t.Fatalf("err = %#v", err)
	}
	if me.Text != "error writing message: File too large" {
		t.Errorf("text %q", me.Text)
	}
	if !errors.Is(err, syscall.EFBIG) {
		t.Error("not EFBIG")
	}
	if got := readFile(t, p); got != before {
		t.Fatal("not truncated")
	}
	// A big message also fails when the data spans several buffer flushes.
	err = Append(p, "s", nil, strings.NewReader(strings.Repeat("z\n", 1<<17)), opt)
	if !errors.As(err, &me) || me.Status != "5.2.2" {
		t.Fatalf("err = %v", err)
	}
	if got := readFile(t, p); got != before {
		t.Fatal("not truncated")
	}
}

func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, nil, 0600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0700)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{link, sub, fifo} {
		err := Append(p, "s", nil, strings.NewReader("x\n"), testOpts())
		var me *Error
		if !errors.As(err, &me) || me.Temporary() || me.Status != "5.2.0" ||
			me.Text != "destination "+p+" is not a regular file" {
			t.Errorf("%s: err = %v", p, err)
		}
		if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
			t.Errorf("%s: lock left behind", p)
		}
	}
	if b := readFile(t, target); len(b) != 0 {
		t.Error("wrote through symlink")
	}
}

func TestStrictOwnership(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	os.WriteFile(p, nil, 0600)
	opt := testOpts()
	opt.StrictOwnership = true
	opt.UID = os.Getuid() + 1
	err := Append(p, "s", nil, strings.NewReader("x\n"), opt)
	var me *Error
	if !errors.As(err, &me) || !me.Temporary() || me.Status != "4.2.0" ||
		me.Text != "destination "+p+" is not owned by recipient" {
		t.Fatalf("err = %v", err)
	}
	opt.UID = os.Getuid()
	if err := Append(p, "s", nil, strings.NewReader("x\n"), opt); err != nil {
		t.Fatal(err)
	}
}

func TestDotLockHeldAndStale(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	if err := os.WriteFile(p+".lock", nil, 0); err != nil {
		t.Fatal(err)
	}
	err := Append(p, "s", nil, strings.NewReader("x\n"), testOpts())
	var me *Error
	if !errors.As(err, &me) || !me.Temporary() || me.Status != "4.2.0" {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Lstat(p + ".lock"); err != nil {
		t.Fatal("someone else's lock removed")
	}
	// The same lock counts as stale when stale_lock_time is tiny.
	time.Sleep(20 * time.Millisecond)
	opt := testOpts()
	opt.StaleLock = 10 * time.Millisecond
	if err := Append(p, "s", nil, strings.NewReader("x\n"), opt); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(p + ".lock"); !os.IsNotExist(err) {
		t.Fatal("lock not released")
	}
}

func TestFcntlLockWaitsAndTimesOut(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	os.WriteFile(p, nil, 0600)
	other, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := lock.OFD(other, 0); err != nil {
		t.Fatal(err)
	}

	// Times out: 3 attempts x 20ms.
	opt := testOpts()
	opt.DotLock = false
	start := time.Now()
	err = Append(p, "s", nil, strings.NewReader("x\n"), opt)
	var me *Error
	if !errors.As(err, &me) || !me.Temporary() || me.Status != "4.2.0" {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("did not wait: %v", d)
	}

	// Waits until released.
	opt.LockAttempts = 100 // 2s
	done := make(chan error)
	go func() { done <- Append(p, "s", nil, strings.NewReader("x\n"), opt) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("did not block: %v", err)
	default:
	}
	if err := lock.UnlockOFD(other); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "From s  Thu Nov  5 09:06:47 2026\nx\n\n" {
		t.Fatalf("got %q", got)
	}
}

func TestEmptyContent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "u")
	if err := Append(p, "s", nil, bytes.NewReader(nil), testOpts()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "From s  Thu Nov  5 09:06:47 2026\n\n" {
		t.Fatalf("got %q", got)
	}
}

// FuzzAppend checks that the mailbox re-parses into the original lines once
// the ">From " quoting we added is removed.
func FuzzAppend(f *testing.F) {
	f.Add([]byte("From x\n>From y\nplain\n"))
	f.Add([]byte("no newline"))
	f.Add([]byte(""))
	f.Add([]byte("\n\nFrom \nFrom\n"))
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, content []byte) {
		n++
		p := filepath.Join(dir, "mbox")
		os.Remove(p)
		opt := testOpts()
		if err := Append(p, "s@x", []string{"Delivered-To: u@x"}, bytes.NewReader(content), opt); err != nil {
			t.Fatal(err)
		}
		out, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(out, []byte("\n\n")) {
			t.Fatalf("no final blank line: %q", out)
		}
		lines := strings.Split(string(out[:len(out)-2]), "\n")
		if lines[0] != "From s@x  Thu Nov  5 09:06:47 2026" || lines[1] != "Delivered-To: u@x" {
			t.Fatalf("bad head: %q", lines[:2])
		}
		body := lines[2:]
		var orig []string
		if len(content) > 0 {
			orig = strings.Split(strings.TrimSuffix(string(content), "\n"), "\n")
		}
		if len(body) != len(orig) {
			t.Fatalf("got %d lines, want %d: %q", len(body), len(orig), out)
		}
		for i, l := range body {
			if strings.HasPrefix(l, "From ") {
				t.Fatalf("unquoted From_ line %q", l)
			}
			if strings.HasPrefix(orig[i], "From ") {
				if l != ">"+orig[i] {
					t.Fatalf("line %d: %q, want quoted %q", i, l, orig[i])
				}
				l = l[1:]
			}
			if l != orig[i] {
				t.Fatalf("line %d: %q want %q", i, l, orig[i])
			}
		}
	})
}

func TestHardLinkRefused(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "u")
	os.WriteFile(p, nil, 0600)
	if err := os.Link(p, filepath.Join(dir, "other")); err != nil {
		t.Fatal(err)
	}
	err := Append(p, "s", nil, strings.NewReader("x\n"), testOpts())
	var me *Error
	if !errors.As(err, &me) || me.Temporary() || me.Text != "file has 2 hard links" {
		t.Fatalf("err = %v", err)
	}
}
