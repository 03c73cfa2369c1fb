package handoff

import (
	"context"
	"net"
	"os"
	"os/exec"
	"time"

	"postern/pkg/auth"
	"postern/pkg/runas"
)

// MaxSessionParams bounds a session's parameters.
const MaxSessionParams = 60 << 10

// Sessions keeps one long-lived session server per identity (a
// runas.Pool): each logged-in connection of a user goes, with its
// parameters, to the one server running as that user, which serves its
// sessions concurrently and says when each has ended.
type Sessions struct {
	pool runas.Pool
}

// NewSessions is a pool of at most max session servers (exe with args),
// each closed after idle without sessions; warn logs their failures.
func NewSessions(exe string, args []string, max int, idle time.Duration, warn func(string, ...any)) *Sessions {
	return &Sessions{pool: runas.Pool{Exe: exe, Args: args, Max: max, Idle: idle,
		Name: "session server", Request: "session", MaxRequest: MaxSessionParams, Warn: warn,
		Setup: func(cmd *exec.Cmd, u *auth.User) {
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if fi, err := os.Stat(u.Home); err == nil && fi.IsDir() {
				cmd.Dir = u.Home
			}
		}}}
}

// Serve hands a logged-in connection to the session server of u's
// identity with params, and returns when the session has ended (or its
// server died). c is consumed. An error means the session never started;
// the client connection is then still the caller's.
func (s *Sessions) Serve(u *auth.User, c *Conn, params []byte) error {
	passed := false
	_, err := s.pool.Call(context.Background(), u, params, c.File, func() {
		passed = true
		c.Passed()
		c.Relay()
	})
	if !passed {
		c.Abort()
		return err
	}
	return nil
}

// Close retires every server (tests).
func (s *Sessions) Close() { s.pool.Close() }

// Serve is a session server's life: it takes sessions from the socket at
// fd until end of file (the front end retired it, or died) and runs
// handle for each in a goroutine; when handle returns, the session is
// reported ended. At end of file it waits for the sessions in hand.
func Serve(fd uintptr, handle func(conn net.Conn, params []byte)) error {
	return runas.Serve(fd, runas.ServeOptions{MaxRequest: MaxSessionParams}, func(params []byte, f *os.File) []byte {
		conn, err := net.FileConn(f)
		f.Close()
		if err != nil {
			os.Stderr.WriteString("session connection: " + err.Error() + "\n")
			return nil
		}
		defer conn.Close()
		handle(conn, params)
		return nil
	})
}
