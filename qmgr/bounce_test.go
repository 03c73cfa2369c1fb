package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// A message whose W record time has passed gets one delay warning, then W becomes -1.
func TestDelayWarning(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("4", "4.2.0", "mailbox busy"))
	w, err := e.q.Create(queue.Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w.Record(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(queue.RecTime, itoa(now.Unix())+" 0")
	w.RecordString(queue.RecAttr, "create_time="+itoa(now.Unix()))
	w.RecordString(queue.RecSender, "alice@example.net")
	warnOff := w.Offset()
	w.RecordString(queue.RecWarn, fmt.Sprintf("%15d", now.Unix()-1))
	w.RecordString(queue.RecRcpt, "busy@localhost")
	w.Record(queue.RecMesg, nil)
	start := w.Offset()
	w.Line([]byte("Subject: x"), 0)
	n := w.Offset() - start
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	w.WriteAt(queue.SizeData(n, start, 1, 0, 11, 0), 2)
	if err := w.Commit(0); err != nil {
		t.Fatal(err)
	}
	e.start(nil)
	p := e.q.Path(queue.Deferred, w.ID)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	reqs := e.bounce.requests()
	if len(reqs) != 1 || reqs[0].Get("request") != "warn" || reqs[0].Get("queue_id") != w.ID {
		t.Fatalf("bounce requests %v", reqs)
	}
	m, err := queue.ReadEnvelope(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.WarnTime != -1 || m.WarnOffset != warnOff {
		t.Fatalf("W record %d at %d", m.WarnTime, m.WarnOffset)
	}
	// The next round sends no second warning.
	e.qm.request(scanDeferred | scanAll)
	e.waitFor("second round", func() bool {
		return strings.Count(e.logText(), w.ID+": from=<alice@example.net>") == 2 && e.qm.activeCount() == 0
	})
	if n := len(e.bounce.requests()); n != 1 {
		t.Fatalf("%d bounce requests", n)
	}
}
