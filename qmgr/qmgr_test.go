package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// env is a qmgr under test over a temporary queue directory.
type env struct {
	t   *testing.T
	dir string
	q   *queue.Queue
	qm  *qmgr
	log string
	// bounce is the fake bounce service start provides unless noBounce is set.
	bounce   *agent
	noBounce bool
	// notify is the notify_flags of submitted recipients ("4", FAILURE, when empty);
	// attrs are extra envelope attributes (name=value).
	notify string
	attrs  []string
}

var testParams = map[string]string{
	"myhostname":           "mail.example.org",
	"mydomain":             "example.org",
	"mydestination":        "mail.example.org, localhost",
	"inet_interfaces":      "loopback-only",
	"minimal_backoff_time": "30s",
	"maximal_backoff_time": "60s",
	"queue_run_delay":      "1s",
}

// newEnv prepares the queue; start runs qmgr (so tests can seed active/ first).
func newEnv(t *testing.T) *env {
	dir, err := os.MkdirTemp("", "qm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	q := queue.New(dir)
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, dir: dir, q: q, log: filepath.Join(dir, "maillog")}
}

func (e *env) start(params map[string]string) {
	cfg, err := config.Parse(strings.NewReader(""))
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Override("queue_directory", e.dir)
	for k, v := range testParams {
		cfg.Override(k, v)
	}
	for k, v := range params {
		cfg.Override(k, v)
	}
	if !e.noBounce && e.bounce == nil {
		e.bounce = e.agent("bounce", status("0", "", ""))
	}
	l := maillog.New("qmgr", maillog.Options{MaillogFile: e.log, Hostname: "mail"})
	qm, err := newQmgr(cfg, l)
	if err != nil {
		e.t.Fatal(err)
	}
	e.qm = qm
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	go qm.run(ctx)
}

// submit writes a committed queue file to incoming/ as cleanup would; orig maps a
// recipient to its O record.
func (e *env) submit(sender string, rcpts []string, orig map[string]string) string {
	e.t.Helper()
	w, err := e.q.Create(queue.Incoming, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	w.Record(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(queue.RecTime, strings.Join([]string{itoa(now.Unix()), itoa(int64(now.Nanosecond() / 1000))}, " "))
	w.RecordString(queue.RecAttr, "create_time="+itoa(now.Unix()))
	w.RecordString(queue.RecAttr, "rewrite_context=remote")
	w.RecordString(queue.RecSender, sender)
	w.RecordString(queue.RecAttr, "client_name=client.example.org")
	w.RecordString(queue.RecAttr, "client_address=192.0.2.7")
	w.RecordString(queue.RecAttr, "protocol_name=ESMTP")
	w.RecordString(queue.RecAttr, "helo_name=helo.example.org")
	for _, a := range e.attrs {
		w.RecordString(queue.RecAttr, a)
	}
	notify := e.notify
	if notify == "" {
		notify = "4"
	}
	for _, r := range rcpts {
		w.RecordString(queue.RecAttr, "notify_flags="+notify)
		w.RecordString(queue.RecAttr, "dsn_orig_rcpt=rfc822;"+r)
		o := r
		if orig[r] != "" {
			o = orig[r]
		}
		w.RecordString(queue.RecOrig, o)
		w.RecordString(queue.RecRcpt, r)
	}
	w.Record(queue.RecMesg, nil)
	start := w.Offset()
	lines := []string{"Subject: test", "", "hello"}
	var size int64
	for _, l := range lines {
		w.Line([]byte(l), 0)
		size += int64(len(l)) + 1
	}
	content := w.Offset() - start
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	if err := w.WriteAt(queue.SizeData(content, start, int64(len(rcpts)), 0, size, 0), 2); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Commit(0); err != nil {
		e.t.Fatal(err)
	}
	if e.qm != nil {
		e.qm.request(scanIncoming)
	}
	return w.ID
}

func itoa(n int64) string { return strings.TrimSpace(string(queue.SizeData(n, 0, 0, 0, 0, 0)[:15])) }

func (e *env) logText() string {
	b, _ := os.ReadFile(e.log)
	return string(b)
}

func (e *env) waitLog(want string) {
	e.t.Helper()
	e.waitFor("log line "+want, func() bool { return strings.Contains(e.logText(), want) })
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s; log:\n%s", what, e.logText())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// agent is a fake delivery agent on private/NAME.
type agent struct {
	mu       sync.Mutex
	reqs     []ipc.Attrs
	inflight map[string]int
	maxAll   int
	maxDest  int
	all      int
	ln       net.Listener
	// reply decides the answer; nil reply = close the connection without answering.
	reply func(req ipc.Attrs) ipc.Attrs
	delay time.Duration
}

func (e *env) agent(name string, reply func(ipc.Attrs) ipc.Attrs) *agent {
	ln, err := net.Listen("unix", e.q.Socket("private", name))
	if err != nil {
		e.t.Fatal(err)
	}
	a := &agent{ln: ln, reply: reply, inflight: map[string]int{}}
	e.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go a.serve(c)
		}
	}()
	return a
}

func (a *agent) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		req, err := ipc.Read(r)
		if err != nil {
			return
		}
		rcpt := req.Get("recipient")
		a.mu.Lock()
		a.reqs = append(a.reqs, req)
		a.all++
		a.inflight[rcpt]++
		a.maxAll = max(a.maxAll, a.all)
		a.maxDest = max(a.maxDest, a.inflight[rcpt])
		a.mu.Unlock()
		time.Sleep(a.delay)
		rep := a.reply(req)
		a.mu.Lock()
		a.all--
		a.inflight[rcpt]--
		a.mu.Unlock()
		if rep == nil {
			return
		}
		if err := ipc.Write(c, rep); err != nil {
			return
		}
	}
}

