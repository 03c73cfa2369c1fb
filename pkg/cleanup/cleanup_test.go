package cleanup

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// fake is a cleanup server that records one stream and answers with reply (greeting first).
type fake struct {
	path  string
	recs  chan []string
	greet ipc.Attrs
	reply ipc.Attrs
}

func startFake(t *testing.T, greet, reply ipc.Attrs) *fake {
	t.Helper()
	dir, err := os.MkdirTemp("", "cl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	f := &fake{path: filepath.Join(dir, "cleanup"), recs: make(chan []string, 1), greet: greet, reply: reply}
	ln, err := net.Listen("unix", f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		ipc.Write(c, f.greet)
		rr := queue.NewRecordReader(bufio.NewReader(c), 0)
		var recs []string
		for {
			typ, data, _, err := rr.Next()
			if err != nil {
				f.recs <- append(recs, "broken")
				return
			}
			recs = append(recs, string(typ)+" "+string(data))
			if typ == queue.RecEnd {
				break
			}
		}
		f.recs <- recs
		ipc.Write(c, f.reply)
	}()
	return f
}

var greetOK = ipc.Attrs{{Name: AttrQueueID, Value: "4B2C1D9E0"}}

// TestStreamRecords pins what each call puts on the wire, in order.
func TestStreamRecords(t *testing.T) {
	f := startFake(t, greetOK, Reply(0, "4B2C1D9E0"))
	s, err := Open(f.path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID() != "4B2C1D9E0" {
		t.Fatalf("ID %q", s.ID())
	}
	s.LineLimit = 4
	s.Time(time.Unix(1700000000, 5000))
	s.Attr("rewrite_context", "local")
	s.Attrs(ipc.Attrs{{Name: "log_client_name", Value: "client.example"}, {Name: "sasl_username", Value: ""}})
	s.FullName("Joe User")
	s.Sender("")
	s.Recipient(Recipient{Addr: "bob@example.org", Orig: "Bob@Example.org", Notify: 6, DSNOrig: "rfc822;Bob@Example.org"})
	s.Recipient(Recipient{Addr: "carol@example.org"})
	s.Content()
	s.Line([]byte("Subject: hi"))
	if err := s.Text(strings.NewReader("ab\r\nabcdefghij\n\nc\rd\nlast")); err != nil {
		t.Fatal(err)
	}
	s.Extracted()
	s.Recipient(Recipient{Addr: "dave@example.org", Notify: 1})
	id, err := s.Close()
	if err != nil || id != "4B2C1D9E0" {
		t.Fatalf("Close = %q, %v", id, err)
	}
	want := []string{"T 1700000000 5", "A rewrite_context=local", "A log_client_name=client.example",
		"F Joe User", "S ", "A notify_flags=6", "A dsn_orig_rcpt=rfc822;Bob@Example.org",
		"O Bob@Example.org", "R bob@example.org", "R carol@example.org", "M ",
		"L Subj", "L ect:", "N  hi", "N ab", "L abcd", "L efgh", "N ij", "N ", "N c\rd", "N last",
		"X ", "A notify_flags=1", "R dave@example.org", "E "}
	if got := <-f.recs; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCopy sends a stored content segment as it is and refuses anything but N and L in it.
func TestCopy(t *testing.T) {
	var stored []byte
	for _, r := range []struct {
		typ  byte
		data string
	}{{queue.RecNorm, "To: bob"}, {queue.RecCont, "long"}, {queue.RecNorm, "line"}, {queue.RecXtra, ""}, {queue.RecRcpt, "never"}} {
		stored = queue.AppendRecord(stored, r.typ, []byte(r.data))
	}
	f := startFake(t, greetOK, Reply(0, "4B2C1D9E0"))
	s, err := Open(f.path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Sender("a")
	s.Content()
	if err := s.Copy(queue.NewRecordReader(bytes.NewReader(stored), 0)); err != nil {
		t.Fatal(err)
	}
	s.Extracted()
	if _, err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := "S a\nM \nN To: bob\nL long\nN line\nX \nE "
	if got := strings.Join(<-f.recs, "\n"); got != want {
		t.Fatalf("records:\n%s\nwant:\n%s", got, want)
	}

	bad := queue.AppendRecord(nil, queue.RecNorm, []byte("x"))
	bad = queue.AppendRecord(bad, queue.RecSender, []byte("planted"))
	s = &Stream{bw: bufio.NewWriter(&bytes.Buffer{})}
	if err := s.Copy(queue.NewRecordReader(bytes.NewReader(bad), 0)); !errors.Is(err, queue.ErrCorrupt) {
		t.Fatalf("S in content: %v", err)
	}
	if err := s.Copy(queue.NewRecordReader(bytes.NewReader(bad[:3]), 0)); !errors.Is(err, queue.ErrCorrupt) {
		t.Fatalf("content without X: %v", err)
	}
}

// TestRefusals: cleanup's answers become *Error with Postfix's codes and texts, and an SMTP
// server's reply text; a bad greeting is an error before anything is sent.
func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		stat      int
		err, text string
		permanent bool
	}{
		{StatWrite, "451 4.3.0 queue file write error", "Error: queue file write error", false},
		{StatSize | StatWrite, "552 5.3.4 message file too big", "Error: message file too big", true},
		{StatRcpt, "550 5.1.0 no recipients specified", "Error: no recipients specified", true},
		{StatHops, "554 5.4.0 too many hops", "Error: too many hops", true},
		{StatBad | StatSize, "451 4.3.0 internal protocol error", "Error: internal protocol error", false},
		{StatDefer | StatBad, "451 4.6.0 Alias expansion error", "Alias expansion error", false},
	} {
		f := startFake(t, greetOK, Reply(c.stat, "4B2C1D9E0"))
		s, err := Open(f.path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s.Sender("a")
		id, err := s.Close()
		var e *Error
		if !errors.As(err, &e) || id != "" {
			t.Fatalf("stat %d: Close = %q, %v", c.stat, id, err)
		}
		if e.Error() != c.err || e.Text() != c.text || e.Permanent() != c.permanent {
			t.Errorf("stat %d: %q %q %v, want %q %q %v", c.stat, e.Error(), e.Text(), e.Permanent(), c.err, c.text, c.permanent)
		}
		<-f.recs
	}

	// A reply that lacks parts is completed as a write error of its class.
	f := startFake(t, greetOK, ipc.Attrs{{Name: AttrStatus, Value: "99"}})
	s, _ := Open(f.path, 5*time.Second)
	if _, err := s.Close(); err == nil || err.Error() != "451 4.0.0 queue file write error" {
		t.Fatalf("bare status: %v", err)
	}

	// cleanup could not create a queue file: it says so in the greeting.
	f = startFake(t, append(ipc.Attrs{{Name: AttrQueueID, Value: ""}}, Reply(StatWrite, "")...), nil)
	if _, err := Open(f.path, 5*time.Second); err == nil || err.Error() != "451 4.3.0 queue file write error" {
		t.Fatalf("failed greeting: %v", err)
	}
	f = startFake(t, ipc.Attrs{{Name: AttrQueueID, Value: "../x"}}, nil)
	if _, err := Open(f.path, 5*time.Second); err == nil || !strings.Contains(err.Error(), "no valid queue_id") {
		t.Fatalf("bad greeting: %v", err)
	}
}

// TestStalledServer: a cleanup that never answers fails the stream after the timeout.
func TestStalledServer(t *testing.T) {
	dir, err := os.MkdirTemp("", "cl")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("unix", filepath.Join(dir, "cleanup"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			time.Sleep(3 * time.Second)
		}
	}()
	start := time.Now()
	if _, err := Open(filepath.Join(dir, "cleanup"), 200*time.Millisecond); err == nil {
		t.Fatal("Open succeeded without a greeting")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestStrerror(t *testing.T) {
	if Strerror(0) != "success" || Strerror(StatHops|StatWrite) != "too many hops" || Strerror(1<<20) != "unknown cleanup error" {
		t.Fatal(Strerror(0), Strerror(StatHops|StatWrite), Strerror(1<<20))
	}
	if a := Reply(0, "ID"); a.Get(AttrStatus) != "0" || a.Get(AttrQueueID) != "ID" {
		t.Fatal(a)
	}
}

// TestTextLongLine: a line far longer than the read buffer goes out in LineLimit pieces,
// and its CRLF is not part of it, however the reads fall.
func TestTextLongLine(t *testing.T) {
	f := startFake(t, greetOK, Reply(0, "4B2C1D9E0"))
	s, err := Open(f.path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("0123456789", 4000) // 40000 bytes
	s.Content()
	if err := s.Text(strings.NewReader(long + "\r\nnext\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	var shape []string
	for _, r := range <-f.recs {
		typ, data, _ := strings.Cut(r, " ")
		if typ == "L" || typ == "N" {
			if typ == "L" && len(data) != 2048 {
				t.Fatalf("L record of %d bytes", len(data))
			}
			got.WriteString(data)
			if typ == "N" {
				got.WriteString("\n")
			}
		}
		shape = append(shape, typ)
	}
	if got.String() != long+"\nnext\n" {
		t.Fatalf("content differs (%d bytes): %q...", got.Len(), got.String()[got.Len()-20:])
	}
	if n := strings.Count(strings.Join(shape, ""), "L"); n != 40000/2048 {
		t.Fatalf("%d L records: %v", n, shape)
	}
}

// TestWritePieces: content written in pieces of any size (BDAT chunks, DATA fragments)
// gives the same records as the whole of it, CRs before a split LF included.
func TestWritePieces(t *testing.T) {
	content := "ab\r\nabcdefghij\n\nc\rd\r\n" + strings.Repeat("x", 11) + "\r\nlast"
	records := func(write func(s *Stream)) string {
		f := startFake(t, greetOK, Reply(0, "4B2C1D9E0"))
		s, err := Open(f.path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		s.LineLimit = 4
		s.Content()
		write(s)
		if _, err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(<-f.recs, "|")
	}
	want := records(func(s *Stream) { s.Text(strings.NewReader(content)) })
	if !strings.Contains(want, "N ab|L abcd|L efgh|N ij|N |N c\rd|L xxxx|L xxxx|N xxx|N last|E ") {
		t.Fatalf("Text records %q", want)
	}
	for size := 1; size <= len(content); size++ {
		got := records(func(s *Stream) {
			for i := 0; i < len(content); i += size {
				s.Write([]byte(content[i:min(i+size, len(content))]))
			}
			s.EndLine()
		})
		if got != want {
			t.Fatalf("pieces of %d: %q, want %q", size, got, want)
		}
	}
}

// A stream's buffers go back for the next stream at Close or Abort: the next stream starts
// clean, and a stream used after its end fails instead of writing into a buffer it no longer
// owns.
func TestStreamBuffersReused(t *testing.T) {
	for i := 0; i < 3; i++ {
		f := startFake(t, greetOK, Reply(0, "4B2C1D9E0"))
		s, err := Open(f.path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			s.Sender("left@behind.example") // buffered, never sent: the stream is dropped
			s.Abort()
			s.Abort()
			<-f.recs
			continue
		}
		s.Sender("s@example.com")
		s.Content()
		s.Write([]byte("line\r\n"))
		s.Extracted()
		if id, err := s.Close(); err != nil || id != "4B2C1D9E0" {
			t.Fatal(id, err)
		}
		got := strings.Join(<-f.recs, "|")
		if want := "S s@example.com|M |N line|X |E "; got != want {
			t.Fatalf("stream %d sent %q, want %q", i, got, want)
		}
		s.Recipient(Recipient{Addr: "late@example.com"})
		s.Write([]byte("late\n"))
		if !errors.Is(s.Err(), net.ErrClosed) {
			t.Fatalf("use after Close: %v", s.Err())
		}
		if _, err := s.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("second Close: %v", err)
		}
	}
}
