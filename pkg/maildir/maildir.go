package maildir

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/mbox"
	"postern/pkg/printable"
)

// Options control one Deliver.
type Options struct {
	// Hostname used in file names: the kernel host name (gethostname), not
	// $myhostname. Default os.Hostname().
	Hostname string
	// Now gives the delivery start time (default time.Now).
	Now func() time.Time
	// Commit, for Write: the group commit the file will be made durable
	// with (Committer.Sync).
	Commit *Committer
}

// Error is a delivery failure, as mailbox files have it (Status, Text,
// Temp, Err). Text is Postfix's text without the "maildir delivery failed: "
// prefix that local(8) adds.
type Error = mbox.Error

func newError(status string, err error, format string, args ...any) *Error {
	return &Error{Status: status, Text: fmt.Sprintf(format, args...), Temp: len(status) > 0 && status[0] == '4', Err: err}
}

// dsn is Postfix's mbox_dsn(), which its maildir delivery shares with
// mailbox files (src/global/mbox_open.c).
var dsn = mbox.DSN

var writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}

// Deliver writes one message into the Maildir dir and returns the path of the
// new file in dir/new. The file holds the prepend lines (each followed by
// "\n") and then content verbatim (no From_ line, no quoting). Missing
// tmp/, new/, cur/ and missing parents of dir are created mode 0700. The
// returned error is always a *Error.
//
// Durability, one message on its own: the file is fsync'd in tmp/ before
// it is linked into new/ (a power loss cannot leave an empty or partial
// message in new/), and new/ is fsync'd after the link, before Deliver
// returns (the caller may then report the delivery). Deliveries that
// finish at the same moment share that work with Write, a Committer and
// Publish instead.
func Deliver(dir string, prepend []string, content io.Reader, opt Options) (string, error) {
	p, err := Write(dir, prepend, content, opt)
	if err != nil {
		return "", err
	}
	defer p.Close()
	if err := p.f.Sync(); err != nil {
		p.Abort()
		return "", newError(dsn(err, "5.3.0"), err, "error writing message: %s", printable.Strerror(err))
	}
	name, err := p.Publish()
	if err != nil {
		return "", err
	}
	if err := unix.Fsync(p.dirfd); err != nil {
		p.Abort()
		return "", newError(dsn(err, "4.3.0"), err, "error writing message: %s", printable.Strerror(err))
	}
	return name, nil
}

// Pending is a message written into tmp/ and not yet durable: Write made
// it, Publish links it into new/. The caller makes it durable between the
// two (fsync, or a Committer round) and again after Publish, and closes it.
type Pending struct {
	f              *os.File
	dev            uint64
	ino            uint64
	tmpName        string
	newDir, prefix string
	host           string
	usec           int
	newName        string // once published
	dirfd          int    // new/, once published
	commit         *Committer
	ticket         ticket
}

// Write creates a file in dir/tmp and writes the message into it (as
// Deliver), without making it durable. With opt.Commit set, the file
// joins that Committer's group (before any byte is written, which its
// error reporting needs). Every Write is ended with Close.
func Write(dir string, prepend []string, content io.Reader, opt Options) (*Pending, error) {
	host := host()
	if opt.Hostname != "" {
		host = EscapeHost(opt.Hostname)
	}
	start := time.Now()
	if opt.Now != nil {
		start = opt.Now()
	}
	sec := strconv.FormatInt(start.Unix(), 10)
	tmpDir := filepath.Join(dir, "tmp")

	tmpName := filepath.Join(tmpDir, uniqueName(start, host, -1, 0))
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open(tmpName, flags, 0600)
	if err == unix.ENOENT {
		if err = Make(dir); err == nil {
			fd, err = unix.Open(tmpName, flags, 0600)
		}
	}
	if err != nil {
		return nil, newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", tmpName, printable.Strerror(err))
	}
	p := &Pending{f: os.NewFile(uintptr(fd), tmpName), tmpName: tmpName, newDir: filepath.Join(dir, "new"),
		host: host, usec: start.Nanosecond() / 1000, dirfd: -1}

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		p.Abort()
		p.Close()
		return nil, newError(dsn(err, "4.3.0"), err, "create maildir file %s: %s", tmpName, printable.Strerror(err))
	}
	p.dev, p.ino = st.Dev, st.Ino
	p.prefix = sec + ".V" + strconv.FormatUint(st.Dev, 16) + "I" + strconv.FormatUint(st.Ino, 16) + "M"
	if opt.Commit != nil {
		if err := opt.Commit.join(p); err != nil {
			p.Abort()
			p.Close()
			return nil, newError("4.3.0", err, "error writing message: %s", printable.Strerror(err))
		}
	}
	if e := writeMessage(p.f, prepend, content); e != nil {
		p.Abort()
		p.Close()
		return nil, e
	}
	return p, nil
}

