package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/header"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

type testEnv struct {
	s    *server
	q    *queue.Queue
	logf string
}

func newTestEnv(t testing.TB, extra string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	qdir := filepath.Join(dir, "q")
	q := queue.New(qdir)
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(strings.NewReader("queue_directory = " + qdir +
		"\nmyhostname = mail.example.com\nmyorigin = example.org\ncompatibility_level = 3.6\n" + extra))
	if err != nil {
		t.Fatal(err)
	}
	logf := filepath.Join(dir, "maillog")
	log := maillog.New("cleanup", maillog.Options{MaillogFile: logf, Hostname: "mail"})
	s, err := newServer(cfg, log, false)
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{s: s, q: q, logf: logf}
}

// records builds a client record stream.
type records []byte

func (r *records) add(typ byte, data string) *records {
	*r = queue.AppendRecord(*r, typ, []byte(data))
	return r
}

// message builds a complete stream: attributes, sender, recipients, content lines, E.
func message(ctx, sender string, rcpts []string, content string) records {
	var r records
	r.add(queue.RecAttr, "rewrite_context="+ctx)
	r.add(queue.RecAttr, "log_client_name=localhost")
	r.add(queue.RecSender, sender)
	for _, rc := range rcpts {
		r.add(queue.RecRcpt, rc)
	}
	r.add(queue.RecMesg, "")
	for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		r.add(queue.RecNorm, l)
	}
	r.add(queue.RecXtra, "")
	r.add(queue.RecEnd, "")
	return r
}

// submit runs the handler over a pipe and returns the queue ID and the final reply (nil
// when the server closed without one).
func (e *testEnv) submit(t testing.TB, stream []byte, closeEarly bool) (string, ipc.Attrs) {
	t.Helper()
	a, b := net.Pipe()
	done := make(chan struct{})
	go func() { e.s.handle(b); close(done) }()
	br := bufio.NewReader(a)
	first, err := ipc.Read(br)
	if err != nil {
		t.Fatalf("reading queue_id: %v", err)
	}
	id := first.Get("queue_id")
	if id == "" {
		t.Fatalf("no queue_id in %v", first)
	}
	go func() {
		a.Write(stream)
		if closeEarly {
			a.Close()
		}
	}()
	var reply ipc.Attrs
	if !closeEarly {
		reply, _ = ipc.Read(br)
	}
	<-done
	a.Close()
	return id, reply
}

func (e *testEnv) path(id string) string { return e.q.Path(queue.Incoming, id) }

