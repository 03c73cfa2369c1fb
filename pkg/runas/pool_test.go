package runas

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern/pkg/auth"
)

// The test binary doubles as the servers (TestMain).
const (
	echoFlag = "-test-echo" // replies "PID REQUEST"; "sleep N" first sleeps N ms
	fakeFlag = "-test-fake" // a misbehaving server: -test-fake MODE
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case echoFlag:
			err := Serve(3, ServeOptions{Drain: 10 * time.Second}, func(req []byte, f *os.File) []byte {
				f.Close()
				if ms, ok := strings.CutPrefix(string(req), "sleep "); ok {
					n, _ := strconv.Atoi(ms)
					time.Sleep(time.Duration(n) * time.Millisecond)
				}
				return fmt.Appendf(nil, "%d %s", os.Getpid(), req)
			})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			os.Exit(0)
		case fakeFlag:
			os.Exit(fake(os.Args[2]))
		}
	}
	os.Exit(m.Run())
}

// fake reads one request and answers it wrongly (or not at all).
func fake(mode string) int {
	f := os.NewFile(3, "sock")
	c, err := net.FileConn(f)
	if err != nil {
		return 1
	}
	uc := c.(*net.UnixConn)
	buf, oob := make([]byte, 1<<17), make([]byte, 64)
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	CloseFDs(ReceivedFDs(oob[:oobn]))
	if err != nil || n < idLen {
		return 1
	}
	id := binary.BigEndian.Uint64(buf)
	switch mode {
	case "wrong-id":
		uc.Write(binary.BigEndian.AppendUint64(nil, id+1))
	case "big":
		uc.Write(append(binary.BigEndian.AppendUint64(nil, id), make([]byte, 200)...))
	case "short":
		uc.Write([]byte{1, 2, 3})
	case "exit":
		fmt.Fprintln(os.Stderr, "fake server gives up")
		return 3
	}
	// Stay until the pool closes the socket (or a minute has passed: the
	// pool must not wait for this server's answer).
	uc.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		if n, _, _, _, err := uc.ReadMsgUnix(buf, nil); err != nil || n == 0 {
			return 0
		}
	}
}

type warnings struct {
	mu sync.Mutex
	l  []string
}

func (w *warnings) warn(f string, a ...any) {
	w.mu.Lock()
	w.l = append(w.l, fmt.Sprintf(f, a...))
	w.mu.Unlock()
}

func (w *warnings) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.l, "\n")
}

func newPool(t *testing.T, max int, idle time.Duration, args ...string) (*Pool, *warnings) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if len(args) == 0 {
		args = []string{echoFlag}
	}
	w := &warnings{}
	p := &Pool{Exe: exe, Args: args, Max: max, Idle: idle, Name: "test server", Request: "job",
		MaxReply: 100, Warn: w.warn}
	t.Cleanup(p.Close)
	return p, w
}

// user n is the test's own uid with gid+n: as root the server runs with
// that gid; else just another identity.
func user(n int) *auth.User {
	return &auth.User{Username: "me", UID: os.Geteuid(), GID: os.Getegid() + n, Home: "/"}
}

// call sends req (with a pipe end attached) and returns the server's pid.
func call(t *testing.T, p *Pool, u *auth.User, req string) (int, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	out, err := p.Call(context.Background(), u, []byte(req), r, nil)
	if err != nil {
		return 0, err
	}
	pid, rest, _ := strings.Cut(string(out), " ")
	if rest != req {
		t.Fatalf("reply %q to %q", out, req)
	}
	return strconv.Atoi(pid)
}

