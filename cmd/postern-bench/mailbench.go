package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"postern/pkg/testenv"
)

// mailOptions are the POP3 and IMAP workloads' settings.
type mailOptions struct {
	pop3Msgs     int // messages the POP3 session retrieves
	imapMsgs     int // messages in the IMAP Maildir
	imapSMTP     int // of those, delivered through SMTP and local (the rest written directly)
	imapWarm     int // warm sessions measured after the first
	imapSessions int // concurrent sessions
	imapRounds   int // SELECT/FETCH/SEARCH rounds per concurrent session
	mailSize     int // message size
}

var mailOpts mailOptions

// mailFlags registers the POP3/IMAP workload flags (before flag.Parse).
func mailFlags() {
	flag.IntVar(&mailOpts.pop3Msgs, "pop3-m", 2000, "POP3: messages retrieved in one session")
	flag.IntVar(&mailOpts.imapMsgs, "imap-m", 10000, "IMAP: messages in the Maildir")
	flag.IntVar(&mailOpts.imapSMTP, "imap-smtp", 200, "IMAP: of those, how many are delivered through SMTP and local")
	flag.IntVar(&mailOpts.imapWarm, "imap-warm", 3, "IMAP: warm sessions measured (median reported)")
	flag.IntVar(&mailOpts.imapSessions, "imap-c", 10, "IMAP: concurrent sessions")
	flag.IntVar(&mailOpts.imapRounds, "imap-rounds", 5, "IMAP: SELECT/FETCH/SEARCH rounds per concurrent session")
	flag.IntVar(&mailOpts.mailSize, "mail-s", 4096, "POP3/IMAP: message size in bytes")
}

// mailInstance is an instance booted for the POP3/IMAP workloads, with a
// passwd-file account whose Maildir is in the instance's mail spool (as
// make run has it).
type mailInstance struct {
	dir                string
	smtpAddr           string
	pop3Addr, imapAddr string
	user, pass         string
	uid, gid           int
	maildir            string
	stop               func()
	masterPID          int
}

// runMail runs the POP3 and/or IMAP workloads on one instance of their own.
func runMail(pop3, imap bool) error {
	o := &mailOpts
	in, err := bootMail()
	if err != nil {
		return err
	}
	defer in.stop()
	host, _ := os.Hostname()
	fmt.Printf("postern-bench: %s, %d CPUs, mailbox workloads for %s (Maildir %s), messages of %d bytes\n",
		host, numCPU(), in.user, in.maildir, o.mailSize)
	if pop3 {
		if err := pop3Bench(in, o); err != nil {
			return fmt.Errorf("pop3: %w", err)
		}
	}
	if imap {
		if err := in.emptyMaildir(); err != nil {
			return err
		}
		if err := imapBench(in, o); err != nil {
			return fmt.Errorf("imap: %w", err)
		}
	}
	return nil
}

func bootMail() (*mailInstance, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	bin := filepath.Dir(exe)
	for _, p := range []string{"master", "pop3d", "imapd", "authd"} {
		if !testenv.Has(bin, p) {
			return nil, fmt.Errorf("%s/%s not found: run make build first", bin, p)
		}
	}
	if err := testenv.EnsureSystemAccounts(); err != nil {
		return nil, err
	}
	u, err := demoAccount()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pbench-mail-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0755)
	in := &mailInstance{dir: dir, user: u.Username, pass: password()}
	in.uid, _ = strconv.Atoi(u.Uid)
	in.gid, _ = strconv.Atoi(u.Gid)
	addrs := make([]string, 3)
	for i := range addrs {
		if addrs[i], err = testenv.FreeAddr(); err != nil {
			return nil, err
		}
	}
	in.smtpAddr, in.pop3Addr, in.imapAddr = addrs[0], addrs[1], addrs[2]
	mailDir := filepath.Join(dir, "mail") + "/"
	users := filepath.Join(dir, "etc", "users")
	l := &testenv.Layout{Dir: dir, BinDir: bin, SMTPAddr: in.smtpAddr, POP3Addr: in.pop3Addr, IMAPAddr: in.imapAddr,
		MainCF: "mail_spool_directory = " + mailDir + "\n" +
			"postern_passwd_file = " + users + "\n" +
			"authd_system_users = no\n" +
			"default_process_limit = 200\n"}
	in.stop = func() { os.RemoveAll(dir) }
	if err := l.Write(); err != nil {
		in.stop()
		return nil, err
	}
	in.maildir = filepath.Join(mailDir, u.Username)
	line := fmt.Sprintf("%s:{PLAIN}%s:%s:%s::%s::userdb_mail=maildir:%s/\n",
		u.Username, in.pass, u.Uid, u.Gid, dir, in.maildir)
	if err := os.WriteFile(users, []byte(line), 0600); err != nil {
		in.stop()
		return nil, err
	}
	if err := in.emptyMaildir(); err != nil {
		in.stop()
		return nil, err
	}
	cmd := exec.Command(filepath.Join(bin, "master"), "-d", "-c", l.ConfigDir())
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		in.stop()
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	in.masterPID = cmd.Process.Pid
	in.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		os.RemoveAll(dir)
	}
	err = testenv.WaitBanner(in.smtpAddr, 20*time.Second)
	for _, a := range []string{in.pop3Addr, in.imapAddr} {
		if err == nil {
			err = waitGreeting(a, 20*time.Second)
		}
	}
	if err != nil {
		in.stop()
		return nil, err
	}
	return in, nil
}

