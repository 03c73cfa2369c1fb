package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern/pkg/auth"
	"postern/pkg/deliver"
	"postern/pkg/ipc"
	"postern/pkg/passwd"
	"postern/pkg/runas"
)

// newUser creates a real account with useradd (root only) and removes it
// when the test ends.
func newUser(t testing.TB) *account {
	t.Helper()
	name := fmt.Sprintf("pt%x", time.Now().UnixNano()&0xffffffff)
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Skipf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", "-r", name).Run() })
	old := passwd.File
	passwd.File = "/etc/passwd"
	defer func() { passwd.File = old }()
	u, err := passwd.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// onlyHelper returns the pool's single helper.
func onlyHelper(t *testing.T, p *runas.Pool) runas.Server {
	t.Helper()
	l := p.Servers()
	if len(l) != 1 {
		t.Fatalf("%d helpers, want 1", len(l))
	}
	return l[0]
}

func inFlight(p *runas.Pool) int {
	n := 0
	for _, h := range p.Servers() {
		n += h.InFlight
	}
	return n
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestHelperConcurrentRealUsers sends 100 concurrent deliveries for two
// real users through their helpers and checks every file.
func TestHelperConcurrentRealUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates two users with useradd and delivers as them through helpers")
	}
	users := []*account{newUser(t), newUser(t)}
	e := newEnv(t, "home_mailbox = Maildir/\n")
	passwd.File = "/etc/passwd"
	e.srv.mode = modeServer
	id, off := e.queueFile(t, sample...)

	const n = 100
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(u *account) {
			defer wg.Done()
			if st := e.srv.handle(makeRequest(id, off, u.Name+"@example.org", "")); st.Code != "2.0.0" {
				errs <- st.Code + " " + st.Text
			}
		}(users[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// One helper per user, running as that user, holding no file (no queue
	// file in particular): only its socket, pipes and the runtime's own
	// (epoll, cgroup CPU limits).
	all := e.srv.pool.Servers()
	helpers := len(all)
	for _, h := range all {
		ident, pid := h.Identity, h.PID
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for _, want := range []string{
			fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", ident.UID, ident.UID, ident.UID, ident.UID),
			fmt.Sprintf("\nGid:\t%d\t%d\t%d\t%d\n", ident.GID, ident.GID, ident.GID, ident.GID),
		} {
			if !strings.Contains(string(status), want) {
				t.Errorf("helper %d for %v: no %q in status\n%s", pid, ident, want, status)
			}
		}
		if !regexp.MustCompile(`\nGroups:\s*\n`).Match(status) {
			t.Errorf("helper %d for %v has supplementary groups:\n%s", pid, ident, status)
		}
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if strings.HasPrefix(target, "/") && target != "/dev/null" && !strings.HasPrefix(target, "/sys/fs/cgroup/") {
				t.Errorf("helper %d for %v holds fd %s -> %s", pid, ident, fd.Name(), target)
			}
		}
	}
	if helpers != 2 {
		t.Errorf("%d helpers, want 2", helpers)
	}

	for _, u := range users {
		dir := filepath.Join(u.Home, "Maildir", "new")
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) != n/2 {
			t.Fatalf("%s: %d files (%v), want %d", dir, len(ents), err, n/2)
		}
		for _, ent := range ents {
			fi, err := os.Stat(filepath.Join(dir, ent.Name()))
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != u.UID || int(st.Gid) != u.GID || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: uid %d gid %d mode %v, want %d %d 0600", ent.Name(), st.Uid, st.Gid, fi.Mode(), u.UID, u.GID)
			}
		}
	}

	// At the limit, the least recently used idle helper makes room; when
	// every helper is busy, a one-off helper does the job.
	e.srv.pool.Close()
	e.srv.pool = newHelperPool(e.srv.exe, e.srv.pool.Warn)
	t.Cleanup(e.srv.pool.Close)
	e.srv.pool.Max = 1
	for _, u := range []*account{users[1], users[0]} {
		if st := e.srv.handle(makeRequest(id, off, u.Name+"@example.org", "")); st.Code != "2.0.0" {
			t.Fatalf("pool of one: %v", st)
		}
	}
	h := onlyHelper(t, e.srv.pool)
	if h.UID != users[0].UID {
		t.Fatalf("helper for uid %d, want %d", h.UID, users[0].UID)
	}
	release, err := e.srv.pool.Hold(&auth.User{UID: h.UID, GID: h.GID})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.srv.handle(makeRequest(id, off, users[1].Name+"@example.org", "")); st.Code != "2.0.0" {
		t.Fatalf("pool full: %v", st)
	}
	if onlyHelper(t, e.srv.pool).PID != h.PID {
		t.Fatal("busy helper evicted")
	}
	release()
	if ents, _ := os.ReadDir(filepath.Join(users[1].Home, "Maildir", "new")); len(ents) != n/2+2 {
		t.Fatalf("%d files after the fallback delivery", len(ents))
	}
}