func mustCall(t *testing.T, p *Pool, u *auth.User, req string) int {
	t.Helper()
	pid, err := call(t, p, u, req)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func pids(p *Pool) map[Identity]int {
	m := map[Identity]int{}
	for _, s := range p.Servers() {
		m[s.Identity] = s.PID
	}
	return m
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func gone(pid int) bool { return syscall.Kill(pid, 0) == syscall.ESRCH }

// The first request starts the identity's server; later ones, also
// concurrent ones, go to the same process; another identity gets its own.
func TestStartOnFirstUse(t *testing.T) {
	p, w := newPool(t, 4, time.Hour)
	if len(p.Servers()) != 0 {
		t.Fatal("server before the first request")
	}
	pid := mustCall(t, p, user(0), "a")
	if pid == os.Getpid() || pids(p)[Of(user(0))] != pid {
		t.Fatalf("pid %d, servers %v", pid, pids(p))
	}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = mustCall(t, p, user(0), "sleep 50") }()
	}
	wg.Wait()
	for _, g := range got {
		if g != pid {
			t.Fatalf("concurrent requests served by %v, want %d", got, pid)
		}
	}
	other := mustCall(t, p, user(1), "b")
	if other == pid || len(p.Servers()) != 2 {
		t.Fatalf("second identity: pid %d, servers %v", other, pids(p))
	}
	if w.text() != "" {
		t.Fatalf("warnings: %s", w.text())
	}
}

// A server without requests for Idle is closed, exits by itself (status
// 0, at end of file on its socket), and the next request starts a new one.
func TestIdleExit(t *testing.T) {
	p, w := newPool(t, 4, 200*time.Millisecond)
	pid := mustCall(t, p, user(0), "a")
	p.mu.Lock()
	s := p.servers[Of(user(0))]
	p.mu.Unlock()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("idle server still running")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("server exit %v, want 0 (its own exit at end of file)", s.cmd.ProcessState)
	}
	if !gone(pid) || len(p.Servers()) != 0 {
		t.Fatalf("pid %d still there, servers %v", pid, pids(p))
	}
	if again := mustCall(t, p, user(0), "b"); again == pid {
		t.Fatal("old server reused")
	}
	// A server in use is not idle: a request longer than Idle keeps it.
	pid = pids(p)[Of(user(0))]
	if mustCall(t, p, user(0), "sleep 400") != pid {
		t.Fatal("server replaced during a long request")
	}
	if w.text() != "" {
		t.Fatalf("warnings: %s", w.text())
	}
}

// At Max, the least recently used idle server makes room; when every
// server is busy, a one-off server takes the request and goes after it.
func TestLRUBound(t *testing.T) {
	p, _ := newPool(t, 2, time.Hour)
	a := mustCall(t, p, user(0), "a")
	b := mustCall(t, p, user(1), "b")
	time.Sleep(10 * time.Millisecond)
	mustCall(t, p, user(0), "a again") // b is now the least recently used
	c := mustCall(t, p, user(2), "c")
	waitFor(t, "the LRU server to exit", func() bool { return gone(b) })
	got := pids(p)
	if len(got) != 2 || got[Of(user(0))] != a || got[Of(user(2))] != c || gone(a) {
		t.Fatalf("servers %v, want %d and %d", got, a, c)
	}

	// Both busy: user 1 is served by a one-off server.
	var releases []func()
	for _, n := range []int{0, 2} {
		rel, err := p.Hold(user(n))
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, rel)
	}
	oneOff := mustCall(t, p, user(1), "d")
	if oneOff == a || oneOff == c {
		t.Fatalf("one-off request served by pooled server %d", oneOff)
	}
	waitFor(t, "the one-off server to exit", func() bool { return gone(oneOff) })
	if got := pids(p); len(got) != 2 || got[Of(user(0))] != a || got[Of(user(2))] != c {
		t.Fatalf("after the one-off: servers %v", got)
	}
	for _, rel := range releases {
		rel()
	}
}

