package maildir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"postern/pkg/flush"
)

// deliverGrouped is one delivery through the group commit: Write,
// flush, Publish, flush.
func deliverGrouped(c *Committer, dir, body string) (string, error) {
	p, err := Write(dir, []string{"Delivered-To: u@x"}, strings.NewReader(body), Options{Commit: c})
	if err != nil {
		return "", err
	}
	defer p.Close()
	if err := c.Sync(p); err != nil {
		p.Abort()
		return "", err
	}
	name, err := p.Publish()
	if err != nil {
		return "", err
	}
	if err := c.Sync(p); err != nil {
		p.Abort()
		return "", err
	}
	return name, nil
}

// One delivery alone costs two flushes (the file, then new/); many at
// once share them, and every message ends up whole in new/ with nothing
// left in tmp/.
func TestCommitterGroups(t *testing.T) {
	var c Committer
	dir := filepath.Join(t.TempDir(), "Maildir")
	name, err := deliverGrouped(&c, dir, "one")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(name); string(b) != "Delivered-To: u@x\none" {
		t.Fatalf("%s: %q", name, b)
	}
	if n := c.Flushes(); n != 2 {
		t.Fatalf("one delivery: %d flushes, want 2", n)
	}

	const n = 40
	dirs := []string{dir, filepath.Join(t.TempDir(), "Maildir2"), filepath.Join(t.TempDir(), "Maildir3")}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := fmt.Sprintf("message %d", i)
			name, err := deliverGrouped(&c, dirs[i%len(dirs)], body)
			if err == nil {
				if b, _ := os.ReadFile(name); string(b) != "Delivered-To: u@x\n"+body {
					err = fmt.Errorf("%s: %q", name, b)
				}
			}
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := 0
	for _, d := range dirs {
		ents, _ := os.ReadDir(filepath.Join(d, "new"))
		total += len(ents)
		if tmp, _ := os.ReadDir(filepath.Join(d, "tmp")); len(tmp) != 0 {
			t.Fatalf("%s/tmp: %d files left", d, len(tmp))
		}
	}
	if total != n+1 {
		t.Fatalf("%d messages in new/, want %d", total, n+1)
	}
	f := c.Flushes() - 2
	t.Logf("%d concurrent deliveries: %d flushes", n, f)
	if f >= 2*n {
		t.Fatalf("%d concurrent deliveries took %d flushes: no grouping", n, f)
	}
	// The last member closed the file system's descriptor.
	if len(c.devs) != 0 {
		t.Fatalf("%d descriptors kept after all deliveries", len(c.devs))
	}
}

// A file written without the Committer cannot be synced by it.
func TestCommitterForeign(t *testing.T) {
	var c, other Committer
	p, err := Write(filepath.Join(t.TempDir(), "M"), nil, strings.NewReader("x"), Options{Commit: &other})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	defer p.Abort()
	if err := c.Sync(p); err == nil {
		t.Fatal("Sync of another Committer's file succeeded")
	}
}

// fakeFlusher counts flushes; syncfs takes as long as delay says, and
// fsync fails while fail is set.
type fakeFlusher struct {
	delay          atomic.Int64
	fail           atomic.Bool
	syncfs, fsyncs atomic.Int64
}

func (f *fakeFlusher) Fsync(fd int) error {
	f.fsyncs.Add(1)
	if f.fail.Load() {
		return errors.New("injected EIO")
	}
	return nil
}

func (f *fakeFlusher) Syncfs(fd int) error {
	f.syncfs.Add(1)
	time.Sleep(time.Duration(f.delay.Load()))
	return nil
}

// deliverMany runs n deliveries at once and returns how many failed.
func deliverMany(c *Committer, dir string, n int) int {
	var wg sync.WaitGroup
	var failed atomic.Int64
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := deliverGrouped(c, dir, fmt.Sprintf("message %d", i)); err != nil {
				failed.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(failed.Load())
}

// A slow syncfs (other writers' data) switches rounds to per-file fsync
// for a while; fsync errors then still fail the deliveries; afterwards
// syncfs is tried again and, fast, kept.
func TestCommitterFallback(t *testing.T) {
	f := &fakeFlusher{}
	c := &Committer{policy: flush.Policy{Sys: f, Base: 400 * time.Millisecond}}
	dir := filepath.Join(t.TempDir(), "Maildir")
	f.delay.Store(int64(60 * time.Millisecond))
	if n := deliverMany(c, dir, 20); n != 0 {
		t.Fatalf("%d deliveries failed", n)
	}
	if f.syncfs.Load() != 1 {
		t.Fatalf("%d syncfs calls while one slow call should have stopped them", f.syncfs.Load())
	}
	// In fallback: fsyncs only.
	s, fs := f.syncfs.Load(), f.fsyncs.Load()
	if n := deliverMany(c, dir, 20); n != 0 {
		t.Fatalf("%d deliveries failed", n)
	}
	if f.syncfs.Load() != s || f.fsyncs.Load()-fs < 40 {
		t.Fatalf("in fallback: %d syncfs, %d fsyncs for 20 deliveries", f.syncfs.Load()-s, f.fsyncs.Load()-fs)
	}
	f.fail.Store(true)
	if n := deliverMany(c, dir, 10); n != 10 {
		t.Fatalf("fsync failing: %d of 10 deliveries failed", n)
	}
	f.fail.Store(false)
	// After the fallback, syncfs again; fast, it stays.
	time.Sleep(450 * time.Millisecond)
	f.delay.Store(0)
	s = f.syncfs.Load()
	for i := 0; i < 3; i++ {
		if n := deliverMany(c, dir, 20); n != 0 {
			t.Fatalf("%d deliveries failed", n)
		}
	}
	if got := f.syncfs.Load() - s; got < 3 {
		t.Fatalf("after the fallback: %d syncfs calls for 3 batches, want at least 3", got)
	}
	if c.policy.Backoff() != 0 {
		t.Fatalf("fallback still set: %v", c.policy.Backoff())
	}
}
