package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"postern/pkg/ipc"
	"postern/pkg/queue"
)

// cleanupConn is one message on its way into the queue: a stream to the cleanup service
// (docs/DESIGN.md, "cleanup service"). Records are buffered; the first write error sticks and
// makes the rest no-ops, so that the content is still consumed and the error is answered once.
type cleanupConn struct {
	c   net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	id  string
	err error
}

// deadlineWriter refreshes the write deadline before each write, so a stuck cleanup cannot
// hold a session forever, however long the message.
type deadlineWriter struct {
	c       net.Conn
	timeout time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.c.Write(p)
}

func dialCleanup(path string, timeout time.Duration) (*cleanupConn, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, err
	}
	cl := &cleanupConn{c: c, br: bufio.NewReaderSize(c, 4096), bw: bufio.NewWriterSize(deadlineWriter{c, timeout}, 64<<10)}
	c.SetReadDeadline(time.Now().Add(timeout))
	a, err := ipc.Read(cl.br)
	if err == nil && !queue.ValidID(a.Get("queue_id")) {
		err = errors.New("no valid queue_id in greeting")
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	cl.id = a.Get("queue_id")
	return cl, nil
}

func (cl *cleanupConn) rec(typ byte, data []byte) {
	if cl.err == nil {
		cl.err = queue.WriteRecord(cl.bw, typ, data)
	}
}

func (cl *cleanupConn) line(b []byte, limit int) {
	if cl.err == nil {
		cl.err = queue.WriteLine(cl.bw, b, limit)
	}
}

// finish ends the stream with E and reads cleanup's verdict.
func (cl *cleanupConn) finish(timeout time.Duration) (ipc.Attrs, error) {
	defer cl.c.Close()
	cl.rec('E', nil)
	if cl.err == nil {
		cl.err = cl.bw.Flush()
	}
	if cl.err != nil {
		return nil, cl.err
	}
	cl.c.SetReadDeadline(time.Now().Add(timeout))
	return ipc.Read(cl.br)
}

func (cl *cleanupConn) abort() { cl.c.Close() }

// copyContent streams message content as N/L records, never holding more than about one
// record's worth of a line: CRLF and bare LF both end a line and are not stored.
func copyContent(cl *cleanupConn, r io.Reader, limit int) error {
	br := bufio.NewReaderSize(r, 16<<10)
	var cur []byte
	for {
		frag, err := br.ReadSlice('\n')
		cur = append(cur, frag...)
		switch err {
		case nil:
			cl.line(trimEOL(cur), limit)
			cur = cur[:0]
		case bufio.ErrBufferFull:
			// Keep at least two bytes back, so that a CR before the coming LF stays with
			// the line end and the records come out as queue.File.Line makes them.
			for len(cur) > limit+1 {
				cl.rec(queue.RecCont, cur[:limit])
				cur = cur[:copy(cur, cur[limit:])]
			}
		case io.EOF:
			if len(cur) > 0 {
				cl.line(cur, limit)
			}
			return nil
		default:
			return err
		}
	}
}
