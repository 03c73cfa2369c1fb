package testenv

import (
	"bytes"
	"fmt"
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
)

// Options adjust the instance Start boots.
type Options struct {
	MainCF   string // extra main.cf lines
	MasterCF string // extra master.cf lines
	// MyHostname overrides postern.test.
	MyHostname string
	// StartTimeout bounds the wait for the 220 banner (default 20s).
	StartTimeout time.Duration
}

// Env is one running instance.
type Env struct {
	Dir       string // temporary root
	ConfigDir string
	QueueDir  string
	DataDir   string
	MailDir   string // mail_spool_directory
	LogFile   string // maillog_file
	BinDir    string
	SMTPAddr  string // 127.0.0.1:PORT
	Layout    *Layout

	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan struct{}
}

// MasterPID is the PID of the running master.
func (e *Env) MasterPID() int { return e.cmd.Process.Pid }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TempRoot makes a short temporary directory (unix socket paths must stay
// under 108 bytes) that mail_owner and test users can traverse, removed at
// the end of the test.
func TempRoot(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Start builds the programs, writes a configuration, runs master in the
// foreground and waits until the SMTP service answers 220. Everything is
// stopped when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	bin := Build(t)
	if err := EnsureSystemAccounts(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	l := &Layout{
		Dir:        TempRoot(t, "pt-"),
		BinDir:     bin,
		MyHostname: opts.MyHostname,
		SMTPAddr:   addr,
		MainCF:     opts.MainCF,
		MasterCF:   opts.MasterCF,
	}
	if err := l.Write(); err != nil {
		t.Fatalf("testenv: write config: %v", err)
	}
	e := &Env{
		Dir: l.Dir, ConfigDir: l.ConfigDir(), QueueDir: l.QueueDir(), DataDir: l.DataDir(),
		MailDir: l.MailDir(), LogFile: l.LogFile(), BinDir: bin, SMTPAddr: addr, Layout: l,
		out: &lockedBuffer{}, exited: make(chan struct{}),
	}
	e.cmd = exec.Command(filepath.Join(bin, "master"), "-d", "-c", e.ConfigDir)
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("testenv: start master: %v", err)
	}
	go func() { e.cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() { e.stop(t) })

	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	if err := e.waitBanner(timeout); err != nil {
		t.Fatalf("testenv: %v\nmaster output:\n%s\nmaillog:\n%s", err, e.out.String(), e.Log())
	}
	return e
}

// waitBanner dials the SMTP service until it answers 220; it gives up at
// once if master exits.
func (e *Env) waitBanner(timeout time.Duration) error {
	return waitBanner(e.SMTPAddr, timeout, func() error {
		select {
		case <-e.exited:
			return fmt.Errorf("master exited: %v", e.cmd.ProcessState)
		default:
			return nil
		}
	})
}

// MasterOutput is what master and its children wrote to standard output
// and standard error.
func (e *Env) MasterOutput() string { return e.out.String() }

// stop sends SIGTERM to master, waits, kills the process group and checks
// that no process of this instance is left.
func (e *Env) stop(t testing.TB) {
	pid := e.cmd.Process.Pid
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		t.Errorf("testenv: master did not exit within 10s of SIGTERM")
	}
	syscall.Kill(-pid, syscall.SIGKILL)
	<-e.exited
	var left []string
	deadline := time.Now().Add(3 * time.Second)
	for {
		left = left[:0]
		for _, p := range procsMentioning(e.Dir) {
			left = append(left, fmt.Sprintf("%d %s", p.pid, p.cmdline))
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 {
		for _, p := range procsMentioning(e.Dir) {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		t.Errorf("testenv: processes left after master stopped:\n%s", strings.Join(left, "\n"))
	}
	if t.Failed() {
		t.Logf("master output:\n%s", e.out.String())
		t.Logf("maillog:\n%s", e.Log())
	}
}

type proc struct {
	pid, ppid int
	cmdline   string
	exe       string
}

// procs reads every process from /proc.
func procs() []proc {
	ents, _ := os.ReadDir("/proc")
	var out []proc
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		p := proc{pid: pid, cmdline: strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")}
		p.exe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// The command name may hold spaces and parentheses: fields follow the last ')'.
			s := string(st)
			if i := strings.LastIndexByte(s, ')'); i >= 0 {
				f := strings.Fields(s[i+1:])
				if len(f) > 1 {
					p.ppid, _ = strconv.Atoi(f[1])
				}
			}
		}
		out = append(out, p)
	}
	return out
}

func procsMentioning(s string) []proc {
	self := os.Getpid()
	var out []proc
	for _, p := range procs() {
		if p.pid != self && p.cmdline != "" && strings.Contains(p.cmdline, s) {
			out = append(out, p)
		}
	}
	return out
}

// PIDsOf returns the PIDs of master's children running program.
func (e *Env) PIDsOf(t testing.TB, program string) []int {
	master := e.cmd.Process.Pid
	var out []int
	for _, p := range procs() {
		if p.ppid != master {
			continue
		}
		name := filepath.Base(strings.TrimSuffix(p.exe, " (deleted)"))
		first, _, _ := strings.Cut(p.cmdline, " ")
		if name == program || filepath.Base(first) == program {
			out = append(out, p.pid)
		}
	}
	return out
}

// RSS sums VmRSS (KiB) of master and every process below it.
func RSS(masterPID int) (kib int64, n int) {
	all := procs()
	in := map[int]bool{masterPID: true}
	for changed := true; changed; {
		changed = false
		for _, p := range all {
			if !in[p.pid] && in[p.ppid] {
				in[p.pid] = true
				changed = true
			}
		}
	}
	for pid := range in {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				f := strings.Fields(v)
				if len(f) > 0 {
					k, _ := strconv.ParseInt(f[0], 10, 64)
					kib += k
					n++
				}
			}
		}
	}
	return kib, n
}

