package cleanup

import (
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRealCleanup submits through the real cleanup program under master: a message is
// queued and delivered with what the stream said, and cleanup's refusals come back with
// Postfix's codes and texts, leaving nothing in the queue.
func TestRealCleanup(t *testing.T) {
	name, _, _ := testenv.User(t)
	e := testenv.Start(t, testenv.Options{MainCF: "message_size_limit = 100000\n"})
	path := filepath.Join(e.QueueDir, "public", "cleanup")

	s, err := Open(path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Attr("rewrite_context", "remote")
	s.Attrs(ipc.Attrs{{Name: "log_client_name", Value: "client.example"}, {Name: "log_client_address", Value: "192.0.2.7"}})
	s.Sender("alice@example.org")
	s.Recipient(Recipient{Addr: name + "@postern.test", Orig: "old-" + name + "@postern.test", Notify: 2})
	s.Content()
	s.Line([]byte("Subject: through pkg/cleanup"))
	s.Line(nil)
	if err := s.Text(strings.NewReader("line one\r\n" + strings.Repeat("x", 5000) + "\r\nlast")); err != nil {
		t.Fatal(err)
	}
	s.Extracted()
	id, err := s.Close()
	if err != nil || id != s.ID() {
		t.Fatalf("Close = %q, %v (opened as %s)", id, err, s.ID())
	}
	e.WaitLog(t, regexp.MustCompile(`postfix/qmgr\[\d+\]: `+id+`: from=<alice@example\.org>, size=\d+, nrcpt=1 \(queue active\)`))
	e.WaitLog(t, regexp.MustCompile(`postfix/local\[\d+\]: `+id+`: to=<`+name+`@postern\.test>, orig_to=<old-`+name+`@postern\.test>, relay=local, .*status=sent \(delivered to mailbox\)`))
	mbox := e.Mbox(name)
	for _, want := range []string{"Subject: through pkg/cleanup\n\nline one\n" + strings.Repeat("x", 5000) + "\nlast\n",
		"Return-Path: <alice@example.org>\n"} {
		if !strings.Contains(mbox, want) {
			t.Fatalf("mailbox lacks %q:\n%s", want[:min(len(want), 60)], mbox)
		}
	}
	// NOTIFY=SUCCESS came through: the sender gets a success report.
	e.WaitLog(t, regexp.MustCompile(id+`: sender delivery status notification: `))

	refuse := func(what string, body func(*Stream), want string) {
		t.Helper()
		s, err := Open(path, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		body(s)
		id, err := s.Close()
		var refused *Error
		if !errors.As(err, &refused) || refused.Error() != want || id != "" {
			t.Fatalf("%s: Close = %q, %v; want %s", what, id, err, want)
		}
	}
	refuse("no recipients", func(s *Stream) {
		s.Sender("alice@example.org")
		s.Content()
		s.Line([]byte("Subject: nobody"))
		s.Extracted()
	}, "550 5.1.0 no recipients specified")
	refuse("too big", func(s *Stream) {
		s.Sender("alice@example.org")
		s.Recipient(Recipient{Addr: name + "@postern.test"})
		s.Content()
		s.Text(strings.NewReader(strings.Repeat("y", 200000)))
		s.Extracted()
	}, "552 5.3.4 message file too big")
	refuse("no sender", func(s *Stream) {
		s.Recipient(Recipient{Addr: name + "@postern.test"})
		s.Content()
		s.Extracted()
	}, "451 4.3.0 internal protocol error")

	// An aborted stream leaves no queue file.
	s, err = Open(path, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Sender("alice@example.org")
	s.Recipient(Recipient{Addr: name + "@postern.test"})
	s.Content()
	s.Line([]byte("Subject: never"))
	s.Abort()
	e.WaitFor(t, 10*time.Second, func() bool { return e.QueueEmpty() && e.QueueIncomplete() == 0 })
	if strings.Contains(e.Mbox(name), "Subject: never") || strings.Contains(e.Mbox(name), "Subject: nobody") {
		t.Fatal("a refused or aborted message was delivered")
	}
}
