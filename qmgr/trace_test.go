package main

import (
	"os"
	"strings"
	"sync"
	"testing"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// traceBounce is a fake bounce service that keeps the trace log as it was when each
// trace or success request arrived.
type traceBounce struct {
	mu   sync.Mutex
	logs []string
}

func (e *env) traceBounce() *traceBounce {
	tb := &traceBounce{}
	e.bounce = e.agent("bounce", func(req ipc.Attrs) ipc.Attrs {
		if r := req.Get("request"); r == "trace" || r == "success" {
			b, err := os.ReadFile(e.q.Path(queue.Trace, req.Get("queue_id")))
			tb.mu.Lock()
			tb.logs = append(tb.logs, r+"\n"+string(b))
			tb.mu.Unlock()
			if err == nil {
				os.Remove(e.q.Path(queue.Trace, req.Get("queue_id")))
			}
		}
		return ipc.Attrs{{Name: "status", Value: "0"}}
	})
	return tb
}

func (tb *traceBounce) got() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.logs...)
}

func entries(t *testing.T, log string) []queue.LogEntry {
	t.Helper()
	es, err := queue.ReadLog(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// sendmail -v: every outcome of the first round goes to the trace log, and the bounce
// service is asked for a report (request=trace) before the message is removed.
func TestTraceReport(t *testing.T) {
	e := newEnv(t)
	tb := e.traceBounce()
	e.agent("local", func(req ipc.Attrs) ipc.Attrs {
		if req.Get("recipient") == "nosuch@localhost" {
			return status("5", "5.1.1", "unknown user: \"nosuch\"")(req)
		}
		return status("0", "2.0.0", "delivered to mailbox")(req)
	})
	e.attrs = []string{"trace_flags=1024"}
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost", "nosuch@localhost"}, nil)
	e.waitLog(id + ": removed")
	logs := tb.got()
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "trace\n") {
		t.Fatalf("trace requests: %q", logs)
	}
	es := entries(t, logs[0])
	if len(es) != 2 {
		t.Fatalf("entries %+v", es)
	}
	for _, en := range es {
		switch en.Recipient {
		case "bob@localhost":
			if en.Action != "delivered" || en.Status != "2.0.0" || en.Reason != "delivered to mailbox" {
				t.Errorf("bob: %+v", en)
			}
		case "nosuch@localhost":
			if en.Action != "failed" || en.Status != "5.1.1" {
				t.Errorf("nosuch: %+v", en)
			}
		default:
			t.Errorf("entry %+v", en)
		}
	}
	var reqs []string
	for _, r := range e.bounce.requests() {
		reqs = append(reqs, r.Get("request"))
		if r.Get("queue_id") != id || r.Get("queue_name") != "active" || r.Get("sender") != "alice@example.net" {
			t.Errorf("request %v", r)
		}
	}
	if strings.Join(reqs, " ") != "trace flush" {
		t.Errorf("requests %v", reqs)
	}
}

// Only the first attempt of a traced message is reported: a deferral is reported as
// delayed, the trace flag is then cleared in the queue file, and later rounds add nothing.
func TestTraceFirstAttemptOnly(t *testing.T) {
	e := newEnv(t)
	tb := e.traceBounce()
	a := e.agent("local", status("4", "4.2.0", "mailbox busy"))
	e.attrs = []string{"trace_flags=1024"}
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	logs := tb.got()
	if len(logs) != 1 {
		t.Fatalf("trace requests: %q", logs)
	}
	if es := entries(t, logs[0]); len(es) != 1 || es[0].Action != "delayed" || es[0].Reason != "mailbox busy" {
		t.Fatalf("entries %+v", es)
	}
	env, err := queue.ReadEnvelope(p)
	if err != nil {
		t.Fatal(err)
	}
	if v := env.Attrs["trace_flags"]; v != "0000" {
		t.Fatalf("trace_flags=%q after the report", v)
	}
	e.qm.request(scanDeferred | scanAll)
	e.waitFor("second round", func() bool {
		_, err := os.Stat(p)
		_, aerr := os.Stat(e.q.Path(queue.Active, id))
		return len(a.requests()) == 2 && err == nil && aerr != nil
	})
	if n := len(tb.got()); n != 1 {
		t.Fatalf("%d trace requests after the second round", n)
	}
	if _, err := os.Stat(e.q.Path(queue.Trace, id)); err == nil {
		t.Fatal("second round wrote a trace log")
	}
}

// NOTIFY=SUCCESS: a successful delivery is recorded (relayed when a remote MTA took it) and
// reported with request=success; failures are not, and recipients without SUCCESS are not.
func TestNotifySuccess(t *testing.T) {
	e := newEnv(t)
	tb := e.traceBounce()
	e.agent("smtp", func(req ipc.Attrs) ipc.Attrs {
		return ipc.Attrs{{Name: "status", Value: "0"}, {Name: "dsn", Value: "2.0.0"},
			{Name: "reason", Value: "250 2.0.0 Ok: queued as 1234"}, {Name: "diag_type", Value: "smtp"},
			{Name: "diag_text", Value: "250 2.0.0 Ok: queued as 1234"}, {Name: "mta_type", Value: "dns"},
			{Name: "mta_mname", Value: "mx.example.com"}}
	})
	e.agent("local", status("5", "5.1.1", "unknown user"))
	e.notify = "6" // SUCCESS,FAILURE
	e.start(nil)
	id := e.submit("alice@example.net", []string{"carol@example.com", "nosuch@localhost"}, nil)
	e.waitLog(id + ": removed")
	logs := tb.got()
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "success\n") {
		t.Fatalf("success requests: %q", logs)
	}
	es := entries(t, logs[0])
	if len(es) != 1 || es[0].Recipient != "carol@example.com" || es[0].Action != "relayed" ||
		es[0].MTAName != "mx.example.com" || es[0].DiagText != "250 2.0.0 Ok: queued as 1234" || es[0].Notify != 6 {
		t.Fatalf("entries %+v", es)
	}

	// Without SUCCESS nothing is traced.
	e.notify = "4"
	id = e.submit("alice@example.net", []string{"dave@example.com"}, nil)
	e.waitLog(id + ": removed")
	if n := len(tb.got()); n != 1 {
		t.Fatalf("%d success requests", n)
	}
}

// A report that cannot be sent never holds up the message: it is delivered and removed,
// with a warning, and its trace log goes with it.
func TestTraceServiceDown(t *testing.T) {
	e := newEnv(t)
	e.noBounce = true
	e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	e.attrs = []string{"trace_flags=1024"}
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id + ": removed")
	if !strings.Contains(e.logText(), "warning: "+id+": delivery status notification: connect to bounce service") {
		t.Fatalf("log:\n%s", e.logText())
	}
	if _, err := os.Stat(e.q.Path(queue.Trace, id)); err == nil {
		t.Fatal("trace log left behind")
	}
}

func TestClearTraceFlagsNone(t *testing.T) {
	e := newEnv(t)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	p := e.q.Path(queue.Incoming, id)
	before, _ := os.ReadFile(p)
	if err := clearTraceFlags(p); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(p)
	if string(before) != string(after) {
		t.Fatal("file without trace flags changed")
	}
}