func (e *testEnv) read(t *testing.T, id string) (*queue.Message, string) {
	t.Helper()
	fi, err := os.Stat(e.path(id))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0700 {
		t.Fatalf("mode %v, want 0700", fi.Mode().Perm())
	}
	m, err := queue.ReadEnvelope(e.path(id))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(e.path(id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(queue.ContentReader(f, m.DataOffset))
	if err != nil {
		t.Fatal(err)
	}
	if m.MessageSize != int64(len(b)) {
		t.Errorf("C record message length %d, content is %d bytes", m.MessageSize, len(b))
	}
	return m, string(b)
}

func (e *testEnv) incoming(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(e.q.Dir, queue.Incoming))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	return names
}

func (e *testEnv) log(t *testing.T) string {
	b, _ := os.ReadFile(e.logf)
	return string(b)
}

func wantOK(t *testing.T, reply ipc.Attrs, id string) {
	t.Helper()
	if reply.Get("status") != "0" || reply.Get("queue_id") != id {
		t.Fatalf("reply %v, want status=0 queue_id=%s", reply, id)
	}
}

func wantFail(t *testing.T, reply ipc.Attrs, status, dsn, reason string) {
	t.Helper()
	if reply.Get("status") != status || reply.Get("dsn") != dsn || reply.Get("reason") != reason {
		t.Fatalf("reply %v, want %s %s %s", reply, status, dsn, reason)
	}
}

func TestRemoteMessage(t *testing.T) {
	e := newTestEnv(t, "")
	content := "Received: from client by mail.example.com\n" +
		"Return-Path: <x@y>\n" +
		"Subject: hi\n" +
		"Bcc: secret@example.net,\n" +
		"  other@example.net\n" +
		"content-length: 12\n" +
		"Resent-Bcc: z@example.net\n" +
		"To: bob\n" +
		"Message-ID: <abc@client>\n" +
		"\n" +
		"body line\r with CR\n" +
		"Bcc: not a header here\n"
	id, reply := e.submit(t, message("remote", "alice", []string{"bob", "carol@example.net."}, content), false)
	wantOK(t, reply, id)
	m, got := e.read(t, id)
	want := "Received: from client by mail.example.com\n" +
		"Subject: hi\n" +
		"To: bob\n" +
		"Message-ID: <abc@client>\n" +
		"\n" +
		"body line  with CR\n" +
		"Bcc: not a header here\n"
	if got != want {
		t.Errorf("content\n%q\nwant\n%q", got, want)
	}
	if m.Sender != "alice@example.org" {
		t.Errorf("sender %q", m.Sender)
	}
	if len(m.Recipients) != 2 || m.Recipients[0].Addr != "bob@example.org" || m.Recipients[0].Orig != "bob" ||
		m.Recipients[1].Addr != "carol@example.net" || m.Nrcpt != 2 {
		t.Errorf("recipients %+v nrcpt %d", m.Recipients, m.Nrcpt)
	}
	if m.Attrs["rewrite_context"] != "remote" || m.Attrs["log_client_name"] != "localhost" {
		t.Errorf("attrs %v", m.Attrs)
	}
	if m.CreateTime.IsZero() || time.Since(m.Arrival) > time.Minute {
		t.Errorf("times %v %v", m.CreateTime, m.Arrival)
	}
	if !strings.Contains(e.log(t), "postfix/cleanup[") || !strings.Contains(e.log(t), ": "+id+": message-id=<abc@client>\n") {
		t.Errorf("log %q", e.log(t))
	}
}

func TestRemoteAddsNothing(t *testing.T) {
	e := newTestEnv(t, "")
	id, reply := e.submit(t, message("remote", "alice@example.net", []string{"bob@example.org"}, "Subject: x\n\nbody\n"), false)
	wantOK(t, reply, id)
	_, got := e.read(t, id)
	if got != "Subject: x\n\nbody\n" {
		t.Errorf("content %q", got)
	}
	if !strings.Contains(e.log(t), id+": message-id=<>\n") {
		t.Errorf("log %q", e.log(t))
	}
	// always_add_missing_headers adds them for remote mail too.
	e = newTestEnv(t, "always_add_missing_headers = yes\n")
	id, reply = e.submit(t, message("remote", "alice@example.net", []string{"bob@example.org"}, "Subject: x\n\nbody\n"), false)
	wantOK(t, reply, id)
	_, got = e.read(t, id)
	if !strings.Contains(got, "\nMessage-Id: <") || !strings.Contains(got, "\nFrom: alice@example.net\n\nbody\n") {
		t.Errorf("content %q", got)
	}
}

func TestLocalAddsHeaders(t *testing.T) {
	e := newTestEnv(t, "")
	var r records
	r.add(queue.RecTime, "1795597607 250000") // 2026-11-25 09:06:47 UTC
	r.add(queue.RecAttr, "rewrite_context=local")
	r.add(queue.RecFullName, "Alice Q. Example")
	r.add(queue.RecSender, "alice")
	r.add(queue.RecRcpt, "bob")
	r.add(queue.RecMesg, "")
	r.add(queue.RecNorm, "Received: by mail.example.com (Postfix, from userid 1000)")
	r.add(queue.RecNorm, "To: bob, carol@example.net")
	r.add(queue.RecNorm, "Cc: \"Dan\" <dan>")
	r.add(queue.RecNorm, "Subject: test")
	r.add(queue.RecNorm, "")
	r.add(queue.RecNorm, "hello")
	r.add(queue.RecXtra, "")
	r.add(queue.RecEnd, "")
	id, reply := e.submit(t, r, false)
	wantOK(t, reply, id)
	m, got := e.read(t, id)
	if m.Arrival.Unix() != 1795597607 || m.FullName != "Alice Q. Example" {
		t.Errorf("arrival %v fullname %q", m.Arrival, m.FullName)
	}
	lines := strings.Split(got, "\n")
	want := []string{
		`^Received: by mail\.example\.com \(Postfix, from userid 1000\)$`,
		`^To: bob@example\.org, carol@example\.net$`,
		`^Cc: "Dan" <dan>$`, // not simple: left alone
		`^Subject: test$`,
		`^Message-Id: <\d{14}\.` + id + `@mail\.example\.com>$`,
		`^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [ 123]\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\S+\)$`,
		`^From: "Alice Q\. Example" <alice@example\.org>$`,
		`^$`,
		`^hello$`,
	}
	if len(lines) < len(want) {
		t.Fatalf("content %q", got)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], w)
		}
	}
	// The Date is the arrival time in local time.
	if !strings.Contains(got, "Date: "+time.Unix(1795597607, 0).Format("Mon, _2 Jan 2006 15:04:05 -0700 (MST)")+"\n") {
		t.Errorf("date in %q", got)
	}
	// The Message-Id time is the queue file's creation time, UTC.
	mid := regexp.MustCompile(`Message-Id: <(\d{14})\.`).FindStringSubmatch(got)[1]
	if ts, err := time.Parse("20060102150405", mid); err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
		t.Errorf("message-id time %s", mid)
	}
	if !regexp.MustCompile(id + `: message-id=<\d{14}\.` + id + `@mail\.example\.com>\n`).MatchString(e.log(t)) {
		t.Errorf("log %q", e.log(t))
	}
}

