package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// maxTempAge is how old a file that was never completed must be before -p removes it.
const maxTempAge = 7 * 24 * time.Hour

// super carries out one postsuper run.
type super struct {
	q      *queue.Queue
	log    *maillog.Logger
	stderr io.Writer
	toErr  bool // the log goes to stderr already
	now    func() time.Time
	// running tells whether the mail system is up; then active/ belongs to qmgr.
	running bool
	// skipped counts active messages left alone because the mail system is running.
	skipped int
	counts  map[byte]int
}

// run is postsuper without the process exit.
func run(args []string, stdin io.Reader, stderr io.Writer) int {
	r, err := parseArgs(args, stdin)
	if err != nil {
		if strings.HasPrefix(err.Error(), "usage:") {
			fmt.Fprintln(stderr, err)
		} else {
			fmt.Fprintf(stderr, "postsuper: fatal: %v\n", err)
		}
		return 64
	}
	cfg, err := config.Load(config.Dir(r.configDir))
	if err != nil {
		fmt.Fprintf(stderr, "postsuper: fatal: %v\n", err)
		return 1
	}
	l := maillog.FromConfig("postsuper", cfg.Get)
	defer l.Close()
	s := &super{q: queue.New(cfg.Get("queue_directory")), log: l, stderr: stderr, toErr: l.ToStderr(),
		now: time.Now, counts: map[byte]int{}}
	if os.Geteuid() == 0 {
		// Hash subdirectories made here must be mail_owner's, as when Postfix's postsuper
		// (which runs as mail_owner) or qmgr makes them: qmgr writes into them.
		if u, err := user.Lookup(cfg.Get("mail_owner")); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			s.q.SetOwner(uid, gid)
		}
	}
	s.running = s.mailSystemUp()
	return s.do(r)
}

