// Package queue owns Postern's on-disk queue: the directories under queue_directory, queue IDs,
// the record file format, and the crash-safe create/commit/move steps.
//
// # Directories
//
// maildrop (local submissions), incoming (cleanup's output), active (in qmgr's hands),
// deferred (waiting for a retry; the file's mtime is the next try), hold, corrupt, and the
// per-message logs bounce, defer, trace. deferred and defer are hashed one level deep by the
// queue ID's first character (hash_queue_names, hash_queue_depth = 1), as Postfix does.
// pool (Postern only) holds emptied files of finished messages for Create to reuse; it holds
// no messages and no queue tool looks into it (see Pool in pool.go).
//
// # File format
//
// A queue file is a sequence of records: a type byte, the data length as a little-endian
// base-128 varint, then the data (see record.go). cleanup writes, in order: C (sizes, patched at
// the end), T (arrival), A create_time, A attributes, F, S sender, then O + R per recipient, M,
// content lines as N (a whole line) or L (a piece continued in the next record), X, extracted
// records, E. A file without E is incomplete.
//
// # Crash safety
//
// A file is created 0600, written, flushed, chmod'ed 0700, fsync'ed (or made durable by a
// syncfs shared with the other files committed at the same moment: groupsync.go) and closed;
// only then is it "ready". Readers skip files whose owner bits are not rwx: they are still being written, or
// their writer died (postsuper removes such leftovers). Renames between queue directories are
// atomic within the file system. A delivered recipient's R byte is overwritten by D and fsync'ed
// while others remain (the last one's file is removed instead), so a crash at any point
// re-delivers at most, never loses.
package queue

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Queue names.
const (
	Maildrop = "maildrop"
	Incoming = "incoming"
	Active   = "active"
	Deferred = "deferred"
	Hold     = "hold"
	Corrupt  = "corrupt"
	Bounce   = "bounce"
	Defer    = "defer"
	Trace    = "trace"
)

// AllDirs lists every directory under queue_directory, in creation order.
var AllDirs = []string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "bounce",
	"defer", "trace", "private", "public", "pid", "saved", "flush", Pool}

// DirMode is the mode Postfix's postfix-files gives each directory of AllDirs; pid/ is root's,
// every other one mail_owner's (group root, "-" in postfix-files), maildrop/ and public/ with
// group setgid_group.
func DirMode(name string) fs.FileMode {
	switch name {
	case Maildrop:
		return 0730 | fs.ModeSticky
	case "public":
		return 0710 | fs.ModeSetgid
	case "pid":
		return 0755
	}
	return 0700
}

// hashed lists the queues stored one level deep (hash_queue_names default).
var hashed = map[string]bool{Deferred: true, Defer: true}

// Queue is a queue_directory.
type Queue struct {
	Dir string
	// uid and gid, when uid >= 0, own the hash subdirectories Move creates: mail_owner's, as
	// when Postfix's qmgr or postsuper (which runs as mail_owner) makes them.
	uid, gid int
	// group is the group commit of this Queue's Commits (groupsync.go).
	group groupSync
	// poolLimit bounds pool/ (see Pool); 0 turns recycling off.
	poolLimit int
	pool      poolState
}

// New returns the queue rooted at dir.
func New(dir string) *Queue { return &Queue{Dir: dir, uid: -1, gid: -1, poolLimit: DefaultPoolLimit} }

// SetOwner makes the hash subdirectories this process creates belong to uid:gid (mail_owner),
// for a program that works on the queue as root (postsuper).
func (q *Queue) SetOwner(uid, gid int) { q.uid, q.gid = uid, gid }

// MkdirHash creates the hash subdirectory that holds path, if missing, with mode 0700 and the
// owner set by SetOwner.
func (q *Queue) MkdirHash(path string) error {
	dir := filepath.Dir(path)
	if err := os.Mkdir(dir, 0700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	if q.uid >= 0 {
		return os.Lchown(dir, q.uid, q.gid)
	}
	return nil
}

// Path is the file name of id in queue q, with hashing applied.
func (q *Queue) Path(queue, id string) string {
	if hashed[queue] && id != "" {
		return filepath.Join(q.Dir, queue, id[:1], id)
	}
	return filepath.Join(q.Dir, queue, id)
}

// Socket is the path of a service socket: private/NAME or public/NAME.
func (q *Queue) Socket(class, name string) string { return filepath.Join(q.Dir, class, name) }

// Init creates any missing queue directories with DirMode. When uid >= 0 (a root caller:
// master, postfix check) they are given to mail_owner uid, except pid/, and maildrop/ and
// public/ to group setgid when it is >= 0; the others keep the creator's group (root), as
// postfix-files says. Existing directories are left alone (postfix set-permissions fixes them).
func (q *Queue) Init(uid, setgid int) error {
	if err := os.MkdirAll(q.Dir, 0755); err != nil {
		return fmt.Errorf("create queue directory %s: %w", q.Dir, err)
	}
	for _, d := range AllDirs {
		p := filepath.Join(q.Dir, d)
		mode := DirMode(d)
		if err := os.Mkdir(p, 0700); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return fmt.Errorf("create directory %s: %w", p, err)
		}
		if uid >= 0 && d != "pid" {
			gid := -1
			if (d == Maildrop || d == "public") && setgid >= 0 {
				gid = setgid
			}
			// Before the chmod: chown clears the set-gid bit.
			if err := os.Lchown(p, uid, gid); err != nil {
				return fmt.Errorf("chown %s: %w", p, err)
			}
		}
		if err := os.Chmod(p, mode); err != nil {
			return err
		}
	}
	return nil
}

