package main

import (
	"bufio"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// connAgent is a fake agent on private/local whose serve decides, per connection, what
// happens after each request: it gets the connection, its reader and the request number
// on that connection (0 first), and reports whether to go on.
type connAgent struct {
	mu   sync.Mutex
	seen []string // queue_id of every request read
}

func (e *env) connAgent(serve func(c net.Conn, n int, req ipc.Attrs) bool) *connAgent {
	ln, err := net.Listen("unix", e.q.Socket("private", "local"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ln.Close() })
	a := &connAgent{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for n := 0; ; n++ {
					req, err := ipc.Read(r)
					if err != nil {
						return
					}
					a.mu.Lock()
					a.seen = append(a.seen, req.Get("queue_id"))
					a.mu.Unlock()
					if !serve(c, n, req) {
						return
					}
				}
			}()
		}
	}()
	return a
}

func (a *connAgent) count(id string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, s := range a.seen {
		if s == id {
			n++
		}
	}
	return n
}

var delivered = ipc.Attrs{{Name: "status", Value: "0"}, {Name: "dsn", Value: "2.0.0"}, {Name: "reason", Value: "delivered"}}

// TestPooledConnClosed: an agent that closes its connection after a reply (max_use, max_idle)
// leaves a dead connection in qmgr's pool; the next request finds it out on the write and
// goes over a fresh connection, without a warning or a deferral.
func TestPooledConnClosed(t *testing.T) {
	e := newEnv(t)
	a := e.connAgent(func(c net.Conn, n int, req ipc.Attrs) bool {
		ipc.Write(c, delivered)
		return false // one request per connection
	})
	e.start(nil)
	for i := 0; i < 3; i++ {
		id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
		e.waitLog(id + ": removed")
		if n := a.count(id); n != 1 {
			t.Fatalf("%s: %d requests, want 1", id, n)
		}
		time.Sleep(20 * time.Millisecond) // the agent's close is done
	}
	if log := e.logText(); strings.Contains(log, "warning") || strings.Contains(log, "status=deferred") {
		t.Fatalf("log:\n%s", log)
	}
}

// TestPooledConnClosedUnread: an agent that closes a pooled connection with qmgr's next
// request unread (it was exiting) delivered nothing: qmgr sees ECONNRESET, not EOF, and
// sends the request again on a fresh connection.
func TestPooledConnClosedUnread(t *testing.T) {
	e := newEnv(t)
	a := e.connAgent(func(c net.Conn, n int, req ipc.Attrs) bool {
		ipc.Write(c, delivered)
		// Exit without reading what comes next.
		time.Sleep(300 * time.Millisecond)
		return false
	})
	e.start(nil)
	id1 := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id1 + ": removed")
	id2 := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id2 + ": removed")
	if n := a.count(id2); n != 1 {
		t.Fatalf("%d requests for %s, want 1", n, id2)
	}
	if log := e.logText(); strings.Contains(log, "warning") || strings.Contains(log, "status=deferred") {
		t.Fatalf("log:\n%s", log)
	}
}

// TestPooledConnDiesAfterRead: an agent that read the request on a pooled connection and
// died may have delivered it: qmgr does not send it again, it defers the recipient.
func TestPooledConnDiesAfterRead(t *testing.T) {
	e := newEnv(t)
	a := e.connAgent(func(c net.Conn, n int, req ipc.Attrs) bool {
		if n > 0 {
			return false // read, then gone without a reply
		}
		ipc.Write(c, delivered)
		return true
	})
	e.start(nil)
	id1 := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id1 + ": removed")
	id2 := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id2 + ": to=<bob@localhost>, relay=none")
	e.waitFor("deferred file", func() bool { _, err := os.Stat(e.q.Path(queue.Deferred, id2)); return err == nil })
	if n := a.count(id2); n != 1 {
		t.Fatalf("%d requests for %s, want 1 (no second delivery)", n, id2)
	}
	if !strings.Contains(e.logText(), "delivery temporarily suspended: unknown mail transport error") {
		t.Fatalf("log:\n%s", e.logText())
	}
}

// TestDeferLogFromEarlierRun: status logs written before this qmgr started are known to it
// (it lists the log directories at startup): a force-expired message bounces with the reason
// of the defer log an earlier qmgr wrote, and its logs go with it.
func TestDeferLogFromEarlierRun(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("0", "2.0.0", "delivered"))
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	if err := e.q.Move(id, queue.Incoming, queue.Deferred); err != nil {
		t.Fatal(err)
	}
	p := e.q.Path(queue.Deferred, id)
	env, err := queue.ReadEnvelope(p)
	if err != nil {
		t.Fatal(err)
	}
	dl := e.q.Path(queue.Defer, id)
	if err := e.q.MkdirHash(dl); err != nil {
		t.Fatal(err)
	}
	entry := "\nrecipient=bob@localhost\noffset=" + itoa(env.Recipients[0].Offset) +
		"\nstatus=4.2.0\naction=delayed\nreason=mailbox busy\n\n"
	if err := os.WriteFile(dl, []byte(entry), 0600); err != nil {
		t.Fatal(err)
	}
	if ok, err := queue.Expire(p); !ok || err != nil {
		t.Fatalf("Expire: %v %v", ok, err)
	}
	e.start(nil)
	e.waitLog(id + ": removed")
	entries := readLog(t, e.q.Path(queue.Bounce, id))
	if len(entries) != 1 || entries[0].Status != "4.2.0" || entries[0].Reason != "mailbox busy" {
		t.Errorf("bounce log: %+v", entries)
	}
	if _, err := os.Stat(dl); err == nil {
		t.Error("defer log left behind")
	}
}

// TestPruneLogs: the deferred scan forgets the logs of a message that is in no queue any
// more, and keeps those of a message still queued.
func TestPruneLogs(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("4", "4.2.0", "mailbox busy"))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(e.q.Path(queue.Deferred, id)); return err == nil })
	const gone = "4A1B2C3D4E5"
	e.qm.logs.add(gone, logDefer|logTrace)
	e.qm.request(scanDeferred)
	e.waitFor("pruned", func() bool { return !e.qm.logs.has(gone, logDefer|logTrace) })
	if !e.qm.logs.has(id, logDefer) {
		t.Fatal("the deferred message's defer log was forgotten")
	}
}
