package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// errRunning means another master holds the lock.
var errRunning = errors.New("the Postfix mail system is already running")

// lockFiles are queue_directory/pid/master.pid and
// data_directory/master.lock: each holds the PID right-aligned in 32
// columns and a newline, and stays flock'ed while master runs.
type lockFiles struct {
	pidPath string
	files   []*os.File
}

func pidPath(queueDir string) string { return filepath.Join(queueDir, "pid", "master.pid") }
func lockPath(dataDir string) string { return filepath.Join(dataDir, "master.lock") }

// acquireLocks locks and writes both files. It returns errRunning when
// either is locked by another process.
//
// Owners and modes are Postfix's, so that Postfix's master can open them
// after make uninstall: master.pid root 0600, master.lock 0600 and, when
// master runs as root, owner's (mail_owner and its group), because
// Postfix's master opens that one as mail_owner.
func acquireLocks(queueDir, dataDir string, owner *ids) (*lockFiles, error) {
	l := &lockFiles{pidPath: pidPath(queueDir)}
	root := os.Geteuid() == 0
	for _, p := range []string{l.pidPath, lockPath(dataDir)} {
		uid, gid := -1, -1
		if root {
			uid, gid = 0, 0
			if p != l.pidPath && owner != nil {
				uid, gid = owner.uid, owner.gid
			}
		}
		f, err := openLock(p, uid, gid)
		if err != nil {
			l.release(false)
			return nil, fmt.Errorf("open lock file %s: %v", p, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			l.release(false)
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, errRunning
			}
			return nil, fmt.Errorf("open lock file %s: unable to set exclusive lock: %v", p, err)
		}
		l.files = append(l.files, f)
		text := fmt.Sprintf("%*d\n", 32, os.Getpid())
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt([]byte(text), 0)
		}
		if err != nil {
			l.release(false)
			return nil, fmt.Errorf("write lock file %s: %v", p, err)
		}
	}
	return l, nil
}

// openLock opens or creates a lock file with mode 0600 and, when uid >= 0,
// gives it to uid:gid, repairing one an older master left root's. data_directory
// belongs to mail_owner, so the file must not be a link there: O_NOFOLLOW,
// and nothing but a plain file with one link is written to or given away.
func openLock(path string, uid, gid int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0600)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink != 1 {
		f.Close()
		return nil, errors.New("not a regular file with one link")
	}
	if uid >= 0 && (int(st.Uid) != uid || int(st.Gid) != gid) {
		if err := f.Chown(uid, gid); err != nil {
			f.Close()
			return nil, err
		}
	}
	if st.Mode&0777 != 0600 {
		if err := f.Chmod(0600); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// release unlocks the files, removing the pid file when remove is set.
func (l *lockFiles) release(remove bool) {
	if remove {
		os.Remove(l.pidPath)
	}
	for _, f := range l.files {
		f.Close()
	}
	l.files = nil
}

// isRunning reports whether a master holds either lock file.
func isRunning(queueDir, dataDir string) bool {
	for _, p := range []string{pidPath(queueDir), lockPath(dataDir)} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true
		}
	}
	return false
}

// readPID returns the PID in a pid file, or 0.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, _ := strconv.Atoi(strings.TrimSpace(line))
	return n
}
