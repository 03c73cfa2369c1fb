package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

type record struct {
	typ  byte
	data string
}

// fakeCleanup accepts cleanup streams on public/cleanup, records them and answers status.
type fakeCleanup struct {
	mu      sync.Mutex
	streams [][]record
	status  string
	got     chan struct{}
}

func startCleanup(t *testing.T, q *queue.Queue, status string) *fakeCleanup {
	ln, err := net.Listen("unix", q.Socket("public", "cleanup"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	fc := &fakeCleanup{status: status, got: make(chan struct{}, 100)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fc.serve(c)
		}
	}()
	return fc
}

func (fc *fakeCleanup) serve(c net.Conn) {
	defer c.Close()
	ipc.Write(c, ipc.Attrs{{Name: "queue_id", Value: "4B2C1D9E0"}})
	rr := queue.NewRecordReader(bufio.NewReader(c), 0)
	var recs []record
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			return
		}
		recs = append(recs, record{typ, string(data)})
		if typ == queue.RecEnd {
			break
		}
	}
	fc.mu.Lock()
	fc.streams = append(fc.streams, recs)
	status := fc.status
	fc.mu.Unlock()
	a := ipc.Attrs{{Name: "status", Value: status}}
	if status != "0" {
		a = append(a, ipc.Attr{Name: "dsn", Value: "5.3.4"}, ipc.Attr{Name: "reason", Value: "message file too big"})
	}
	ipc.Write(c, a)
	fc.got <- struct{}{}
}

