package handoff

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Conn is a logged-in connection on its way to another process.
type Conn struct {
	// File is the descriptor to pass: the connection's own for a plain
	// connection, one end of a socket pair for TLS. Close it once passed.
	File *os.File

	raw     net.Conn
	tlsConn *tls.Conn
	relay   net.Conn // our end of the pair (TLS only)
}

// Prepare makes a connection passable. raw is the accepted connection,
// tlsConn its TLS layer when one is active (then raw is not passed).
func Prepare(raw net.Conn, tlsConn *tls.Conn) (*Conn, error) {
	if tlsConn != nil {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("socketpair: %w", err)
		}
		f, pf := os.NewFile(uintptr(fds[0]), "session"), os.NewFile(uintptr(fds[1]), "relay")
		relay, err := net.FileConn(pf)
		pf.Close()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &Conn{File: f, raw: raw, tlsConn: tlsConn, relay: relay}, nil
	}
	fc, ok := raw.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("connection type %T cannot be passed on", raw)
	}
	f, err := fc.File()
	if err != nil {
		return nil, err
	}
	return &Conn{File: f, raw: raw}, nil
}

// Relay copies plaintext between the TLS client and the session until the
// session closes its end, then closes the TLS connection. For a plain
// connection it does nothing.
func (c *Conn) Relay() {
	if c.relay == nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(c.relay, c.tlsConn) // client -> session
		c.relay.(*net.UnixConn).CloseWrite()
	}()
	c.tlsConn.SetDeadline(time.Time{})
	io.Copy(c.tlsConn, c.relay) // session -> client, until the session closes
	c.tlsConn.CloseWrite()
	c.tlsConn.Close()
	wg.Wait()
	c.relay.Close()
}

// Passed closes this process's copies once the descriptor is in the
// session's hands: File and, for a plain connection, the accepted
// connection itself, so that the client sees the end of the connection as
// soon as the session closes it.
func (c *Conn) Passed() {
	c.Close()
	if c.relay == nil {
		c.raw.Close()
	}
}

// Close releases File.
func (c *Conn) Close() {
	if c.File != nil {
		c.File.Close()
	}
}

// Abort undoes Prepare when the hand-off failed: the client connection
// is still the caller's (to answer, then close).
func (c *Conn) Abort() {
	c.Close()
	if c.relay != nil {
		c.relay.Close()
	}
}