// TestHelperKilled kills the helper while deliveries wait for the mailbox
// lock: those are deferred, later ones succeed with a new helper.
func TestHelperKilled(t *testing.T) {
	e := newEnv(t, "")
	e.srv.mode = modeServer
	id, off := e.queueFile(t, sample...)
	if st := e.srv.handle(makeRequest(id, off, "alice@example.org", "")); st.Code != "2.0.0" {
		t.Fatalf("first delivery: %v", st)
	}

	// Hold the mailbox's dot lock, so that deliveries wait in the helper.
	lock := filepath.Join(e.spool, "alice.lock")
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const n = 8
	codes := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() { codes <- e.srv.handle(makeRequest(id, off, "alice@example.org", "")).Code }()
	}
	h := onlyHelper(t, e.srv.pool)
	waitFor(t, "deliveries in the helper", func() bool { return inFlight(e.srv.pool) == n })
	old := h.PID
	syscall.Kill(old, syscall.SIGKILL)
	for i := 0; i < n; i++ {
		if c := <-codes; c != "4.3.0" {
			t.Errorf("delivery in the killed helper: %s", c)
		}
	}
	os.Remove(lock)

	for i := 0; i < 3; i++ {
		if st := e.srv.handle(makeRequest(id, off, "alice@example.org", "")); st.Code != "2.0.0" {
			t.Fatalf("after the kill: %v", st)
		}
	}
	if pid := onlyHelper(t, e.srv.pool).PID; pid == old {
		t.Fatal("same helper")
	}
	got, _ := os.ReadFile(filepath.Join(e.spool, "alice"))
	if c := strings.Count(string(got), "\nSubject: hi\n"); c != 4 {
		t.Fatalf("%d messages in the mailbox, want 4", c)
	}
	log := e.logText()
	if strings.Count(log, "status=deferred (delivery as user alice failed)") != n ||
		!strings.Contains(log, fmt.Sprintf("(pid %d) exited: signal: killed", old)) {
		t.Fatalf("log:\n%s", log)
	}
}

// TestHelperIdleExit: an idle helper is closed and exits (by itself, at
// end of file on its socket: pkg/runas's TestIdleExit checks its status),
// and the next job starts a new one.
func TestHelperIdleExit(t *testing.T) {
	e := newEnv(t, "home_mailbox = Maildir/\n")
	e.srv.mode = modeServer
	e.srv.pool.Idle = 300 * time.Millisecond
	id, off := e.queueFile(t, sample...)
	if st := e.srv.handle(makeRequest(id, off, "alice@example.org", "")); st.Code != "2.0.0" {
		t.Fatal(st)
	}
	h := onlyHelper(t, e.srv.pool)
	waitFor(t, "the idle helper to exit", func() bool { return syscall.Kill(h.PID, 0) == syscall.ESRCH })
	if left := len(e.srv.pool.Servers()); left != 0 {
		t.Fatalf("%d helpers left", left)
	}
	if st := e.srv.handle(makeRequest(id, off, "alice@example.org", "")); st.Code != "2.0.0" {
		t.Fatal(st)
	}
	if onlyHelper(t, e.srv.pool).PID == h.PID {
		t.Fatal("old helper reused")
	}
}

// fakeHelperFlag runs a misbehaving helper (TestMain).

const idLen = 8 // the job id in front of each packet (pkg/runas)
const fakeHelperFlag = "-fake-helper"

