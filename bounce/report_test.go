package main

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-message/textproto"

	"postern/pkg/queue"
)

// traceLog is what qmgr writes for a sendmail -v message: one recipient delivered locally,
// one relayed to a remote MTA, one deferred.
const traceLog = "\n<bob@mail.example.org>: delivered to mailbox\nrecipient=bob@mail.example.org\n" +
	"offset=100\nstatus=2.0.0\naction=delivered\nreason=delivered to mailbox\n\n" +
	"\n<carol@example.com>: delivery via mx.example.com[192.0.2.9]:25: 250 2.0.0 Ok: queued as 1234\n" +
	"recipient=carol@example.com\noffset=140\nnotify_flags=2\nstatus=2.0.0\naction=relayed\n" +
	"diag_type=smtp\ndiag_text=250 2.0.0 Ok: queued as 1234\nmta_type=dns\nmta_mname=mx.example.com\n" +
	"reason=delivery via mx.example.com[192.0.2.9]:25: 250 2.0.0 Ok: queued as 1234\n\n" +
	"\nrecipient=dave@example.com\noffset=180\nstatus=4.4.1\naction=delayed\nreason=connect to mx.example.com[192.0.2.9]:25: Connection refused\n\n"

// reportFields parses a report with go-message: its header, its parts, and the per-recipient
// field groups of the delivery-status part.
func reportFields(t *testing.T, text string) (textproto.Header, []string, []textproto.Header) {
	t.Helper()
	ent, hs, bodies := parts(t, text)
	mt, params, _ := ent.Header.ContentType()
	if mt != "multipart/report" || params["report-type"] != "delivery-status" || len(hs) != 3 {
		t.Fatalf("content type %s %v, %d parts", mt, params, len(hs))
	}
	if mt, _, _ := hs[1].ContentType(); mt != "message/delivery-status" {
		t.Fatalf("part 2 is %s", mt)
	}
	var descs []string
	for _, h := range hs {
		descs = append(descs, h.Get("Content-Description"))
	}
	br := bufio.NewReader(strings.NewReader(bodies[1]))
	if _, err := textproto.ReadHeader(br); err != nil {
		t.Fatal(err)
	}
	var rcpts []textproto.Header
	for {
		h, err := textproto.ReadHeader(br)
		if err != nil || h.Len() == 0 {
			break
		}
		rcpts = append(rcpts, h)
	}
	return ent.Header.Header, append(descs, bodies[0], bodies[2]), rcpts
}

