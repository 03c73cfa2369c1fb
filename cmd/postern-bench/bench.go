package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"

	"postern/pkg/testenv"
)

type options struct {
	addr, to, maildir, queue, conns, setup string
	messages, size                         int
	timeout                                time.Duration
	smtpPort, submissionPort               int
	pop3Port, imapPort                     int
	sendmails                              int
	workloads                              string // -workload: smtp, sendmail, pop3, imap, all
}

// target is what a run sends to and how it counts deliveries.
type target struct {
	addr      string
	rcpt      string
	delivered func() int // messages delivered so far (-1: cannot tell)
	queueDir  string
	masterPID int
	configDir string // of a booted instance: the sendmail workload needs it
	binDir    string
}

func bench(o *options) error {
	var conns []int
	for _, f := range strings.Split(o.conns, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad -c value %q", f)
		}
		conns = append(conns, n)
	}
	tg := &target{addr: o.addr, rcpt: o.to}
	if o.addr == "" {
		stop, err := boot(o, tg)
		if err != nil {
			return err
		}
		defer stop()
	} else {
		tg.queueDir = o.queue
		switch {
		case o.maildir != "":
			tg.delivered = func() int { return countDir(filepath.Join(o.maildir, "new")) }
		default:
			tg.delivered = func() int { return -1 }
		}
		if tg.rcpt == "" {
			return fmt.Errorf("-addr needs -to")
		}
	}
	host, _ := os.Hostname()
	fmt.Printf("postern-bench: %s, %d CPUs, %d messages of %d bytes to %s via %s\n",
		host, numCPU(), o.messages, o.size, tg.rcpt, tg.addr)
	if tg.masterPID > 0 {
		kib, n := testenv.RSS(tg.masterPID)
		fmt.Printf("idle RSS: %.1f MB in %d processes\n", float64(kib)/1024, n)
	}
	if !wants(o, "smtp") {
		conns = nil
	}
	if len(conns) > 0 {
		fmt.Printf("%5s %12s %13s %9s %9s %14s %6s\n", "conns", "accepted/s", "delivered/s", "p50 ms", "p99 ms", "peak RSS MB", "procs")
	}
	for _, c := range conns {
		r, err := run(o, tg, c)
		if err != nil {
			return err
		}
		deliv := "n/a"
		if r.deliveredPerSec > 0 {
			deliv = fmt.Sprintf("%.0f", r.deliveredPerSec)
		}
		rss := "n/a"
		if r.peakKiB > 0 {
			rss = fmt.Sprintf("%.1f", float64(r.peakKiB)/1024)
		}
		fmt.Printf("%5d %12.0f %13s %9.1f %9.1f %14s %6d\n", c, r.acceptedPerSec, deliv,
			ms(r.p50), ms(r.p99), rss, r.peakProcs)
		if r.failed > 0 {
			fmt.Printf("      %d transactions failed; first error: %v\n", r.failed, r.firstErr)
		}
	}
	if o.sendmails > 0 && wants(o, "sendmail") {
		return runSendmail(o, tg)
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "\nprocessor") + 1
}

func countDir(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

// boot starts an instance of the programs beside this executable.
func boot(o *options, tg *target) (func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bin := filepath.Dir(exe)
	if !testenv.Has(bin, "master") {
		return nil, fmt.Errorf("%s/master not found: run make build first, or give -addr", bin)
	}
	if err := testenv.EnsureSystemAccounts(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pbench-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0755)
	addr, err := testenv.FreeAddr()
	if err != nil {
		return nil, err
	}
	l := &testenv.Layout{Dir: dir, BinDir: bin, SMTPAddr: addr,
		MainCF: "default_process_limit = 200\n"}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		os.RemoveAll(dir)
	}
	var name string
	if os.Geteuid() == 0 {
		// A bench user with its home in the instance: Maildir delivery.
		name = fmt.Sprintf("pbench%d", os.Getpid()%100000)
		home := filepath.Join(dir, "home")
		if out, err := exec.Command("useradd", "-m", "-d", home, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
			cleanup()
			return nil, fmt.Errorf("useradd: %v: %s", err, out)
		}
		cleanups = append(cleanups, func() { exec.Command("userdel", "-r", "-f", name).Run() })
		l.MainCF += "home_mailbox = Maildir/\n"
		tg.delivered = func() int { return countDir(filepath.Join(home, "Maildir", "new")) }
		fmt.Printf("delivering to Maildir of bench user %s (%s/Maildir)\n", name, home)
	} else {
		// Never the invoking user's real ~/Maildir: an mbox in the
		// instance's spool, deliveries counted from the log.
		u, err := user.Current()
		if err != nil {
			cleanup()
			return nil, err
		}
		name = u.Username
		logf := l.LogFile()
		tg.delivered = func() int {
			b, _ := os.ReadFile(logf)
			return strings.Count(string(b), "status=sent")
		}
		fmt.Printf("not root: delivering to an mbox of %s in the instance's spool (run as root for Maildir)\n", name)
	}
	if err := l.Write(); err != nil {
		cleanup()
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "master"), "-d", "-c", l.ConfigDir())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		cleanup()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	cleanups = append(cleanups, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	if err := testenv.WaitBanner(addr, 20*time.Second); err != nil {
		cleanup()
		return nil, err
	}
	tg.addr = addr
	tg.queueDir = l.QueueDir()
	tg.masterPID = cmd.Process.Pid
	tg.configDir, tg.binDir = l.ConfigDir(), bin
	if tg.rcpt == "" {
		tg.rcpt = name + "@postern.test"
	}
	return cleanup, nil
}

