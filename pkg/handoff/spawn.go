package handoff

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"postern/pkg/auth"
)

// MaxParams bounds the parameters a session process reads.
const MaxParams = 1 << 20

// Command is exe with args, to run as u: u's uid and gid, no
// supplementary groups, HOME/USER/LOGNAME of u and a minimal PATH, in /,
// killed (SIGTERM) when the process that started it dies. Run it with
// Start or Spawn. Not running as root, the process keeps our own
// credentials (callers serve only their own uid then).
func Command(exe string, args []string, u *auth.User) *exec.Cmd {
	cmd := exec.Command(exe, args...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + u.Home, "USER=" + u.Username, "LOGNAME=" + u.Username}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID), Groups: []uint32{}}
	}
	return cmd
}

// Start starts cmd from one goroutine locked to its own thread, which
// never exits. Pdeathsig is tied to the thread that forked, not to the
// process, and Go ends a thread when a goroutine exits while locked to
// it: started from any other thread, a session could be killed while its
// parent lives on, or outlive it.
func Start(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnc = make(chan spawnReq)
		go func() {
			runtime.LockOSThread()
			for r := range spawnc {
				r.err <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, err: make(chan error, 1)}
	spawnc <- r
	return <-r.err
}

type spawnReq struct {
	cmd *exec.Cmd
	err chan error
}

var (
	spawnOnce sync.Once
	spawnc    chan spawnReq
)

// Spawn runs a one-login session process: cmd (from Command) gets the
// connection as fd 3 and params on fd 4 (read with ChildConn and
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
	if err := Start(cmd); err != nil {
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