func fakeHelper(mode string) int {
	f := os.NewFile(3, "sock")
	c, err := net.FileConn(f)
	if err != nil {
		return 1
	}
	uc := c.(*net.UnixConn)
	buf, oob := make([]byte, idLen+maxJob+1), make([]byte, 64)
	n, oobn, _, _, err := uc.ReadMsgUnix(buf, oob)
	runas.CloseFDs(runas.ReceivedFDs(oob[:oobn]))
	if err != nil || n < idLen {
		return 1
	}
	id := binary.BigEndian.Uint64(buf)
	ok := ipc.Encode(ipc.Attrs{{Name: "dsn", Value: "2.0.0"}, {Name: "reason", Value: "fake"}})
	switch mode {
	case "wrong-id":
		uc.Write(append(binary.BigEndian.AppendUint64(nil, id+1), ok...))
	case "big":
		uc.Write(append(binary.BigEndian.AppendUint64(nil, id), make([]byte, maxReply+100)...))
	case "garbage":
		uc.Write(append(binary.BigEndian.AppendUint64(nil, id), "dsn=2.0.0\nno end"...))
	case "exit":
		return 3
	case "size":
		uc.Write(append(binary.BigEndian.AppendUint64(nil, id), ipc.Encode(ipc.Attrs{{Name: "dsn", Value: "2.0.0"},
			{Name: "reason", Value: strconv.Itoa(n - idLen)}})...))
	}
	// Stay until local closes the socket (or a minute has passed: local
	// must not wait for this helper's answer).
	uc.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		if n, _, _, _, err := uc.ReadMsgUnix(buf, nil); err != nil || n == 0 {
			return 0
		}
	}
}

// TestHelperMisbehaves: a helper that lies about job ids, sends too much or
// dies fails its job with 4.3.0 and is replaced.
func TestHelperMisbehaves(t *testing.T) {
	e := newEnv(t, "")
	e.srv.mode = modeServer
	id, off := e.queueFile(t, sample...)
	for _, c := range []struct{ mode, warning string }{
		{"wrong-id", "reply for an unknown job"},
		{"big", "malformed reply"},
		{"garbage", "reply without a valid status for alice"},
		{"exit", "exited: exit status 3"},
	} {
		e.srv.pool.Args = []string{fakeHelperFlag, c.mode}
		start := time.Now()
		st := e.srv.handle(makeRequest(id, off, "alice@example.org", ""))
		if st.Code != "4.3.0" || st.Text != "delivery as user alice failed" || time.Since(start) > 20*time.Second {
			t.Errorf("%s: %v after %v", c.mode, st, time.Since(start))
		}
		waitFor(t, c.mode+" warning", func() bool { return strings.Contains(e.logText(), c.warning) })
		// A helper that answered validly but wrongly stays; the others go.
		if c.mode != "garbage" {
			if n := len(e.srv.pool.Servers()); n != 0 {
				t.Errorf("%s: helper kept", c.mode)
			}
		}
		e.srv.pool.Close()
		e.srv.pool = newHelperPool(e.srv.exe, e.srv.pool.Warn)
	}
	if st := e.srv.handle(makeRequest(id, off, "alice@example.org", "")); st.Code != "2.0.0" {
		t.Fatal(st)
	}
	e.srv.pool.Close()
}

// TestHelperJobTooLarge: a job beyond maxJob is refused before any process.
func TestHelperJobTooLarge(t *testing.T) {
	e := newEnv(t, "")
	e.srv.mode = modeServer
	id, off := e.queueFile(t, sample...)
	qf, err := (&deliver.Request{QueueName: "active", QueueID: id}).Open(e.srv.queue)
	if err != nil {
		t.Fatal(err)
	}
	defer qf.Close()
	j := &job{Kind: kindMbox, User: "alice", Path: filepath.Join(e.spool, "alice"), Offset: off, ChownTo: -1,
		Prepend: []string{strings.Repeat("X", maxJob)}}
	r := e.srv.run(j, qf, os.Getuid(), os.Getgid())
	if r.Code != "4.3.0" || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "too large") {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(j.Path); err == nil {
		t.Fatal("mailbox written")
	}
}

