package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

type posted struct {
	sender, rcpt string
	text         string
}

type env struct {
	t     *testing.T
	dir   string
	q     *queue.Queue
	s     *server
	logf  string
	posts []posted
	fail  error
}

func newEnv(t *testing.T, params map[string]string) *env {
	dir := t.TempDir()
	q := queue.New(dir)
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Override("queue_directory", dir)
	cfg.Override("myhostname", "mail.example.org")
	cfg.Override("mydomain", "example.org")
	for k, v := range params {
		cfg.Override(k, v)
	}
	e := &env{t: t, dir: dir, q: q, logf: filepath.Join(dir, "maillog")}
	l := maillog.New("bounce", maillog.Options{MaillogFile: e.logf, Hostname: "mail"})
	s, err := newServer(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	s.post = func(sender, rcpt string, lines []string) (string, error) {
		if e.fail != nil {
			return "", e.fail
		}
		e.posts = append(e.posts, posted{sender, rcpt, strings.Join(lines, "\n") + "\n"})
		return "NEW" + strconv.Itoa(len(e.posts)), nil
	}
	e.s = s
	return e
}

// queueFile writes a ready queue file into active/ with the given content lines.
func (e *env) queueFile(sender string, rcpts []string, content []string, attrs ...string) string {
	e.t.Helper()
	w, err := e.q.Create(queue.Active, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	w.Record(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(queue.RecTime, "1700000000 5")
	w.RecordString(queue.RecAttr, "create_time=1700000000")
	w.RecordString(queue.RecSender, sender)
	for _, a := range attrs {
		w.RecordString(queue.RecAttr, a)
	}
	for _, r := range rcpts {
		w.RecordString(queue.RecAttr, "dsn_orig_rcpt=rfc822;"+r)
		w.RecordString(queue.RecOrig, r)
		w.RecordString(queue.RecRcpt, r)
	}
	w.Record(queue.RecMesg, nil)
	start := w.Offset()
	var size int64
	for _, l := range content {
		w.Line([]byte(l), 0)
		size += int64(len(l)) + 1
	}
	n := w.Offset() - start
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	w.WriteAt(queue.SizeData(n, start, int64(len(rcpts)), 0, size, 0), 2)
	if err := w.Commit(0); err != nil {
		e.t.Fatal(err)
	}
	return w.ID
}

func (e *env) writeLog(name, id, text string) {
	e.t.Helper()
	p := e.q.Path(name, id)
	os.MkdirAll(filepath.Dir(p), 0700)
	if err := os.WriteFile(p, []byte(text), 0600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) logText() string {
	b, _ := os.ReadFile(e.logf)
	return string(b)
}

const unknownUser = "\n<nosuch@mail.example.org>: unknown user: \"nosuch\"\n" +
	"recipient=nosuch@mail.example.org\noffset=123\ndsn_orig_rcpt=rfc822;nosuch@mail.example.org\n" +
	"status=5.1.1\naction=failed\nreason=unknown user: \"nosuch\"\n\n"

var original = []string{
	"Received: from client (client [192.0.2.1])",
	"From: alice@example.net",
	"To: nosuch@mail.example.org",
	"Subject: hello",
	"Message-ID: <abc@example.net>",
	"",
	"body line",
}

func req(id string) ipc.Attrs {
	return ipc.Attrs{{Name: "request", Value: "flush"}, {Name: "queue_name", Value: "active"},
		{Name: "queue_id", Value: id}, {Name: "sender", Value: "alice@example.net"}}
}

// parts parses a notice with go-message and returns the top entity and its parts' headers and
// bodies.
func parts(t *testing.T, text string) (*message.Entity, []message.Header, []string) {
	t.Helper()
	ent, err := message.Read(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	mr := ent.MultipartReader()
	if mr == nil {
		t.Fatalf("not multipart:\n%s", text)
	}
	var hs []message.Header
	var bodies []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v\n%s", err, text)
		}
		b, _ := io.ReadAll(p.Body)
		hs = append(hs, p.Header)
		bodies = append(bodies, string(b))
	}
	return ent, hs, bodies
}

func TestFailureNotice(t *testing.T) {
	e := newEnv(t, nil)
	id := e.queueFile("alice@example.net", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	if err := e.s.serve(req(id)); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 1 {
		t.Fatalf("%d notices", len(e.posts))
	}
	p := e.posts[0]
	if p.sender != "" || p.rcpt != "alice@example.net" {
		t.Fatalf("envelope %q -> %q", p.sender, p.rcpt)
	}
	ent, hs, bodies := parts(t, p.text)
	mt, params, _ := ent.Header.ContentType()
	if mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("content type %s %v", mt, params)
	}
	for k, want := range map[string]string{
		"From":           "Mail Delivery System <MAILER-DAEMON@mail.example.org>",
		"Subject":        "Undelivered Mail Returned to Sender",
		"To":             "alice@example.net",
		"Auto-Submitted": "auto-replied",
		"In-Reply-To":    "<abc@example.net>",
	} {
		if got := ent.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if len(hs) != 3 {
		t.Fatalf("%d parts", len(hs))
	}
	if mt, _, _ := hs[0].ContentType(); mt != "text/plain" {
		t.Errorf("part 1 is %s", mt)
	}
	for _, want := range []string{"This is the mail system at host mail.example.org.\n",
		"I'm sorry to have to inform you that your message could not\n",
		"                   The mail system\n\n<nosuch@mail.example.org>: unknown user: \"nosuch\"\n"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("notification lacks %q:\n%s", want, bodies[0])
		}
	}
	if mt, _, _ := hs[1].ContentType(); mt != "message/delivery-status" {
		t.Errorf("part 2 is %s", mt)
	}
	// The report is header-like groups: per message, then per recipient.
	br := bufio.NewReader(strings.NewReader(bodies[1]))
	msgFields, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	rcptFields, err := textproto.ReadHeader(br)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Reporting-MTA":      "dns; mail.example.org",
		"X-Postfix-Queue-ID": id,
		"X-Postfix-Sender":   "rfc822; alice@example.net",
		"Arrival-Date":       mailDate(time.Unix(1700000000, 5000)),
	} {
		if got := msgFields.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	for k, want := range map[string]string{
		"Final-Recipient":    "rfc822; nosuch@mail.example.org",
		"Original-Recipient": "rfc822;nosuch@mail.example.org",
		"Action":             "failed",
		"Status":             "5.1.1",
		"Diagnostic-Code":    "X-Postfix; unknown user: \"nosuch\"",
	} {
		if got := rcptFields.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if mt, _, _ := hs[2].ContentType(); mt != "message/rfc822" {
		t.Errorf("part 3 is %s", mt)
	}
	if !strings.HasPrefix(bodies[2], "Return-Path: <alice@example.net>\r\nReceived: from client") &&
		!strings.HasPrefix(bodies[2], "Return-Path: <alice@example.net>\nReceived: from client") {
		t.Errorf("returned message:\n%q", bodies[2])
	}
	if !strings.Contains(bodies[2], "body line") {
		t.Errorf("returned message lacks its body:\n%s", bodies[2])
	}
	if _, err := os.Stat(e.q.Path(queue.Bounce, id)); err == nil {
		t.Error("bounce log left behind")
	}
	if !strings.Contains(e.logText(), id+": sender non-delivery notification: NEW1") {
		t.Errorf("log:\n%s", e.logText())
	}
}

func TestSMTPDiagnosticAndExpansion(t *testing.T) {
	e := newEnv(t, map[string]string{"header_from_format": "obsolete"})
	id := e.queueFile("alice@example.net", []string{"bob@example.com"}, original)
	e.writeLog(queue.Bounce, id, "\nrecipient=bob@example.com\noriginal_recipient=list@example.net\noffset=9\n"+
		"status=5.1.1\naction=failed\ndiag_type=smtp\ndiag_text=550 5.1.1 <bob@example.com>: User unknown\n"+
		"mta_type=dns\nmta_mname=mx.example.com\nreason=host mx.example.com[192.0.2.1] said: 550 5.1.1 "+
		"<bob@example.com>: Recipient address rejected: User unknown in local recipient table (in reply to RCPT TO command)\n\n")
	if err := e.s.serve(req(id)); err != nil {
		t.Fatal(err)
	}
	text := e.posts[0].text
	for _, want := range []string{
		"From: MAILER-DAEMON@mail.example.org (Mail Delivery System)\n",
		"<bob@example.com> (expanded from <list@example.net>): host\n    mx.example.com[192.0.2.1] said:",
		"Original-Recipient: rfc822; list@example.net\n",
		"Remote-MTA: dns; mx.example.com\n",
		"Diagnostic-Code: smtp; 550 5.1.1 <bob@example.com>: User unknown\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	for _, l := range strings.Split(text, "\n") {
		if len(l) > 79 && !strings.HasPrefix(l, "Diagnostic-Code") && !strings.HasPrefix(l, "Received") {
			t.Errorf("line longer than 79: %q", l)
		}
	}
}

func TestHeadersOnlyOverSizeLimit(t *testing.T) {
	e := newEnv(t, map[string]string{"bounce_size_limit": "10"})
	id := e.queueFile("alice@example.net", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	if err := e.s.serve(req(id)); err != nil {
		t.Fatal(err)
	}
	_, hs, bodies := parts(t, e.posts[0].text)
	if mt, _, _ := hs[2].ContentType(); mt != "text/rfc822-headers" {
		t.Errorf("part 3 is %s", mt)
	}
	if hs[2].Get("Content-Description") != "Undelivered Message Headers" || strings.Contains(bodies[2], "body line") ||
		!strings.Contains(bodies[2], "Subject: hello") {
		t.Errorf("headers part:\n%s", bodies[2])
	}
}

func TestNullSender(t *testing.T) {
	e := newEnv(t, nil)
	id := e.queueFile("", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	r := req(id)
	r[3].Value = ""
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 0 {
		t.Fatalf("notice to the null sender: %+v", e.posts)
	}
	if _, err := os.Stat(e.q.Path(queue.Bounce, id)); err == nil {
		t.Error("bounce log left behind")
	}

	e = newEnv(t, map[string]string{"notify_classes": "resource, software, 2bounce"})
	id = e.queueFile("", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	r = req(id)
	r[3].Value = ""
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 1 || e.posts[0].sender != "double-bounce@mail.example.org" || e.posts[0].rcpt != "postmaster" {
		t.Fatalf("double bounce: %+v", e.posts)
	}
	if !strings.Contains(e.posts[0].text, "Subject: Postmaster Copy: Undelivered Mail\n") ||
		strings.Contains(e.posts[0].text, "I'm sorry") {
		t.Errorf("double bounce:\n%s", e.posts[0].text)
	}
	if !strings.Contains(e.logText(), id+": postmaster non-delivery notification: NEW1") {
		t.Errorf("log:\n%s", e.logText())
	}
}

func TestDoubleBounceDiscarded(t *testing.T) {
	e := newEnv(t, map[string]string{"notify_classes": "bounce, 2bounce"})
	id := e.queueFile("double-bounce@mail.example.org", []string{"postmaster@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	r := req(id)
	r[3].Value = "double-bounce@mail.example.org"
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 0 || !strings.Contains(e.logText(), "warning: "+id+": undeliverable postmaster notification discarded") {
		t.Fatalf("posts %+v log:\n%s", e.posts, e.logText())
	}
}

func TestPostmasterCopyAndNotify(t *testing.T) {
	e := newEnv(t, map[string]string{"notify_classes": "bounce"})
	id := e.queueFile("alice@example.net", []string{"a@mail.example.org", "b@mail.example.org"}, original)
	// b asked for NOTIFY=NEVER: only a is reported to the sender; the postmaster sees both.
	e.writeLog(queue.Bounce, id, unknownUser+"\nrecipient=b@mail.example.org\nnotify_flags=1\noffset=1\nstatus=5.1.1\naction=failed\nreason=gone\n\n")
	if err := e.s.serve(req(id)); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 2 {
		t.Fatalf("%d notices", len(e.posts))
	}
	if strings.Contains(e.posts[0].text, "b@mail.example.org") {
		t.Errorf("NOTIFY=NEVER recipient reported:\n%s", e.posts[0].text)
	}
	pm := e.posts[1]
	if pm.sender != "double-bounce@mail.example.org" || pm.rcpt != "postmaster" ||
		!strings.Contains(pm.text, "<b@mail.example.org>: gone") || !strings.Contains(pm.text, "text/rfc822-headers") {
		t.Errorf("postmaster copy %q -> %q:\n%s", pm.sender, pm.rcpt, pm.text)
	}
}

func TestFailureKeepsLog(t *testing.T) {
	e := newEnv(t, nil)
	id := e.queueFile("alice@example.net", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	e.fail = errors.New("connect to cleanup: refused")
	if err := e.s.serve(req(id)); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(e.q.Path(queue.Bounce, id)); err != nil {
		t.Error("bounce log removed after a failure")
	}
	// No log: nothing to do, and success.
	if err := e.s.serve(req("ABCDEF")); err != nil {
		t.Fatal(err)
	}
}

func TestDelayNotice(t *testing.T) {
	e := newEnv(t, map[string]string{"delay_warning_time": "4h"})
	id := e.queueFile("alice@example.net", []string{"busy@mail.example.org"}, original)
	e.writeLog(queue.Defer, id, "\nrecipient=busy@mail.example.org\noffset=1\nstatus=4.2.0\naction=delayed\nreason=mailbox busy\n\n")
	r := req(id)
	r[0].Value = "warn"
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	text := e.posts[0].text
	for _, want := range []string{"Subject: Delayed Mail (still being retried)\n",
		"Your message could not be delivered for more than 4 hour(s).\n",
		"It will be retried until it is 5 day(s) old.\n", "Action: delayed\n", "Status: 4.2.0\n",
		"Will-Retry-Until: ", "text/rfc822-headers"} {
		if !strings.Contains(text, want) {
			t.Errorf("delay notice lacks %q:\n%s", want, text)
		}
	}
	if _, err := os.Stat(e.q.Path(queue.Defer, id)); err != nil {
		t.Error("defer log removed by a delay notice")
	}
	if !strings.Contains(e.logText(), id+": sender delay notification: NEW1") {
		t.Errorf("log:\n%s", e.logText())
	}
}

func TestWrap(t *testing.T) {
	s := "<bob@example.com>: host mx.example.com[192.0.2.1] said: 550 5.1.1 <bob@example.com>: Recipient address rejected: User unknown"
	got := wrap(s, 79, 4)
	if len(got) != 2 || !strings.HasPrefix(got[1], "    ") || len(got[0]) > 79 || got[0]+" "+got[1][4:] != s {
		t.Fatalf("%q", got)
	}
	if got := wrap("short", 79, 4); len(got) != 1 || got[0] != "short" {
		t.Fatalf("%q", got)
	}
}

// TestProtocol runs a request over a socket, as qmgr sends it, and the real cleanup client
// against a fake cleanup server.
func TestProtocol(t *testing.T) {
	e := newEnv(t, nil)
	ln, err := net.Listen("unix", e.q.Socket("public", "cleanup"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		ipc.Write(c, ipc.Attrs{{Name: "queue_id", Value: "NEWID"}})
		rr := queue.NewRecordReader(bufio.NewReader(c), 0)
		var recs []string
		for {
			typ, data, _, err := rr.Next()
			if err != nil {
				return
			}
			recs = append(recs, string(typ)+string(data))
			if typ == queue.RecEnd {
				break
			}
		}
		got <- recs
		ipc.Write(c, ipc.Attrs{{Name: "status", Value: "0"}, {Name: "queue_id", Value: "NEWID"}})
	}()
	c := &cleanupClient{path: e.q.Socket("public", "cleanup"), timeout: 5 * time.Second, lineLimit: 2048}
	e.s.post = c.post

	id := e.queueFile("alice@example.net", []string{"nosuch@mail.example.org"}, original)
	e.writeLog(queue.Bounce, id, unknownUser)
	a, b := net.Pipe()
	go e.s.handle(b)
	defer a.Close()
	ic := ipc.NewConn(a)
	reply, err := ic.Request(req(id), 5*time.Second)
	if err != nil || reply.Get("status") != "0" {
		t.Fatalf("reply %v %v; log:\n%s", reply, err, e.logText())
	}
	recs := <-got
	want := []string{"Arewrite_context=local", "S", "Ralice@example.net", "M"}
	if len(recs) < 6 || recs[1] != want[0] || recs[2] != want[1] || recs[3] != want[2] || recs[4] != want[3] ||
		!strings.HasPrefix(recs[5], "NFrom: ") || recs[len(recs)-1] != "E" || recs[len(recs)-2] != "X" {
		t.Fatalf("records %q", recs)
	}
	if !strings.Contains(e.logText(), id+": sender non-delivery notification: NEWID") {
		t.Errorf("log:\n%s", e.logText())
	}
}
