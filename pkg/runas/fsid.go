package runas

import (
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// asUser runs fn with the file-system identity uid/gid (and gid as the
// only supplementary group) on the calling thread only, as Postfix's
// open_as() and lstat_as() do with seteuid: the kernel checks access to
// a file as its reader, not as root. setfsuid,
// setfsgid and the raw setgroups change one thread, unlike syscall.Setuid,
// so other deliveries in this process keep root. A thread whose identity
// cannot be restored is never unlocked and dies with its goroutine.
func asUser(uid, gid int, fn func() error) error {
	if os.Geteuid() != 0 || uid == 0 {
		return fn() // an unprivileged local can only be itself
	}
	runtime.LockOSThread()
	groups, err := unix.Getgroups()
	if err != nil {
		runtime.UnlockOSThread()
		return err
	}
	restore := func() bool {
		okU := unix.Setfsuid(0) == nil
		okG := unix.Setfsgid(0) == nil
		okS := unix.Setgroups(groups) == nil
		cur, _ := unix.SetfsuidRetUid(-1) // -1 changes nothing, returns the current fsuid
		return okU && okG && okS && cur == 0
	}
	if err := unix.Setgroups([]int{gid}); err != nil {
		if restore() {
			runtime.UnlockOSThread()
		}
		return err
	}
	unix.Setfsgid(gid)
	unix.Setfsuid(uid)
	err = fn()
	if restore() {
		runtime.UnlockOSThread()
	}
	return err
}

// Open opens path read-only as id (the access check is id's; the
// descriptor is then the caller's), never blocking on a FIFO; with
// nofollow, a symbolic link at the end is refused.
func Open(path string, id Identity, nofollow bool) (*os.File, error) {
	uid, gid := id.UID, id.GID
	var f *os.File
	flags := unix.O_RDONLY | unix.O_NONBLOCK | unix.O_CLOEXEC
	if nofollow {
		flags |= unix.O_NOFOLLOW
	}
	err := asUser(uid, gid, func() error {
		fd, err := unix.Open(path, flags, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: path, Err: err}
		}
		f = os.NewFile(uintptr(fd), path)
		return nil
	})
	return f, err
}

// Stat is stat(2) (lstat when nofollow) as id.
func Stat(path string, id Identity, nofollow bool) (unix.Stat_t, error) {
	uid, gid := id.UID, id.GID
	var st unix.Stat_t
	err := asUser(uid, gid, func() error {
		if nofollow {
			return unix.Lstat(path, &st)
		}
		return unix.Stat(path, &st)
	})
	return st, err
}