// TestJobSizeBound: the largest job a request can make fits a packet.
// Every value is at its bound and made of bytes JSON escapes the most.
func TestJobSizeBound(t *testing.T) {
	e := newEnv(t, "recipient_delimiter = +\ndefault_privs = nobody\nexport_environment = TZ LANG\n")
	e.srv.mode = modeServer
	e.srv.cfg.mailboxCommand = "/usr/bin/procmail -a \"$EXTENSION\""
	e.srv.pool.Args = []string{fakeHelperFlag, "size"}
	id, off := e.queueFile(t, sample...)
	junk := func(n int) string { return strings.Repeat("\xff<", n/2) }
	domain := "@" + junk(200)
	req := makeRequest(id, off, "alice+"+junk(maxAddress-len("alice+")-len(domain))+domain, junk(maxAddress))
	for i := range req {
		switch req[i].Name {
		case "sender":
			req[i].Value = junk(maxAddress)
		case "client_name", "client_address", "client_helo", "client_protocol":
			req[i].Value = junk(3 * maxEnvValue)
		}
	}
	req = append(req, ipc.Attr{Name: "sasl_method", Value: junk(3 * maxEnvValue)},
		ipc.Attr{Name: "sasl_username", Value: junk(3 * maxEnvValue)}, ipc.Attr{Name: "sasl_sender", Value: junk(3 * maxEnvValue)})
	st := e.srv.handle(req)
	n, err := strconv.Atoi(st.Text)
	if st.Code != "2.0.0" || err != nil {
		t.Fatalf("%v", st)
	}
	t.Logf("largest job: %d bytes of %d", n, maxJob)
	if n > maxJob*3/4 {
		t.Fatalf("largest job %d bytes: too close to maxJob %d", n, maxJob)
	}
}

// fakeLocalFlag runs a stand-in local (TestMain) that hands one mbox job
// to a helper, prints the helper's pid once the job is in its hands, and
// waits to be killed.
const fakeLocalFlag = "-fake-local"

func fakeLocal(queueFile, offset, mbox string) int {
	qf, err := os.Open(queueFile)
	if err != nil {
		return 1
	}
	off, _ := strconv.ParseInt(offset, 10, 64)
	j := &job{Kind: kindMbox, User: "alice", Path: mbox, Sender: "sender@example.org", Offset: off,
		DotLock: true, Fcntl: true, LockAttempts: 30, LockDelay: 100 * time.Millisecond, StaleLock: time.Hour, ChownTo: -1}
	blob, _ := json.Marshal(j)
	p := newHelperPool("/proc/self/exe", func(string, ...any) {})
	go p.Call(context.Background(), &auth.User{UID: os.Geteuid(), GID: os.Getegid()}, blob, qf, nil)
	for {
		if l := p.Servers(); len(l) == 1 && l[0].InFlight == 1 {
			fmt.Println(l[0].PID)
			select {}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHelperOutlivesLocal kills local (SIGKILL) while its helper waits
// for a mailbox lock: the helper takes no new job but finishes the one in
// hand, whole, and then exits.
func TestHelperOutlivesLocal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: watches the (non-dumpable) helper's descriptors")
	}
	e := newEnv(t, "")
	id, off := e.queueFile(t, sample...)
	mbox := filepath.Join(e.spool, "alice")
	lock := mbox + ".lock"
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", fakeLocalFlag, e.q.Path("active", id), strconv.FormatInt(off, 10), mbox)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Fscan(out, &pid); err != nil {
		cmd.Process.Kill()
		t.Fatalf("fake local: %v", err)
	}
	// Kill local once the helper holds the job's queue file (a helper
	// killed before it has read its job loses nothing).
	qpath := e.q.Path("active", id)
	waitFor(t, "the helper to take the job", func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); target == qpath {
				return true
			}
		}
		return false
	})
	cmd.Process.Kill()
	cmd.Wait()
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("helper %d gone with local: %v", pid, err)
	}
	os.Remove(lock)
	waitFor(t, "the helper to exit", func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH })
	got, _ := os.ReadFile(mbox)
	if c := strings.Count(string(got), "\nSubject: hi\nFrom: x@example.org\n\n>From me\n>From you\nbody\n\n"); c != 1 {
		t.Fatalf("%d whole messages in %q", c, got)
	}
	if _, err := os.Stat(lock); err == nil {
		t.Fatal("dot lock left behind")
	}
}