func TestLocalFromVariants(t *testing.T) {
	e := newTestEnv(t, "")
	cases := []struct{ sender, content, want string }{
		{"", "Subject: x\n\nb\n", "\nFrom: MAILER-DAEMON\n\nb\n"},
		{"root@localhost", "Subject: x\n\nb\n", "\nFrom: root@localhost\n\nb\n"},
		// Any Resent- header: the Resent- forms are added, plain ones left missing.
		{"u", "Resent-To: x@y\nSubject: x\n\nb\n", "Resent-To: x@y\nSubject: x\nResent-Message-Id: <"},
		// No separator: the added headers end the header block, then the empty line.
		{"u", "Subject: x\nthis is body\n", "Subject: x\nMessage-Id: "},
	}
	for _, c := range cases {
		id, reply := e.submit(t, message("local", c.sender, []string{"bob"}, c.content), false)
		wantOK(t, reply, id)
		_, got := e.read(t, id)
		if !strings.Contains(got, c.want) {
			t.Errorf("sender %q: content %q lacks %q", c.sender, got, c.want)
		}
		if strings.HasPrefix(c.content, "Resent") && (strings.Contains(got, "\nDate:") || strings.Contains(got, "\nResent-From: u@example.org\n") == false) {
			t.Errorf("resent case: %q", got)
		}
		if strings.Contains(c.content, "this is body") && !strings.HasSuffix(got, "\nFrom: u@example.org\n\nthis is body\n") {
			t.Errorf("no separator case: %q", got)
		}
	}
}

