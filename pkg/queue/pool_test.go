package queue

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func poolNames(t *testing.T, q *Queue) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(q.Dir, Pool))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func initQueue(t *testing.T) *Queue {
	t.Helper()
	q := New(t.TempDir())
	if err := q.Init(-1, -1); err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRecycle: a finished file goes to pool/ emptied and 0600; the next Create of incoming/
// reuses its inode under a new ID, empty and 0600 like a new file, writes and commits it,
// and the old content is gone.
func TestRecycle(t *testing.T) {
	q := initQueue(t)
	w, _ := writeSample(t, q, []string{"Subject: first", "", "body of the first"})
	if err := w.Commit(0); err != nil {
		t.Fatal(err)
	}
	if err := q.Move(w.ID, Incoming, Active); err != nil {
		t.Fatal(err)
	}
	ino := inode(t, q.Path(Active, w.ID))
	if err := q.Recycle(q.Path(Active, w.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(q.Path(Active, w.ID)); !os.IsNotExist(err) {
		t.Fatalf("active file still there: %v", err)
	}
	if got := poolNames(t, q); len(got) != 1 || got[0] != w.ID {
		t.Fatalf("pool = %v, want [%s]", got, w.ID)
	}
	fi, _ := os.Lstat(filepath.Join(q.Dir, Pool, w.ID))
	if fi.Mode() != 0600 || fi.Size() != 0 {
		t.Fatalf("pool file mode %v size %d, want 0600 and empty", fi.Mode(), fi.Size())
	}
	// The queue tools see nothing.
	for _, qn := range []string{Incoming, Active, Deferred, Hold} {
		if ents, _ := q.Scan(qn); len(ents) != 0 {
			t.Fatalf("%s lists %v", qn, ents)
		}
	}

	q.pool.dryTil = time.Time{} // the first Create found pool/ empty
	w2, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := inode(t, w2.Path); got != ino {
		t.Fatalf("new file inode %d, want the recycled %d", got, ino)
	}
	if w2.ID == w.ID || filepath.Dir(w2.Path) != filepath.Join(q.Dir, Incoming) {
		t.Fatalf("new ID %s path %s (old %s)", w2.ID, w2.Path, w.ID)
	}
	if w2.ID[5:] != MakeID(time.Time{}, ino)[5:] {
		t.Fatalf("ID %s does not name inode %X", w2.ID, ino)
	}
	fi, _ = os.Lstat(w2.Path)
	if fi.Mode() != 0600 || fi.Size() != 0 {
		t.Fatalf("reused file mode %v size %d, want 0600 and empty", fi.Mode(), fi.Size())
	}
	if got := poolNames(t, q); len(got) != 0 {
		t.Fatalf("pool still holds %v", got)
	}
	if ents, _ := q.Scan(Incoming); len(ents) != 0 {
		t.Fatalf("uncommitted reused file listed: %v", ents)
	}
	w2.Abort()

	// A full round with content.
	w3, _ := writeSample(t, q, []string{"Subject: third", "", "x"})
	if err := w3.Commit(0); err != nil {
		t.Fatal(err)
	}
	m, err := ReadEnvelope(w3.Path)
	if err != nil || m.Sender != "alice@example.org" {
		t.Fatalf("envelope %+v, %v", m, err)
	}
}

// TestRecycleIDNotReused: a file never comes back under the queue ID of its previous life,
// even when the clock shows the same microsecond.
func TestRecycleIDNotReused(t *testing.T) {
	q := initQueue(t)
	frozen := time.Unix(1700000000, 123456000)
	timeNow = func() time.Time { return frozen }
	defer func() { timeNow = time.Now }()
	w, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Commit(0)
	if err := q.Recycle(w.Path); err != nil {
		t.Fatal(err)
	}
	// Same microsecond: the pool file must not be taken under its old ID.
	q.pool.dryTil = time.Time{}
	w2, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w2.ID == w.ID {
		t.Fatalf("reused file got its old ID %s", w.ID)
	}
	// It was a new file, and the pool entry waits for a later microsecond.
	if got := poolNames(t, q); len(got) != 1 {
		t.Fatalf("pool = %v", got)
	}
	frozen = frozen.Add(time.Microsecond)
	q.pool.dryTil = time.Time{}
	w3, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w3.ID == w.ID || w3.ID == w2.ID || inode(t, w3.Path) != inode(t, filepath.Join(q.Dir, Incoming, w3.ID)) {
		t.Fatalf("IDs %s %s %s", w.ID, w2.ID, w3.ID)
	}
	if got := poolNames(t, q); len(got) != 0 {
		t.Fatalf("pool = %v", got)
	}
}

// TestRecycleNoReplace: a name already in incoming/ is never replaced by a pool file, even
// one spelling the same ID (a copy made by hand).
func TestRecycleNoReplace(t *testing.T) {
	q := initQueue(t)
	frozen := time.Unix(1700000000, 5000)
	timeNow = func() time.Time { return frozen }
	defer func() { timeNow = time.Now }()
	w, _ := q.Create(Incoming, 0)
	w.Commit(0)
	ino := inode(t, w.Path)
	q.Recycle(w.Path)
	frozen = frozen.Add(time.Microsecond)
	q.pool.dryTil = time.Time{}
	squat := q.Path(Incoming, MakeID(frozen, ino))
	if err := os.WriteFile(squat, []byte("someone else's"), 0700); err != nil {
		t.Fatal(err)
	}
	w2, err := q.Create(Incoming, 0)
	if err != nil {
		t.Fatal(err)
	}
	if w2.Path == squat {
		t.Fatal("took the squatted name")
	}
	if b, _ := os.ReadFile(squat); string(b) != "someone else's" {
		t.Fatalf("squatted file now %q", b)
	}
	w2.Abort()
}

// TestRecycleLeftovers: what a crash leaves in pool/ is never reused: a file with content
// (qmgr killed between rename and truncate), one still 0700, one with a second name (a
// pool name revived by a power loss next to its incoming/ name, nlink 2 after fsck). The
// first two are unlinked; the third loses only its pool name, its data stays.
func TestRecycleLeftovers(t *testing.T) {
	q := initQueue(t)
	pool := filepath.Join(q.Dir, Pool)
	if err := os.WriteFile(filepath.Join(pool, "AAAAA1"), []byte("C...delivered content"), 0700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pool, "AAAAA2"), nil, 0700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(pool, "AAAAA2"), 0700)
	live := filepath.Join(q.Dir, Incoming, "BBBBB3")
	if err := os.WriteFile(live, []byte("a live message"), 0600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(live, 0700)
	if err := os.Link(live, filepath.Join(pool, "AAAAA3")); err != nil {
		t.Fatal(err)
	}
	// An empty 0600 file with two names is "clean" but for nlink.
	live2 := filepath.Join(q.Dir, Incoming, "BBBBB4")
	os.WriteFile(live2, nil, 0600)
	os.Chmod(live2, 0600)
	os.Link(live2, filepath.Join(pool, "AAAAA4"))

	for i := 0; i < 3; i++ {
		w, err := q.Create(Incoming, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range []string{live, live2} {
			if inode(t, w.Path) == inode(t, l) {
				t.Fatalf("Create reused %s", l)
			}
		}
		if fi, _ := os.Lstat(w.Path); fi.Size() != 0 || fi.Mode() != 0600 {
			t.Fatalf("created %v size %d", fi.Mode(), fi.Size())
		}
		w.Abort()
	}
	if got := poolNames(t, q); len(got) != 0 {
		t.Fatalf("pool still holds %v", got)
	}
	if b, err := os.ReadFile(live); err != nil || string(b) != "a live message" {
		t.Fatalf("live message: %q %v", b, err)
	}
	if fi, err := os.Lstat(live); err != nil || fi.Sys().(*syscall.Stat_t).Nlink != 1 {
		t.Fatalf("live message: %v", err)
	}
	if _, err := os.Lstat(live2); err != nil {
		t.Fatal(err)
	}

	// Recycle leaves a file with a second name alone (only its own name goes).
	keep := filepath.Join(q.Dir, Active, "CCCCC5")
	os.WriteFile(keep, []byte("delivered"), 0600)
	other := filepath.Join(q.Dir, "saved", "CCCCC5")
	os.Link(keep, other)
	if err := q.Recycle(keep); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(other); string(b) != "delivered" {
		t.Fatalf("second name now %q", b)
	}
	if got := poolNames(t, q); len(got) != 0 {
		t.Fatalf("pool = %v", got)
	}
}

// TestRecycleBound: past the limit Recycle unlinks; files taken out make room again.
func TestRecycleBound(t *testing.T) {
	q := initQueue(t)
	q.SetPoolLimit(3)
	var ids []string
	for i := 0; i < 5; i++ {
		w, err := q.Create(Incoming, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.Commit(0)
		ids = append(ids, w.ID)
	}
	for _, id := range ids {
		if err := q.Recycle(q.Path(Incoming, id)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Lstat(q.Path(Incoming, id)); !os.IsNotExist(err) {
			t.Fatalf("%s still there", id)
		}
	}
	if got := poolNames(t, q); len(got) != 3 {
		t.Fatalf("pool = %v, want 3", got)
	}
	// A second process (its own count) sees the directory: still full.
	q2 := New(q.Dir)
	q2.SetPoolLimit(3)
	w, _ := q2.Create(Incoming, 0) // takes one: 2 left
	w.Commit(0)
	q.pool.dryTil = time.Time{}
	w2, _ := q.Create(Incoming, 0) // this process: 1 left
	w2.Commit(0)
	// q's estimate says full until it recounts (at most once a second).
	timeNow = func() time.Time { return time.Now().Add(2 * time.Second) }
	defer func() { timeNow = time.Now }()
	for _, p := range []string{w.Path, w2.Path} {
		if err := q.Recycle(p); err != nil {
			t.Fatal(err)
		}
	}
	if got := poolNames(t, q); len(got) != 3 {
		t.Fatalf("pool = %v, want 3", got)
	}
	// Off: unlink.
	q.SetPoolLimit(0)
	w3, _ := q.Create(Incoming, 0)
	w3.Commit(0)
	q.Recycle(w3.Path)
	if got := poolNames(t, q); len(got) != 3 {
		t.Fatalf("pool = %v, want 3", got)
	}
}

// TestRecycleConcurrent: many Creates from two Queue values (two processes) and Recycles at
// once: every file is used by one writer only, IDs are unique among live files.
func TestRecycleConcurrent(t *testing.T) {
	q := initQueue(t)
	qs := []*Queue{q, New(q.Dir)}
	var mu sync.Mutex
	live := map[string]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			qq := qs[g%2]
			for i := 0; i < 100; i++ {
				w, err := qq.Create(Incoming, 0)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if live[w.ID] {
					t.Errorf("ID %s twice", w.ID)
				}
				live[w.ID] = true
				mu.Unlock()
				body := w.ID
				w.RecordString(RecSender, body)
				w.Record(RecEnd, nil)
				if err := w.Commit(0); err != nil {
					t.Error(err)
					return
				}
				b, _ := os.ReadFile(w.Path)
				if want := string(AppendRecord(AppendRecord(nil, RecSender, []byte(body)), RecEnd, nil)); string(b) != want {
					t.Errorf("%s: content %q, want %q", w.ID, b, want)
				}
				mu.Lock()
				delete(live, w.ID)
				mu.Unlock()
				if err := qq.Recycle(w.Path); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
}

// TestPurgePool: postsuper -p's part: unclean pool entries go, clean ones stay.
func TestPurgePool(t *testing.T) {
	q := initQueue(t)
	pool := filepath.Join(q.Dir, Pool)
	os.WriteFile(filepath.Join(pool, "AAAAA1"), []byte("delivered"), 0600)
	os.WriteFile(filepath.Join(pool, "AAAAA2"), nil, 0600)
	os.Chmod(filepath.Join(pool, "AAAAA2"), 0600)
	if n := q.PurgePool(); n != 1 {
		t.Fatalf("purged %d, want 1", n)
	}
	if got := poolNames(t, q); len(got) != 1 || got[0] != "AAAAA2" {
		t.Fatalf("pool = %v", got)
	}
}
