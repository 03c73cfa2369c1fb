package deliver

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/ipc"
	"postern/pkg/printable"
	"postern/pkg/queue"
)

func sample() *Request {
	t0 := time.Unix(1700000000, 250000000)
	return &Request{
		QueueName: "active", QueueID: "4F2A1B3C", Offset: 312,
		Arrival: t0, Active: t0.Add(1500 * time.Millisecond),
		Sender: "alice@example.org",
		Rcpts: []Recipient{
			{Addr: "bob@example.net", Orig: "Bob@Example.NET", Offset: 200, NotifyFlags: "0"},
			{Addr: "carol@example.net", Offset: 240, NotifyFlags: "6", DSNOrig: "rfc822;carol@example.net"},
		},
		ClientName: "mx.example.org", ClientAddr: "192.0.2.1", ClientProto: "ESMTP", ClientHelo: "mx",
		SASLMethod: "PLAIN", SASLUser: "alice", SASLSender: "alice@example.org",
		Nexthop: "[relay.example.net]:587",
	}
}

// equal compares requests with times compared as instants.
func equal(a, b *Request) bool {
	if !a.Arrival.Equal(b.Arrival) || !a.Active.Equal(b.Active) {
		return false
	}
	x, y := *a, *b
	x.Arrival, x.Active, y.Arrival, y.Active = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(x, y)
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	a := want.Attrs()
	got, err := Parse(a)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// Over the wire too.
	var b strings.Builder
	if err := ipc.Write(&b, a); err != nil {
		t.Fatal(err)
	}
	if v := a.Get("arrival_time"); v != "1700000000.250000" {
		t.Fatalf("arrival_time %q", v)
	}
}

func TestAttrsOrder(t *testing.T) {
	r := sample()
	r.Rcpts = r.Rcpts[:1]
	var names []string
	for _, a := range r.Attrs() {
		names = append(names, a.Name)
	}
	want := "queue_name queue_id content_offset arrival_time active_time sender recipient orig_recipient rcpt_offset " +
		"notify_flags dsn_orig_rcpt client_name client_address client_protocol client_helo sasl_method sasl_username sasl_sender nexthop"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("order:\n got %s\nwant %s", got, want)
	}
}

func TestHostile(t *testing.T) {
	good := sample().Attrs()
	set := func(name, value string) ipc.Attrs {
		out := append(ipc.Attrs(nil), good...)
		for i := range out {
			if out[i].Name == name {
				out[i].Value = value
			}
		}
		return out
	}
	drop := func(name string) ipc.Attrs {
		var out ipc.Attrs
		for _, a := range good {
			if a.Name != name {
				out = append(out, a)
			}
		}
		return out
	}
	many := append(ipc.Attrs(nil), good...)
	for i := 0; i < MaxRcpts; i++ {
		many = append(many, ipc.Attr{Name: "recipient", Value: "x@y"})
	}
	for _, c := range []struct {
		name string
		a    ipc.Attrs
		err  string
	}{
		{"deferred queue", set("queue_name", "deferred"), `bad queue_name "deferred"`},
		{"path queue", set("queue_name", "../active"), `bad queue_name "../active"`},
		{"control chars", set("queue_name", "act\nive"), `bad queue_name "act_ive"`},
		{"long", set("queue_name", strings.Repeat("a", 300)), `bad queue_name "` + strings.Repeat("a", 100) + `..."`},
		{"path id", set("queue_id", "../../etc/passwd"), `bad queue_id "../../etc/passwd"`},
		{"empty id", set("queue_id", ""), `bad queue_id ""`},
		{"zero offset", set("content_offset", "0"), `bad content_offset "0"`},
		{"negative offset", set("content_offset", "-5"), `bad content_offset "-5"`},
		{"word offset", set("content_offset", "ten"), `bad content_offset "ten"`},
		{"no recipient", drop("recipient"), "no recipient"},
		{"empty recipient", set("recipient", ""), `bad recipient ""`},
		{"too many", many, "1002 recipients"},
	} {
		r, err := Parse(c.a)
		if err == nil || err.Error() != c.err {
			t.Errorf("%s: got %v, %v; want error %s", c.name, r, err, c.err)
		}
	}
	// Bad times are the zero time, not an error.
	r, err := Parse(set("arrival_time", "yesterday"))
	if err != nil || !r.Arrival.IsZero() {
		t.Fatalf("bad arrival_time: %v %v", r, err)
	}
}