// Publish links the file into new/ under Postfix's name
// <sec>.V<dev>I<ino>M<usec>.<host> and removes the tmp/ name (as Postfix:
// the tmp name goes, success or not). It returns the new path. new/ is
// opened first and the link made into that descriptor, which Sync then
// flushes: the directory made durable is the one linked into.
func (p *Pending) Publish() (string, error) {
	const dflags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	dfd, err := unix.Open(p.newDir, dflags, 0)
	if err == unix.ENOENT {
		if err = os.MkdirAll(p.newDir, 0700); err == nil {
			dfd, err = unix.Open(p.newDir, dflags, 0)
		}
	}
	base := p.prefix + strconv.Itoa(p.usec) + "." + p.host
	if err == nil {
		p.dirfd = dfd
		for try := 0; ; try++ {
			err = unix.Linkat(unix.AT_FDCWD, p.tmpName, dfd, base, 0)
			if err != unix.EEXIST || try >= 3 {
				break
			}
			// Same inode reused within the same second and microsecond: take
			// the current microsecond instead (never seen in practice).
			p.usec = (p.usec + 1 + time.Now().Nanosecond()/1000) % 1000000
			base = p.prefix + strconv.Itoa(p.usec) + "." + p.host
		}
	}
	unix.Unlink(p.tmpName)
	p.tmpName = ""
	newName := filepath.Join(p.newDir, base)
	if err != nil {
		return "", newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", newName, printable.Strerror(err))
	}
	p.newName = newName
	return newName, nil
}

// Abort removes what Write and Publish made: the tmp/ name, and the new/
// name of a message whose durability failed (the delivery will be
// retried; a copy left behind would be a duplicate).
func (p *Pending) Abort() {
	if p.tmpName != "" {
		unix.Unlink(p.tmpName)
		p.tmpName = ""
	}
	if p.newName != "" {
		unix.Unlink(p.newName)
		p.newName = ""
	}
}

// Close closes the file and leaves the Committer's group.
func (p *Pending) Close() {
	if p.commit != nil {
		p.commit.leave(p)
		p.commit = nil
	}
	if p.dirfd >= 0 {
		unix.Close(p.dirfd)
	}
	p.f.Close()
}

func writeMessage(f *os.File, prepend []string, content io.Reader) *Error {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(f)
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
	}()
	for _, p := range prepend {
		bw.WriteString(p)
		bw.WriteByte('\n')
	}
	_, err := bw.ReadFrom(content)
	werr := bw.Flush()
	if werr != nil {
		return newError(dsn(werr, "5.3.0"), werr, "error writing message: %s", printable.Strerror(werr))
	}
	if err != nil {
		return newError("4.3.0", err, "error reading message: %s", printable.Strerror(err))
	}
	return nil
}

// Make creates dir (and missing parents) and its tmp, new and cur
// subdirectories, mode 0700, as far as they are missing.
func Make(dir string) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0700); err != nil {
			return err
		}
	}
	return nil
}
