package ipc

import (
	"net"
	"time"
)

// IdleConn renews the connection's deadline before every read and write, so a peer that
// stalls for Timeout is dropped while a long but moving stream is not. Timeout 0 sets no
// deadline. cleanup reads its clients through it, pkg/cleanup and smtp write through it.
type IdleConn struct {
	net.Conn
	Timeout time.Duration
}

func (c IdleConn) Read(p []byte) (int, error) {
	if c.Timeout > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(c.Timeout))
	}
	return c.Conn.Read(p)
}

func (c IdleConn) Write(p []byte) (int, error) {
	if c.Timeout > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.Timeout))
	}
	return c.Conn.Write(p)
}