func (a *agent) requests() []ipc.Attrs {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ipc.Attrs(nil), a.reqs...)
}

func status(code, dsnCode, reason string) func(ipc.Attrs) ipc.Attrs {
	return func(ipc.Attrs) ipc.Attrs {
		return ipc.Attrs{{Name: "status", Value: code}, {Name: "dsn", Value: dsnCode}, {Name: "reason", Value: reason}}
	}
}

func (e *env) gone(id string) bool {
	_, ok := e.q.Find(id)
	return !ok
}

func TestDeliverAndRemove(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", status("0", "2.0.0", "delivered to maildir"))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@mail.example.org", "carol"}, map[string]string{"bob@mail.example.org": "Bob@localhost"})
	e.waitLog(id + ": removed")
	if !e.gone(id) {
		t.Fatalf("%s still queued", id)
	}
	log := e.logText()
	if !strings.Contains(log, id+": from=<alice@example.net>, size=21, nrcpt=2 (queue active)") {
		t.Fatalf("no from= line:\n%s", log)
	}
	reqs := a.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	seen := map[string]ipc.Attrs{}
	for _, r := range reqs {
		seen[r.Get("recipient")] = r
	}
	r := seen["bob@mail.example.org"]
	if r == nil || seen["carol"] == nil {
		t.Fatalf("requests %v", reqs)
	}
	for name, want := range map[string]string{
		"queue_name": "active", "queue_id": id, "sender": "alice@example.net", "orig_recipient": "Bob@localhost",
		"notify_flags": "4", "dsn_orig_rcpt": "rfc822;bob@mail.example.org", "client_name": "client.example.org",
		"client_address": "192.0.2.7", "client_protocol": "ESMTP", "client_helo": "helo.example.org",
	} {
		if got := r.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if r.Int("content_offset") <= 0 || r.Int("rcpt_offset") <= 0 || !strings.Contains(r.Get("arrival_time"), ".") {
		t.Errorf("offsets/times %v", r)
	}
	if _, err := os.Stat(e.q.Path(queue.Defer, id)); err == nil {
		t.Error("defer log left behind")
	}
}

func TestTemporaryFailure(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("4", "4.2.0", "mailbox busy"))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, map[string]string{"bob@localhost": "Bob@Example.ORG"})
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	if filepath.Base(filepath.Dir(p)) != id[:1] {
		t.Fatalf("not hashed: %s", p)
	}
	fi, _ := os.Stat(p)
	if d := time.Until(fi.ModTime()); d < 25*time.Second || d > 31*time.Second {
		t.Fatalf("retry time %v from now, want ~30s (minimal_backoff_time)", d)
	}
	b, err := os.ReadFile(e.q.Path(queue.Defer, id))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := queue.ReadEnvelope(p)
	want := "\n<bob@localhost>: mailbox busy\nrecipient=bob@localhost\noriginal_recipient=Bob@Example.ORG\noffset=" +
		itoa(m.Recipients[0].Offset) + "\ndsn_orig_rcpt=rfc822;bob@localhost\nnotify_flags=4\nstatus=4.2.0\naction=delayed\nreason=mailbox busy\n\n"
	if string(b) != want {
		t.Fatalf("defer log\n%q\nwant\n%q", b, want)
	}
	if m.Recipients[0].Done {
		t.Fatal("deferred recipient marked done")
	}
	if strings.Contains(e.logText(), "removed") {
		t.Fatal("deferred message logged as removed")
	}
}

