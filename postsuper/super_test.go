package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/queue"
)

type env struct {
	t   *testing.T
	dir string // config and queue
	q   *queue.Queue
}

func newEnv(t *testing.T) *env {
	dir := t.TempDir()
	qdir := filepath.Join(dir, "spool")
	q := queue.New(qdir)
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	cf := "queue_directory = " + qdir + "\nmaillog_file = " + filepath.Join(dir, "maillog") + "\nmyhostname = mail.example.org\n"
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(cf), 0644); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, q: q}
}

func (e *env) msg(name string) string {
	e.t.Helper()
	w, err := e.q.Create(queue.Incoming, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	w.RecordString(queue.RecTime, "1700000000 0")
	w.RecordString(queue.RecSender, "a@b")
	w.RecordString(queue.RecRcpt, "c@d")
	w.Record(queue.RecMesg, nil)
	w.Line([]byte("x"), 0)
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	if err := w.Commit(0); err != nil {
		e.t.Fatal(err)
	}
	if name != queue.Incoming {
		if err := e.q.Move(w.ID, queue.Incoming, name); err != nil {
			e.t.Fatal(err)
		}
	}
	return w.ID
}

func (e *env) run(stdin string, args ...string) string {
	e.t.Helper()
	var b bytes.Buffer
	if code := run(append([]string{"-c", e.dir}, args...), strings.NewReader(stdin), &b); code != 0 {
		e.t.Fatalf("postsuper %v: exit %d: %s", args, code, b.String())
	}
	return b.String()
}

func (e *env) where(id string) string {
	q, _ := e.q.Find(id)
	return q
}

func TestDelete(t *testing.T) {
	e := newEnv(t)
	a, b, c := e.msg(queue.Deferred), e.msg(queue.Hold), e.msg(queue.Incoming)
	os.MkdirAll(filepath.Dir(e.q.Path(queue.Defer, a)), 0700)
	os.WriteFile(e.q.Path(queue.Defer, a), []byte("x"), 0600)
	os.WriteFile(e.q.Path(queue.Bounce, a), []byte("x"), 0600)
	out := e.run("", "-d", a)
	if out != "postsuper: "+a+": removed\npostsuper: Deleted: 1 message\n" {
		t.Fatalf("%q", out)
	}
	if e.where(a) != "" || e.where(b) != queue.Hold {
		t.Fatal("wrong file removed")
	}
	for _, l := range []string{queue.Defer, queue.Bounce} {
		if _, err := os.Stat(e.q.Path(l, a)); err == nil {
			t.Errorf("%s log left behind", l)
		}
	}
	// ALL limited to one queue; IDs from stdin.
	out = e.run("", "-d", "ALL", "hold")
	if e.where(b) != "" || e.where(c) != queue.Incoming || !strings.Contains(out, "Deleted: 1 message\n") {
		t.Fatalf("ALL hold: %q", out)
	}
	out = e.run(c+"\n", "-d", "-")
	if e.where(c) != "" || !strings.Contains(out, "Deleted: 1 message\n") {
		t.Fatalf("stdin: %q", out)
	}
	// An unknown ID is no error; the summary says so, as Postfix's does.
	if out := e.run("", "-d", "ABCDEF"); out != "postsuper: Deleted: 0 messages\n" {
		t.Fatalf("%q", out)
	}
	log, _ := os.ReadFile(filepath.Join(e.dir, "maillog"))
	if !strings.Contains(string(log), "postfix/postsuper[") || !strings.Contains(string(log), a+": removed") {
		t.Errorf("maillog:\n%s", log)
	}
}

func TestHoldReleaseRequeue(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.msg(queue.Deferred), e.msg(queue.Deferred)
	future := time.Now().Add(time.Hour)
	os.Chtimes(e.q.Path(queue.Deferred, d1), future, future)
	out := e.run("", "-h", d1)
	if e.where(d1) != queue.Hold || out != "postsuper: "+d1+": placed on hold\npostsuper: Placed on hold: 1 message\n" {
		t.Fatalf("hold: %q in %s", out, e.where(d1))
	}
	out = e.run("", "-H", "ALL")
	if e.where(d1) != queue.Deferred || !strings.Contains(out, "Released from hold: 1 message\n") {
		t.Fatalf("release: %q", out)
	}
	fi, _ := os.Stat(e.q.Path(queue.Deferred, d1))
	if fi.ModTime().After(time.Now().Add(time.Second)) {
		t.Error("released message is not due")
	}
	os.MkdirAll(filepath.Dir(e.q.Path(queue.Defer, d2)), 0700)
	os.WriteFile(e.q.Path(queue.Defer, d2), []byte("x"), 0600)
	out = e.run("", "-r", "ALL")
	if e.where(d1) != queue.Incoming || e.where(d2) != queue.Incoming || !strings.Contains(out, "Requeued: 2 messages\n") {
		t.Fatalf("requeue: %q", out)
	}
	if _, err := os.Stat(e.q.Path(queue.Defer, d2)); err == nil {
		t.Error("defer log kept after requeue")
	}
}

// While the mail system runs, active/ is qmgr's.
func TestActiveLeftAloneWhileRunning(t *testing.T) {
	e := newEnv(t)
	a := e.msg(queue.Active)
	ln, err := net.Listen("unix", e.q.Socket("public", "qmgr"))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b := make([]byte, 8)
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := c.Read(b)
			got <- string(b[:n])
			c.Close()
		}
	}()
	out := e.run("", "-d", "ALL")
	if e.where(a) != queue.Active || !strings.Contains(out, "warning: 1 message in the active queue left alone") {
		t.Fatalf("%q", out)
	}
	ln.Close()
	os.Remove(e.q.Socket("public", "qmgr"))
	out = e.run("", "-d", "ALL")
	if e.where(a) != "" || !strings.Contains(out, "Deleted: 1 message") {
		t.Fatalf("system down: %q", out)
	}
}