type result struct {
	acceptedPerSec, deliveredPerSec float64
	p50, p99                        time.Duration
	peakKiB                         int64
	peakProcs                       int
	failed                          int
	firstErr                        error
}

// message builds a message of about size bytes.
func message(n, size int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: bench@example.org\r\nSubject: bench %d\r\nMessage-ID: <bench-%d-%d@example.org>\r\n\r\n",
		n, time.Now().UnixNano(), n)
	line := strings.Repeat("x", 76) + "\r\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return b.String()
}

func run(o *options, tg *target, conns int) (*result, error) {
	base := 0
	if tg.delivered != nil {
		base = tg.delivered()
	}
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lat      []time.Duration
		res      result
		wg       sync.WaitGroup
		sampling = make(chan struct{})
	)
	body := message(0, o.size)
	go func() {
		for {
			select {
			case <-sampling:
				return
			case <-time.After(200 * time.Millisecond):
			}
			if tg.masterPID > 0 {
				kib, n := testenv.RSS(tg.masterPID)
				mu.Lock()
				if kib > res.peakKiB {
					res.peakKiB, res.peakProcs = kib, n
				}
				mu.Unlock()
			}
		}
	}()
	start := time.Now()
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			fail := func(err error) {
				mu.Lock()
				res.failed++
				if res.firstErr == nil {
					res.firstErr = err
				}
				mu.Unlock()
				if c != nil {
					c.Close()
					c = nil
				}
			}
			for {
				n := int(next.Add(1))
				if n > o.messages {
					break
				}
				if c == nil {
					var err error
					if c, err = smtp.Dial(tg.addr); err != nil {
						fail(err)
						continue
					}
					if err := c.Hello("bench.example"); err != nil {
						fail(err)
						continue
					}
				}
				t0 := time.Now()
				err := transaction(c, tg.rcpt, body)
				d := time.Since(t0)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
			if c != nil {
				c.Quit()
				c.Close()
			}
		}()
	}
	wg.Wait()
	sent := time.Since(start)
	accepted := len(lat)
	res.acceptedPerSec = float64(accepted) / sent.Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if accepted > 0 {
		res.p50 = lat[accepted*50/100]
		res.p99 = lat[min(accepted-1, accepted*99/100)]
	}
	deadline := time.Now().Add(o.timeout)
	for {
		done := false
		switch {
		case tg.delivered != nil && tg.delivered() >= 0:
			done = tg.delivered()-base >= accepted
		case tg.queueDir != "":
			done = queueEmpty(tg.queueDir)
		default:
			done = true // acceptance only
			sent = -1
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			close(sampling)
			return nil, fmt.Errorf("c=%d: only %d of %d delivered after %v", conns, tg.delivered()-base, accepted, o.timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if sent >= 0 {
		res.deliveredPerSec = float64(accepted) / time.Since(start).Seconds()
	}
	close(sampling)
	mu.Lock()
	defer mu.Unlock()
	r := res
	return &r, nil
}

func transaction(c *smtp.Client, rcpt, body string) error {
	if err := c.Mail("bench@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	return w.Close()
}

func queueEmpty(q string) bool {
	for _, d := range []string{"incoming", "active", "deferred"} {
		n := 0
		filepath.WalkDir(filepath.Join(q, d), func(_ string, de os.DirEntry, err error) error {
			if err == nil && !de.IsDir() {
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