// waitGreeting waits until a POP3 or IMAP server at addr greets.
func waitGreeting(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && (strings.HasPrefix(line, "+OK") || strings.HasPrefix(line, "* OK")) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no greeting on %s within %v", addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// emptyMaildir (re)creates the account's Maildir, empty and the user's.
func (in *mailInstance) emptyMaildir() error {
	if err := os.RemoveAll(in.maildir); err != nil {
		return err
	}
	for _, sub := range []string{"", "tmp", "new", "cur"} {
		p := filepath.Join(in.maildir, sub)
		if err := os.MkdirAll(p, 0700); err != nil {
			return err
		}
		os.Chown(p, in.uid, in.gid)
	}
	return nil
}

// mailMessage is a message as local stores it (LF line ends, the
// delivery headers first) of about size bytes; every 100th has an "x" in
// its Subject, which the SEARCH workload looks for.
func mailMessage(n, size int, rcpt string, t time.Time) []byte {
	var b strings.Builder
	subj := fmt.Sprintf("bench message %d", n)
	if n%100 == 0 {
		subj += " x"
	}
	fmt.Fprintf(&b, "Return-Path: <bench@example.org>\nX-Original-To: %s\nDelivered-To: %s\n", rcpt, rcpt)
	fmt.Fprintf(&b, "Received: from bench.example (localhost [127.0.0.1])\n\tby postern.test (Postern) with ESMTP id B%05d\n\tfor <%s>; %s\n",
		n, rcpt, t.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "From: Bench <bench@example.org>\nTo: <%s>\nSubject: %s\nDate: %s\nMessage-ID: <bench-%d@example.org>\n\n",
		rcpt, subj, t.Format(time.RFC1123Z), n)
	line := strings.Repeat("y", 76) + "\n"
	for b.Len()+len(line) <= size {
		b.WriteString(line)
	}
	return []byte(b.String())
}

// populate writes messages first..first+n-1 straight into new/, named as
// local names its deliveries (SEC.V<dev>I<ino>M<usec>.HOST), without
// fsync, owned by the user: a Maildir as delivery leaves it, quickly.
func (in *mailInstance) populate(first, n, size int) error {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	rcpt := in.user + "@postern.test"
	start := time.Now().Add(-time.Duration(n) * time.Second / 10)
	for i := 0; i < n; i++ {
		t := start.Add(time.Duration(i) * time.Second / 10)
		tmp := filepath.Join(in.maildir, "tmp", fmt.Sprintf("bench.%d", first+i))
		if err := os.WriteFile(tmp, mailMessage(first+i, size, rcpt, t), 0600); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Stat(tmp, &st); err != nil {
			return err
		}
		os.Chown(tmp, in.uid, in.gid)
		os.Chtimes(tmp, t, t)
		name := fmt.Sprintf("%d.V%xI%xM%d.%s", t.Unix(), st.Dev, st.Ino, t.Nanosecond()/1000, host)
		if err := os.Rename(tmp, filepath.Join(in.maildir, "new", name)); err != nil {
			return err
		}
	}
	return nil
}

// deliverSMTP sends n messages to the account through SMTP and waits until
// local has put them all into new/.
func (in *mailInstance) deliverSMTP(first, n, size int) error {
	before := countDir(filepath.Join(in.maildir, "new"))
	rcpt := in.user + "@postern.test"
	for i := 0; i < n; i++ {
		msg := mailMessage(first+i, size, rcpt, time.Now())
		// local adds the delivery headers itself: send from From: on.
		body := string(msg[strings.Index(string(msg), "From: "):])
		body = strings.ReplaceAll(body, "\n", "\r\n")
		if _, err := testenv.Submit(in.smtpAddr, "bench@example.org", []string{rcpt}, body); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for countDir(filepath.Join(in.maildir, "new"))-before < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("only %d of %d SMTP messages delivered", countDir(filepath.Join(in.maildir, "new"))-before, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

// runWorkloads runs the workloads named in o.workloads in turn: smtp and
// sendmail on bench's instance, pop3 and imap on one of their own.
func runWorkloads(o *options) error {
	want := map[string]bool{}
	for _, w := range strings.Split(o.workloads, ",") {
		switch w = strings.TrimSpace(w); w {
		case "all":
			want["smtp"], want["sendmail"], want["pop3"], want["imap"] = true, true, true, true
		case "smtp", "sendmail", "pop3", "imap":
			want[w] = true
		default:
			return fmt.Errorf("unknown workload %q (smtp, sendmail, pop3, imap, all)", w)
		}
	}
	if want["smtp"] || want["sendmail"] {
		if err := bench(o); err != nil {
			return err
		}
	}
	if want["pop3"] || want["imap"] {
		if o.addr != "" {
			return fmt.Errorf("the pop3 and imap workloads boot their own instance: no -addr")
		}
		return runMail(want["pop3"], want["imap"])
	}
	return nil
}
