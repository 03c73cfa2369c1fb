package main

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/queue"
)

// trigger sends request bytes to qmgr as postqueue does over public/qmgr.
func (e *env) trigger(req string) {
	c1, c2 := net.Pipe()
	go e.qm.handleTrigger(c2)
	c1.Write([]byte(req))
	c1.Close()
}

// TestDeferTransports: with defer_transports = local, local mail is deferred with Postfix's
// "4.3.2 deferred transport" and no agent is asked, also on a later queue run that ignores
// retry times (A D); only a flush (F, as in postqueue -f's FADI) delivers it. Mail for
// another transport goes at once.
func TestDeferTransports(t *testing.T) {
	e := newEnv(t)
	local := e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	smtp := e.agent("smtp", status("0", "2.0.0", "250 ok"))
	e.start(map[string]string{"defer_transports": "local, relay"})
	id := e.submit("alice@example.net", []string{"bob@localhost", "carol@example.com"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	line := regexp.MustCompile(regexp.QuoteMeta(id) + `: to=<bob@localhost>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.3\.2, status=deferred \(deferred transport\)`)
	if !line.MatchString(e.logText()) {
		t.Fatalf("no deferred transport line:\n%s", e.logText())
	}
	if n := len(local.requests()); n != 0 {
		t.Fatalf("local agent asked %d times", n)
	}
	if n := len(smtp.requests()); n != 1 {
		t.Fatalf("smtp agent asked %d times, want 1", n)
	}
	b, _ := os.ReadFile(e.q.Path(queue.Defer, id))
	if !strings.Contains(string(b), "\nrecipient=bob@localhost\n") || !strings.Contains(string(b), "\nstatus=4.3.2\naction=delayed\nreason=deferred transport\n") ||
		strings.Contains(string(b), "carol") {
		t.Fatalf("defer log:\n%s", b)
	}

	// A queue run that ignores retry times is not a flush.
	e.trigger("AD")
	e.waitFor("second round", func() bool { return len(line.FindAllString(e.logText(), -1)) == 2 })
	e.waitFor("deferred again", func() bool { _, err := os.Stat(p); return err == nil })
	if n := len(local.requests()); n != 0 {
		t.Fatalf("local agent asked %d times after a queue run", n)
	}

	// postqueue -f.
	e.trigger("FADI")
	e.waitLog(id + ": removed")
	reqs := local.requests()
	if len(reqs) != 1 || reqs[0].Get("recipient") != "bob@localhost" {
		t.Fatalf("local requests after flush: %v", reqs)
	}
	if len(smtp.requests()) != 1 {
		t.Fatal("the delivered smtp recipient was sent again")
	}

	// The flush is for that scan only: new mail is held back again.
	id2 := e.submit("alice@example.net", []string{"dave@localhost"}, nil)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(e.q.Path(queue.Deferred, id2)); return err == nil })
	if n := len(local.requests()); n != 1 {
		t.Fatalf("local agent asked %d times, want still 1", n)
	}
}

// TestDeferTransportsUnthrottle: postqueue -i ID marks one file (group read bit): that message
// goes through a deferred transport on the next deferred scan; the others stay deferred.
func TestDeferTransportsUnthrottle(t *testing.T) {
	e := newEnv(t)
	local := e.agent("local", status("0", "2.0.0", "delivered to mailbox"))
	e.start(map[string]string{"defer_transports": "local"})
	id1 := e.submit("alice@example.net", []string{"bob@localhost"}, nil)
	id2 := e.submit("alice@example.net", []string{"carol@localhost"}, nil)
	for _, id := range []string{id1, id2} {
		p := e.q.Path(queue.Deferred, id)
		e.waitFor("deferred "+id, func() bool { _, err := os.Stat(p); return err == nil })
	}
	p := e.q.Path(queue.Deferred, id1)
	now := time.Now()
	os.Chtimes(p, now, now)
	os.Chmod(p, 0700|queue.Unthrottle)
	e.trigger("D")
	e.waitLog(id1 + ": removed")
	reqs := local.requests()
	if len(reqs) != 1 || reqs[0].Get("recipient") != "bob@localhost" {
		t.Fatalf("local requests: %v", reqs)
	}
	if e.gone(id2) {
		t.Fatal("the other message was delivered too")
	}
}

// TestSoftBounce: with soft_bounce = yes an agent's permanent failure, and qmgr's own (a
// virtual alias domain without the address), is recorded as a deferral with a 4.X.Y status:
// no bounce log, no notice, the recipient stays to do and the message waits in deferred/.
func TestSoftBounce(t *testing.T) {
	e := newEnv(t)
	e.agent("local", status("5", "5.1.1", "unknown user: \"nosuch\""))
	e.start(map[string]string{"soft_bounce": "yes", "virtual_alias_domains": "fossedu.org"})
	id := e.submit("alice@example.net", []string{"nosuch@localhost", "nobody@fossedu.org"}, nil)
	p := e.q.Path(queue.Deferred, id)
	e.waitFor("deferred file", func() bool { _, err := os.Stat(p); return err == nil })
	m, err := queue.ReadEnvelope(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.Recipients[0].Done || m.Recipients[1].Done {
		t.Fatalf("soft-bounced recipient marked done: %+v", m.Recipients)
	}
	if _, err := os.Stat(e.q.Path(queue.Bounce, id)); err == nil {
		t.Fatal("bounce log written")
	}
	if n := len(e.bounce.requests()); n != 0 {
		t.Fatalf("%d bounce service requests", n)
	}
	d, _ := os.ReadFile(e.q.Path(queue.Defer, id))
	for _, want := range []string{"recipient=nosuch@localhost\n", "status=4.1.1\naction=delayed\nreason=unknown user: \"nosuch\"\n",
		"recipient=nobody@fossedu.org\n", "status=4.1.1\naction=delayed\nreason=User unknown in virtual alias table\n"} {
		if !strings.Contains(string(d), want) {
			t.Errorf("defer log lacks %q:\n%s", want, d)
		}
	}
	if !regexp.MustCompile(id + `: to=<nobody@fossedu\.org>, relay=none, delay=[0-9.]+, delays=[0-9./]+, dsn=4\.1\.1, status=SOFTBOUNCE \(User unknown in virtual alias table\)`).MatchString(e.logText()) {
		t.Fatalf("log:\n%s", e.logText())
	}
}

// TestBounceLifetimeAdjusted: bounce_queue_lifetime above maximal_queue_lifetime is lowered
// to it with Postfix's warning.
func TestBounceLifetimeAdjusted(t *testing.T) {
	e := newEnv(t)
	e.start(map[string]string{"maximal_queue_lifetime": "1d", "bounce_queue_lifetime": "5d"})
	e.waitLog("warning: bounce_queue_lifetime is larger than maximal_queue_lifetime - adjusting bounce_queue_lifetime")
	if e.qm.bounceLifetime != 24*time.Hour {
		t.Fatal(e.qm.bounceLifetime)
	}
}
