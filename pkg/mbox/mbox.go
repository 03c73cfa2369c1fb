// Package mbox appends messages to UNIX mailbox files the way Postfix
// local(8) does (src/global/mbox_open.c, src/global/mail_copy.c).
//
// The caller runs Append with the recipient's credentials; this package does
// no privilege switching.
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/lock"
	"postern/pkg/printable"
)

// Postfix defaults for the lock parameters, used when an Options field is 0.
const (
	DefaultLockAttempts = 20                // deliver_lock_attempts
	DefaultLockDelay    = time.Second       // deliver_lock_delay
	DefaultStaleLock    = 500 * time.Second // stale_lock_time
)

// Options control one Append.
type Options struct {
	// DotLock and Fcntl select the locks (mailbox_delivery_lock = fcntl, dotlock).
	// Fcntl uses Linux OFD locks, which conflict with classic fcntl locks.
	DotLock, Fcntl bool
	// DotLockMayFail: a dot-lock file that cannot be created (permission,
	// read-only directory) is ignored instead of failing the delivery, as
	// Postfix does for mailboxes outside the spool directory. A dot lock held
	// by someone else still fails the delivery.
	DotLockMayFail bool
	// LockAttempts and LockDelay (deliver_lock_attempts, deliver_lock_delay)
	// bound both locks: the dot lock is tried LockAttempts times with a
	// randomized LockDelay between tries; the fcntl lock is waited for at most
	// LockAttempts*LockDelay. StaleLock (stale_lock_time) is the ctime age
	// after which a dot lock is broken. Zero means the Postfix default.
	LockAttempts         int
	LockDelay, StaleLock time.Duration
	// SizeLimit is mailbox_size_limit: the mailbox may not grow beyond this
	// many bytes (0 = no limit). Exceeding it fails with 5.2.2 "File too large".
	SizeLimit int64
	// StrictOwnership (strict_mailbox_ownership): an existing mailbox not owned
	// by UID is refused with 4.2.0 "destination X is not owned by recipient".
	StrictOwnership bool
	UID             int
	// Now gives the delivery time for the From_ line, formatted in the
	// time's own location (default time.Now, i.e. local time).
	Now func() time.Time
}

// Error is a delivery failure. Status is the RFC 3463 detail code ("4.2.0",
// "5.2.0", "5.2.2", "4.3.0", ...); Text is Postfix's human text without the
// "cannot update mailbox PATH for user USER. " prefix that local(8) adds.
type Error struct {
	Status string
	Text   string
	Temp   bool  // true: defer and retry; false: bounce
	Err    error // underlying error, if any (for errors.Is/As)
}

func (e *Error) Error() string   { return e.Status + " " + e.Text }
func (e *Error) Temporary() bool { return e.Temp }
func (e *Error) Unwrap() error   { return e.Err }

func newError(status string, err error, format string, args ...any) *Error {
	return &Error{Status: status, Text: fmt.Sprintf(format, args...), Temp: len(status) > 0 && status[0] == '4', Err: err}
}

// errnoOf extracts the errno from err, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// DSN maps an error to a mailbox-related status as Postfix's mbox_dsn():
// EAGAIN/ESTALE 4.2.0, ENOSPC 4.3.0, EDQUOT/EFBIG 5.2.2, else def.
func DSN(err error, def string) string {
	switch errnoOf(err) {
	case syscall.EAGAIN, syscall.ESTALE:
		return "4.2.0"
	case syscall.ENOSPC:
		return "4.3.0"
	case syscall.EDQUOT, syscall.EFBIG:
		return "5.2.2"
	}
	return def
}

const bufSize = 64 << 10

var (
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bufSize) }}
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, bufSize) }}
)

var fromLine = []byte("From ")

