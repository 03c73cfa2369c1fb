// Package flush decides how one group-commit round of open files is made durable: fsync(2)
// of the one file, syncfs(2) once per file system when there are several, and parallel
// fsyncs instead while syncfs is slow.
//
// syncfs writes every dirty page, inode and directory block of its file system and waits for
// them (sync(2)'s guarantee, for one file system), so it gives each file of the round what
// its own fsync would, in one call. Its cost is not bounded by the round: next to a bulk
// writer one call waits for all of that writer's data. So every syncfs is timed, and one
// slower than SlowSyncfs and than twice the fsyncs it replaces would take (their recent
// average latency times the round's files) switches rounds to an fsync of each file, in
// parallel, for a while (Base, doubling while retries stay slow, up to 64 times Base); a
// fast syncfs ends that. Both modes make every file of the round durable, so a caller's
// power-loss argument holds in either; only the number of calls changes.
//
// Users: pkg/maildir's Committer (Maildir deliveries) and pkg/queue (queue file commits).
package flush

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Syncer is the two system calls (a fake in tests).
type Syncer interface {
	Fsync(fd int) error
	Syncfs(fd int) error
}

type system struct{}

func (system) Fsync(fd int) error  { return unix.Fsync(fd) }
func (system) Syncfs(fd int) error { return unix.Syncfs(fd) }

// Target is one file of a round.
type Target struct {
	FD  int    // the file (or directory) to make durable
	Dev uint64 // its file system
	// FS is the descriptor given to syncfs for Dev. syncfs reports a write-back error of
	// the file system since that descriptor was opened (Linux 5.8 and later), so the caller
	// passes one opened before any write of the round's files.
	FS int
}

const (
	// SlowSyncfs: a syncfs longer than this (and than the fsyncs it replaces) was paying
	// for other writers' data.
	SlowSyncfs = 20 * time.Millisecond
	// defaultBase: how long a slow syncfs keeps rounds on per-file fsyncs at first.
	defaultBase = time.Second
	// parallelFsyncs bounds the fsyncs of one round running at once.
	parallelFsyncs = 8
)

// Policy flushes rounds one at a time (Round is not for concurrent use: callers run their
// rounds from one goroutine) and keeps what it learned of the file system's speed.
type Policy struct {
	Sys  Syncer        // nil: the system calls
	Base time.Duration // 0: one second

	flushes       atomic.Int64
	fsyncAvg      time.Duration // recent per-fsync latency (moving average)
	fallbackFor   time.Duration // length of the current fallback, 0 when none
	fallbackUntil time.Time     // fsync per file until then
}

// Flushes is the number of fsync and syncfs calls made.
func (p *Policy) Flushes() int64 { return p.flushes.Load() }

// Backoff is the length of the current fallback to per-file fsyncs, 0 when syncfs is in use.
func (p *Policy) Backoff() time.Duration { return p.fallbackFor }

// Round makes every target durable and returns each one's error (nil when durable): a
// syncfs error is every target's of that file system.
func (p *Policy) Round(ts []Target) []error {
	sys := p.Sys
	if sys == nil {
		sys = system{}
	}
	errs := make([]error, len(ts))
	now := time.Now()
	if len(ts) == 1 || now.Before(p.fallbackUntil) {
		p.fsyncAll(sys, ts, errs)
		return errs
	}
	done := map[uint64]bool{}
	for _, t := range ts {
		if done[t.Dev] {
			continue
		}
		done[t.Dev] = true
		p.flushes.Add(1)
		if err := sys.Syncfs(t.FS); err != nil {
			for i := range ts {
				if ts[i].Dev == t.Dev {
					errs[i] = err
				}
			}
		}
	}
	took := time.Since(now)
	if took > SlowSyncfs && took > 2*time.Duration(len(ts))*p.fsyncAvg {
		p.fallbackFor = min(max(2*p.fallbackFor, p.base()), 64*p.base())
		p.fallbackUntil = time.Now().Add(p.fallbackFor)
	} else {
		p.fallbackFor = 0
	}
	return errs
}

func (p *Policy) base() time.Duration {
	if p.Base > 0 {
		return p.Base
	}
	return defaultBase
}

// fsyncAll fsyncs each distinct descriptor, up to parallelFsyncs at once (the disk can take
// several writes at a time), and keeps the average latency.
func (p *Policy) fsyncAll(sys Syncer, ts []Target, errs []error) {
	byFD := make(map[int][]int, len(ts)) // descriptor -> indexes in ts
	todo := make(chan int, len(ts))
	for i, t := range ts {
		if byFD[t.FD] == nil {
			todo <- t.FD
		}
		byFD[t.FD] = append(byFD[t.FD], i)
	}
	close(todo)
	var mu sync.Mutex
	var total atomic.Int64
	work := func() {
		for fd := range todo {
			p.flushes.Add(1)
			start := time.Now()
			err := sys.Fsync(fd)
			total.Add(int64(time.Since(start)))
			if err != nil {
				mu.Lock()
				for _, i := range byFD[fd] {
					errs[i] = err
				}
				mu.Unlock()
			}
		}
	}
	if n := min(len(byFD), parallelFsyncs); n == 1 {
		work() // the common round of one: no goroutine
	} else {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() { defer wg.Done(); work() }()
		}
		wg.Wait()
	}
	avg := time.Duration(total.Load() / int64(len(byFD)))
	if p.fsyncAvg == 0 {
		p.fsyncAvg = avg
	} else {
		p.fsyncAvg += (avg - p.fsyncAvg) / 8
	}
}
