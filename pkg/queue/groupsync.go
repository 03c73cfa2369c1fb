package queue

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"postern/pkg/flush"
)

// groupSync is group commit for queue files: Commits of one Queue that need their flush at
// the same moment (cleanup serves many sessions at once) share one. A round starts as soon
// as the previous one ends and takes every File that asked meanwhile; no round waits for
// company, so a lone message costs what it did (one fsync) and the 250 reply is never
// delayed for the benefit of others. A round of one calls fsync(2) on its file; a round of
// several calls syncfs(2) once per file system.
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
// How a round is flushed, and the fallback to parallel fsyncs while syncfs is slow (another
// writer's dirty data next to the spool), is package postern/pkg/flush's, shared with local's
// Maildir group commit.
type groupSync struct {
	mu      sync.Mutex
	running bool
	next    *syncRound
	policy  flush.Policy // used only by run's goroutine
}

type syncRound struct {
	files []*File
	done  chan struct{}
	err   error
}

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
		g.mu.Unlock()
		r.err = g.flush(r.files)
		close(r.done)
	}
}

func (g *groupSync) flush(files []*File) error {
	if beforeFlush != nil {
		beforeFlush(len(files))
	}
	ts := make([]flush.Target, len(files))
	for i, w := range files {
		ts[i].FD = int(w.f.Fd())
	}
	if len(files) > 1 {
		// syncfs per file system, given the descriptor of its oldest member (see "Errors").
		oldest := map[uint64]*File{}
		for i, w := range files {
			var st unix.Stat_t
			if err := unix.Fstat(ts[i].FD, &st); err != nil {
				return err
			}
			ts[i].Dev = st.Dev
			if o := oldest[st.Dev]; o == nil || w.seq < o.seq {
				oldest[st.Dev] = w
			}
		}
		for i := range ts {
			ts[i].FS = int(oldest[ts[i].Dev].f.Fd())
		}
	}
	return errors.Join(g.policy.Round(ts)...)
}
