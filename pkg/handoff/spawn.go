package handoff

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"

	"postern/pkg/runas"
)

// MaxParams bounds the parameters a session process reads.
const MaxParams = 1 << 20

// Spawn runs a one-login session process: cmd (from runas.Command) gets
// the connection as fd 3 and params on fd 4 (read with ChildConn and
// ChildParams). It relays a TLS connection and returns when the process
// has exited; an error before the start means the session never ran.
func Spawn(cmd *exec.Cmd, c *Conn, params []byte) error {
	defer c.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		c.Abort()
		return err
	}
	defer pr.Close()
	defer pw.Close()
	cmd.ExtraFiles = []*os.File{c.File, pr}
	if err := runas.Start(cmd); err != nil {
		c.Abort()
		return err
	}
	c.Passed()
	pr.Close()
	// The pipe holds 64 KiB; larger parameters wait for the child.
	go func() { pw.Write(params); pw.Close() }()
	c.Relay()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("session process: %v", err)
	}
	return nil
}

// ChildConn is the connection a session process was given as fd.
func ChildConn(fd uintptr) (net.Conn, error) {
	f := os.NewFile(fd, "conn")
	defer f.Close()
	return net.FileConn(f)
}

// ChildParams reads the parameters Spawn wrote on fd 4.
func ChildParams() ([]byte, error) {
	f := os.NewFile(4, "params")
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, MaxParams))
}