// mailSystemUp tells whether master is listening on public/qmgr. Connecting and closing
// without a byte asks qmgr for nothing.
func (s *super) mailSystemUp() bool {
	c, err := net.DialTimeout("unix", s.q.Socket("public", "qmgr"), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *super) do(r *request) int {
	if r.structure {
		s.structure()
	}
	if r.purge {
		s.purgeTemp()
	}
	for _, op := range opOrder {
		ids := r.ids[op]
		if len(ids) == 0 {
			continue
		}
		queues := defaultQueues[op]
		if len(r.queues) > 0 {
			queues = r.queues
		}
		if op == opForce {
			// -f is -e, then -H for those of the messages that are on hold.
			s.apply(opExpire, ids, queues)
			s.apply(opRelease, ids, queues)
			continue
		}
		s.apply(op, ids, queues)
	}
	if s.skipped > 0 {
		s.warn("%d message%s in the active queue left alone: the mail system is running (stop it first, or retry when qmgr is done with them)",
			s.skipped, plural(s.skipped))
	}
	// Postfix's summary: one line per kind of operation asked for, even for 0 messages.
	asked := func(ops ...byte) bool {
		for _, op := range ops {
			if len(r.ids[op]) > 0 {
				return true
			}
		}
		return false
	}
	for _, l := range []struct {
		count byte
		ops   []byte
	}{
		{opRequeue, []byte{opRequeue}}, {opDelete, []byte{opDelete}}, {opExpire, []byte{opExpire, opForce}},
		{opHold, []byte{opHold}}, {opRelease, []byte{opRelease, opForce}},
	} {
		if asked(l.ops...) {
			n := s.counts[l.count]
			s.info("%s: %d message%s", summary[l.count], n, plural(n))
		}
	}
	// Wake qmgr for what is now waiting in incoming/ or due in deferred/.
	if s.running && (s.counts[opRequeue] > 0 || s.counts[opRelease] > 0) {
		ipc.Trigger(s.q.Socket("public", "qmgr"), "ID", 2*time.Second)
	}
	return 0
}

var summary = map[byte]string{opDelete: "Deleted", opRequeue: "Requeued", opExpire: "Force-expired",
	opHold: "Placed on hold", opRelease: "Released from hold"}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// apply carries out one operation on the listed IDs (or ALL) in the given queues.
func (s *super) apply(op byte, ids []string, queues []string) {
	all := false
	for _, id := range ids {
		if id == "ALL" {
			all = true
		}
	}
	if all {
		for _, qn := range queues {
			for _, id := range s.list(qn) {
				s.one(op, qn, id)
			}
		}
		return
	}
	done := map[string]bool{}
	for _, id := range ids {
		if done[id] {
			continue
		}
		done[id] = true
		for _, qn := range queues {
			if _, err := os.Lstat(s.q.Path(qn, id)); err == nil {
				s.one(op, qn, id)
				break
			}
		}
	}
}

// list is every file name in a queue that looks like a queue ID, ready or not.
func (s *super) list(qn string) []string {
	var ids []string
	dir := filepath.Join(s.q.Dir, qn)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 1 {
			sub, _ := os.ReadDir(filepath.Join(dir, e.Name()))
			for _, f := range sub {
				if !f.IsDir() && queue.ValidID(f.Name()) {
					ids = append(ids, f.Name())
				}
			}
			continue
		}
		if !e.IsDir() && queue.ValidID(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	return ids
}

// one performs op on message id found in queue qn.
func (s *super) one(op byte, qn, id string) {
	if qn == queue.Active && s.running && op != opExpire {
		// qmgr owns active/ while the system runs: deleting or moving a file under it
		// could deliver mail that was deleted or lose track of delivered recipients.
		// Expiring only sets a mode bit, which qmgr reads when the file next enters active/.
		s.skipped++
		return
	}
	var err error
	var what string
	switch op {
	case opDelete:
		err, what = s.q.Remove(qn, id), "removed"
	case opExpire:
		// Maildrop files are not messages qmgr knows yet (Postfix skips them too).
		if qn == queue.Maildrop {
			return
		}
		var marked bool
		marked, err = queue.Expire(s.q.Path(qn, id))
		if err == nil && !marked {
			return // not complete yet, or expired already
		}
		what = "expired"
	case opHold:
		if qn == queue.Hold {
			return
		}
		err, what = s.q.Move(id, qn, queue.Hold), "placed on hold"
	case opRelease:
		if qn != queue.Hold {
			return
		}
		err, what = s.moveDue(id, qn, queue.Deferred), "released from hold"
	case opRequeue:
		// Postfix moves the file to maildrop/ for pickup and cleanup to process again;
		// Postern puts it into incoming/, where qmgr takes it as it is: delivered
		// recipients stay done, the old delay reasons are forgotten.
		err, what = s.moveDue(id, qn, queue.Incoming), "requeued"
		if err == nil {
			os.Remove(s.q.Path(queue.Defer, id))
			os.Remove(s.q.Path(queue.Trace, id))
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return // it moved on meanwhile (delivered, or taken by qmgr)
	}
	if err != nil {
		s.warn("%s: %v", id, err)
		return
	}
	s.counts[op]++
	s.info("%s: %s", id, what)
}

// moveDue moves a message and makes it due now (deferred/ files wait for their mtime).
func (s *super) moveDue(id, from, to string) error {
	if from != to {
		if err := s.q.Move(id, from, to); err != nil {
			return err
		}
	}
	now := s.now()
	return os.Chtimes(s.q.Path(to, id), now, now)
}

// structure puts files of the hashed queues (deferred, defer) into their one-character
// subdirectory and files of the other queues at the top, as hash_queue_names says.
func (s *super) structure() {
	for _, qn := range []string{queue.Incoming, queue.Active, queue.Deferred, queue.Hold, queue.Bounce, queue.Defer, queue.Trace} {
		if qn == queue.Active && s.running {
			continue
		}
		dir := filepath.Join(s.q.Dir, qn)
		var found []string
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if e.IsDir() && len(e.Name()) == 1 {
				sub, _ := os.ReadDir(filepath.Join(dir, e.Name()))
				for _, f := range sub {
					if !f.IsDir() {
						found = append(found, filepath.Join(dir, e.Name(), f.Name()))
					}
				}
			} else if !e.IsDir() {
				found = append(found, filepath.Join(dir, e.Name()))
			}
		}
		for _, p := range found {
			id := filepath.Base(p)
			if !queue.ValidID(id) {
				continue
			}
			want := s.q.Path(qn, id)
			if p == want {
				continue
			}
			s.q.MkdirHash(want)
			if _, err := os.Lstat(want); err == nil {
				s.warn("%s: %s and %s both exist; leaving them alone", id, p, want)
				continue
			}
			if err := os.Rename(p, want); err != nil {
				s.warn("%s: move %s to %s: %v", id, p, want, err)
				continue
			}
			s.info("%s: moved %s to %s", id, p, want)
		}
	}
}

// purgeTemp removes queue files that were never completed (owner bits not rwx) and are
// older than a week: leftovers of a crash.
func (s *super) purgeTemp() {
	n := 0
	for _, qn := range []string{queue.Maildrop, queue.Incoming, queue.Active, queue.Deferred, queue.Hold} {
		if qn == queue.Active && s.running {
			continue
		}
		dir := filepath.Join(s.q.Dir, qn)
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			fi, err := d.Info()
			if err != nil || queue.Ready(fi) || s.now().Sub(fi.ModTime()) < maxTempAge {
				return nil
			}
			if os.Remove(p) == nil {
				n++
				s.info("%s: removed temporary file %s", d.Name(), p)
			}
			return nil
		})
	}
	// pool/ (Postern's emptied files for reuse) holds no messages: only its crash leftovers
	// go, without a word per file.
	if k := s.q.PurgePool(); k > 0 {
		s.log.Info("removed %d leftover file%s from %s", k, plural(k), queue.Pool)
	}
	if n > 0 {
		s.info("Deleted: %d temporary file%s", n, plural(n))
	}
}

// info and warn go to standard error as "postsuper: ..." and to the mail log.
func (s *super) info(format string, a ...any) {
	if !s.toErr {
		fmt.Fprintf(s.stderr, "postsuper: %s\n", fmt.Sprintf(format, a...))
	}
	s.log.Info(format, a...)
}

func (s *super) warn(format string, a ...any) {
	if !s.toErr {
		fmt.Fprintf(s.stderr, "postsuper: warning: %s\n", fmt.Sprintf(format, a...))
	}
	s.log.Warn(format, a...)
}
