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
func Deliver(dir string, prepend []string, content io.Reader, opt Options) (string, error) {
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
	newDir := filepath.Join(dir, "new")

	tmpName := filepath.Join(tmpDir, uniqueName(start, host, -1, 0))
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Open(tmpName, flags, 0600)
	if err == unix.ENOENT {
		if err = Make(dir); err == nil {
			fd, err = unix.Open(tmpName, flags, 0600)
		}
	}
	if err != nil {
		return "", newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", tmpName, printable.Strerror(err))
	}
	f := os.NewFile(uintptr(fd), tmpName)
	defer os.Remove(tmpName) // as Postfix: the tmp name goes, success or not

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return "", newError(dsn(err, "4.3.0"), err, "create maildir file %s: %s", tmpName, printable.Strerror(err))
	}

	if e := writeMessage(f, prepend, content); e != nil {
		f.Close()
		return "", e
	}
	if err := f.Close(); err != nil {
		return "", newError(dsn(err, "5.3.0"), err, "error writing message: %s", printable.Strerror(err))
	}

	usec := start.Nanosecond() / 1000
	prefix := sec + ".V" + strconv.FormatUint(uint64(st.Dev), 16) + "I" + strconv.FormatUint(st.Ino, 16) + "M"
	newName := filepath.Join(newDir, prefix+strconv.Itoa(usec)+"."+host)
	for try := 0; ; try++ {
		err = unix.Link(tmpName, newName)
		if err == unix.ENOENT {
			if err = Make(dir); err == nil {
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
		return "", newError(dsn(err, "5.2.0"), err, "create maildir file %s: %s", newName, printable.Strerror(err))
	}
	if err := syncDir(newDir); err != nil {
		os.Remove(newName)
		return "", newError(dsn(err, "4.3.0"), err, "error writing message: %s", printable.Strerror(err))
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
		return newError(dsn(werr, "5.3.0"), werr, "error writing message: %s", printable.Strerror(werr))
	}
	if err != nil {
		return newError("4.3.0", err, "error reading message: %s", printable.Strerror(err))
	}
	if err := f.Sync(); err != nil {
		return newError(dsn(err, "5.3.0"), err, "error writing message: %s", printable.Strerror(err))
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

func syncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	err = unix.Fsync(fd)
	unix.Close(fd)
	return err
}
