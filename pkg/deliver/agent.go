package deliver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/ipc"
	"postern/pkg/maillog"
	"postern/pkg/queue"
)

// Serve is an agent's side of one qmgr connection: it reads requests one after another and
// writes handle's reply to each before reading the next, each read and write bounded by
// timeout. It returns when qmgr closes the connection or a read or write fails; the
// connection is closed.
func Serve(c net.Conn, timeout time.Duration, log *maillog.Logger, handle func(ipc.Attrs) ipc.Attrs) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 64<<10)
	for {
		c.SetReadDeadline(time.Now().Add(timeout))
		a, err := ipc.Read(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
				log.Warn("read delivery request: %v", err)
			}
			return
		}
		out := handle(a)
		c.SetWriteDeadline(time.Now().Add(timeout))
		if err := ipc.Write(c, out); err != nil {
			log.Warn("write delivery reply: %v", err)
			return
		}
	}
}

// Open opens the request's queue file, queue_directory/active/ID, read-only, refusing a
// symbolic link or anything but a regular file.
func (r *Request) Open(q *queue.Queue) (*os.File, error) {
	path := q.Path(r.QueueName, r.QueueID)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}