// InitDataDir creates data_directory when missing: mode 0700, owned by mail_owner uid when
// uid >= 0, group root (postfix-files).
func InitDataDir(dir string, uid int) error {
	if _, err := os.Lstat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dir), err)
	}
	if err := os.Mkdir(dir, 0700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	if uid >= 0 {
		if err := os.Lchown(dir, uid, -1); err != nil {
			return fmt.Errorf("chown %s: %w", dir, err)
		}
	}
	return os.Chmod(dir, 0700)
}

// timeNow is the clock of Create; tests freeze it to force same-microsecond creations.
var timeNow = time.Now

// tmpSeq numbers the temporary names of Create.
var tmpSeq atomic.Uint64

// File is a queue file being written.
type File struct {
	ID    string
	Path  string
	group *groupSync // nil: Commit fsyncs alone
	seq   uint64     // creation order, for groupSync's choice of descriptor
	f     *os.File
	buf   []byte
	off   int64 // offset of the next byte to write
}

// Create makes a new file in queue (normally incoming) and names it by its queue ID. The file
// stays 0600 until Commit. For incoming/ it is a file from pool/ when there is one (see Pool):
// empty, 0600 and named by its inode like a new one, so no reader can tell them apart.
func (q *Queue) Create(queue string, mode os.FileMode) (*File, error) {
	w, err := q.create(queue, mode)
	if w != nil {
		w.group, w.seq = &q.group, fileSeq.Add(1)
	}
	return w, err
}

func (q *Queue) create(queue string, mode os.FileMode) (*File, error) {
	if queue == Incoming && mode == 0 && q.poolLimit > 0 {
		if w := q.reuse(queue); w != nil {
			return w, nil
		}
	}
	dir := filepath.Join(q.Dir, queue)
	for try := 0; try < 100; try++ {
		now := timeNow()
		// The counter keeps goroutines of one process apart within the same microsecond.
		tmp := filepath.Join(dir, fmt.Sprintf("%d.%d.%d", now.UnixMicro(), os.Getpid(), tmpSeq.Add(1)))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0600|mode)
		if errors.Is(err, fs.ErrExist) {
			continue // taken: by a leftover of a crashed process with a recycled pid, or a frozen test clock
		}
		if err != nil {
			return nil, err
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			os.Remove(tmp)
			return nil, err
		}
		id := MakeID(timeNow(), st.Ino)
		path := q.Path(queue, id)
		// RENAME_NOREPLACE (or link(2) where missing) refuses to replace an existing name,
		// unlike rename(2): an ID still in use (inode reuse within the same microsecond
		// slot) is never overwritten.
		if err := renameNoReplace(tmp, path); err != nil {
			f.Close()
			os.Remove(tmp)
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return nil, err
		}
		return newFile(id, path, f), nil
	}
	return nil, errors.New("queue: cannot allocate a unique queue ID")
}

// fileBufs recycles the write buffers of Files: one 64 KiB buffer per message made garbage
// (and zeroed memory) for every queue file.
var fileBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func newFile(id, path string, f *os.File) *File {
	return &File{ID: id, Path: path, f: f, buf: (*fileBufs.Get().(*[]byte))[:0]}
}

// release returns the buffer; the File is not written again.
func (w *File) release() {
	if w.buf != nil && cap(w.buf) <= 128<<10 {
		b := w.buf[:0]
		fileBufs.Put(&b)
	}
	w.buf = nil
}

// Offset is the offset at which the next record will start.
func (w *File) Offset() int64 { return w.off + int64(len(w.buf)) }

// Record appends one record (buffered).
func (w *File) Record(typ byte, data []byte) error {
	w.buf = AppendRecord(w.buf, typ, data)
	if len(w.buf) >= 60<<10 {
		return w.flush()
	}
	return nil
}

// RecordString is Record for string data.
func (w *File) RecordString(typ byte, data string) error {
	w.buf = append(w.buf, typ)
	w.buf = appendLen(w.buf, len(data))
	w.buf = append(w.buf, data...)
	if len(w.buf) >= 60<<10 {
		return w.flush()
	}
	return nil
}

func (w *File) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.WriteAt(w.buf, w.off)
	w.off += int64(n)
	w.buf = w.buf[:0]
	return err
}

// WriteAt overwrites bytes already written (the C record). Bytes still in the buffer are
// patched there: a small message then reaches the file in one write.
func (w *File) WriteAt(p []byte, off int64) error {
	if off >= w.off && off+int64(len(p)) <= w.Offset() {
		copy(w.buf[off-w.off:], p)
		return nil
	}
	if err := w.flush(); err != nil {
		return err
	}
	_, err := w.f.WriteAt(p, off)
	return err
}