func TestPermanentFailure(t *testing.T) {
	e := newEnv(t)
	e.agent("local", func(req ipc.Attrs) ipc.Attrs {
		if req.Get("recipient") == "nosuch@localhost" {
			return status("5", "5.1.1", "unknown user: \"nosuch\"")(req)
		}
		return status("4", "4.2.0", "try later")(req)
	})
	e.start(nil)
	id := e.submit("alice@example.net", []string{"nosuch@localhost", "busy@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	m, err := queue.ReadEnvelope(p)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Recipients[0].Done || m.Recipients[1].Done {
		t.Fatalf("done flags %+v", m.Recipients)
	}
	b, _ := os.ReadFile(e.q.Path(queue.Bounce, id))
	for _, want := range []string{"recipient=nosuch@localhost\n", "status=5.1.1\n", "action=failed\n", "reason=unknown user: \"nosuch\"\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("bounce log lacks %q:\n%s", want, b)
		}
	}
	d, _ := os.ReadFile(e.q.Path(queue.Defer, id))
	if strings.Contains(string(d), "nosuch") || !strings.Contains(string(d), "recipient=busy@localhost") {
		t.Errorf("defer log:\n%s", d)
	}
}

func TestRestartRetriesRemaining(t *testing.T) {
	e := newEnv(t)
	id := e.submit("alice@example.net", []string{"one@localhost", "two@localhost"}, nil)
	m, _ := queue.ReadEnvelope(e.q.Path(queue.Incoming, id))
	if err := queue.MarkDone(e.q.Path(queue.Incoming, id), m.Recipients[0].Offset); err != nil {
		t.Fatal(err)
	}
	if err := e.q.Move(id, queue.Incoming, queue.Active); err != nil {
		t.Fatal(err)
	}
	a := e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	e.start(nil)
	e.waitLog(id + ": removed")
	reqs := a.requests()
	if len(reqs) != 1 || reqs[0].Get("recipient") != "two@localhost" {
		t.Fatalf("requests %v, want only two@localhost", reqs)
	}
}

func TestAgentDiesMidRequest(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", func(ipc.Attrs) ipc.Attrs { return nil })
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	if len(a.requests()) != 1 {
		t.Fatalf("requests %v", a.requests())
	}
	b, _ := os.ReadFile(e.q.Path(queue.Defer, id))
	if !strings.Contains(string(b), "reason=delivery temporarily suspended: unknown mail transport error\n") ||
		!strings.Contains(string(b), "status=4.3.0\n") {
		t.Fatalf("defer log:\n%s", b)
	}
	if !strings.Contains(e.logText(), id+": to=<bob@localhost>, relay=none, delay=") ||
		!strings.Contains(e.logText(), "dsn=4.3.0, status=deferred (delivery temporarily suspended: unknown mail transport error)") {
		t.Fatalf("log:\n%s", e.logText())
	}
}

