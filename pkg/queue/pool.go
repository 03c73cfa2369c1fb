package queue

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pool is the Postern-only directory of finished queue files kept for reuse. On ext4 every
// inode allocation scans the inodes of its group freed in the last minutes (ialloc.c
// recently_deleted), under the lock of the directory it creates in; a queue file freed per
// delivered message made every cleanup create slower and serialised them all. So qmgr does
// not unlink a delivered message's file: Recycle empties it into pool/, and Create renames it
// back into incoming/ under a new queue ID. No queue tool looks into pool/: its files are
// never messages.
//
// A pool entry is named by the queue ID its file last had. It is "clean" when it is a regular
// file of ours with mode exactly 0600, size 0 and one link: only then is it reused. Anything
// else there (a crash between Recycle's rename and its truncate, a name revived by a power
// loss) is unlinked, never read: unlink drops only that name, so a file that still has a
// second name (nlink 2 after fsck) keeps its data. That relies on fsck after a power loss, as
// every rename between queue directories does on ext4 without a journal: a name revived
// there with nlink still 1 makes any later unlink free an inode another name still uses.
const Pool = "pool"

// DefaultPoolLimit bounds how many files pool/ holds; past it Recycle unlinks.
const DefaultPoolLimit = 1000

// poolState is a Queue's view of pool/: a cache of names to take (Create's side) and an
// estimate of how many files are there (Recycle's side).
type poolState struct {
	mu     sync.Mutex
	names  []string  // entries listed and not tried yet
	dryTil time.Time // the last listing found nothing: do not list again before
	// count estimates the pool's size: recounted from the directory when it reaches the
	// limit, at most once per second, and incremented by every Recycle in between.
	count     int
	counted   bool
	countedAt time.Time
}

// SetPoolLimit sets how many files pool/ may hold (0: no recycling: Recycle unlinks and
// Create always makes a new file).
func (q *Queue) SetPoolLimit(n int) { q.poolLimit = n }

// poolFree tells whether Recycle may add one more file to pool/.
func (q *Queue) poolFree() bool {
	if q.poolLimit <= 0 {
		return false
	}
	p := &q.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	now := timeNow()
	if !p.counted || p.count >= q.poolLimit && now.Sub(p.countedAt) >= time.Second {
		n, err := countDir(filepath.Join(q.Dir, Pool))
		if err != nil {
			n = q.poolLimit // no pool/ (a queue not yet set up by Init): unlink as before
		}
		p.count, p.counted, p.countedAt = n, true, now
	}
	if p.count >= q.poolLimit {
		return false
	}
	p.count++
	return true
}

func countDir(dir string) (int, error) {
	d, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if err != nil || len(names) == 0 {
			return n, nil
		}
	}
}

// Recycle removes the queue file at path whose message is finished (every recipient done: the
// ones before the last marked D and fsync'ed, the last one's outcome recorded by this removal,
// as qmgr does; the bounce/defer/trace logs no longer needed). Instead of an unlink the file
// goes to pool/, emptied, for Create to reuse; when the pool is full, or the file is not
// plainly ours, it is unlinked. The error is that of the removal: fs.ErrNotExist when the file
// is already gone.
//
// Crash safety (kill -9 between any two steps):
//   - before the rename: the file is still at path; the next qmgr delivers its last recipient
//     again (a duplicate, never a loss, as when Postfix's unlink is lost) and recycles it.
//   - after the rename, before the truncate: pool/ID holds a complete, delivered message
//     with mode 0700 or 0600. It is not clean, so Create unlinks it instead of reusing it, and
//     no queue tool reads pool/.
//
// Power loss: whichever of the rename, chmod and truncate reached the disk, the file at path
// (if its name survives) holds at most the message's last recipient still as R, delivered
// again after the restart (a duplicate), and an inode written with size 0 was written with
// mode 0600 as well (the chmod comes first; an inode is written whole), so it is never taken
// for a ready message. Nothing here needs to be durable: a lost recycle only means a
// duplicate, or the file is recycled again or stays as an unclean pool entry.
func (q *Queue) Recycle(path string) error {
	if !q.poolFree() {
		return os.Remove(path)
	}
	// Raw descriptor calls: this is on qmgr's path once per message.
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		q.poolTaken()
		if err == syscall.ENOENT {
			return &fs.PathError{Op: "remove", Path: path, Err: err}
		}
		return os.Remove(path)
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
		// A second name (a link made by hand, or one revived by a power loss) would see
		// the truncate: only this name goes.
		q.poolTaken()
		return os.Remove(path)
	}
	// RENAME_NOREPLACE: a pool entry of this name could only be this inode under a second
	// name; never replace anything.
	if err := renameNoReplace(path, filepath.Join(q.Dir, Pool, filepath.Base(path))); err != nil {
		q.poolTaken()
		if err == syscall.ENOENT {
			return &fs.PathError{Op: "remove", Path: path, Err: err}
		}
		return os.Remove(path)
	}
	// Mode first, size second: once the size is 0 the mode is 0600 too, on disk as in memory,
	// so no state of this inode is an empty "ready" file. Nothing is done with the file after
	// the truncate: from then on a Create may own it.
	if err := syscall.Fchmod(fd, 0600); err != nil {
		return nil // left unclean: Create unlinks it
	}
	syscall.Ftruncate(fd, 0)
	return nil
}

