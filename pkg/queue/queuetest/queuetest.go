// Package queuetest writes queue files for the tests of programs that read them: the file a
// delivery agent (local, smtp) is handed in the active queue. Test-only; no program imports it.
package queuetest

import (
	"testing"

	"postern/pkg/queue"
)

// Active writes a committed queue file in q's active queue as cleanup and qmgr leave it: C
// record with the sizes, T record (1700000000), sender, an O record when orig is not empty,
// one recipient, then lines as the content. It returns the queue ID and the content offset
// (the first record after M), the values of a delivery request's queue_id and
// content_offset.
func Active(t testing.TB, q *queue.Queue, sender, orig, rcpt string, lines ...string) (string, int64) {
	t.Helper()
	w, err := q.Create(queue.Active, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Record(queue.RecSize, queue.SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(queue.RecTime, "1700000000 0")
	w.RecordString(queue.RecSender, sender)
	if orig != "" {
		w.RecordString(queue.RecOrig, orig)
	}
	w.RecordString(queue.RecRcpt, rcpt)
	w.Record(queue.RecMesg, nil)
	start := w.Offset()
	var size int64
	for _, l := range lines {
		w.Line([]byte(l), 2048)
		size += int64(len(l)) + 1
	}
	content := w.Offset() - start
	w.Record(queue.RecXtra, nil)
	w.Record(queue.RecEnd, nil)
	if err := w.WriteAt(queue.SizeData(content, start, 1, 0, size, 0), 2); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(0); err != nil {
		t.Fatal(err)
	}
	return w.ID, start
}