func TestStructureAndUsage(t *testing.T) {
	e := newEnv(t)
	d := e.msg(queue.Deferred)
	wrong := filepath.Join(e.q.Dir, queue.Deferred, d)
	if err := os.Rename(e.q.Path(queue.Deferred, d), wrong); err != nil {
		t.Fatal(err)
	}
	e.run("")
	if _, err := os.Stat(e.q.Path(queue.Deferred, d)); err != nil {
		t.Fatal("misplaced deferred file not moved into its hash directory")
	}
	var b bytes.Buffer
	if code := run([]string{"-c", e.dir, "-d", "../x"}, strings.NewReader(""), &b); code != 64 {
		t.Fatalf("bad ID: exit %d %q", code, b.String())
	}
	if code := run([]string{"-c", e.dir, "-d", "ALL", "etc"}, strings.NewReader(""), &b); code != 64 {
		t.Fatalf("bad queue: exit %d", code)
	}
	if code := run([]string{"-x"}, strings.NewReader(""), &b); code != 64 {
		t.Fatalf("bad flag: exit %d", code)
	}
}

// TestExpire: -e marks a message force-expired (group execute bit) where it is, once; -f
// also releases it from hold, keeping the mark; maildrop files and files still being
// written are left alone.
func TestExpire(t *testing.T) {
	e := newEnv(t)
	d, h, m := e.msg(queue.Deferred), e.msg(queue.Hold), e.msg(queue.Maildrop)
	mode := func(qn, id string) os.FileMode {
		fi, err := os.Stat(e.q.Path(qn, id))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	out := e.run("", "-e", d)
	if out != "postsuper: "+d+": expired\npostsuper: Force-expired: 1 message\n" || mode(queue.Deferred, d) != 0710 {
		t.Fatalf("-e: %q, mode %o", out, mode(queue.Deferred, d))
	}
	if out := e.run("", "-e", d); out != "postsuper: Force-expired: 0 messages\n" {
		t.Errorf("-e again: %q", out)
	}
	if out := e.run("", "-e", m); out != "postsuper: Force-expired: 0 messages\n" || mode(queue.Maildrop, m) != 0700 {
		t.Errorf("-e maildrop: %q", out)
	}
	out = e.run("", "-f", h)
	if out != "postsuper: "+h+": expired\npostsuper: "+h+": released from hold\npostsuper: Force-expired: 1 message\npostsuper: Released from hold: 1 message\n" ||
		e.where(h) != queue.Deferred || mode(queue.Deferred, h) != 0710 {
		t.Fatalf("-f: %q, in %s", out, e.where(h))
	}
	// A file still being written (0600) is not expired.
	w := e.msg(queue.Incoming)
	os.Chmod(e.q.Path(queue.Incoming, w), 0600)
	if out := e.run(w+"\n", "-e", "-"); out != "postsuper: Force-expired: 0 messages\n" || mode(queue.Incoming, w) != 0600 {
		t.Errorf("-e incomplete: %q", out)
	}
	os.Chmod(e.q.Path(queue.Incoming, w), 0700)
	if out := e.run("", "-e", "ALL", "incoming"); out != "postsuper: "+w+": expired\npostsuper: Force-expired: 1 message\n" {
		t.Errorf("-e ALL incoming: %q", out)
	}
	// A symbolic link in the queue is not followed.
	target := filepath.Join(e.dir, "main.cf")
	link := e.q.Path(queue.Hold, "ABCDEF12345")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(target)
	e.run("", "-e", "ABCDEF12345")
	if after, _ := os.Stat(target); after.Mode() != before.Mode() {
		t.Errorf("followed a symlink: %v -> %v", before.Mode(), after.Mode())
	}
}

// TestPoolIgnored: pool/ holds no messages: -d ALL, -s and -r ALL leave a clean entry alone and
// count nothing; -p removes only the crash leftover (a file with content).
func TestPoolIgnored(t *testing.T) {
	e := newEnv(t)
	id := e.msg(queue.Incoming)
	if err := e.q.Recycle(e.q.Path(queue.Incoming, id)); err != nil {
		t.Fatal(err)
	}
	clean := filepath.Join(e.q.Dir, queue.Pool, id)
	if fi, err := os.Lstat(clean); err != nil || fi.Mode() != 0600 || fi.Size() != 0 {
		t.Fatalf("pool entry: %v %v", fi, err)
	}
	leftover := filepath.Join(e.q.Dir, queue.Pool, "ABCDE1")
	os.WriteFile(leftover, []byte("a delivered message"), 0600)
	os.Chmod(leftover, 0700)
	for _, args := range [][]string{{"-d", "ALL"}, {"-r", "ALL"}, {"-s"}} {
		out := e.run("", args...)
		if strings.Contains(out, id) || strings.Contains(out, "ABCDE1") || strings.Contains(out, "Deleted: 1") {
			t.Fatalf("postsuper %v: %q", args, out)
		}
		for _, p := range []string{clean, leftover} {
			if _, err := os.Lstat(p); err != nil {
				t.Fatalf("postsuper %v: %v", args, err)
			}
		}
	}
	e.run("", "-p")
	if _, err := os.Lstat(leftover); !os.IsNotExist(err) {
		t.Fatalf("leftover after -p: %v", err)
	}
	if _, err := os.Lstat(clean); err != nil {
		t.Fatalf("clean entry after -p: %v", err)
	}
}
