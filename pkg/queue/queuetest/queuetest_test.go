package queuetest

import (
	"io"
	"os"
	"testing"

	"postern/pkg/queue"
)

func TestActive(t *testing.T) {
	q := queue.New(t.TempDir())
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	id, off := Active(t, q, "s@example.org", "R@Example.ORG", "r@example.org", "Subject: x", "", "body")
	m, err := queue.ReadEnvelope(q.Path(queue.Active, id))
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender != "s@example.org" || len(m.Recipients) != 1 || m.Recipients[0].Addr != "r@example.org" ||
		m.Recipients[0].Orig != "R@Example.ORG" || m.DataOffset != off || m.MessageSize != int64(len("Subject: x\n\nbody\n")) {
		t.Fatalf("envelope %+v", m)
	}
	f, err := os.Open(q.Path(queue.Active, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(queue.ContentReader(f, off))
	if err != nil || string(b) != "Subject: x\n\nbody\n" {
		t.Fatalf("content %q %v", b, err)
	}
}