// Append writes one message to the mailbox at path; see the package
// documentation and Options. On any error after the mailbox was opened the
// file is truncated back to its original length. The returned error is
// always an *Error.
func Append(path, sender string, prepend []string, content io.Reader, opt Options) error {
	if opt.LockAttempts <= 0 {
		opt.LockAttempts = DefaultLockAttempts
	}
	if opt.LockDelay <= 0 {
		opt.LockDelay = DefaultLockDelay
	}
	if opt.StaleLock <= 0 {
		opt.StaleLock = DefaultStaleLock
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}

	// Dot lock first, as mbox_open(): only for a missing or regular file, so
	// that we never create /dev/null.lock.
	if opt.DotLock {
		if st, err := os.Stat(path); err != nil || st.Mode().IsRegular() {
			dl, err := lock.Dot(path, opt.LockAttempts, opt.LockDelay, opt.StaleLock)
			switch {
			case err == nil:
				defer dl.Release()
			case errors.Is(err, lock.ErrTimeout):
				return newError("4.2.0", err, "unable to create lock file %s.lock: %s", path, printable.Strerror(syscall.EEXIST))
			case opt.DotLockMayFail:
				// Postfix logs a warning and continues.
			default:
				return newError(DSN(err, "5.2.0"), err, "unable to create lock file %s.lock: %s", path, printable.Strerror(err))
			}
		}
	}

	f, created, err := openMailbox(path)
	if err != nil {
		return err
	}
	defer f.Close()

	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return newError(DSN(err, "4.3.0"), err, "cannot fstat %s: %s", path, printable.Strerror(err))
	}
	if !created && opt.StrictOwnership && int(st.Uid) != opt.UID {
		return newError("4.2.0", nil, "destination %s is not owned by recipient", path)
	}

	if opt.Fcntl {
		wait := time.Duration(opt.LockAttempts) * opt.LockDelay
		if err := lock.OFD(f, wait); err != nil {
			if errors.Is(err, lock.ErrTimeout) {
				return newError("4.2.0", err, "unable to lock for exclusive access: %s", printable.Strerror(syscall.EAGAIN))
			}
			return newError(DSN(err, "5.2.0"), err, "unable to lock for exclusive access: %s", printable.Strerror(err))
		}
		defer lock.UnlockOFD(f)
	}

	// Re-check after locking: someone may have replaced or linked the file.
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Nlink != 1 {
		return newError("4.2.0", err, "target file status changed unexpectedly")
	}
	orig := st.Size

	fail := func(e *Error) error {
		_ = f.Truncate(orig)
		_ = f.Sync()
		return e
	}

	lw := &limitWriter{f: f, left: -1}
	if opt.SizeLimit > 0 {
		lw.left = opt.SizeLimit - orig
	}
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(lw)
	br := readers.Get().(*bufio.Reader)
	br.Reset(content)
	defer func() {
		bw.Reset(nil)
		writers.Put(bw)
		br.Reset(nil)
		readers.Put(br)
	}()

	if sender == "" {
		sender = "MAILER-DAEMON"
	}
	bw.WriteString("From ")
	bw.WriteString(sender)
	bw.WriteString("  ")
	bw.WriteString(now().Format(time.ANSIC))
	bw.WriteByte('\n')
	for _, p := range prepend {
		bw.WriteString(p)
		bw.WriteByte('\n')
	}
	rerr := copyQuoted(bw, br)
	if rerr == nil {
		bw.WriteByte('\n') // the empty line that ends the message
	}
	werr := bw.Flush()
	switch {
	case rerr != nil && !errors.Is(rerr, errWrite):
		return fail(newError("4.3.0", rerr, "error reading message: %s", printable.Strerror(rerr)))
	case werr != nil:
		return fail(newError(DSN(werr, "5.3.0"), werr, "error writing message: %s", printable.Strerror(werr)))
	}
	if err := f.Sync(); err != nil {
		return fail(newError(DSN(err, "5.3.0"), err, "error writing message: %s", printable.Strerror(err)))
	}
	return nil
}

// errWrite marks a copy that stopped because the writer failed; the writer's
// error is reported by Flush.
var errWrite = errors.New("write error")

// copyQuoted copies r to w, prefixing lines that begin with "From " with '>'
// and adding a final newline when the last line lacks one.
func copyQuoted(w *bufio.Writer, r *bufio.Reader) error {
	atStart := true
	last := byte('\n')
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			if atStart && bytes.HasPrefix(chunk, fromLine) {
				w.WriteByte('>')
			}
			if _, werr := w.Write(chunk); werr != nil {
				return errWrite
			}
			last = chunk[len(chunk)-1]
			atStart = last == '\n'
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			if last != '\n' {
				w.WriteByte('\n')
			}
			return nil
		default:
			return err
		}
	}
}

// limitWriter writes to f and fails with EFBIG once more than left bytes
// would be written (left < 0: unlimited), like a RLIMIT_FSIZE.
type limitWriter struct {
	f    *os.File
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.left >= 0 {
		if int64(len(p)) > l.left {
			return 0, &os.PathError{Op: "write", Path: l.f.Name(), Err: syscall.EFBIG}
		}
		l.left -= int64(len(p))
	}
	return l.f.Write(p)
}

// openMailbox opens path for appending, creating it with mode 0600 when
// missing. Symbolic links, directories, devices, FIFOs and files with more
// than one hard link are refused.
func openMailbox(path string) (f *os.File, created bool, err error) {
	const base = unix.O_WRONLY | unix.O_APPEND | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	notRegular := func(err error) error {
		return newError("5.2.0", err, "destination %s is not a regular file", path)
	}
	for try := 0; try < 3; try++ {
		fd, err := unix.Open(path, base, 0)
		if err == unix.ENOENT {
			fd, err = unix.Open(path, base|unix.O_CREAT|unix.O_EXCL, 0600)
			if err == unix.EEXIST {
				continue // lost a race with another creator
			}
			created = err == nil
		}
		switch err {
		case nil:
		case unix.ELOOP, unix.EISDIR, unix.ENXIO, unix.ENODEV, unix.ENOTDIR:
			return nil, false, notRegular(err)
		default:
			return nil, false, newError(DSN(err, "5.2.0"), err, "cannot open file: %s", printable.Strerror(err))
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, false, newError(DSN(err, "4.3.0"), err, "cannot fstat %s: %s", path, printable.Strerror(err))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			unix.Close(fd)
			return nil, false, notRegular(nil)
		}
		if st.Nlink != 1 {
			unix.Close(fd)
			return nil, false, newError("5.2.0", nil, "file has %d hard links", st.Nlink)
		}
		// Back to blocking mode for the writes.
		if err := unix.SetNonblock(fd, false); err != nil {
			unix.Close(fd)
			return nil, false, newError("4.3.0", err, "cannot open file: %s", printable.Strerror(err))
		}
		return os.NewFile(uintptr(fd), path), created, nil
	}
	return nil, false, newError("4.2.0", syscall.EEXIST, "cannot open file: %s", printable.Strerror(syscall.EEXIST))
}
