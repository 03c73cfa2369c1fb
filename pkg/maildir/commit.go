package maildir

import (
	"errors"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/flush"
)

// Committer is group commit for Maildir deliveries: deliveries that need
// durability at the same moment share one flush. A delivery is
//
//	Write (tmp/ file, joined to the Committer) -> Sync -> Publish (link
//	into new/) -> Sync -> report success
//
// and each Sync waits for a round that starts after it was asked for.
// A round starts when every delivery in flight (written with this
// Committer and not yet closed) has asked, or 3 ms after its first asked
// (run has the rule for waiting on deliveries not yet begun).
// A round with one thing to flush (one file, or the new/ directory of
// one published file) calls fsync(2) on it; a round with more calls
// syncfs(2) once per file system, which writes every dirty data page,
// inode and directory block of that file system and waits for them
// (sync(2)'s guarantee, for one file system; no file-system-specific
// behaviour is relied on). Under concurrent load a round serves several
// deliveries, each needing two rounds: fewer flushes than messages. The
// price: syncfs also writes what other programs left dirty on that file
// system, so next to a bulk writer a round lasts as long as flushing
// their data (on the development VM, whose one file system also holds
// the Go build cache: 0.7-3.5 ms usually, 660 ms once after a build).
//
// Adaptive flushing: package postern/pkg/flush times every syncfs and
// switches rounds to parallel fsyncs of each target while syncfs is slow
// (another writer's dirty data); fsync of each target gives each member
// exactly what a round of one gives it, so the power-loss argument below
// holds in either mode. Nothing is logged.
//
// Power loss, step by step (the argument for each flush):
//   - before the first Sync returns, the file exists only in tmp/: a
//     crash loses it or leaves it in tmp/, which readers ignore and
//     Maildir tools remove after 36 hours; the delivery was not
//     reported, so qmgr still holds the queue file and retries.
//   - the first Sync returns after a flush that started after the last
//     write: the file's data and inode are on disk.
//   - Publish links it into new/. A crash now may or may not keep that
//     entry; if it does, it names a complete, durable file (never an
//     empty one), and the message may be delivered again by the retry
//     (a duplicate, which the promise allows; never a loss).
//   - the second Sync returns after a flush that started after the
//     link: the new/ entry is on disk, and only then is success
//     reported (and qmgr removes the queue file).
//
// Errors. syncfs(2) reports a write-back error anywhere on the file
// system since the descriptor it is given was opened or last synced
// (Linux 5.8 and later), not which file had it. Each file system has one
// descriptor here, a duplicate of the first member's file taken before
// its first write and kept while any member is in flight, so it is older
// than every member's writes and every error after them is reported to
// some round; a Sync fails when any round on its file system reported an
// error since its Write joined. That can fail deliveries that were fine
// (they are retried: a duplicate at worst), never pass one that was not.
type Committer struct {
	mu       sync.Mutex
	devs     map[uint64]*device
	next     *round // collecting; starts when the running round ends
	running  bool
	inflight int           // members joined and not yet closed, on all devices
	kick     chan struct{} // a member joined, asked or left: the round may be complete
	// Waiting for deliveries not yet in flight (speculate).
	miss   float64 // how often such a wait found no company lately, 0..1
	rounds uint64

	// policy flushes the rounds: fsync or syncfs, and the slow-syncfs fallback (package
	// postern/pkg/flush); used only by run's goroutine.
	policy flush.Policy
}

type device struct {
	dev      uint64
	fd       int // see "Errors" above
	inflight int // members joined and not yet closed
	errs     uint64
	err      error
}

type target struct {
	fd  int
	dev *device
}

type ticket struct {
	dev  *device
	errs uint64 // dev.errs when the member joined
}

// round is one flush: the files and directories asked for while the
// previous round ran.
type round struct {
	files []target // descriptors to fsync: the one target, or all in fallback
	devs  []*device
	first time.Time // when its first member asked
	spec  bool      // waited for deliveries not yet in flight
	done  chan struct{}
}

// Flushes is the number of fsync and syncfs calls made (tests).
func (c *Committer) Flushes() int64 { return c.policy.Flushes() }

