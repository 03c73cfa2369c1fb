package passwd

import (
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The parsed file is kept between lookups. smtpd asks for every RCPT (local_recipient_maps =
// proxy:unix:passwd.byname), and reading and splitting the whole file each time was 9 % of
// its CPU under load; a stat(2) is a small fraction of that. Every lookup stats File, and any
// change of device, inode, size, mtime or ctime (the rule pkg/table uses for its files) parses
// the file again before answering, so a user added or removed is seen by the next lookup, as
// with getpwnam(3) reading the file each time.

// fileID is one version of the file.
type fileID struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64
}

func idOf(st *syscall.Stat_t) fileID {
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}
}

// racyWindow: a file whose ctime was this close to the moment it was parsed may have been
// written again since within the same timestamp tick (the kernel's file times are coarse),
// with the same size, leaving the same fileID. Such an index answers the lookup that parsed
// it and is parsed again next time, until the file's times are older than this (as git
// treats "racily clean" index entries).
var racyWindow = time.Second // a variable for the tests

// index is File parsed: the first entry of each name and of each uid, as a scan would find.
type index struct {
	path   string
	id     fileID
	racy   bool
	byName map[string]*User
	byUID  map[int]*User
}

var (
	current atomic.Pointer[index]
	reload  sync.Mutex // one parse at a time
)

// load returns the index of File as it is now.
func load() (*index, error) {
	path := File
	var st syscall.Stat_t
	if err := stat(path, &st); err != nil {
		return nil, err
	}
	id := idOf(&st)
	if ix := current.Load(); ix != nil && !ix.racy && ix.path == path && ix.id == id {
		return ix, nil
	}
	reload.Lock()
	defer reload.Unlock()
	if ix := current.Load(); ix != nil && !ix.racy && ix.path == path && ix.id == id {
		return ix, nil // another goroutine parsed it meanwhile
	}
	ix, err := parseFile(path)
	if err != nil {
		return nil, err
	}
	current.Store(ix)
	return ix, nil
}

// parseFile reads path into a new index. Its fileID is taken from the open file before the
// read, so a write during or after the read changes what the next stat sees.
func parseFile(path string) (*index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: syscall.ENOTSUP}
	}
	ix := &index{path: path, id: idOf(st), byName: map[string]*User{}, byUID: map[int]*User{}}
	ix.racy = time.Since(time.Unix(0, max(ix.id.mtime, ix.id.ctime))) < racyWindow
	err = scan(f, -1, func(fl []string) bool {
		if u, ok := parse(fl); ok {
			if ix.byName[u.Name] == nil {
				ix.byName[u.Name] = u
			}
			if ix.byUID[u.UID] == nil {
				ix.byUID[u.UID] = u
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	return ix, nil
}

func stat(path string, st *syscall.Stat_t) error {
	for {
		err := syscall.Stat(path, st)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "stat", Path: path, Err: err}
		}
		return nil
	}
}