func TestNoSMTPTransport(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	e.start(nil)
	id := e.submit("alice@localhost", []string{"bob@remote.example", "carol@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	log := e.logText()
	if !strings.Contains(log, "warning: connect to transport private/smtp: No such file or directory") {
		t.Errorf("no connect warning:\n%s", log)
	}
	line := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "to=<bob@remote.example>") {
			line = l
		}
	}
	if !strings.Contains(line, "relay=none, delay=") || !strings.HasSuffix(line, ", dsn=4.3.0, status=deferred (mail transport unavailable)") {
		t.Fatalf("delivery line %q", line)
	}
	m, _ := queue.ReadEnvelope(p)
	if m.Recipients[0].Done || !m.Recipients[1].Done {
		t.Fatalf("done flags %+v", m.Recipients)
	}
	b, _ := os.ReadFile(e.q.Path(queue.Defer, id))
	if !strings.Contains(string(b), "reason=mail transport unavailable\n") {
		t.Fatalf("defer log:\n%s", b)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	a.delay = 30 * time.Millisecond
	e.start(nil)
	var ids []string
	for i := 0; i < 20; i++ {
		ids = append(ids, e.submit("alice@localhost", []string{"user" + itoa(int64(i)) + "@localhost"}, nil))
	}
	for i := 0; i < 6; i++ {
		ids = append(ids, e.submit("alice@localhost", []string{"same@localhost"}, nil))
	}
	for _, id := range ids {
		e.waitLog(id + ": removed")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maxAll < 2 {
		t.Errorf("at most %d deliveries in flight, want parallel deliveries", a.maxAll)
	}
	if a.maxDest > 2 {
		t.Errorf("%d concurrent deliveries to one recipient, local_destination_concurrency_limit is 2", a.maxDest)
	}
	if len(a.reqs) != 26 {
		t.Errorf("%d requests, want 26", len(a.reqs))
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("4", "4.2.0", "mailbox busy"))
	e.start(map[string]string{"maximal_queue_lifetime": "0"})
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	e.waitLog(id + ": removed")
	if !strings.Contains(e.logText(), id+": from=<alice@example.net>, status=expired, returned to sender") {
		t.Fatalf("log:\n%s", e.logText())
	}
	b, _ := os.ReadFile(e.q.Path(queue.Bounce, id))
	if !strings.Contains(string(b), "recipient=bob@localhost\n") || !strings.Contains(string(b), "action=failed\n") ||
		!strings.Contains(string(b), "status=4.2.0\n") {
		t.Fatalf("bounce log:\n%s", b)
	}
	if _, err := os.Stat(e.q.Path(queue.Defer, id)); err == nil {
		t.Error("defer log left behind")
	}
}

func TestDeferredRetry(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	fail := true
	a := e.agent("local", func(req ipc.Attrs) ipc.Attrs {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return status("4", "4.2.0", "busy")(req)
		}
		return status("0", "2.0.0", "delivered")(req)
	})
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	mu.Lock()
	fail = false
	mu.Unlock()
	// Not due for 30s: a plain deferred scan leaves it; A + D takes it anyway.
	e.qm.request(scanDeferred)
	time.Sleep(100 * time.Millisecond)
	if len(a.requests()) != 1 {
		t.Fatalf("retried before its time: %d requests", len(a.requests()))
	}
	c1, c2 := net.Pipe()
	go e.qm.handleTrigger(c2)
	c1.Write([]byte("AD"))
	c1.Close()
	e.waitLog(id + ": removed")
	if n := strings.Count(e.logText(), id+": from=<alice@example.net>"); n != 2 {
		t.Fatalf("%d from= lines, want one per round", n)
	}
}

func TestDoubleBounceAndCorrupt(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", status("0", "2.0.0", "delivered"))
	e.start(nil)
	id := e.submit("", []string{"double-bounce@mail.example.org"}, nil)
	e.waitLog(id + ": removed")
	if len(a.requests()) != 0 {
		t.Fatal("double-bounce mail was delivered")
	}
	if !strings.Contains(e.logText(), id+": to=<double-bounce@mail.example.org>, relay=none") {
		t.Fatalf("log:\n%s", e.logText())
	}
	w, _ := e.q.Create(queue.Incoming, 0)
	w.RecordString(queue.RecSender, "x")
	w.Commit(0)
	e.qm.request(scanIncoming)
	e.waitLog(`warning: saving corrupt file "` + w.ID + `" from queue "active" to queue "corrupt"`)
	if _, err := os.Stat(e.q.Path(queue.Corrupt, w.ID)); err != nil {
		t.Fatal(err)
	}
}

func TestResolve(t *testing.T) {
	cfg, _ := config.Parse(strings.NewReader(""))
	for k, v := range testParams {
		cfg.Override(k, v)
	}
	r, err := newResolver(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]route{
		"u@mail.example.org": {"local", "mail.example.org"},
		"u@LOCALHOST":        {"local", "mail.example.org"},
		"u":                  {"local", "mail.example.org"},
		"u@[127.0.0.1]":      {"local", "mail.example.org"},
		"u@[192.0.2.1]":      {"smtp", "[192.0.2.1]"},
		"u@Example.COM":      {"smtp", "example.com"},
	} {
		if got := r.resolve(rcpt); got != want {
			t.Errorf("resolve(%q) = %v, want %v", rcpt, got, want)
		}
	}
}

// TestVirtualAliasDomainUnknown: a recipient still in a virtual alias domain when it reaches
// qmgr matched no virtual alias, so it bounces with Postfix's text, without any agent.
func TestVirtualAliasDomainUnknown(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	e.start(map[string]string{"virtual_alias_domains": "fossedu.org"})
	id := e.submit("alice@example.net", []string{"nobody@fossedu.org", "bob@localhost"}, nil)
	e.waitLog("to=<nobody@fossedu.org>, relay=none")
	e.waitFor("bounce log", func() bool {
		b, _ := os.ReadFile(e.q.Path(queue.Bounce, id))
		return strings.Contains(string(b), "reason=User unknown in virtual alias table\n")
	})
	if !strings.Contains(e.logText(), "dsn=5.1.1, status=bounced (User unknown in virtual alias table)") {
		t.Fatalf("log:\n%s", e.logText())
	}
}

// TestForceExpireWithDeferLog: a deferred message force-expired with postsuper -e is not
// tried again at its next round; its recipients bounce with the reason of their last
// deferral, and qmgr logs "status=force-expired".
func TestForceExpireWithDeferLog(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", status("4", "4.2.0", "mailbox busy"))
	e.start(nil)
	id := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	if ok, err := queue.Expire(p); !ok || err != nil {
		t.Fatalf("Expire: %v %v", ok, err)
	}
	if ok, _ := queue.Expire(p); ok {
		t.Error("expired twice")
	}
	c1, c2 := net.Pipe()
	go e.qm.handleTrigger(c2)
	c1.Write([]byte("AD"))
	c1.Close()
	e.waitLog(id + ": removed")
	if !strings.Contains(e.logText(), id+": from=<alice@example.net>, status=force-expired, returned to sender") {
		t.Fatalf("log:\n%s", e.logText())
	}
	if n := len(a.requests()); n != 1 {
		t.Errorf("%d delivery requests, want 1 (none after the expiry)", n)
	}
	entries := readLog(t, e.q.Path(queue.Bounce, id))
	if len(entries) != 1 || entries[0].Recipient != "bob@localhost" || entries[0].Action != "failed" ||
		entries[0].Status != "4.2.0" || entries[0].Reason != "mailbox busy" {
		t.Errorf("bounce log: %+v", entries)
	}
	if reqs := e.bounce.requests(); len(reqs) != 1 || reqs[0].Get("request") != "flush" || reqs[0].Get("queue_id") != id {
		t.Errorf("bounce requests: %v", reqs)
	}
}

// TestForceExpireNoDeferLog: a force-expired message that was never deferred (postsuper -e
// on new mail) is returned with "message is administratively expired", as Postfix's retry
// service says it, without a delivery attempt.
func TestForceExpireNoDeferLog(t *testing.T) {
	e := newEnv(t)
	a := e.agent("local", status("0", "2.0.0", "delivered"))
	id := e.submit("alice@example.net", []string{"bob@localhost", "carol@localhost"}, nil)
	if ok, err := queue.Expire(e.q.Path(queue.Incoming, id)); !ok || err != nil {
		t.Fatalf("Expire: %v %v", ok, err)
	}
	e.start(nil)
	e.qm.request(scanIncoming)
	e.waitLog(id + ": removed")
	log := e.logText()
	for _, r := range []string{"bob@localhost", "carol@localhost"} {
		if !regexpMatch(id+`: to=<`+r+`>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.7\.0, status=deferred \(message is administratively expired\)`, log) {
			t.Errorf("no deferral logged for %s:\n%s", r, log)
		}
	}
	if !strings.Contains(log, id+": from=<alice@example.net>, status=force-expired, returned to sender") {
		t.Errorf("log:\n%s", log)
	}
	if n := len(a.requests()); n != 0 {
		t.Errorf("%d delivery requests for a force-expired message", n)
	}
	entries := readLog(t, e.q.Path(queue.Bounce, id))
	if len(entries) != 2 || entries[0].Status != "4.7.0" || entries[0].Reason != "message is administratively expired" ||
		entries[1].Recipient != "carol@localhost" {
		t.Errorf("bounce log: %+v", entries)
	}
}

func readLog(t *testing.T, path string) []queue.LogEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := queue.ReadLog(f)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
