package main

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// blockingConn is the session process's connection (fd 3) as a blocking
// socket. The process serves one client, so a read that sleeps in the
// kernel is one system call per command where Go's poller makes a read
// that fails with EAGAIN, an epoll_wait, a second read and a trip through
// its scheduler. The idle timeout is the socket's SO_RCVTIMEO and
// SO_SNDTIMEO; a read or write that runs into it fails with
// os.ErrDeadlineExceeded (a net.Error whose Timeout() is true), as a
// net.Conn past its deadline does.
type blockingConn struct{ fd int }

// newBlockingConn takes over fd, a connected stream socket.
func newBlockingConn(fd int) (*blockingConn, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		return nil, errors.New("not a socket")
	}
	// The descriptor came from the front end's poller non-blocking. Only
	// the session uses it now (the front end closed its copy of a plain
	// connection; a TLS relay's other end is a different socket).
	if err := syscall.SetNonblock(fd, false); err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	return &blockingConn{fd: fd}, nil
}

func (c *blockingConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := syscall.Read(c.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			return 0, os.ErrDeadlineExceeded
		case err != nil:
			return 0, err
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p or fails; it raises no SIGPIPE (MSG_NOSIGNAL).
func (c *blockingConn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := syscall.SendmsgN(c.fd, p[done:], nil, nil, syscall.MSG_NOSIGNAL)
		if n > 0 {
			done += n
		}
		switch {
		case err == syscall.EINTR:
		case err == syscall.EAGAIN:
			return done, os.ErrDeadlineExceeded
		case err != nil:
			return done, err
		}
	}
	return done, nil
}

// SetDeadline sets the timeout of each following read and write to the
// time left until t (a system call for each; the session calls it rarely).
func (c *blockingConn) SetDeadline(t time.Time) error {
	d := time.Until(t)
	if d < time.Millisecond {
		d = time.Millisecond // zero would mean no timeout
	}
	tv := syscall.NsecToTimeval(d.Nanoseconds())
	if err := syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	return syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
}

func (c *blockingConn) Close() error { return syscall.Close(c.fd) }
