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
func acquireLocks(queueDir, dataDir string) (*lockFiles, error) {
	l := &lockFiles{pidPath: pidPath(queueDir)}
	for _, p := range []string{lockPath(dataDir), l.pidPath} {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0644)
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