// TestHeaderEnd checks where the primary header block ends (package postern/pkg/header
// has the rule): at the empty line, or before the first line that is neither a header nor a
// continuation, where the missing empty line is written.
func TestHeaderEnd(t *testing.T) {
	e := newTestEnv(t, "")
	long := strings.Repeat("v", 5000)
	cases := []struct {
		name    string
		records []string // N records; "L:" starts an L piece
		want    string
	}{
		{"separator", []string{"Subject: x", "", "body"}, "Subject: x\n\nbody\n"},
		{"howto", []string{"Received: by x", "Subjet: My first mail on Postfix", "Are you there?"},
			"Received: by x\nSubjet: My first mail on Postfix\n\nAre you there?\n"},
		{"continuation", []string{"Subject: a", " b", "\tc", "body", " not folded"},
			"Subject: a\n b\n\tc\n\nbody\n not folded\n"},
		{"later header-like lines are body", []string{"Subject: a", "text", "To: x@y", "", "z"},
			"Subject: a\n\ntext\nTo: x@y\n\nz\n"},
		{"From_ line first", []string{"From alice@example.org Mon Dec  7 19:33:49 2026", "Subject: x", "", "b"},
			"\nFrom alice@example.org Mon Dec  7 19:33:49 2026\nSubject: x\n\nb\n"},
		{"From_ line after a header", []string{"Received: by x", "From alice@example.org Mon Dec  7 2026", "Subject: x"},
			"Received: by x\n\nFrom alice@example.org Mon Dec  7 2026\nSubject: x\n"},
		{"blank first line", []string{" folded", "Subject: x"}, "\n folded\nSubject: x\n"},
		{"empty first line", []string{"", "Subject: x"}, "\nSubject: x\n"},
		{"body only", []string{"just text", "more"}, "\njust text\nmore\n"},
		{"header only", []string{"Subject: x", "To: y@z"}, "Subject: x\nTo: y@z\n"},
		{"no colon", []string{"Subject: x", "X-Broken header", "To: y@z"}, "Subject: x\n\nX-Broken header\nTo: y@z\n"},
		{"empty name", []string{"Subject: x", ": value"}, "Subject: x\n\n: value\n"},
		{"obsolete name space colon", []string{"Subject : x", "To\t: y@z", "", "b"}, "Subject: x\nTo: y@z\n\nb\n"},
		{"8-bit value", []string{"Subject: caf\xc3\xa9", "body"}, "Subject: caf\xc3\xa9\n\nbody\n"},
		{"8-bit name", []string{"Subject: x", "Caf\xc3\xa9: y"}, "Subject: x\n\nCaf\xc3\xa9: y\n"},
		{"long header line", []string{"X-Long: " + long, "body"}, "X-Long: " + long + "\n\nbody\n"},
		{"long body line in pieces", []string{"Subject: x", "L:" + long, long}, "Subject: x\n\n" + long + long + "\n"},
		{"long header in pieces", []string{"L:X-Long: " + long, long, "body"}, "X-Long: " + long + long + "\n\nbody\n"},
		{"LF inside a record", []string{"Subject: a\nAre you there?", "b\nc"}, "Subject: a Are you there?\n\nb c\n"},
		{"no content", nil, ""},
	}
	for _, c := range cases {
		var r records
		r.add(queue.RecAttr, "rewrite_context=remote").add(queue.RecSender, "a@b").add(queue.RecRcpt, "c@d").add(queue.RecMesg, "")
		for _, l := range c.records {
			if p, ok := strings.CutPrefix(l, "L:"); ok {
				r.add(queue.RecCont, p)
			} else {
				r.add(queue.RecNorm, l)
			}
		}
		r.add(queue.RecXtra, "").add(queue.RecEnd, "")
		id, reply := e.submit(t, r, false)
		wantOK(t, reply, id)
		if _, got := e.read(t, id); got != c.want {
			t.Errorf("%s: content\n%q\nwant\n%q", c.name, got, c.want)
		}
	}
}

// TestHowtoMessage is the seed howto's telnet session as smtpd hands it over: the added
// headers go at the end of the header block, then the empty line, then the body line.
func TestHowtoMessage(t *testing.T) {
	e := newTestEnv(t, "")
	content := "Received: from localhost (localhost [127.0.0.1])\n\tby mail.example.com (Postfix) with SMTP id X\n\tfor <fmaster@localhost>; Mon,  7 Dec 2026 19:33:49 +0000 (UTC)\n" +
		"Subjet: My first mail on Postfix\nAre you there?\n"
	id, reply := e.submit(t, message("local", "root@localhost", []string{"fmaster@localhost"}, content), false)
	wantOK(t, reply, id)
	_, got := e.read(t, id)
	lines := strings.Split(got, "\n")
	want := []string{
		`^Received: from localhost \(localhost \[127\.0\.0\.1\]\)$`, `^\tby `, `^\tfor `,
		`^Subjet: My first mail on Postfix$`,
		`^Message-Id: <\d{14}\.` + id + `@mail\.example\.com>$`,
		`^Date: `,
		`^From: root@localhost$`,
		`^$`,
		`^Are you there\?$`,
		`^$`, // the end of the last line
	}
	if len(lines) != len(want) {
		t.Fatalf("content %q", got)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], w)
		}
	}
}

