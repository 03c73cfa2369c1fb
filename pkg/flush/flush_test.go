package flush

import (
	"errors"
	"sync"
	"testing"
	"time"
)

type fake struct {
	mu             sync.Mutex // fsyncs run in parallel
	fsyncs, syncfs []int
	delay          time.Duration
	failFS         int // syncfs of this descriptor fails
}

func (f *fake) Fsync(fd int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fsyncs = append(f.fsyncs, fd)
	return nil
}
func (f *fake) Syncfs(fd int) error {
	f.syncfs = append(f.syncfs, fd)
	time.Sleep(f.delay)
	if fd == f.failFS {
		return errors.New("injected EIO")
	}
	return nil
}

func TestRound(t *testing.T) {
	f := &fake{failFS: 20}
	p := &Policy{Sys: f, Base: time.Hour}

	if errs := p.Round([]Target{{FD: 1}}); errs[0] != nil || len(f.fsyncs) != 1 || len(f.syncfs) != 0 {
		t.Fatalf("one target: errs %v, fsyncs %v, syncfs %v; want one fsync", errs, f.fsyncs, f.syncfs)
	}

	// Two file systems: one syncfs each, through its FS descriptor; an error is every
	// target's of that file system, and only theirs.
	errs := p.Round([]Target{{FD: 2, Dev: 1, FS: 10}, {FD: 3, Dev: 2, FS: 20}, {FD: 4, Dev: 1, FS: 10}})
	if len(f.syncfs) != 2 || f.syncfs[0] != 10 || f.syncfs[1] != 20 {
		t.Fatalf("syncfs calls %v, want [10 20]", f.syncfs)
	}
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errors %v, want only the second target's", errs)
	}
	if p.Flushes() != 3 {
		t.Fatalf("Flushes %d, want 3", p.Flushes())
	}

	// A slow syncfs switches the next rounds to an fsync of each distinct descriptor.
	f.delay = 2 * SlowSyncfs
	p.Round([]Target{{FD: 5, Dev: 1, FS: 10}, {FD: 6, Dev: 1, FS: 10}})
	if p.Backoff() != time.Hour {
		t.Fatalf("Backoff %v after a slow syncfs, want the base (1h)", p.Backoff())
	}
	f.fsyncs, f.syncfs = nil, nil
	p.Round([]Target{{FD: 7, Dev: 1, FS: 10}, {FD: 8, Dev: 1, FS: 10}, {FD: 7, Dev: 1, FS: 10}})
	if len(f.syncfs) != 0 || len(f.fsyncs) != 2 {
		t.Fatalf("in fallback: fsyncs %v, syncfs %v; want two fsyncs (7 once) and no syncfs", f.fsyncs, f.syncfs)
	}
}