func TestTraceReport(t *testing.T) {
	e := newEnv(t, nil)
	id := e.queueFile("alice@example.net", []string{"bob@mail.example.org", "carol@example.com", "dave@example.com"}, original,
		"trace_flags=1024")
	e.writeLog(queue.Trace, id, traceLog)
	r := req(id)
	r[0].Value = "trace"
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 1 || e.posts[0].sender != "" || e.posts[0].rcpt != "alice@example.net" {
		t.Fatalf("posts %+v", e.posts)
	}
	h, p, rcpts := reportFields(t, e.posts[0].text)
	if got := h.Get("Subject"); got != "Mail Delivery Status Report" {
		t.Errorf("Subject %q", got)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-replied" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if p[0] != "Notification" || p[1] != "Delivery report" || p[2] != "Message Headers" {
		t.Errorf("descriptions %q", p[:3])
	}
	for _, want := range []string{"This is the mail system at host mail.example.org.\n\n" +
		"Enclosed is the mail delivery report that you requested.\n\n                   The mail system\n",
		"<bob@mail.example.org>: delivered to mailbox\n",
		"<carol@example.com>: delivery via mx.example.com[192.0.2.9]:25: 250 2.0.0 Ok:\n    queued as 1234\n"} {
		if !strings.Contains(p[3], want) {
			t.Errorf("notification lacks %q:\n%s", want, p[3])
		}
	}
	if !strings.Contains(p[4], "Subject: hello") || strings.Contains(p[4], "body line") {
		t.Errorf("returned headers:\n%s", p[4])
	}
	if len(rcpts) != 3 {
		t.Fatalf("%d recipient groups", len(rcpts))
	}
	for i, want := range []map[string]string{
		{"Final-Recipient": "rfc822; bob@mail.example.org", "Action": "delivered", "Status": "2.0.0",
			"Diagnostic-Code": "X-Postfix; delivered to mailbox"},
		{"Final-Recipient": "rfc822; carol@example.com", "Action": "relayed", "Status": "2.0.0",
			"Remote-MTA": "dns; mx.example.com", "Diagnostic-Code": "smtp; 250 2.0.0 Ok: queued as 1234"},
		{"Final-Recipient": "rfc822; dave@example.com", "Action": "delayed", "Status": "4.4.1"},
	} {
		for k, v := range want {
			if got := rcpts[i].Get(k); got != v {
				t.Errorf("recipient %d %s: %q, want %q", i, k, got, v)
			}
		}
		if rcpts[i].Has("Will-Retry-Until") {
			t.Errorf("recipient %d has Will-Retry-Until", i)
		}
	}
	if _, err := os.Stat(e.q.Path(queue.Trace, id)); err == nil {
		t.Error("trace log left behind")
	}
	if !strings.Contains(e.logText(), id+": sender delivery status notification: NEW1") {
		t.Errorf("log:\n%s", e.logText())
	}
}

func TestSuccessReport(t *testing.T) {
	e := newEnv(t, nil)
	id := e.queueFile("alice@example.net", []string{"bob@mail.example.org"}, original)
	e.writeLog(queue.Trace, id, traceLog[:strings.Index(traceLog, "\n\n\n")+2])
	r := req(id)
	r[0].Value = "success"
	if err := e.s.serve(r); err != nil {
		t.Fatal(err)
	}
	if len(e.posts) != 1 {
		t.Fatalf("%d posts", len(e.posts))
	}
	h, p, rcpts := reportFields(t, e.posts[0].text)
	if got := h.Get("Subject"); got != "Successful Mail Delivery Report" {
		t.Errorf("Subject %q", got)
	}
	if !strings.Contains(p[3], "Your message was successfully delivered to the destination(s)\n"+
		"listed below. If the message was delivered to mailbox you will\n") {
		t.Errorf("notification:\n%s", p[3])
	}
	if len(rcpts) != 1 || rcpts[0].Get("Action") != "delivered" {
		t.Errorf("recipients %v", rcpts)
	}
}

// No report goes to <> or to the double-bounce sender; the log goes anyway. A failure to
// queue the report keeps the log and answers with an error.
func TestReportNotSent(t *testing.T) {
	e := newEnv(t, nil)
	for _, sender := range []string{"", "double-bounce@mail.example.org"} {
		id := e.queueFile(sender, []string{"bob@mail.example.org"}, original)
		e.writeLog(queue.Trace, id, traceLog)
		r := req(id)
		r[0].Value = "trace"
		r[3].Value = sender
		if err := e.s.serve(r); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(e.q.Path(queue.Trace, id)); err == nil {
			t.Errorf("<%s>: trace log left behind", sender)
		}
	}
	if len(e.posts) != 0 {
		t.Fatalf("posts %+v", e.posts)
	}
	if n := strings.Count(e.logText(), "not sending trace/success notification"); n != 2 {
		t.Errorf("log:\n%s", e.logText())
	}

	e.fail = os.ErrDeadlineExceeded
	id := e.queueFile("alice@example.net", []string{"bob@mail.example.org"}, original)
	e.writeLog(queue.Trace, id, traceLog)
	r := req(id)
	r[0].Value = "success"
	if err := e.s.serve(r); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(e.q.Path(queue.Trace, id)); err != nil {
		t.Error("trace log removed after a failure")
	}
}