func TestTime(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"1700000000.250000", time.Unix(1700000000, 250000000)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.5", time.Unix(1700000000, 500000000)},
		{"1700000000.1234567891234", time.Unix(1700000000, 123456789)},
		{"", time.Time{}},
		{"-1.5", time.Time{}},
		{"1.-5", time.Time{}},
		{"x", time.Time{}},
		{strings.Repeat("1", 40), time.Time{}},
	} {
		if got := ParseTime(c.in); !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	t0 := time.Unix(1700000000, 123456789)
	if s := FormatTime(t0); s != "1700000000.123456" {
		t.Fatalf("FormatTime = %q", s)
	}
	if got := ParseTime(FormatTime(t0)); !got.Equal(t0.Truncate(time.Microsecond)) {
		t.Fatalf("round trip %v", got)
	}
}

func TestReply(t *testing.T) {
	rs := []Reply{
		{Status: dsn.Sent("2.0.0", "delivered to mailbox")},
		{Status: dsn.Bounce("5.1.1", "host mx said: 550 no such user"), DiagType: "smtp", DiagText: "550 5.1.1 no such user",
			MTAType: "dns", MTAName: "mx.example.net"},
		{Status: dsn.Defer("4.4.1", "connect refused")},
	}
	var a ipc.Attrs
	for _, r := range rs {
		a = append(a, r.Attrs()...)
	}
	if got := rs[0].Attrs(); !reflect.DeepEqual(got, ipc.Attrs{{Name: "status", Value: "0"}, {Name: "dsn", Value: "2.0.0"},
		{Name: "reason", Value: "delivered to mailbox"}}) {
		t.Fatalf("local reply %v", got)
	}
	got, err := ParseReplies(a)
	if err != nil || !reflect.DeepEqual(got, rs) {
		t.Fatalf("round trip %+v %v", got, err)
	}
	if _, err := ParseReplies(ipc.Attrs{{Name: "dsn", Value: "2.0.0"}}); err != ErrMalformedReply {
		t.Fatalf("no status: %v", err)
	}
	for _, c := range []struct {
		a    ipc.Attrs
		want dsn.Status
	}{
		{ipc.Attrs{{Name: "status", Value: "0"}}, dsn.Status{Code: "2.0.0"}},
		{ipc.Attrs{{Name: "status", Value: "0"}, {Name: "dsn", Value: "5.1.1"}}, dsn.Status{Code: "2.0.0"}},
		{ipc.Attrs{{Name: "status", Value: "5"}, {Name: "reason", Value: "no"}}, dsn.Status{Code: "5.0.0", Text: "no"}},
		{ipc.Attrs{{Name: "status", Value: "9"}, {Name: "dsn", Value: "2.0.0"}}, dsn.Status{Code: "4.0.0", Text: "unknown mail transport error"}},
		{ipc.Attrs{{Name: "status", Value: "4"}, {Name: "dsn", Value: "4.2.2"}, {Name: "reason", Value: "full"}}, dsn.Status{Code: "4.2.2", Text: "full"}},
	} {
		rs, err := ParseReplies(c.a)
		if err != nil || rs[0].Status != c.want {
			t.Errorf("%v: %+v %v, want %+v", c.a, rs, err, c.want)
		}
	}
}

// pflogsumm's regular expression for delivery lines.
var pflogsumm = regexp.MustCompile(`to=<([^>]*)>, (?:orig_to=<[^>]*>, )?relay=([^,]+), (?:conn_use=[^,]+, )?delay=([^,]+), (?:delays=[^,]+, )?(?:dsn=[^,]+, )?status=(\S+)(.*)$`)