// Log returns the maillog's contents.
func (e *Env) Log() string {
	b, _ := os.ReadFile(e.LogFile)
	return string(b)
}

// WaitFor polls cond until it holds or the timeout passes (then the test
// fails).
func (e *Env) WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: condition not met within %v\nmaillog:\n%s", timeout, tail(e.Log(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitLog waits until the maillog matches re and returns the first match
// with its submatches.
func (e *Env) WaitLog(t testing.TB, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m = re.FindStringSubmatch(e.Log()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: maillog never matched %s\nmaillog:\n%s", re, tail(e.Log(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Run runs BinDir/program with args and returns its combined output and
// exit error.
func (e *Env) Run(program string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(e.BinDir, program), args...)
	cmd.Env = append(os.Environ(), "MAIL_CONFIG="+e.ConfigDir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Postconf runs postconf -c ConfigDir args... and fails the test on error.
func (e *Env) Postconf(t testing.TB, args ...string) string {
	t.Helper()
	out, err := e.Run("postconf", append([]string{"-c", e.ConfigDir}, args...)...)
	if err != nil {
		t.Fatalf("postconf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Postfix runs postfix -c ConfigDir args... and fails the test on error.
func (e *Env) Postfix(t testing.TB, args ...string) string {
	t.Helper()
	out, err := e.Run("postfix", append([]string{"-c", e.ConfigDir}, args...)...)
	if err != nil {
		t.Fatalf("postfix %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Reload runs postfix reload and waits until master has logged the reload
// and the SMTP service answers again.
func (e *Env) Reload(t testing.TB) {
	t.Helper()
	n := strings.Count(e.Log(), ": reload -- ")
	e.Postfix(t, "reload")
	e.WaitFor(t, 10*time.Second, func() bool { return strings.Count(e.Log(), ": reload -- ") > n })
	if err := e.waitBanner(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// Mbox returns the contents of mail_spool_directory/user ("" when absent).
func (e *Env) Mbox(user string) string {
	b, _ := os.ReadFile(filepath.Join(e.MailDir, user))
	return string(b)
}

// MaildirNew lists the files in home/Maildir/new.
func (e *Env) MaildirNew(home string) []string {
	ents, _ := os.ReadDir(filepath.Join(home, "Maildir", "new"))
	var out []string
	for _, ent := range ents {
		out = append(out, filepath.Join(home, "Maildir", "new", ent.Name()))
	}
	return out
}

// QueueListing lists the files under the queue directories that hold
// messages, for failure reports.
func (e *Env) QueueListing() string {
	var b strings.Builder
	for _, d := range []string{"maildrop", "incoming", "active", "deferred", "hold", "corrupt", "defer"} {
		filepath.WalkDir(filepath.Join(e.QueueDir, d), func(path string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
				info, _ := de.Info()
				if info != nil {
					fmt.Fprintf(&b, "%s %v %d\n", strings.TrimPrefix(path, e.QueueDir+"/"), info.Mode(), info.Size())
				}
			}
			return nil
		})
	}
	return b.String()
}

// QueueEmpty reports whether incoming, active, deferred, hold and
// maildrop hold no message. A file in incoming/ that cleanup never marked
// ready (mode & 0700 != 0700, left by a killed cleanup before it answered)
// is no message and does not count; see QueueIncomplete.
func (e *Env) QueueEmpty() bool {
	for _, d := range []string{"maildrop", "incoming", "active", "deferred", "hold"} {
		n := 0
		filepath.WalkDir(filepath.Join(e.QueueDir, d), func(path string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
				if info, err := de.Info(); err == nil && d == "incoming" && info.Mode().Perm()&0700 != 0700 {
					return nil
				}
				n++
			}
			return nil
		})
		if n > 0 {
			return false
		}
	}
	return true
}

// QueueIncomplete counts the files in incoming/ not marked ready.
func (e *Env) QueueIncomplete() int {
	n := 0
	filepath.WalkDir(filepath.Join(e.QueueDir, "incoming"), func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			if info, err := de.Info(); err == nil && info.Mode().Perm()&0700 != 0700 {
				n++
			}
		}
		return nil
	})
	return n
}
