package queue

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeSample(t *testing.T, q *Queue, lines []string) (*File, int64) {
	t.Helper()
	w, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Record(RecSize, SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(RecTime, "1700000000 123456")
	w.RecordString(RecAttr, "create_time=1700000000")
	w.RecordString(RecAttr, "rewrite_context=remote")
	w.RecordString(RecSender, "alice@example.org")
	w.RecordString(RecOrig, "Bob@example.org")
	w.RecordString(RecRcpt, "bob@example.org")
	w.RecordString(RecRcpt, "carol@example.org")
	w.Record(RecMesg, nil)
	start := w.Offset()
	var size int64
	for _, l := range lines {
		w.Line([]byte(l), 10)
		size += int64(len(l)) + 1
	}
	content := w.Offset() - start
	w.Record(RecXtra, nil)
	w.Record(RecEnd, nil)
	if err := w.WriteAt(SizeData(content, start, 2, 0, size, 0), 2); err != nil {
		t.Fatal(err)
	}
	return w, start
}

func TestWriteReadCommit(t *testing.T) {
	q := New(t.TempDir())
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	lines := []string{"Subject: hi", "", "a line longer than ten bytes for sure", "From me", ""}
	w, _ := writeSample(t, q, lines)
	ents, _ := q.Scan(Incoming)
	if len(ents) != 0 {
		t.Fatalf("uncommitted file listed: %v", ents)
	}
	if err := w.Commit(0); err != nil {
		t.Fatal(err)
	}
	ents, _ = q.Scan(Incoming)
	if len(ents) != 1 || ents[0].ID != w.ID {
		t.Fatalf("scan = %v, want %s", ents, w.ID)
	}
	m, err := ReadEnvelope(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Sender != "alice@example.org" || len(m.Recipients) != 2 || m.Recipients[0].Orig != "Bob@example.org" ||
		m.Recipients[1].Orig != "carol@example.org" || m.Nrcpt != 2 || m.Attrs["rewrite_context"] != "remote" {
		t.Fatalf("envelope %+v", m)
	}
	if m.Arrival != time.Unix(1700000000, 123456000) {
		t.Fatalf("arrival %v", m.Arrival)
	}
	f, _ := os.Open(w.Path)
	got, err := io.ReadAll(ContentReader(f, m.DataOffset))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(lines, "\n") + "\n"; string(got) != want {
		t.Fatalf("content %q, want %q", got, want)
	}
	if err := MarkDone(w.Path, m.Recipients[0].Offset); err != nil {
		t.Fatal(err)
	}
	m2, _ := ReadEnvelope(w.Path)
	if !m2.Recipients[0].Done || m2.Recipients[1].Done {
		t.Fatalf("done flags %+v", m2.Recipients)
	}
	// In-place patches check what is at the offset first.
	if err := MarkDone(w.Path, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("MarkDone on the C record: %v", err)
	}
	if err := MarkWarned(w.Path, m.Recipients[1].Offset); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("MarkWarned on an R record: %v", err)
	}
	if err := q.Move(w.ID, Incoming, Deferred); err != nil {
		t.Fatal(err)
	}
	if where, ok := q.Find(w.ID); !ok || where != Deferred {
		t.Fatalf("find = %q %v", where, ok)
	}
	ents, _ = q.Scan(Deferred)
	if len(ents) != 1 {
		t.Fatalf("deferred scan %v", ents)
	}
}

func TestIncompleteFileRejected(t *testing.T) {
	q := New(t.TempDir())
	q.Init(-1, -1)
	w, _ := q.Create(Incoming, 0)
	w.Record(RecSize, SizeData(0, 0, 0, 0, 0, 0))
	w.RecordString(RecSender, "x")
	w.Commit(0)
	if _, err := ReadEnvelope(w.Path); err == nil {
		t.Fatal("file without E accepted")
	}
}

func TestUniqueIDs(t *testing.T) {
	q := New(t.TempDir())
	q.Init(-1, -1)
	seen := map[string]bool{}
	for i := 0; i < 300; i++ {
		w, err := q.Create(Incoming, 0)
		if err != nil {
			t.Fatal(err)
		}
		if seen[w.ID] || !ValidID(w.ID) {
			t.Fatalf("bad or duplicate ID %q", w.ID)
		}
		seen[w.ID] = true
		w.Commit(0)
	}
}

func FuzzRecords(f *testing.F) {
	f.Add(AppendRecord(AppendRecord(nil, RecSender, []byte("a")), RecEnd, nil))
	f.Add([]byte{RecNorm, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, data []byte) {
		rr := NewRecordReader(bytes.NewReader(data), 0)
		for i := 0; i < 10000; i++ {
			if _, _, _, err := rr.Next(); err != nil {
				return
			}
		}
	})
}

func FuzzEnvelope(f *testing.F) {
	f.Add(AppendRecord(AppendRecord(AppendRecord(nil, RecSize, SizeData(5, 0, 1, 0, 0, 0)), RecMesg, nil), RecEnd, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := t.TempDir() + "/f"
		os.WriteFile(p, data, 0600)
		m, err := ReadEnvelope(p)
		if err != nil {
			return
		}
		fh, _ := os.Open(p)
		defer fh.Close()
		io.Copy(io.Discard, io.LimitReader(ContentReader(fh, m.DataOffset), 1<<20))
	})
}

// TestCreateConcurrent: many goroutines of one process creating files at once (cleanup serves
// its connections this way) all succeed, with distinct IDs.
func TestCreateConcurrent(t *testing.T) {
	q := New(t.TempDir())
	q.Init(-1, -1)
	// Every creation in the same microsecond: the temporary names must still differ.
	frozen := time.Now()
	timeNow = func() time.Time { return frozen }
	defer func() { timeNow = time.Now }()
	const n = 400
	ids := make(chan string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := q.Create(Incoming, 0)
			if err != nil {
				errs <- err
				return
			}
			ids <- w.ID
			w.Commit(0)
		}()
	}
	wg.Wait()
	close(ids)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("duplicate ID %s", id)
		}
		seen[id] = true
	}
}
