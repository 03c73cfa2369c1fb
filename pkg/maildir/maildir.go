// Package maildir delivers messages into Maildir directories the way Postfix
// local(8) does (src/local/maildir.c).
//
// The caller runs Deliver with the recipient's credentials; this package does
// no privilege switching.
//
// Deviation from Postfix: the tmp/ name is <sec>.P<pid>Q<n>.<host>, where n is
// a per-process delivery counter (Dovecot's convention), because one Postern
// process delivers concurrently and two deliveries may share a second. The
// final new/ name is exactly Postfix's <sec>.V<dev>I<ino>M<usec>.<host>.
// Postern also fsyncs the new/ directory after the link.
package maildir

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options control one Deliver.
type Options struct {
	// Hostname used in file names: the kernel host name (gethostname), not
	// $myhostname. Default os.Hostname().
	Hostname string
	// Now gives the delivery start time (default time.Now).
	Now func() time.Time
}

// Error is a delivery failure, shaped like mbox.Error. Text is Postfix's text
// without the "maildir delivery failed: " prefix that local(8) adds.
type Error struct {
	Status string
	Text   string
	Temp   bool  // true: defer and retry; false: bounce
	Err    error // underlying error, if any
}

func (e *Error) Error() string   { return e.Status + " " + e.Text }
func (e *Error) Temporary() bool { return e.Temp }
func (e *Error) Unwrap() error   { return e.Err }

func newError(status string, err error, format string, args ...any) *Error {
	return &Error{Status: status, Text: fmt.Sprintf(format, args...), Temp: len(status) > 0 && status[0] == '4', Err: err}
}

// dsn is Postfix's mbox_dsn(): EAGAIN/ESTALE 4.2.0, ENOSPC 4.3.0,
// EDQUOT/EFBIG 5.2.2, else def.
func dsn(err error, def string) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		switch e {
		case syscall.EAGAIN, syscall.ESTALE:
			return "4.2.0"
		case syscall.ENOSPC:
			return "4.3.0"
		case syscall.EDQUOT, syscall.EFBIG:
			return "5.2.2"
		}
	}
	return def
}

// errText renders err like C's %m ("Permission denied").
func errText(err error) string {
	s := err.Error()
	var e syscall.Errno
	if errors.As(err, &e) {
		s = e.Error()
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

var (
	pid     = strconv.Itoa(os.Getpid())
	counter atomic.Uint64

	hostOnce sync.Once
	hostName string

	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
)

// EscapeHost makes a host name safe for a Maildir file name: '/' becomes
// "\057" and ':' becomes "\072".
func EscapeHost(h string) string {
	if !strings.ContainsAny(h, "/:") {
		return h
	}
	return strings.NewReplacer("/", `\057`, ":", `\072`).Replace(h)
}

func defaultHost() string {
	hostOnce.Do(func() {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "localhost"
		}
		hostName = EscapeHost(h)
	})
	return hostName
}

// Deliver writes one message into the Maildir dir and returns the path of the
// new file in dir/new. The file holds the prepend lines (each followed by
// "\n") and then content verbatim (no From_ line, no quoting). Missing
// tmp/, new/, cur/ and missing parents of dir are created mode 0700. The
// returned error is always a *Error.
func Deliver(dir string, prepend []string, content io.Reader, opt Options) (string, error) {
	host := defaultHost()
	if opt.Hostname != "" {
		host = EscapeHost(opt.Hostname)
	}
	start := time.Now()
	if opt.Now != nil {
		start = opt.Now()
	}
	sec := strconv.FormatInt(start.Unix(), 10)
	tmpDir := filepath.Join(dir, "tmp")
	newDir := filepath.Join(dir, "new")

	tmpName := filepath.Join(tmpDir, sec+".P"+pid+"Q"+strconv.FormatUint(counter.Add(1), 10)+"."+host)
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open(tmpName, flags, 0600)
	if err == unix.ENOENT {
		if err = makeDirs(dir); err == nil {
			fd, err = unix.Open(tmpName, flags, 0600)
		}
	}
	if err != nil {
		return "", newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", tmpName, errText(err))
	}
	f := os.NewFile(uintptr(fd), tmpName)
	defer os.Remove(tmpName) // as Postfix: the tmp name goes, success or not

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return "", newError(dsn(err, "4.3.0"), err, "create maildir file %s: %s", tmpName, errText(err))
	}

	if e := writeMessage(f, prepend, content); e != nil {
		f.Close()
		return "", e
	}
	if err := f.Close(); err != nil {
		return "", newError(dsn(err, "5.3.0"), err, "error writing message: %s", errText(err))
	}

	usec := start.Nanosecond() / 1000
	prefix := sec + ".V" + strconv.FormatUint(uint64(st.Dev), 16) + "I" + strconv.FormatUint(st.Ino, 16) + "M"
	newName := filepath.Join(newDir, prefix+strconv.Itoa(usec)+"."+host)
	for try := 0; ; try++ {
		err = unix.Link(tmpName, newName)
		if err == unix.ENOENT {
			if err = makeDirs(dir); err == nil {
				err = unix.Link(tmpName, newName)
			}
		}
		if err != unix.EEXIST || try >= 3 {
			break
		}
		// Same inode reused within the same second and microsecond: take
		// the current microsecond instead (never seen in practice).
		usec = (usec + 1 + time.Now().Nanosecond()/1000) % 1000000
		newName = filepath.Join(newDir, prefix+strconv.Itoa(usec)+"."+host)
	}
	if err != nil {
		return "", newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", newName, errText(err))
	}
	if err := syncDir(newDir); err != nil {
		os.Remove(newName)
		return "", newError(dsn(err, "4.3.0"), err, "error writing message: %s", errText(err))
	}
	return newName, nil
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
		return newError(dsn(werr, "5.3.0"), werr, "error writing message: %s", errText(werr))
	}
	if err != nil {
		return newError("4.3.0", err, "error reading message: %s", errText(err))
	}
	if err := f.Sync(); err != nil {
		return newError(dsn(err, "5.3.0"), err, "error writing message: %s", errText(err))
	}
	return nil
}

// makeDirs creates dir (and missing parents) and its tmp, new and cur
// subdirectories, mode 0700.
func makeDirs(dir string) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0700); err != nil {
			return err
		}
	}
	return nil
}

func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = unix.Fsync(fd)
	unix.Close(fd)
	return err
}
