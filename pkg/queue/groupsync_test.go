package queue

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Commits that ask while a round is flushing share the next round, and every one of them
// ends durable-ready (0700, full content) in incoming/.
func TestGroupCommit(t *testing.T) {
	q := New(t.TempDir())
	if err := os.MkdirAll(filepath.Join(q.Dir, Incoming), 0700); err != nil {
		t.Fatal(err)
	}
	const n = 12
	files := make([]*File, n)
	for i := range files {
		w, err := q.Create(Incoming, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.RecordString(RecNorm, "message body"); err != nil {
			t.Fatal(err)
		}
		files[i] = w
	}

	var mu sync.Mutex
	var rounds []int
	queued := make(chan struct{})
	first := true
	beforeFlush = func(size int) {
		mu.Lock()
		rounds = append(rounds, size)
		wait := first
		first = false
		mu.Unlock()
		if wait {
			<-queued // hold the first round until every other Commit has asked
		}
	}
	defer func() { beforeFlush = nil }()

	errs := make(chan error, n)
	go func() { errs <- files[0].Commit(0) }()
	waitFor(t, "the first round", func() bool { // running (and held) once it has recorded itself
		mu.Lock()
		defer mu.Unlock()
		return len(rounds) == 1
	})
	for _, w := range files[1:] {
		go func() { errs <- w.Commit(0) }()
	}
	waitFor(t, "the other Commits in the next round", func() bool {
		q.group.mu.Lock()
		defer q.group.mu.Unlock()
		return q.group.next != nil && len(q.group.next.files) == n-1
	})
	close(queued)
	for range files {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(rounds) != 2 || rounds[0] != 1 || rounds[1] != n-1 {
		t.Fatalf("rounds %v, want [1 %d]", rounds, n-1)
	}
	for _, w := range files {
		fi, err := os.Stat(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		if !Ready(fi) || fi.Size() == 0 {
			t.Errorf("%s: mode %v size %d, want ready with content", w.ID, fi.Mode(), fi.Size())
		}
	}
}
