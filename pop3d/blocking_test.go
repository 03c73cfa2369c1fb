package main

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestBlockingConn: the session process's socket reads, writes, times out
// as a net.Conn does, and survives a client that went away.
func TestBlockingConn(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.SetNonblock(fds[0], true) // as the front end's poller leaves it
	c, err := newBlockingConn(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := os.NewFile(uintptr(fds[1]), "peer")
	if _, err := c.Write([]byte("+OK\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := peer.Read(buf); string(buf[:n]) != "+OK\r\n" {
		t.Fatalf("peer got %q", buf[:n])
	}
	peer.Write([]byte("STAT\r\n"))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "STAT\r\n" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	c.SetDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err = c.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("idle read: %v, want a timeout", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Fatalf("timeout after %v", d)
	}
	c.SetDeadline(time.Now().Add(time.Minute))
	peer.Close()
	if _, err := c.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after the peer closed: %v", err)
	}
	f, err := os.CreateTemp(t.TempDir(), "file")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := newBlockingConn(int(f.Fd())); err == nil {
		t.Fatal("a file taken for the connection")
	}
}