func TestDuplicates(t *testing.T) {
	e := newTestEnv(t, "")
	var r records
	r.add(queue.RecAttr, "rewrite_context=remote")
	r.add(queue.RecSender, "a@example.net")
	for _, rc := range []string{"bob", "BOB", "bob@example.org", "Bob@Example.ORG"} {
		r.add(queue.RecRcpt, rc)
	}
	r.add(queue.RecOrig, "alias@example.org")
	r.add(queue.RecRcpt, "bob@example.org") // same final, different original: kept
	r.add(queue.RecMesg, "")
	r.add(queue.RecNorm, "Subject: x")
	r.add(queue.RecXtra, "")
	r.add(queue.RecRcpt, "bob") // extracted: a duplicate
	r.add(queue.RecRcpt, "carol")
	r.add(queue.RecEnd, "")
	id, reply := e.submit(t, r, false)
	wantOK(t, reply, id)
	m, _ := e.read(t, id)
	var got []string
	for _, rc := range m.Recipients {
		got = append(got, rc.Orig+">"+rc.Addr)
	}
	want := "bob>bob@example.org bob@example.org>bob@example.org alias@example.org>bob@example.org carol>carol@example.org"
	if strings.Join(got, " ") != want || m.Nrcpt != 4 {
		t.Errorf("recipients %v (nrcpt %d), want %s", got, m.Nrcpt, want)
	}
}

func TestDisconnect(t *testing.T) {
	e := newTestEnv(t, "")
	full := message("remote", "a@b", []string{"c@d"}, "Subject: x\n\nbody\n")
	for _, cut := range []int{0, 5, len(full) / 2, len(full) - 2} {
		e.submit(t, full[:cut], true)
		if n := e.incoming(t); len(n) != 0 {
			t.Fatalf("cut at %d: incoming holds %v", cut, n)
		}
	}
}

func TestOversize(t *testing.T) {
	e := newTestEnv(t, "message_size_limit = 1000\n")
	content := "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 99)+"\n", 20)
	id, reply := e.submit(t, message("remote", "a@b", []string{"c@d"}, content), false)
	wantFail(t, reply, "552", "5.3.4", "message file too big")
	if n := e.incoming(t); len(n) != 0 {
		t.Fatalf("%s: incoming holds %v", id, n)
	}
}

func TestHopCount(t *testing.T) {
	e := newTestEnv(t, "")
	content := strings.Repeat("Received: from x by y\n", 51) + "\nbody\n"
	_, reply := e.submit(t, message("remote", "a@b", []string{"c@d"}, content), false)
	wantFail(t, reply, "554", "5.4.0", "too many hops")
	if n := e.incoming(t); len(n) != 0 {
		t.Fatalf("incoming holds %v", n)
	}
	content = strings.Repeat("Received: from x by y\n", 49) + "\nbody\n"
	id, reply := e.submit(t, message("remote", "a@b", []string{"c@d"}, content), false)
	wantOK(t, reply, id)
}

func TestNoRecipients(t *testing.T) {
	e := newTestEnv(t, "")
	_, reply := e.submit(t, message("remote", "a@b", nil, "Subject: x\n"), false)
	wantFail(t, reply, "550", "5.1.0", "no recipients specified")
	var r records
	r.add(queue.RecRcpt, "c@d").add(queue.RecMesg, "").add(queue.RecXtra, "").add(queue.RecEnd, "")
	_, reply = e.submit(t, r, false) // no sender
	wantFail(t, reply, "451", "4.3.0", "internal protocol error")
	if n := e.incoming(t); len(n) != 0 {
		t.Fatalf("incoming holds %v", n)
	}
}

