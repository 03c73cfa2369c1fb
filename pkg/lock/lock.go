// Package lock provides mail-agnostic file locks: Linux open-file-description
// (OFD) fcntl locks and classic dot-lock files.
//
// OFD locks are owned by the open file description, not by the process, so a
// close() of another descriptor of the same file (in any goroutine) does not
// drop them, unlike classic POSIX record locks. They still conflict with the
// classic fcntl locks taken by mutt, mailx, procmail and friends.
package lock

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrTimeout is wrapped by the errors returned when a lock could not be
// obtained in the time or number of attempts allowed.
var ErrTimeout = errors.New("lock: timed out")

// pollInterval is how often OFD retries a busy lock.
const pollInterval = 10 * time.Millisecond

// OFD takes an exclusive whole-file OFD write lock on f. When the lock is held
// by someone else it retries until wait has elapsed (wait <= 0: one attempt).
// The returned error wraps ErrTimeout when the lock stayed busy, and the
// underlying errno otherwise.
func OFD(f *os.File, wait time.Duration) error {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	deadline := time.Now().Add(wait)
	for {
		lk.Pid = 0
		err := fcntl(f, &lk)
		if err == nil {
			return nil
		}
		if err == syscall.EINTR {
			continue
		}
		if err != unix.EAGAIN && err != unix.EACCES {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		now := time.Now()
		if !now.Before(deadline) {
			return fmt.Errorf("lock %s: %w (%v)", f.Name(), ErrTimeout, syscall.EAGAIN)
		}
		d := pollInterval
		if rem := deadline.Sub(now); rem < d {
			d = rem
		}
		time.Sleep(d)
	}
}

// UnlockOFD releases an OFD lock taken with OFD. Closing f also releases it.
func UnlockOFD(f *os.File) error {
	lk := unix.Flock_t{Type: unix.F_UNLCK, Whence: io.SeekStart}
	if err := fcntl(f, &lk); err != nil {
		return fmt.Errorf("unlock %s: %w", f.Name(), err)
	}
	return nil
}

// fcntl applies F_OFD_SETLK through f's raw connection, which keeps the
// descriptor valid against a concurrent Close.
func fcntl(f *os.File, lk *unix.Flock_t) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = unix.FcntlFlock(fd, unix.F_OFD_SETLK, lk) }); err != nil {
		return err
	}
	return ferr
}

// DotLock is a held dot-lock file.
type DotLock struct {
	Path string // the lock file, PATH.lock
}

// Dot creates path+".lock" with O_CREAT|O_EXCL and mode 0, as Postfix's
// dot_lockfile(). It makes up to attempts attempts (at least one), sleeping a
// randomized delay (between delay/2 and 3*delay/2) between them. A lock file
// whose ctime is older than stale is removed (stale <= 0: never). The error
// wraps ErrTimeout when all attempts found the lock held, and the underlying
// error (for example EACCES) when the lock file cannot be created at all.
func Dot(path string, attempts int, delay, stale time.Duration) (*DotLock, error) {
	lockPath := path + ".lock"
	if attempts < 1 {
		attempts = 1
	}
	for i := 0; ; i++ {
		fd, err := unix.Open(lockPath, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == nil {
			unix.Close(fd)
			return &DotLock{Path: lockPath}, nil
		}
		if err != unix.EEXIST {
			return nil, fmt.Errorf("create lock file %s: %w", lockPath, err)
		}
		if stale > 0 {
			var st unix.Stat_t
			if unix.Lstat(lockPath, &st) == nil {
				ctime := time.Unix(st.Ctim.Unix())
				if time.Since(ctime) > stale {
					// Break the stale lock and retry at once.
					if err := unix.Unlink(lockPath); err == nil || err == unix.ENOENT {
						continue
					}
				}
			}
		}
		if i+1 >= attempts {
			return nil, fmt.Errorf("create lock file %s: %w (%v)", lockPath, ErrTimeout, syscall.EEXIST)
		}
		if delay > 0 {
			time.Sleep(delay/2 + rand.N(delay+1))
		}
	}
}

// Release removes the lock file.
func (d *DotLock) Release() error {
	if d == nil {
		return nil
	}
	if err := os.Remove(d.Path); err != nil {
		return fmt.Errorf("remove lock file %s: %w", d.Path, err)
	}
	return nil
}
