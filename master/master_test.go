package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binDir holds master, postfix and the echod test daemon, built once.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "postern-master-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Chmod(dir, 0755) // unprivileged children must reach their program
	binDir = dir
	args := []string{"build", "-o", dir + "/"}
	if os.Getenv("POSTERN_TEST_RACE") != "" {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".", "../postfix", "../postlogd", "./testdata/echod")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// instance is one configuration directory with its queue and logs.
type instance struct {
	t       *testing.T
	dir     string // config, queue, data, maillog all under here
	port    int
	maillog string
	master  *exec.Cmd
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newInstance(t *testing.T, mastercf string) *instance {
	dir, err := os.MkdirTemp("", "postern-master-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	in := &instance{t: t, dir: dir, port: freePort(t), maillog: filepath.Join(dir, "maillog")}
	// Pre-create the log so that children running as mail_owner can append.
	os.WriteFile(in.maillog, nil, 0666)
	os.Chmod(in.maillog, 0666)
	maincf := fmt.Sprintf(`queue_directory = %s/queue
data_directory = %s/data
daemon_directory = %s
maillog_file = %s
maillog_file_prefixes = %s
mail_owner = nobody
setgid_group = nogroup
inet_interfaces = 127.0.0.1
max_idle = 30s
`, dir, dir, binDir, in.maillog, dir)
	in.write("main.cf", maincf)
	in.write("master.cf", in.expand(mastercf))
	return in
}

func (in *instance) expand(s string) string {
	return strings.ReplaceAll(s, "PORT", strconv.Itoa(in.port))
}

func (in *instance) write(name, text string) {
	if err := os.WriteFile(filepath.Join(in.dir, name), []byte(text), 0644); err != nil {
		in.t.Fatal(err)
	}
}

// startMaster runs master -d in its own process group; the group is
// killed when the test ends, whatever happened.
func (in *instance) startMaster() {
	t := in.t
	cmd := exec.Command(filepath.Join(binDir, "master"), "-c", in.dir, "-d")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	in.master = cmd
	pgid := cmd.Process.Pid
	t.Cleanup(func() {
		syscall.Kill(-pgid, syscall.SIGKILL)
		cmd.Wait()
	})
	in.waitLog("daemon started -- version 3.7.11, configuration "+in.dir, 10*time.Second)
}

func (in *instance) log() string {
	b, _ := os.ReadFile(in.maillog)
	return string(b)
}

func (in *instance) waitLog(text string, d time.Duration) {
	in.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(in.log(), text) {
		if time.Now().After(deadline) {
			in.t.Fatalf("log has no %q; log:\n%s", text, in.log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// greet connects and returns the greeting fields: service pid uid greeting.
func (in *instance) greet(network, addr string) []string {
	in.t.Helper()
	// master logs "reload --" before it opens the new sockets, as Postfix's does: a socket
	// may appear a moment after the line.
	var c net.Conn
	var err error
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c, err = net.DialTimeout(network, addr, 5*time.Second)
		if err == nil || !errors.Is(err, syscall.ENOENT) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		in.t.Fatalf("dial %s: %v\nlog:\n%s", addr, err, in.log())
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		in.t.Fatalf("%s: read greeting: %v\nlog:\n%s", addr, err, in.log())
	}
	fmt.Fprintf(c, "ping\n")
	if echo, err := r.ReadString('\n'); err != nil || echo != "ping\n" {
		in.t.Fatalf("%s: echo %q %v", addr, echo, err)
	}
	f := strings.Fields(line)
	if len(f) < 4 || f[0] != "hello" {
		in.t.Fatalf("%s: bad greeting %q", addr, line)
	}
	return f[1:]
}

func (in *instance) inet() string { return fmt.Sprintf("127.0.0.1:%d", in.port) }

func (in *instance) unix(dir, name string) string {
	return filepath.Join(in.dir, "queue", dir, name)
}

func (in *instance) postfix(args ...string) (string, int) {
	cmd := exec.Command(filepath.Join(binDir, "postfix"), append([]string{"-c", in.dir}, args...)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		in.t.Fatalf("postfix %v: %v", args, err)
	}
	return string(out), code
}

// leftovers lists live processes running one of our binaries.
func leftovers() []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, binDir+"/") {
			stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
				continue // a zombie of a killed test master
			}
			out = append(out, e.Name()+" "+exe)
		}
	}
	return out
}

const baseMasterCf = `# test services
127.0.0.1:PORT inet n n n - - echod
echo      unix  n - - - 0 echod -o echod_greeting=hi
bad       unix  n - n - - echod fail
verify    unix  - - y - 1 verify
postlog   unix-dgram n - n - 1 postlogd
`

func TestMasterLifecycle(t *testing.T) {
	in := newInstance(t, baseMasterCf)
	in.startMaster()
	mpid := in.master.Process.Pid

	// A master.cf line naming a missing program is skipped, not fatal.
	in.waitLog(fmt.Sprintf("warning: %s/master.cf line 5: service verify: program %s/verify not found -- skipped", in.dir, binDir), time.Second)

	// Spawned on demand; served.
	g := in.greet("tcp", in.inet())
	if g[0] != "127.0.0.1:"+strconv.Itoa(in.port) {
		t.Errorf("service name %q", g[0])
	}
	first, _ := strconv.Atoi(g[1])
	if g2 := in.greet("tcp", in.inet()); g2[1] != g[1] {
		t.Errorf("second connection served by pid %s, want the same child %s", g2[1], g[1])
	}
	u := in.greet("unix", in.unix("public", "echo"))
	if u[0] != "echo" || u[3] != "hi" {
		t.Errorf("unix service greeting %v", u)
	}
	if os.Geteuid() == 0 && u[2] != "65534" {
		t.Errorf("unpriv child runs as uid %s, want nobody", u[2])
	}
	if os.Geteuid() == 0 && g[2] != "0" {
		t.Errorf("privileged child runs as uid %s", g[2])
	}

	// kill -9: served again at once by a new child.
	syscall.Kill(first, syscall.SIGKILL)
	start := time.Now()
	g = in.greet("tcp", in.inet())
	if g[1] == strconv.Itoa(first) {
		t.Fatalf("still served by the killed child %d", first)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("restart took %v", d)
	}
	in.waitLog(fmt.Sprintf("warning: process %s/echod pid %d killed by signal 9", binDir, first), 2*time.Second)

	// A program failing at startup is throttled.
	if c, err := net.Dial("unix", in.unix("public", "bad")); err == nil {
		c.Close()
	}
	in.waitLog(fmt.Sprintf("%s/echod: bad command startup -- throttling", binDir), 3*time.Second)
	in.waitLog("exit status 1", time.Second)

	// A second master is refused; master -t and postfix status see it.
	out, err := exec.Command(filepath.Join(binDir, "master"), "-c", in.dir, "-d").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("second master: %v %s", err, out)
	}
	in.waitLog("fatal: the Postfix mail system is already running", time.Second)
	if err := exec.Command(filepath.Join(binDir, "master"), "-c", in.dir, "-t").Run(); err == nil {
		t.Errorf("master -t says not running")
	}
	pidText, _ := os.ReadFile(filepath.Join(in.dir, "queue/pid/master.pid"))
	if want := fmt.Sprintf("%32d\n", mpid); string(pidText) != want {
		t.Errorf("master.pid = %q, want %q", pidText, want)
	}
	if out, code := in.postfix("status"); code != 0 || !strings.Contains(out, fmt.Sprintf("the Postfix mail system is running: PID: %d", mpid)) {
		t.Errorf("postfix status: %d %q", code, out)
	}

	// Reload: a new service appears, a changed one gets new children, the
	// inet socket stays.
	cfg := strings.Replace(in.expand(baseMasterCf), "echod_greeting=hi", "echod_greeting=hi2", 1)
	cfg = strings.Replace(cfg, "bad       unix  n - n - - echod fail\n", "", 1) // removed
	in.write("master.cf", cfg+"echo2 unix n - n - - echod -o echod_greeting=second\n"+
		"echo3 unix - n n - - echod -o { echod_greeting = with spaces }\n")
	syscall.Kill(mpid, syscall.SIGHUP)
	in.waitLog("reload -- version 3.7.11, configuration "+in.dir, 5*time.Second)
	if g := in.greet("unix", in.unix("public", "echo2")); g[3] != "second" {
		t.Errorf("new service greeting %v", g)
	}
	if g := in.greet("unix", in.unix("public", "echo")); g[3] != "hi2" {
		t.Errorf("changed service greeting %v, want hi2", g)
	}
	if g := in.greet("unix", in.unix("private", "echo3")); strings.Join(g[3:], " ") != "with spaces" {
		t.Errorf("braced -o greeting %v", g)
	}
	in.greet("tcp", in.inet())
	if _, err := os.Stat(in.unix("public", "bad")); err == nil {
		t.Errorf("socket of a removed service left behind")
	}

	// SIGTERM: everything stops, nothing is left.
	syscall.Kill(mpid, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- in.master.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("master exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("master did not stop")
	}
	in.waitLog("terminating on signal 15", time.Second)
	if os.Getenv("SHOWLOG") != "" {
		t.Log(in.log())
	}
	time.Sleep(100 * time.Millisecond)
	if l := leftovers(); len(l) > 0 {
		t.Errorf("processes left: %v", l)
	}
	if _, err := os.Stat(filepath.Join(in.dir, "queue/pid/master.pid")); err == nil {
		t.Errorf("pid file left")
	}
	if out, code := in.postfix("status"); code != 1 || !strings.Contains(out, "the Postfix mail system is not running") {
		t.Errorf("postfix status after stop: %d %q", code, out)
	}
}

func TestPostfixStartStop(t *testing.T) {
	in := newInstance(t, baseMasterCf)
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(in.dir, "queue/pid/master.pid")); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 1 {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	if out, code := in.postfix("status"); code != 1 || !strings.Contains(out, "the Postfix mail system is not running") {
		t.Errorf("status before start: %d %q", code, out)
	}
	out, code := in.postfix("start")
	if code != 0 || !strings.Contains(out, "postfix/postfix-script: starting the Postfix mail system") {
		t.Fatalf("start: %d %q\nlog:\n%s", code, out, in.log())
	}
	// Up already when start returned.
	in.greet("tcp", in.inet())
	if out, code := in.postfix("start"); code != 1 || !strings.Contains(out, "fatal: the Postfix mail system is already running") {
		t.Errorf("second start: %d %q", code, out)
	}
	out, code = in.postfix("status")
	if code != 0 || !strings.Contains(out, "the Postfix mail system is running: PID: ") {
		t.Errorf("status: %d %q", code, out)
	}
	if out, code := in.postfix("reload"); code != 0 || !strings.Contains(out, "refreshing the Postfix mail system") {
		t.Errorf("reload: %d %q", code, out)
	}
	in.waitLog("reload -- version", 5*time.Second)
	if out, code := in.postfix("stop"); code != 0 || !strings.Contains(out, "stopping the Postfix mail system") {
		t.Errorf("stop: %d %q", code, out)
	}
	if out, code := in.postfix("status"); code != 1 {
		t.Errorf("status after stop: %d %q", code, out)
	}
	if out, code := in.postfix("stop"); code != 1 || !strings.Contains(out, "the Postfix mail system is not running") {
		t.Errorf("stop when stopped: %d %q", code, out)
	}
	out, code = in.postfix("frobnicate")
	if code != 1 || !strings.Contains(out, "fatal: unknown command: 'frobnicate'. Usage: postfix start (or stop, reload, abort, flush, check, status, set-permissions, upgrade-configuration, logrotate)") {
		t.Errorf("unknown command: %d %q", code, out)
	}
	if out, code := in.postfix("check"); code != 0 {
		t.Errorf("check: %d %q", code, out)
	}
	time.Sleep(100 * time.Millisecond)
	if l := leftovers(); len(l) > 0 {
		t.Errorf("processes left: %v", l)
	}
}

func TestIdleExitAndResident(t *testing.T) {
	in := newInstance(t, `echo unix n n n - - echod -o max_idle=1s
qmgr unix n n n 1 1 echod
`)
	// echod doubles as a resident "qmgr" (by wakeup), woken every second.
	in.startMaster()
	g := in.greet("unix", in.unix("public", "echo"))
	pid, _ := strconv.Atoi(g[1])
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("child %d did not exit after max_idle", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if g2 := in.greet("unix", in.unix("public", "echo")); g2[1] == g[1] {
		t.Errorf("not respawned")
	}
	// The resident service runs without any client.
	found := false
	for i := 0; i < 100 && !found; i++ {
		for _, p := range leftovers() {
			cmdline, _ := os.ReadFile("/proc/" + strings.Fields(p)[0] + "/cmdline")
			if strings.Contains(string(cmdline), "qmgr") {
				found = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !found {
		t.Errorf("resident service not started")
	}
	// A resident child killed with -9 is back within a second.
	var qpid int
	for _, p := range leftovers() {
		cmdline, _ := os.ReadFile("/proc/" + strings.Fields(p)[0] + "/cmdline")
		if strings.Contains(string(cmdline), "qmgr") {
			qpid, _ = strconv.Atoi(strings.Fields(p)[0])
		}
	}
	syscall.Kill(qpid, syscall.SIGKILL)
	in.waitLog(fmt.Sprintf("pid %d killed by signal 9", qpid), 2*time.Second)
	back := false
	for deadline := time.Now().Add(time.Second); !back && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, p := range leftovers() {
			cmdline, _ := os.ReadFile("/proc/" + strings.Fields(p)[0] + "/cmdline")
			if strings.Contains(string(cmdline), "qmgr") && !strings.HasPrefix(p, strconv.Itoa(qpid)+" ") {
				back = true
			}
		}
	}
	if !back {
		t.Errorf("resident child not restarted within 1s")
	}
	if strings.Count(in.log(), "warning") != 1 {
		t.Errorf("unexpected warnings:\n%s", in.log())
	}
}

// TestMasterUnixDgram: a unix-dgram service (Debian's postlog line) gets a datagram socket in
// public/, mode 0666; its program starts when a datagram waits and postlogd appends each one
// to maillog_file as one line, cut to 4096 bytes; the socket survives a reload.
func TestMasterUnixDgram(t *testing.T) {
	in := newInstance(t, "postlog   unix-dgram n - n - 1 postlogd\n")
	in.startMaster()
	path := in.unix("public", "postlog")
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0666 {
		t.Fatalf("public/postlog: %v %v", fi.Mode(), err)
	}
	if typ, err := socketType(path); err != nil || typ != syscall.SOCK_DGRAM {
		t.Fatalf("public/postlog is not a datagram socket: %d %v", typ, err)
	}
	if strings.Contains(in.log(), "not supported") {
		t.Fatalf("unix-dgram refused:\n%s", in.log())
	}
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(s string) {
		if _, err := c.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	send("Dec 07 10:00:00 host postfix/sendmail[42]: fatal: first")
	send("Dec 07 10:00:01 host postfix/postdrop[43]: warning: x\ninjected: line\r" + strings.Repeat("y", 5000))
	send("Dec 07 10:00:02 host postfix/postqueue[44]: last")
	in.waitLog("host postfix/postqueue[44]: last\n", 10*time.Second)
	lines := strings.Split(in.log(), "\n")
	var got []string
	for _, l := range lines {
		if strings.HasPrefix(l, "Dec 07 10:00:0") {
			got = append(got, l)
		}
	}
	if len(got) != 3 || got[0] != "Dec 07 10:00:00 host postfix/sendmail[42]: fatal: first" ||
		!strings.HasPrefix(got[1], "Dec 07 10:00:01 host postfix/postdrop[43]: warning: x injected: line yyy") || len(got[1]) != 4096 {
		t.Fatalf("records in maillog_file: %q", got)
	}

	if out, code := in.postfix("reload"); code != 0 {
		t.Fatalf("reload: %d %s", code, out)
	}
	in.waitLog("reload -- version", 5*time.Second)
	send("Dec 07 10:00:03 host postfix/postqueue[45]: after reload")
	in.waitLog("host postfix/postqueue[45]: after reload\n", 10*time.Second)
}

// socketType is the SO_TYPE of the socket bound at path (connecting a datagram socket to it
// tells which it is).
func socketType(path string) (int, error) {
	for _, typ := range []int{syscall.SOCK_DGRAM, syscall.SOCK_STREAM} {
		fd, err := syscall.Socket(syscall.AF_UNIX, typ, 0)
		if err != nil {
			return 0, err
		}
		err = syscall.Connect(fd, &syscall.SockaddrUnix{Name: path})
		syscall.Close(fd)
		if err == nil {
			return typ, nil
		}
	}
	return 0, fmt.Errorf("cannot connect to %s", path)
}

// TestMaillogFilePrefixes: a maillog_file outside maillog_file_prefixes is refused as
// Postfix refuses it: master does not start, and a reload to such a value keeps the old
// configuration.
func TestMaillogFilePrefixes(t *testing.T) {
	in := newInstance(t, "")
	main, err := os.ReadFile(filepath.Join(in.dir, "main.cf"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(main), "maillog_file_prefixes = "+in.dir+"\n", "", 1)
	in.write("main.cf", bad)
	out, err := exec.Command(filepath.Join(binDir, "master"), "-c", in.dir, "-d").CombinedOutput()
	want := "master: fatal: maillog_file value '" + in.maillog + "' does not match any prefix in maillog_file_prefixes"
	if err == nil || !strings.Contains(string(out), want) {
		t.Fatalf("master with maillog_file outside the default prefixes: %v %q, want %q", err, out, want)
	}

	in.write("main.cf", string(main))
	in.startMaster()
	in.write("main.cf", bad)
	syscall.Kill(in.master.Process.Pid, syscall.SIGHUP)
	in.waitLog("reload: "+want[len("master: fatal: "):]+" -- keeping the old configuration", 5*time.Second)
}
