package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"postern/pkg/passwd"
)

// DropPrivileges makes the whole process mail_owner (name): no
// supplementary groups, mail_owner's login group, mail_owner's user ID as
// real, effective, saved and file-system IDs, in every thread (Go applies
// setuid and friends to all threads). It then reads the credentials of every
// thread back from /proc and fails unless all of them are exactly that: a
// daemon must never serve a connection as root when master.cf says
// unprivileged.
//
// The kernel forgets the parent-death signal (master sets SIGTERM) when the
// credentials change, and the thread master set it on is not necessarily
// the one running here: the process gets SIGTERM again when its parent
// ends, as master's contract says.
func DropPrivileges(name string) error {
	u, err := passwd.Lookup(name)
	if err != nil {
		return fmt.Errorf("parameter mail_owner: unknown user name value: %s", name)
	}
	if u.UID == 0 {
		return fmt.Errorf("parameter mail_owner: user %s has privileged user ID", name)
	}
	ppid := os.Getppid()
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %v", err)
	}
	if err := syscall.Setgid(u.GID); err != nil {
		return fmt.Errorf("setgid(%d): %v", u.GID, err)
	}
	if err := syscall.Setuid(u.UID); err != nil {
		return fmt.Errorf("setuid(%d): %v", u.UID, err)
	}
	if ppid != 1 {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_PDEATHSIG): %v", err)
		}
		if os.Getppid() != ppid {
			// master went away while the signal was off.
			return errors.New("parent process exited")
		}
	}
	threads, err := ProcCreds(os.Getpid())
	if err != nil {
		return fmt.Errorf("cannot verify the privilege drop: %v", err)
	}
	for _, c := range threads {
		if !c.Are(u.UID, u.GID) {
			return fmt.Errorf("privileges not dropped to %s (uid %d gid %d): thread has %+v", name, u.UID, u.GID, c)
		}
	}
	return nil
}

// Creds are one thread's IDs as /proc/PID/task/TID/status shows them.
type Creds struct {
	UID    [4]int // real, effective, saved, file system
	GID    [4]int
	Groups []int // supplementary groups
}

// Are reports whether every user ID is uid, every group ID gid, and there is no
// supplementary group.
func (c Creds) Are(uid, gid int) bool {
	for i := range c.UID {
		if c.UID[i] != uid || c.GID[i] != gid {
			return false
		}
	}
	return len(c.Groups) == 0
}

// ProcCreds reads the credentials of every thread of process pid.
func ProcCreds(pid int) ([]Creds, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return nil, fmt.Errorf("no threads of process %d in /proc", pid)
	}
	var out []Creds
	for _, path := range tasks {
		b, err := os.ReadFile(path)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread ended meanwhile
			}
			return nil, err
		}
		c, err := parseStatus(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// parseStatus takes the Uid:, Gid: and Groups: lines of a status file.
func parseStatus(s string) (Creds, error) {
	var c Creds
	seen := 0
	for _, line := range strings.Split(s, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(val)
		var dst *[4]int
		switch key {
		case "Uid":
			dst = &c.UID
		case "Gid":
			dst = &c.GID
		case "Groups":
			for _, g := range f {
				n, err := strconv.Atoi(g)
				if err != nil {
					return c, fmt.Errorf("bad Groups line %q", line)
				}
				c.Groups = append(c.Groups, n)
			}
			seen++
			continue
		default:
			continue
		}
		if len(f) != 4 {
			return c, fmt.Errorf("bad %s line %q", key, line)
		}
		for i := range f {
			n, err := strconv.Atoi(f[i])
			if err != nil {
				return c, fmt.Errorf("bad %s line %q", key, line)
			}
			dst[i] = n
		}
		seen++
	}
	if seen != 3 {
		return c, errors.New("no Uid/Gid/Groups lines")
	}
	return c, nil
}