func TestLongLine(t *testing.T) {
	e := newTestEnv(t, "")
	long := make([]byte, 1<<20-100)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	var r records
	r.add(queue.RecSender, "a@b").add(queue.RecRcpt, "c@d").add(queue.RecMesg, "")
	r.add(queue.RecNorm, "Subject: long")
	r.add(queue.RecNorm, "")
	// The client's own split (odd sizes) must not matter.
	r.add(queue.RecCont, string(long[:1000]))
	r.add(queue.RecCont, string(long[1000:500000]))
	r.add(queue.RecNorm, string(long[500000:]))
	r.add(queue.RecNorm, "X-Header-Like: but in the body, a "+strings.Repeat("y", 200000))
	r.add(queue.RecXtra, "").add(queue.RecEnd, "")
	id, reply := e.submit(t, r, false)
	wantOK(t, reply, id)
	_, got := e.read(t, id)
	want := "Subject: long\n\n" + string(long) + "\nX-Header-Like: but in the body, a " + strings.Repeat("y", 200000) + "\n"
	if got != want {
		t.Fatalf("content differs: %d bytes, want %d", len(got), len(want))
	}
	// Every L record is exactly line_length_limit long.
	f, _ := os.Open(e.path(id))
	defer f.Close()
	rr := queue.NewRecordReader(f, 0)
	nl := 0
	for {
		typ, data, _, err := rr.Next()
		if err != nil {
			break
		}
		if typ == queue.RecCont {
			nl++
			if len(data) != 2048 {
				t.Fatalf("L record of %d bytes", len(data))
			}
		}
	}
	if nl != len(long)/2048+200034/2048 {
		t.Errorf("%d L records", nl)
	}
}

func TestLongHeaderTruncated(t *testing.T) {
	e := newTestEnv(t, "header_size_limit = 2000\n")
	var r records
	r.add(queue.RecSender, "a@b").add(queue.RecRcpt, "c@d").add(queue.RecMesg, "")
	r.add(queue.RecCont, "X-Long: "+strings.Repeat("z", 3000))
	r.add(queue.RecNorm, strings.Repeat("z", 3000))
	r.add(queue.RecNorm, "Subject: after")
	r.add(queue.RecNorm, "\tfolded")
	r.add(queue.RecXtra, "").add(queue.RecEnd, "")
	id, reply := e.submit(t, r, false)
	wantOK(t, reply, id)
	_, got := e.read(t, id)
	want := "X-Long: " + strings.Repeat("z", 1992) + "\nSubject: after\n\tfolded\n"
	if got != want {
		t.Fatalf("content %q", got)
	}
}