func setup(t *testing.T) (*pickup, *queue.Queue, string) {
	dir, err := os.MkdirTemp("", "pk") // short: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	q := queue.New(filepath.Join(dir, "q"))
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "maillog")
	cfg, err := config.Parse(strings.NewReader("queue_directory = " + q.Dir + "\nmyhostname = host.example\nmaillog_file = " + logFile + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPickup(cfg, maillog.New("pickup", maillog.Options{MaillogFile: logFile, Hostname: "host"}))
	if err != nil {
		t.Fatal(err)
	}
	return p, q, logFile
}

// writeDrop writes a maildrop file as postdrop does and returns its name.
func writeDrop(t *testing.T, q *queue.Queue, recs []record) string {
	f, err := q.Create(queue.Maildrop, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		f.RecordString(r.typ, r.data)
	}
	if err := f.Commit(0044); err != nil {
		t.Fatal(err)
	}
	return f.ID
}

var goodDrop = []record{{queue.RecTime, "1700000000 5"}, {queue.RecAttr, "rewrite_context=local"}, {queue.RecFullName, "Joe User"},
	{queue.RecSender, "joe"}, {queue.RecAttr, "notify_flags=8"}, {queue.RecRcpt, "alice"}, {queue.RecMesg, ""}, {queue.RecNorm, "To: bob"},
	{queue.RecNorm, "Bcc: carol"}, {queue.RecNorm, ""}, {queue.RecCont, "long"}, {queue.RecNorm, "line"}, {queue.RecXtra, ""}, {queue.RecRcpt, "bob"}, {queue.RecRcpt, "carol"}, {queue.RecEnd, ""}}

func TestPickupStream(t *testing.T) {
	p, q, logFile := setup(t)
	fc := startCleanup(t, q, "0")
	name := writeDrop(t, q, goodDrop)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.run(ctx)
	select {
	case <-fc.got:
	case <-time.After(5 * time.Second):
		t.Fatal("pickup did not hand the file to cleanup")
	}
	fc.mu.Lock()
	recs := fc.streams[0]
	fc.mu.Unlock()
	uid := os.Getuid()
	var got []string
	for _, r := range recs {
		got = append(got, string(r.typ)+" "+r.data)
	}
	want := []string{"T 1700000000 5", "A rewrite_context=local", "A log_message_origin=local", "F Joe User", "S joe",
		"A notify_flags=8", "O alice", "R alice", "M ",
		"N Received: by host.example (Postfix, from userid " + strconv.Itoa(uid) + ")",
		"N \tid 4B2C1D9E0; ", // date checked below
		"N To: bob", "N Bcc: carol", "N ", "L long", "N line", "X ", "R bob", "R carol", "E "}
	if len(got) != len(want) {
		t.Fatalf("stream:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if i == 10 {
			if !strings.HasPrefix(got[i], want[i]) || !strings.HasSuffix(got[i], ")") {
				t.Errorf("record %d = %q, want %q + date", i, got[i], want[i])
			}
			continue
		}
		if got[i] != want[i] {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
	waitGone(t, filepath.Join(q.Dir, "maildrop", name))
	waitLog(t, logFile, "postfix/pickup[")
	waitLog(t, logFile, ": 4B2C1D9E0: uid="+strconv.Itoa(uid)+" from=<joe>")
}

func TestPickupRejectAndRetry(t *testing.T) {
	p, q, logFile := setup(t)
	// No cleanup yet: the file stays.
	name := writeDrop(t, q, goodDrop)
	if r := p.file(name); r != resultRetry {
		t.Fatalf("without cleanup: result %d, want retry", r)
	}
	if _, err := os.Stat(filepath.Join(q.Dir, "maildrop", name)); err != nil {
		t.Fatalf("file gone after failed attempt: %v", err)
	}
	// A 4xx keeps it, a 5xx removes it with a warning.
	fc := startCleanup(t, q, "451")
	if r := p.file(name); r != resultRetry {
		t.Fatalf("451: result %d, want retry", r)
	}
	fc.mu.Lock()
	fc.status = "552"
	fc.mu.Unlock()
	if r := p.file(name); r != resultDone {
		t.Fatalf("552: result %d, want done", r)
	}
	if _, err := os.Stat(filepath.Join(q.Dir, "maildrop", name)); !os.IsNotExist(err) {
		t.Fatalf("file kept after 5xx: %v", err)
	}
	waitLog(t, logFile, "message rejected by cleanup: 552 5.3.4 message file too big")
}

func TestPickupCorrupt(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []record
	}{
		{"queue record", []record{{queue.RecSize, "x"}, {queue.RecSender, "a"}, {queue.RecRcpt, "b"}, {queue.RecMesg, ""}, {queue.RecXtra, ""}, {queue.RecEnd, ""}}},
		{"no end", []record{{queue.RecSender, "a"}, {queue.RecRcpt, "b"}, {queue.RecMesg, ""}, {queue.RecXtra, ""}}},
		{"no sender", []record{{queue.RecRcpt, "b"}, {queue.RecMesg, ""}, {queue.RecXtra, ""}, {queue.RecEnd, ""}}},
		{"trailing", []record{{queue.RecSender, "a"}, {queue.RecRcpt, "b"}, {queue.RecMesg, ""}, {queue.RecXtra, ""}, {queue.RecEnd, ""}, {queue.RecNorm, "x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, q, logFile := setup(t)
			fc := startCleanup(t, q, "0")
			name := writeDrop(t, q, tc.recs)
			if r := p.file(name); r != resultDone {
				t.Fatalf("result %d", r)
			}
			if _, err := os.Stat(filepath.Join(q.Dir, "corrupt", name)); err != nil {
				t.Fatalf("not in corrupt/: %v", err)
			}
			if _, err := os.Stat(filepath.Join(q.Dir, "maildrop", name)); !os.IsNotExist(err) {
				t.Fatalf("still in maildrop: %v", err)
			}
			if len(fc.streams) != 0 {
				t.Fatal("corrupt file reached cleanup")
			}
			waitLog(t, logFile, `saving corrupt file "`+name+`" from queue "maildrop" to queue "corrupt"`)
		})
	}
	// Garbage bytes too.
	p, q, _ := setup(t)
	path := filepath.Join(q.Dir, "maildrop", "ABCDEF123")
	os.WriteFile(path, []byte("hello world\n"), 0744)
	p.file("ABCDEF123")
	if _, err := os.Stat(filepath.Join(q.Dir, "corrupt", "ABCDEF123")); err != nil {
		t.Fatalf("garbage not in corrupt/: %v", err)
	}
}

func TestPickupSkips(t *testing.T) {
	p, q, _ := setup(t)
	fc := startCleanup(t, q, "0")
	md := filepath.Join(q.Dir, "maildrop")
	// Being written (0600), a symlink, and a hard link to another file.
	os.WriteFile(filepath.Join(md, "AAAA1"), []byte("x"), 0600)
	secret := filepath.Join(q.Dir, "secret")
	os.WriteFile(secret, []byte("x"), 0744)
	os.Symlink(secret, filepath.Join(md, "AAAA2"))
	os.Link(secret, filepath.Join(md, "AAAA3"))
	for _, n := range []string{"AAAA1", "AAAA2"} {
		if r := p.file(n); r != resultSkip {
			t.Errorf("%s: result %d, want skip", n, r)
		}
	}
	p.file("AAAA3")
	if _, err := os.Lstat(filepath.Join(md, "AAAA3")); !os.IsNotExist(err) {
		t.Error("hard link left in maildrop")
	}
	if _, err := os.Stat(secret); err != nil {
		t.Error("hard-linked file harmed")
	}
	if len(fc.streams) != 0 {
		t.Fatal("skipped file reached cleanup")
	}
}

func TestMailDate(t *testing.T) {
	tm := time.Date(2025, 11, 5, 9, 6, 47, 0, time.UTC)
	if got, want := mailDate(tm), "Wed,  5 Nov 2025 09:06:47 +0000 (UTC)"; got != want {
		t.Errorf("mailDate = %q, want %q", got, want)
	}
}

func waitGone(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not removed", path)
}

func waitLog(t *testing.T, file, want string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		b, _ := os.ReadFile(file)
		if strings.Contains(string(b), want) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(file)
	t.Fatalf("log lacks %q:\n%s", want, b)
}
