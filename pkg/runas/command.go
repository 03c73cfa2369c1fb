package runas

import (
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"postern/pkg/auth"
)

// Identity is what a process runs as: a uid and a primary gid, with no
// supplementary groups.
type Identity struct{ UID, GID int }

// Of is u's identity.
func Of(u *auth.User) Identity { return Identity{u.UID, u.GID} }

// Command is exe with args, to run as u: u's uid and gid, no
// supplementary groups, HOME/USER/LOGNAME of u and a minimal PATH, in /,
// sent SIGTERM when the process that started it dies. Run it with Start.
// Not running as root, the process keeps our own credentials (callers
// serve only their own uid then).
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
// it: started from any other thread, a process could be killed while its
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