func TestTrigger(t *testing.T) {
	e := newTestEnv(t, "")
	ln, err := net.Listen("unix", filepath.Join(e.q.Dir, "public", "qmgr"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- string(b)
	}()
	id, reply := e.submit(t, message("remote", "a@b", []string{"c@d"}, "Subject: x\n"), false)
	wantOK(t, reply, id)
	select {
	case w := <-got:
		if w != "W" {
			t.Fatalf("trigger %q", w)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no trigger")
	}
}

func TestAttributes(t *testing.T) {
	e := newTestEnv(t, "queue_file_attribute_count_limit = 5\n")
	var r records
	r.add(queue.RecAttr, "create_time=1") // ours, not the client's
	r.add(queue.RecAttr, "bogus=1")
	r.add(queue.RecAttr, "client_address=192.0.2.1")
	r.add(queue.RecSender, "a@b").add(queue.RecRcpt, "c@d").add(queue.RecMesg, "")
	r.add(queue.RecXtra, "").add(queue.RecEnd, "")
	id, reply := e.submit(t, r, false)
	wantOK(t, reply, id)
	m, _ := e.read(t, id)
	if m.CreateTime.Unix() < 1000 || m.Attrs["bogus"] != "" || m.Attrs["client_address"] != "192.0.2.1" {
		t.Errorf("attrs %v create %v", m.Attrs, m.CreateTime)
	}
	r = nil
	for i := 0; i < 6; i++ {
		r.add(queue.RecAttr, "helo_name=x")
	}
	r.add(queue.RecSender, "a@b").add(queue.RecRcpt, "c@d").add(queue.RecMesg, "")
	r.add(queue.RecXtra, "").add(queue.RecEnd, "")
	_, reply = e.submit(t, r, false)
	wantFail(t, reply, "451", "4.3.0", "internal protocol error")
}

func FuzzHandler(f *testing.F) {
	f.Add([]byte(message("remote", "a@b", []string{"c@d"}, "Subject: x\n\nbody\n")))
	f.Add([]byte(message("local", "", []string{"c", "c"}, "Resent-From: x\nReceived: y\n z\n")))
	f.Add([]byte(message("local", "u", []string{"c"}, "no header\n")))
	f.Add([]byte(message("local", "root@localhost", []string{"c"}, "Received: x\n y\nSubjet: My first mail on Postfix\nAre you there?\n")))
	f.Add([]byte(message("remote", "a@b", []string{"c"}, "Subject : x\nA: b\nC\xff: d\n\tx\n")))
	f.Add([]byte{queue.RecSender, 0x80, 0x80, 0x80, 0x80, 0x01})
	e := newTestEnv(f, "message_size_limit = 100000\nheader_size_limit = 1024\nline_length_limit = 100\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() { e.s.handle(b); close(done) }()
		go io.Copy(io.Discard, a)
		go func() { a.Write(data); a.Close() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("handler hangs")
		}
		a.Close()
		for _, n := range e.incoming(t) {
			p := filepath.Join(e.q.Dir, queue.Incoming, n)
			fi, err := os.Stat(p)
			if err != nil || !queue.Ready(fi) {
				t.Fatalf("non-ready file %s left behind", n)
			}
			if _, err := queue.ReadEnvelope(p); err != nil {
				t.Fatalf("incomplete file %s: %v", n, err)
			}
			fh, _ := os.Open(p)
			m, _ := queue.ReadEnvelope(p)
			content, err := io.ReadAll(queue.ContentReader(fh, m.DataOffset))
			if err != nil {
				t.Fatalf("content of %s: %v", n, err)
			}
			fh.Close()
			// Readers (imapd, pop3d, local) split what was stored as cleanup did: the
			// header ends at an empty line, or at the end of the content.
			if hdr, body, _ := header.End(content, true); body == hdr && hdr != len(content) {
				t.Fatalf("stored header ends without its empty line: %q", content)
			}
			os.Remove(p)
		}
	})
}

// BenchmarkSubmit measures one 4 KiB message through the handler (fsync included; the
// figure depends on the file system under TMPDIR).
func BenchmarkSubmit(b *testing.B) {
	e := newTestEnv(b, "")
	body := strings.Repeat(strings.Repeat("x", 76)+"\n", 50)
	stream := message("remote", "a@example.net", []string{"bob@example.org"},
		"Received: from x by y\nSubject: bench\nMessage-Id: <1@x>\n\n"+body)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		id, reply := e.submit(b, stream, false)
		if reply.Get("status") != "0" {
			b.Fatal(reply)
		}
		os.Remove(e.path(id))
	}
}

// TestDelayWarningRecord: with delay_warning_time set, the file carries a W record with the
// time of the one delay warning (arrival + delay), which qmgr reads; none for the null sender.
func TestDelayWarningRecord(t *testing.T) {
	e := newTestEnv(t, "delay_warning_time = 4h\n")
	id, reply := e.submit(t, message("remote", "alice", []string{"bob"}, "Subject: w\n\nbody\n"), false)
	wantOK(t, reply, id)
	m, _ := e.read(t, id)
	if want := m.Arrival.Add(4 * time.Hour).Unix(); m.WarnTime != want || m.WarnOffset == 0 {
		t.Fatalf("W record %d at %d, want %d", m.WarnTime, m.WarnOffset, want)
	}
	id, reply = e.submit(t, message("remote", "", []string{"bob"}, "Subject: w\n\nbody\n"), false)
	wantOK(t, reply, id)
	if m, _ := e.read(t, id); m.WarnTime != 0 {
		t.Fatalf("null sender got a W record: %d", m.WarnTime)
	}
}