func TestLogLine(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	for _, c := range []struct {
		name    string
		rc      Recipient
		relay   string
		connUse int
		d       Delays
		st      dsn.Status
		want    string
	}{
		{"local", Recipient{Addr: "a@x", Orig: "b@x"}, "local", 0,
			Span(t0, t0.Add(1500*time.Millisecond), t0.Add(2*time.Second), t0.Add(2*time.Second), t0.Add(2250*time.Millisecond)),
			dsn.Sent("2.0.0", "delivered to mailbox"),
			"ABC123: to=<a@x>, orig_to=<b@x>, relay=local, delay=2.2, delays=1.5/0.5/0/0.25, dsn=2.0.0, status=sent (delivered to mailbox)"},
		{"same orig", Recipient{Addr: "a@x", Orig: "A@X"}, "local", 0, Delays{},
			dsn.Bounce("5.1.1", "unknown user: \"a\""),
			`ABC123: to=<a@x>, relay=local, delay=0, delays=0/0/0/0, dsn=5.1.1, status=bounced (unknown user: "a")`},
		{"smtp reused", Recipient{Addr: "u@remote.test"}, "mx.remote.test[192.0.2.7]:25", 3,
			Span(time.Time{}, time.Time{}, t0, t0.Add(300*time.Millisecond), t0.Add(12*time.Second)),
			dsn.Sent("2.0.0", "250 2.0.0 Ok: queued as X"),
			"ABC123: to=<u@remote.test>, relay=mx.remote.test[192.0.2.7]:25, conn_use=3, delay=12, delays=0/0/0.3/12, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)"},
		{"no relay", Recipient{Addr: "u@remote.test"}, "", 1, Span(t0, t0, t0, time.Time{}, t0.Add(5*time.Second)),
			dsn.Defer("4.4.1", "connect to x: Connection refused"),
			"ABC123: to=<u@remote.test>, relay=none, delay=5, delays=0/0/5/0, dsn=4.4.1, status=deferred (connect to x: Connection refused)"},
		{"hostile", Recipient{Addr: "a\r\n@x", Orig: "o\x7f"}, "local", 0, Delays{}, dsn.Defer("4.3.0", "bad\nthing"),
			"ABC123: to=<a__@x>, orig_to=<o_>, relay=local, delay=0, delays=0/0/0/0, dsn=4.3.0, status=deferred (bad_thing)"},
	} {
		got := LogLine("ABC123", c.rc, c.relay, c.connUse, c.d, c.st)
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		m := pflogsumm.FindStringSubmatch(got)
		if m == nil {
			t.Errorf("%s: pflogsumm does not match %s", c.name, got)
			continue
		}
		if m[1] != printable.Except(c.rc.Addr, '_', "\t") || m[4] != c.st.Word() {
			t.Errorf("%s: pflogsumm reads to=%q status=%q", c.name, m[1], m[4])
		}
	}
}

func TestSpanClamps(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	// Arrival after start (clock step), active before arrival, ready after end.
	d := Span(t0.Add(time.Hour), t0.Add(-time.Hour), t0, t0.Add(time.Hour), t0.Add(time.Second))
	if d != (Delays{Total: time.Second, Transfer: 0, Setup: time.Second}) {
		t.Fatalf("%+v", d)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	q := queue.New(dir)
	if err := os.MkdirAll(filepath.Join(dir, "active"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "active", "ABC"), []byte("x"), 0o600)
	os.Symlink(filepath.Join(dir, "active", "ABC"), filepath.Join(dir, "active", "LNK"))
	os.Mkdir(filepath.Join(dir, "active", "DIR"), 0o700)
	r := &Request{QueueName: "active", QueueID: "ABC"}
	f, err := r.Open(q)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, id := range []string{"LNK", "DIR", "MISSING"} {
		r.QueueID = id
		if f, err := r.Open(q); err == nil {
			f.Close()
			t.Errorf("%s opened", id)
		}
	}
}