// join adds p, just created and not yet written, to the group.
func (c *Committer) join(p *Pending) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.devs == nil {
		c.devs = map[uint64]*device{}
	}
	d := c.devs[p.dev]
	if d == nil {
		fd, err := unix.FcntlInt(p.f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return err
		}
		d = &device{dev: p.dev, fd: fd}
		c.devs[p.dev] = d
	}
	d.inflight++
	c.inflight++
	c.kickLocked()
	p.commit, p.ticket = c, ticket{dev: d, errs: d.errs}
	return nil
}

// leave ends p's membership; the last member of a file system closes its
// descriptor (a later one takes a new one, as old as its own writes).
func (c *Committer) leave(p *Pending) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := p.ticket.dev
	if d.inflight--; d.inflight == 0 {
		unix.Close(d.fd)
		delete(c.devs, d.dev)
	}
	c.inflight--
	c.kickLocked()
}

func (c *Committer) kickLocked() {
	if c.kick == nil {
		c.kick = make(chan struct{}, 1)
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Sync returns once what Write (before Publish) or Publish (after it)
// did for p is on disk, or an error: then the delivery failed, and the
// caller aborts it (Pending.Abort).
func (c *Committer) Sync(p *Pending) error {
	if p.commit != c {
		return errors.New("maildir: Sync of a file not written with this Committer")
	}
	// The one descriptor that makes this member durable by itself: the
	// file before Publish, the new/ directory after it.
	tgt := target{fd: int(p.f.Fd()), dev: p.ticket.dev}
	if p.newName != "" {
		tgt.fd = p.dirfd
	}
	d := p.ticket.dev
	c.mu.Lock()
	r := c.next
	if r == nil {
		r = &round{done: make(chan struct{}), first: time.Now()}
		c.next = r
	}
	r.files = append(r.files, tgt)
	if !containsDev(r.devs, d) {
		r.devs = append(r.devs, d)
	}
	if !c.running {
		c.running = true
		go c.run()
	}
	c.kickLocked()
	c.mu.Unlock()
	<-r.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if d.errs != p.ticket.errs {
		return d.err
	}
	return nil
}

func containsDev(l []*device, d *device) bool {
	for _, x := range l {
		if x == d {
			return true
		}
	}
	return false
}

// run flushes the rounds as they gather, until none is waiting. A round
// starts when every member in flight has asked to join it (the others
// are still writing, or linking, and will ask within moments) or when
// its first member has waited maxWait: a round of one costs a flush per
// file and directory again. When every member in flight has asked, the
// round still waits up to maxWait for deliveries not yet begun, but only
// while such waits have lately found company (speculate): a lone sender
// (one message at a time) gets no wait, a steady stream gets shared
// flushes. Members wait for their round, so every descriptor in it stays
// open until it is done.
func (c *Committer) run() {
	var timer *time.Timer
	for {
		c.mu.Lock()
		r := c.next
		if r == nil {
			c.running = false
			c.mu.Unlock()
			return
		}
		wait := maxWait - time.Since(r.first)
		all := len(r.files) >= c.inflight
		if wait > 0 && (!all || r.spec || c.speculate()) {
			if all {
				r.spec = true
			}
			kick := c.kick
			c.mu.Unlock()
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-kick:
				timer.Stop()
			case <-timer.C:
			}
			continue
		}
		if r.spec {
			c.miss *= 0.875
			if len(r.files) == 1 {
				c.miss += 0.125
			}
		}
		c.next = nil
		c.mu.Unlock()
		c.flush(r)
	}
}

// speculate tells whether to wait for deliveries not yet in flight: while
// such waits pay (miss), and once in 64 rounds to find out again.
func (c *Committer) speculate() bool {
	c.rounds++
	return c.miss < 0.5 || c.rounds%64 == 0
}

// maxWait bounds the time a flush waits for company: about the time a
// small message takes to be written, and less than a flush costs on a
// disk that is not a cache.
const maxWait = 3 * time.Millisecond

func (c *Committer) flush(r *round) {
	ts := make([]flush.Target, len(r.files))
	for i, t := range r.files {
		ts[i] = flush.Target{FD: t.fd, Dev: t.dev.dev, FS: t.dev.fd}
	}
	for i, err := range c.policy.Round(ts) {
		if err != nil {
			c.failed(r.files[i].dev, err)
		}
	}
	close(r.done)
}

func (c *Committer) failed(d *device, err error) {
	c.mu.Lock()
	d.errs++
	d.err = err
	c.mu.Unlock()
}