// poolTaken takes back the place poolFree reserved for a file that did not go to the pool.
func (q *Queue) poolTaken() {
	q.pool.mu.Lock()
	q.pool.count--
	q.pool.mu.Unlock()
}

// nextPoolName returns a pool entry to try, listing pool/ again when the cache is empty (but
// not more than every 2 ms after it was found empty: listing an empty directory costs far
// less than the inode allocation it saves). Several cleanup processes list the
// same names; each starts at its own place, and a name taken by another is skipped.
func (q *Queue) nextPoolName() string {
	p := &q.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.names) == 0 {
		now := timeNow()
		if now.Before(p.dryTil) {
			return ""
		}
		d, err := os.Open(filepath.Join(q.Dir, Pool))
		if err != nil {
			p.dryTil = now.Add(time.Second)
			return ""
		}
		names, _ := d.Readdirnames(256)
		d.Close()
		if len(names) == 0 {
			p.dryTil = now.Add(2 * time.Millisecond)
			return ""
		}
		// Rotate by pid so that concurrent processes start apart.
		k := os.Getpid() % len(names)
		p.names = append(names[k:], names[:k]...)
	}
	n := p.names[len(p.names)-1]
	p.names = p.names[:len(p.names)-1]
	return n
}

// reuse takes a clean file from pool/ and renames it into queue as a new, empty 0600 file
// with a queue ID of its inode, exactly what the create path of Create makes. It returns nil
// when the pool has nothing to give.
//
// Concurrency: several Creates (goroutines or processes) may open the same entry; only one
// rename of pool/NAME succeeds, the others get ENOENT and try another name. A clean file
// stays clean until the one that renamed it writes, and no one writes to a file before its
// rename succeeded, so the check and the rename need no lock. An unclean entry never becomes
// clean again in place (Recycle works on the file before it is clean, never after), so
// unlinking it cannot hit a file someone else is using.
//
// Crash safety: kill -9 after the rename leaves queue/ID with mode 0600, a not-ready file
// like a crashed new create (postsuper -p removes those). Power loss: see Commit; this
// rename adds the queue directory entry, so the fsync in Commit writes that directory too.
func (q *Queue) reuse(queue string) *File {
	for tries := 0; tries < 64; tries++ {
		name := q.nextPoolName()
		if name == "" {
			return nil
		}
		src := filepath.Join(q.Dir, Pool, name)
		f, err := os.OpenFile(src, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
		if err != nil {
			continue // taken by someone else
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
			f.Close()
			continue
		}
		if st.Mode != syscall.S_IFREG|0600 || st.Size != 0 || st.Nlink != 1 || int(st.Uid) != os.Geteuid() {
			// Not clean (see Pool): a crash leftover, or still being emptied by Recycle.
			// Unlink removes this name only; a file with another name keeps it.
			f.Close()
			if st.Mode&syscall.S_IFMT == syscall.S_IFREG {
				os.Remove(src)
			}
			continue
		}
		if w := q.claim(f, src, name, st.Ino, queue); w != nil {
			return w
		}
		f.Close()
	}
	return nil
}

// claim renames the pool file src into queue under a fresh queue ID.
func (q *Queue) claim(f *os.File, src, old string, ino uint64, queue string) *File {
	for try := 0; try < 100; try++ {
		id := MakeID(timeNow(), ino)
		if id == old {
			// The same microsecond as the file's previous life: a late reader of the old
			// message (a stale defer log, a log line) must not meet the new one under its ID.
			continue
		}
		path := q.Path(queue, id)
		// RENAME_NOREPLACE, like link(2) in Create: never replace an existing name. The
		// inode is ours, so no live file has this ID; a name left by a copy could.
		err := renameNoReplace(src, path)
		if err == nil {
			return newFile(id, path, f)
		}
		if !errors.Is(err, syscall.EEXIST) {
			return nil // ENOENT: taken by another Create
		}
	}
	return nil
}

// renameNoReplace renames src to dst unless dst exists (EEXIST). Where the file system has no
// RENAME_NOREPLACE it links and unlinks: link(2) refuses an existing name too. In between the
// file has two names and nlink 2, which Create and Recycle read as "not ours alone": they only
// drop their own name, never the file.
func renameNoReplace(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if err != syscall.EINVAL && err != syscall.ENOSYS {
		return err
	}
	if err := syscall.Link(src, dst); err != nil {
		return err
	}
	return syscall.Unlink(src)
}

// PurgePool unlinks what pool/ holds that Create would not reuse (see Pool): crash leftovers.
// Create removes those too when it meets them; this is for postsuper -p. It returns how
// many names it removed. Racing with Recycle (a file between its rename and its truncate)
// only costs that file its reuse.
func (q *Queue) PurgePool() int {
	dir := filepath.Join(q.Dir, Pool)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() == 0600 && st.Size == 0 && st.Nlink == 1 {
			continue
		}
		if os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}