// A server that dies or breaks the protocol fails the requests in its
// hands with a *GoneError, is logged once, and is replaced.
func TestRetireOnFailure(t *testing.T) {
	p, w := newPool(t, 4, time.Hour)
	pid := mustCall(t, p, user(0), "a")
	errc := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := call(t, p, user(0), "sleep 60000"); errc <- err }()
	}
	waitFor(t, "requests in the server", func() bool {
		l := p.Servers()
		return len(l) == 1 && l[0].InFlight == 3
	})
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 3; i++ {
		var ge *GoneError
		if err := <-errc; !errors.As(err, &ge) || ge.Why != "exited" {
			t.Fatalf("request in the killed server: %v", err)
		}
	}
	waitFor(t, "the warning", func() bool {
		return strings.Contains(w.text(), fmt.Sprintf("test server for uid %d gid %d (pid %d) exited: signal: killed", os.Geteuid(), os.Getegid(), pid))
	})
	if again := mustCall(t, p, user(0), "b"); again == pid {
		t.Fatal("killed server reused")
	}

	// The caller's deadline: the server is killed, the request gone with
	// the deadline's cause.
	ctx, cancel := context.WithTimeoutCause(context.Background(), 100*time.Millisecond, errors.New("no reply within 100ms"))
	defer cancel()
	old := pids(p)[Of(user(0))]
	r, wp, _ := os.Pipe()
	defer r.Close()
	defer wp.Close()
	_, err := p.Call(ctx, user(0), []byte("sleep 60000"), r, nil)
	var ge *GoneError
	if !errors.As(err, &ge) || ge.Why != "no reply within 100ms" {
		t.Fatalf("deadline: %v", err)
	}
	waitFor(t, "the stuck server to die", func() bool { return gone(old) })

	for _, c := range []struct{ mode, warning string }{
		{"wrong-id", "reply for an unknown job"},
		{"big", "malformed reply (109 bytes)"},
		{"short", "malformed reply (3 bytes)"},
		{"exit", "exited: exit status 3: fake server gives up"},
	} {
		p, w := newPool(t, 4, time.Hour, fakeFlag, c.mode)
		start := time.Now()
		_, err := call(t, p, user(0), "x")
		var ge *GoneError
		if !errors.As(err, &ge) || !strings.HasPrefix(c.warning, ge.Why) || time.Since(start) > 20*time.Second {
			t.Errorf("%s: %v after %v", c.mode, err, time.Since(start))
		}
		waitFor(t, c.mode+" warning", func() bool { return strings.Contains(w.text(), c.warning) })
		if len(p.Servers()) != 0 {
			t.Errorf("%s: server kept", c.mode)
		}
	}
}

// What never reaches a server: a request beyond MaxRequest, a server
// that cannot start.
func TestCallErrors(t *testing.T) {
	p, _ := newPool(t, 4, time.Hour)
	p.MaxRequest = 10
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	if _, err := p.Call(context.Background(), user(0), make([]byte, 11), r, nil); err == nil || err.Error() != "job too large (11 bytes)" {
		t.Fatalf("large request: %v", err)
	}
	if len(p.Servers()) != 0 {
		t.Fatal("server started for a refused request")
	}
	p.Exe = "/nonexistent/server"
	_, err := p.Call(context.Background(), user(0), nil, r, nil)
	var se *StartError
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("start: %v", err)
	}
}

// A server whose pool dies (SIGTERM, as Pdeathsig sends) takes no new
// request but finishes the ones in hand when it has a Drain time.
func TestDrainOnSIGTERM(t *testing.T) {
	p, _ := newPool(t, 4, time.Hour)
	pid := mustCall(t, p, user(0), "a")
	errc := make(chan error, 1)
	start := time.Now()
	go func() { _, err := call(t, p, user(0), "sleep 500"); errc <- err }()
	waitFor(t, "the request in the server", func() bool { l := p.Servers(); return len(l) == 1 && l[0].InFlight == 1 })
	syscall.Kill(pid, syscall.SIGTERM)
	if err := <-errc; err != nil || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("request in hand at SIGTERM: %v after %v", err, time.Since(start))
	}
	waitFor(t, "the server to exit", func() bool { return gone(pid) })
}