// Commit makes the file durable and ready: flush, chmod 0700 (plus extra), fsync (or a
// syncfs shared with the other Commits of the moment: groupsync.go), close.
//
// Power loss: the caller answers only after Commit, and by then the queue directory entry
// is durable too. Create added it (a create and a rename, or a rename out of pool/), and a
// new directory entry makes fsync write the parent directory as well: on ext4 without a
// journal ext4_add_entry sets EXT4_STATE_NEWENTRY and fsync then calls ext4_sync_parent; on
// a journaled ext4 (and XFS, btrfs) the fsync commits the transaction that holds the rename.
// So a message answered 250 is in incoming/ complete, never only in pool/: its pool name is
// the one that may come back (its removal was not written), as a second name of the same
// inode, which fsck counts as nlink 2; Create and Recycle then drop that name only (see Pool).
// Before the fsync returns, the inode on disk may be the one from its previous life (a
// delivered message: every recipient D, so qmgr removes it), the emptied one (0600: not
// ready), or a partial one; no answer was given, the client retries.
func (w *File) Commit(extra os.FileMode) error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.f.Chmod(0700 | extra); err != nil {
		return err
	}
	sync := w.f.Sync
	if w.group != nil {
		sync = func() error { return w.group.sync(w) }
	}
	if err := sync(); err != nil {
		return err
	}
	w.release()
	return w.f.Close()
}

// Abort discards the file.
func (w *File) Abort() {
	w.release()
	w.f.Close()
	os.Remove(w.Path)
}

// Unthrottle is the mode bit (group read) postqueue -i sets on one queue file to have qmgr
// deliver it now even over a transport in defer_transports, as Postfix's flush service does
// (MAIL_QUEUE_STAT_UNTHROTTLE); qmgr clears it when it takes the file.
const Unthrottle fs.FileMode = 0040

// ForceExpire is the group-execute bit of a ready queue file that postsuper -e and -f set:
// qmgr returns the message to its sender when it next takes it into active/ (Postfix's
// MAIL_QUEUE_STAT_EXPIRE; mailq shows such a message with "#").
const ForceExpire fs.FileMode = 0010

// Ready tells whether a queue file is complete (owner rwx) and regular.
func Ready(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0700 == 0700
}

// Entry is one ready file found by Scan.
type Entry struct {
	ID    string
	MTime time.Time
}

// Scan lists the ready files of a queue, sorted by ID. Hashed queues are walked one level deep.
func (q *Queue) Scan(queue string) ([]Entry, error) {
	var out []Entry
	dir := filepath.Join(q.Dir, queue)
	add := func(d string) error {
		ents, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if e.IsDir() {
				if hashed[queue] && len(e.Name()) == 1 {
					if err := scanSub(filepath.Join(d, e.Name()), &out); err != nil {
						return err
					}
				}
				continue
			}
			if !ValidID(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil || !Ready(fi) {
				continue
			}
			out = append(out, Entry{ID: e.Name(), MTime: fi.ModTime()})
		}
		return nil
	}
	if err := add(dir); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func scanSub(d string, out *[]Entry) error {
	ents, err := os.ReadDir(d)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() || !ValidID(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !Ready(fi) {
			continue
		}
		*out = append(*out, Entry{ID: e.Name(), MTime: fi.ModTime()})
	}
	return nil
}

// Move renames id from one queue to another (creating a hash subdirectory on demand).
func (q *Queue) Move(id, from, to string) error {
	dst := q.Path(to, id)
	err := os.Rename(q.Path(from, id), dst)
	if err != nil && hashed[to] && errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(q.Path(from, id)); serr == nil {
			if merr := q.MkdirHash(dst); merr != nil {
				return merr
			}
			err = os.Rename(q.Path(from, id), dst)
		}
	}
	return err
}

// Remove deletes a queue file and its bounce/defer/trace logs.
func (q *Queue) Remove(queue, id string) error {
	err := os.Remove(q.Path(queue, id))
	for _, l := range []string{Bounce, Defer, Trace} {
		os.Remove(q.Path(l, id))
	}
	return err
}

// Find returns which of the message queues holds id.
func (q *Queue) Find(id string) (string, bool) {
	for _, name := range []string{Incoming, Active, Deferred, Hold, Maildrop} {
		if _, err := os.Lstat(q.Path(name, id)); err == nil {
			return name, true
		}
	}
	return "", false
}

// IsQueueName tells whether s names a message queue.
func IsQueueName(s string) bool {
	return strings.Contains(" maildrop incoming active deferred hold corrupt ", " "+s+" ")
}

// Expire marks the ready queue file at path as force-expired. It reports false, without an
// error, when the file is gone, not ready (still being written) or marked already. The file
// is opened without following a symbolic link and must be a regular file, so that no mode
// is changed outside the queue.
func Expire(path string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !Ready(fi) || fi.Mode()&ForceExpire != 0 {
		return false, nil
	}
	if err := f.Chmod(fi.Mode().Perm() | ForceExpire); err != nil {
		return false, err
	}
	return true, nil
}
