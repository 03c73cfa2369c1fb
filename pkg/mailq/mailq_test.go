package mailq

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"postern/pkg/queue"
)

// The example of postfix-behaviour.md §3.8, with the spacing Postfix's showq_compat.c formats
// ("%-11s %7ld %20.20s %s", reasons padded to end at column 78).
func TestListingGolden(t *testing.T) {
	msgs := []Message{
		{Queue: queue.Active, ID: "207D3B8310", Size: 1234, Arrival: time.Date(2020, 11, 25, 9, 6, 47, 0, time.Local),
			Sender: "root@mail.fossedu.org", Rcpts: []Recipient{{Addr: "fmaster@mail.fossedu.org"}}},
		{Queue: queue.Deferred, ID: "5A1B2C3D4E", Size: 2345, Arrival: time.Date(2020, 11, 25, 9, 7, 1, 0, time.Local),
			Sender: "", Rcpts: []Recipient{{Addr: "user@example.org", Reason: "connect to mx.example.org[192.0.2.1]:25: Connection refused"}}},
	}
	want := `-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
207D3B8310*    1234 Wed Nov 25 09:06:47  root@mail.fossedu.org
                                         fmaster@mail.fossedu.org

5A1B2C3D4E     2345 Wed Nov 25 09:07:01  MAILER-DAEMON
                 (connect to mx.example.org[192.0.2.1]:25: Connection refused)
                                         user@example.org

-- 3 Kbytes in 2 Requests.
`
	var b bytes.Buffer
	list(&b, msgs)
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestListingReasonsAndMarkers(t *testing.T) {
	long := strings.Repeat("x", 90)
	msgs := []Message{{Queue: queue.Hold, ID: "ABCDEF1234", Size: 500, Forced: true,
		Arrival: time.Date(2024, 3, 5, 1, 2, 3, 0, time.Local), Sender: "a@b",
		Rcpts: []Recipient{{Addr: "r1@x", Reason: "busy"}, {Addr: "r2@x", Reason: "busy"}, {Addr: "r3@x"}, {Addr: "r4@x", Reason: long}}}}
	want := `-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
ABCDEF1234!#     500 Tue Mar  5 01:02:03  a@b
` + strings.Repeat(" ", 72) + `(busy)
                                         r1@x
                                         r2@x
` + strings.Repeat(" ", 58) + `(reason unavailable)
                                         r3@x
(` + long + `)
                                         r4@x

-- 0 Kbytes in 1 Request.
`
	var b bytes.Buffer
	list(&b, msgs)
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	list(&b, nil)
	if b.String() != "Mail queue is empty\n" {
		t.Fatalf("%q", b.String())
	}
}

// writeMsg puts a ready queue file into queue name.
func writeMsg(t *testing.T, q *queue.Queue, name, sender string, rcpts []string, done int) string {
	t.Helper()
	w, err := q.Create(queue.Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Record(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(queue.RecTime, "1700000000 0")
	w.RecordString(queue.RecSender, sender)
	for i, r := range rcpts {
		typ := byte(queue.RecRcpt)
		if i < done {
			typ = queue.RecDone
		}
		w.RecordString(typ, r)
	}
	w.Record(queue.RecMesg, nil)
	start := w.Offset()
	w.Line([]byte("Subject: x"), 0)
	w.Line([]byte(""), 0)
	w.Line([]byte("body"), 0)
	n := w.Offset() - start
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	w.WriteAt(queue.SizeData(n, start, int64(len(rcpts)), 0, 16, 0), 2)
	if err := w.Commit(0); err != nil {
		t.Fatal(err)
	}
	if name != queue.Incoming {
		if err := q.Move(w.ID, queue.Incoming, name); err != nil {
			t.Fatal(err)
		}
	}
	return w.ID
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	q := queue.New(dir)
	q.Init(-1, -1)
	d := writeMsg(t, q, queue.Deferred, "alice@example.org", []string{"done@x", "bob@x", "bob@x", "carol@x"}, 1)
	os.MkdirAll(dir+"/defer/"+d[:1], 0700)
	os.WriteFile(q.Path(queue.Defer, d), []byte("\n<bob@x>: busy\nrecipient=bob@x\nstatus=4.2.0\nreason=mailbox busy\n\n"), 0600)
	h := writeMsg(t, q, queue.Hold, "", []string{"x@y"}, 0)
	// A file still being written is not listed.
	os.WriteFile(dir+"/incoming/ABC123", []byte("partial"), 0600)

	var msgs []Message
	err := Scan(q, func(m Message) error { msgs = append(msgs, m); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != d || msgs[1].ID != h {
		t.Fatalf("%+v", msgs)
	}
	m := msgs[0]
	if m.Queue != queue.Deferred || len(m.Rcpts) != 2 || m.Rcpts[0] != (Recipient{"bob@x", "mailbox busy"}) ||
		m.Rcpts[1] != (Recipient{"carol@x", ""}) || m.Arrival.Unix() != 1700000000 || m.Size == 0 {
		t.Fatalf("%+v", m)
	}
	var b bytes.Buffer
	for _, m := range msgs {
		WriteJSON(&b, m)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := `{"queue_name":"deferred","queue_id":"` + d + `","arrival_time":1700000000,"message_size":` +
		itoa(m.Size) + `,"forced_expire":false,"sender":"alice@example.org","recipients":[{"address":"bob@x","delay_reason":"mailbox busy"},{"address":"carol@x"}]}`
	if len(lines) != 2 || lines[0] != want {
		t.Fatalf("json:\n%s\nwant:\n%s", b.String(), want)
	}
}

func itoa(n int64) string { return strings.TrimSpace(string(queue.SizeData(n, 0, 0, 0, 0, 0)[:15])) }

// list prints msgs as postqueue -p does.
func list(w io.Writer, msgs []Message) {
	l := NewListing(w, "MAILER-DAEMON")
	for _, m := range msgs {
		l.Add(m)
	}
	l.Close()
}

// TestWire: what showq sends is what postqueue receives, field for field (values with
// newlines and "%" included), and a report cut inside a message is an error, not a short
// listing.
func TestWire(t *testing.T) {
	msgs := []Message{
		{Queue: queue.Deferred, ID: "5A1B2C3D4E", Arrival: time.Unix(1700000000, 0), Size: 2345, Forced: true,
			Sender: "a@b", Rcpts: []Recipient{{Addr: "x@y", Reason: "100% busy\nnext line"}, {Addr: "z@y"}}},
		{Queue: queue.Maildrop, ID: "ABCDEF1234", Arrival: time.Unix(1700000001, 0), Size: 10},
	}
	var b bytes.Buffer
	for _, m := range msgs {
		if err := Send(&b, m); err != nil {
			t.Fatal(err)
		}
	}
	wire := b.Bytes()
	r := bufio.NewReader(bytes.NewReader(wire))
	for i, want := range msgs {
		got, err := Receive(r)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got.Queue != want.Queue || got.ID != want.ID || !got.Arrival.Equal(want.Arrival) || got.Size != want.Size ||
			got.Forced != want.Forced || got.Sender != want.Sender || len(got.Rcpts) != len(want.Rcpts) {
			t.Fatalf("message %d: got %+v want %+v", i, got, want)
		}
		for j := range want.Rcpts {
			if got.Rcpts[j] != want.Rcpts[j] {
				t.Fatalf("message %d recipient %d: got %+v want %+v", i, j, got.Rcpts[j], want.Rcpts[j])
			}
		}
	}
	if _, err := Receive(r); err != io.EOF {
		t.Fatalf("end of report: %v", err)
	}
	// Cut after the first recipient of the first message.
	cut := bytes.Index(wire, []byte("recipient=z@y"))
	r = bufio.NewReader(bytes.NewReader(wire[:cut]))
	if _, err := Receive(r); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut report: %v", err)
	}
	// A recipient list where a message should start.
	r = bufio.NewReader(strings.NewReader("recipient=x@y\n\n"))
	if _, err := Receive(r); err != ErrProtocol {
		t.Fatalf("stray recipient: %v", err)
	}
}
