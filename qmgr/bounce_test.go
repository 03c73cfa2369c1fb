package main

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

func TestBounceFlushed(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("5", "5.1.1", "unknown user: \"nosuch\""))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"nosuch@localhost"}, nil)
	e.waitLog(id + ": removed")
	reqs := e.bounce.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d bounce requests", len(reqs))
	}
	r := reqs[0]
	if r.Get("request") != "flush" || r.Get("queue_id") != id || r.Get("queue_name") != "active" ||
		r.Get("sender") != "alice@example.net" {
		t.Fatalf("request %v", r)
	}
}

// A bounce service that is down or fails keeps the message (and its log) queued; once it
// works the notice goes out and the message is removed.
func TestBounceServiceDown(t *testing.T) {
	e := newEnv(t)
	e.noBounce = true
	e.agent("local", status("5", "5.1.1", "unknown user: \"nosuch\""))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"nosuch@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	if _, err := os.Stat(e.q.Path(queue.Bounce, id)); err != nil {
		t.Fatal("bounce log lost")
	}
	if !strings.Contains(e.logText(), "warning: "+id+": bounce notification: connect to bounce service") {
		t.Fatalf("log:\n%s", e.logText())
	}

	var failing atomic.Bool
	failing.Store(true)
	b := e.agent("bounce", func(ipc.Attrs) ipc.Attrs {
		if failing.Load() {
			return ipc.Attrs{{Name: "status", Value: "1"}, {Name: "reason", Value: "cleanup down"}}
		}
		return ipc.Attrs{{Name: "status", Value: "0"}}
	})
	e.qm.request(scanDeferred | scanAll)
	e.waitLog(id + ": bounce notification: bounce service: cleanup down")
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	failing.Store(false)
	e.qm.request(scanDeferred | scanAll)
	e.waitLog(id + ": removed")
	if n := len(b.requests()); n != 2 {
		t.Fatalf("%d bounce requests", n)
	}
}

// Expiry and this round's bounces make one request.
func TestExpiryOneNotice(t *testing.T) {
	e := newEnv(t)
	e.agent("local", func(req ipc.Attrs) ipc.Attrs {
		if req.Get("recipient") == "nosuch@localhost" {
			return status("5", "5.1.1", "unknown user")(req)
		}
		return status("4", "4.2.0", "busy")(req)
	})
	e.start(map[string]string{"maximal_queue_lifetime": "0"})
	id := e.submit("alice@example.net", []string{"nosuch@localhost", "busy@localhost"}, nil)
	e.waitLog(id + ": removed")
	if n := len(e.bounce.requests()); n != 1 {
		t.Fatalf("%d bounce requests", n)
	}
}
