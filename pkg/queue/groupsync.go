package queue

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// groupSync is group commit for queue files: Commits of one Queue that need their flush at
// the same moment (cleanup serves many sessions at once) share one. A round starts as soon
// as the previous one ends and takes every File that asked meanwhile; no round waits for
// company, so a lone message costs what it did (one fsync) and the 250 reply is never
// delayed for the benefit of others. A round of one calls fsync(2) on its file; a round of
// several calls syncfs(2) once, when all its files are on one file system.
//
// Power loss: syncfs writes every dirty data page, inode and directory block of the file
// system and waits for them (sync(2)'s guarantee for one file system), so when it returns
// each member's content, its ready mode (0700, set before the round) and its name in
// incoming/ are on disk: what fsync of the file gave, and more. Commit answers only after
// its round; a crash before that leaves a file no client was told about (the client
// retries, as after a failed fsync).
//
// Errors: syncfs reports a write-back error anywhere on the file system since the
// descriptor it is given was opened (Linux 5.8 and later). The round uses the member whose
// File was made first, before any member wrote, so every member's writes are covered; an
// error fails the whole round (those sessions get 451 and retry: a duplicate at worst).
//
// A syncfs also writes what other programs left dirty on the file system; one that takes
// longer than slowQueueSyncfs switches rounds to an fsync of each member, in parallel, for
// a second, so queue commits are not hostage to a bulk writer next to the spool.
type groupSync struct {
	mu       sync.Mutex
	running  bool
	next     *syncRound
	slowTill time.Time
}

type syncRound struct {
	files []*File
	done  chan struct{}
	err   error
}

const slowQueueSyncfs = 20 * time.Millisecond

// beforeFlush, when set (tests), runs before each round's flush with the round's size.
var beforeFlush func(n int)

// fileSeq orders Files by creation (see "Errors" above).
var fileSeq atomic.Uint64

// sync returns once w's file is on disk, alone or with the others of its round.
func (g *groupSync) sync(w *File) error {
	g.mu.Lock()
	r := g.next
	if r == nil {
		r = &syncRound{done: make(chan struct{})}
		g.next = r
	}
	r.files = append(r.files, w)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	<-r.done
	return r.err
}

func (g *groupSync) run() {
	for {
		g.mu.Lock()
		r := g.next
		g.next = nil
		if r == nil {
			g.running = false
			g.mu.Unlock()
			return
		}
		slow := time.Now().Before(g.slowTill)
		g.mu.Unlock()
		r.err = g.flush(r.files, slow)
		close(r.done)
	}
}

func (g *groupSync) flush(files []*File, slow bool) error {
	if beforeFlush != nil {
		beforeFlush(len(files))
	}
	if len(files) == 1 {
		return files[0].f.Sync()
	}
	if !slow && oneDevice(files) {
		oldest := files[0]
		for _, w := range files[1:] {
			if w.seq < oldest.seq {
				oldest = w
			}
		}
		start := time.Now()
		err := unix.Syncfs(int(oldest.f.Fd()))
		if time.Since(start) > slowQueueSyncfs {
			g.mu.Lock()
			g.slowTill = time.Now().Add(time.Second)
			g.mu.Unlock()
		}
		return err
	}
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, w := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.f.Sync()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// oneDevice tells whether the files are on one file system (a queue directory may be a
// mount point of its own): syncfs covers only the file system of its descriptor.
func oneDevice(files []*File) bool {
	var dev uint64
	for i, w := range files {
		var st unix.Stat_t
		if unix.Fstat(int(w.f.Fd()), &st) != nil {
			return false
		}
		if i > 0 && st.Dev != dev {
			return false
		}
		dev = st.Dev
	}
	return true
}
