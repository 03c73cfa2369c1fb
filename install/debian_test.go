package install

import (
	"bufio"
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestDebian is issue 9's black-box test: Postern over Debian's own
// Postfix package, the howto with real clients, and back to Postfix. It
// changes the machine (the postfix package, /etc/postfix, users, ports 25,
// 110, 143, 587) and restores it, so it runs only as root on Debian with
// CI=true (.ci/run) or POSTERN_DEBIAN_TEST=1. See doc.go for the steps.
func TestDebian(t *testing.T) {
	if os.Getenv("CI") != "true" && os.Getenv("POSTERN_DEBIAN_TEST") != "1" {
		t.Skip("SKIPPED TestDebian (install over Debian's postfix package): it changes this machine; " +
			"runs only as root with CI=true or POSTERN_DEBIAN_TEST=1")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED TestDebian: CI=true or POSTERN_DEBIAN_TEST=1 but not root")
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("SKIPPED TestDebian: not a Debian machine (no /etc/debian_version)")
	}
	d := &debian{t: t, root: root(t), users: map[string]string{}}
	t.Cleanup(d.restore)

	// The howto's steps are independent of each other's success; without
	// a package, an install or an uninstall the rest cannot run (the
	// cleanup still puts the machine back).
	steps := []struct {
		name     string
		fn       func(*testing.T)
		critical bool
	}{
		{"package", d.stepPackage, true},
		{"install", d.stepInstall, true},
		{"services", d.stepServices, false},
		{"virtual", d.stepVirtual, false},
		{"telnet", d.stepTelnet, false},
		{"aliases", d.stepAliases, false},
		{"forward", d.stepForward, false},
		{"sendmail-t", d.stepSendmailT, false},
		{"maildir", d.stepMaildir, false},
		{"pop3", d.stepPOP3, false},
		{"imap", d.stepIMAP, false},
		{"smtp-starttls", d.stepSMTPTLS, false},
		{"submission", d.stepSubmission, false},
		{"defer-mailq", d.stepDeferMailq, false},
		{"warnings", d.stepWarnings, false},
		{"uninstall", d.stepUninstall, false},
		{"postfix", d.stepPostfix, false},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) {
			d.cur = t
			defer d.explain(t)
			s.fn(t)
		}) && s.critical {
			t.Fatalf("step %s failed; the steps after it need it", s.name)
		}
	}
}

const (
	maillog    = "/var/log/postern-debian-test.log"
	pristine   = "/var/lib/postern-debian-test" // the machine's files, while the test runs
	snakeoil   = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
	policyRCD  = "/usr/sbin/policy-rc.d"
	masterExe  = "/usr/lib/postfix/sbin/master"
	mailname   = "mail.fossedu.org"
	virtualSrc = "virtual_alias_domains = fossedu.org linuxelabs.com"
)

// The files the test edits as an admin would; they are copied to pristine
// first and put back at the end (absent ones are removed).
var editedFiles = []string{
	"/etc/postfix/main.cf", "/etc/postfix/master.cf", "/etc/aliases", "/etc/aliases.db",
	"/etc/postfix/virtual", "/etc/postfix/virtual.db",
}

// testUsers are the howto's users (sysadmin has the .forward).
var testUsers = []string{"fmaster", "sysadmin", "sigiri", "kala"}

type debian struct {
	t         *testing.T
	cur       *testing.T // the running step, for messages
	root      string
	users     map[string]string // name -> password
	host      string            // myhostname
	ownPolicy bool              // policy-rc.d written by the test
	seq       int
}

// --- running things ---

// run runs a command and fails the step with the command, its output and
// the log when it fails.
func (d *debian) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := d.try(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func (d *debian) try(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// sh runs a shell command line as root.
func (d *debian) sh(t *testing.T, script string) string {
	t.Helper()
	return d.run(t, "sh", "-c", script)
}

// as runs a shell command line as user, with a login environment.
func (d *debian) as(t *testing.T, user, script string) string {
	t.Helper()
	return d.run(t, "su", "-", user, "-c", script)
}

// explain adds what an admin would look at when a step failed.
func (d *debian) explain(t *testing.T) {
	if !t.Failed() {
		return
	}
	b, _ := os.ReadFile(maillog)
	t.Logf("last lines of %s:\n%s", maillog, lastLines(string(b), 40))
	if out, err := d.try("/usr/sbin/postqueue", "-p"); err == nil || out != "" {
		t.Logf("postqueue -p:\n%s", lastLines(out, 20))
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// masters lists the running master processes of the system's mail system
// (Postfix's or Postern's, both /usr/lib/postfix/sbin/master); other
// masters on this machine (test instances) are not ours to count.
func masters() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink("/proc/" + e.Name() + "/exe")
		if err == nil && strings.HasPrefix(exe, masterExe) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stopped stops whatever mail system runs and waits until none does.
func (d *debian) stopped(t *testing.T) {
	t.Helper()
	if len(masters()) == 0 {
		return
	}
	d.try("/usr/sbin/postfix", "stop")
	for i := 0; len(masters()) > 0; i++ {
		if i == 150 {
			t.Fatalf("a mail system still runs (master %v) after postfix stop", masters())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// start runs "postfix start" after checking that nothing runs, and waits
// for the banner on port 25.
func (d *debian) start(t *testing.T) string {
	t.Helper()
	if m := masters(); len(m) > 0 {
		t.Fatalf("a mail system already runs (master %v): never Postfix and Postern at once", m)
	}
	d.run(t, "/usr/sbin/postfix", "start")
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:25", time.Second)
		if err == nil {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil {
				return strings.TrimRight(line, "\r\n")
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers on 127.0.0.1:25 20s after postfix start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (d *debian) reload(t *testing.T) {
	t.Helper()
	d.run(t, "/usr/sbin/postfix", "reload")
	// Postfix's reload is asynchronous too: master re-reads its files on
	// SIGHUP, children notice at their next request.
	time.Sleep(time.Second)
}

// token makes a unique subject for one message of this run.
func (d *debian) token(what string) string {
	d.seq++
	return fmt.Sprintf("debian-test %s %d %d", what, os.Getpid(), d.seq)
}

// --- SMTP, POP3 and IMAP dialogues over real sockets ---

// dialogue is a line-based client, as telnet.
type dialogue struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

// dial connects with testenv.Dial and reads the lines itself (POP3 and
// IMAP replies are not SMTP's).
func dial(t *testing.T, port string) *dialogue {
	t.Helper()
	c := testenv.Dial(t, "127.0.0.1:"+port).Raw()
	return &dialogue{t: t, c: c, r: bufio.NewReader(c)}
}

func (g *dialogue) send(line string) {
	g.t.Helper()
	g.c.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(g.c, line+"\r\n"); err != nil {
		g.t.Fatalf("send %q: %v", line, err)
	}
}

func (g *dialogue) line() string {
	g.t.Helper()
	g.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	s, err := g.r.ReadString('\n')
	if err != nil {
		g.t.Fatalf("read: %v (got %q)", err, s)
	}
	return strings.TrimRight(s, "\r\n")
}

// smtp reads a whole SMTP reply and fails unless its code is code.
func (g *dialogue) smtp(code string) string {
	g.t.Helper()
	var all []string
	for {
		l := g.line()
		all = append(all, l)
		if len(l) < 4 || l[3] != '-' {
			break
		}
	}
	last := all[len(all)-1]
	if !strings.HasPrefix(last, code) {
		g.t.Fatalf("want a %s reply, got %q", code, strings.Join(all, " / "))
	}
	return last
}

func (g *dialogue) cmd(line, code string) string {
	g.t.Helper()
	g.send(line)
	return g.smtp(code)
}

// submit sends one message over SMTP on port 25 and returns its queue ID.
func (d *debian) submit(t *testing.T, from string, to []string, subject, body string) string {
	t.Helper()
	g := dial(t, "25")
	g.smtp("220")
	g.cmd("EHLO localhost", "250")
	g.cmd("MAIL FROM:<"+from+">", "250")
	for _, r := range to {
		g.cmd("RCPT TO:<"+r+">", "250")
	}
	g.cmd("DATA", "354")
	g.send("From: <" + from + ">")
	g.send("Subject: " + subject)
	g.send("")
	for _, l := range strings.Split(body, "\n") {
		g.send(l)
	}
	id := queueID(g.cmd(".", "250"))
	g.cmd("QUIT", "221")
	return id
}

var queuedRE = regexp.MustCompile(`queued as ([0-9A-Za-z]+)`)

func queueID(reply string) string {
	if m := queuedRE.FindStringSubmatch(reply); m != nil {
		return m[1]
	}
	return ""
}

// --- mailboxes ---

func (d *debian) home(user string) string { return "/home/" + user }

// messages lists a user's delivered messages: the mbox in /var/mail split
// at its From_ lines (each with its From_ line), then the Maildir files.
func (d *debian) messages(user string) []string {
	var out []string
	if b, err := os.ReadFile("/var/mail/" + user); err == nil {
		out = append(out, splitMbox(string(b))...)
	}
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(d.home(user), "Maildir", sub, "*"))
		sort.Strings(files)
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil {
				out = append(out, string(b))
			}
		}
	}
	return out
}

func splitMbox(s string) []string {
	var out []string
	start := -1
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "From ") && (i == 0 || (i >= 2 && s[i-2:i] == "\n\n")) {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = i
		}
		j := strings.IndexByte(s[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// waitMessage waits for a message containing want in user's mailbox.
func (d *debian) waitMessage(t *testing.T, user, want string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, m := range d.messages(user) {
			if strings.Contains(m, want) {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q for %s after 30s (%d messages there)", want, user, len(d.messages(user)))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// noMessage checks that no message containing s reached user.
func (d *debian) noMessage(t *testing.T, user, s string) {
	t.Helper()
	for _, m := range d.messages(user) {
		if strings.Contains(m, s) {
			t.Fatalf("%s received a message with %q:\n%s", user, s, m)
		}
	}
}

// headerField is RFC 5322's field name (printable ASCII but colon).
var headerField = regexp.MustCompile(`^[!-9;-~]+:`)

// checkStructure checks that msg (without From_ line) is a header block of
// fields, an empty line and body, and returns the header and the body.
func checkStructure(t *testing.T, msg string) (header []string, body string) {
	t.Helper()
	hdr, body, ok := strings.Cut(msg, "\n\n")
	if !ok {
		t.Fatalf("no empty line between header and body:\n%s", msg)
	}
	for i, l := range strings.Split(hdr, "\n") {
		if l == "" {
			t.Fatalf("the message starts with an empty line:\n%s", msg)
		}
		if headerField.MatchString(l) {
			header = append(header, l)
		} else if (l[0] == ' ' || l[0] == '\t') && i > 0 {
			header[len(header)-1] += "\n" + l
		} else {
			t.Fatalf("line %d of the header block is not a header field: %q\n%s", i+1, l, msg)
		}
	}
	return header, body
}

// --- the machine's state ---

// isBerkeleyDB tells a Berkeley DB hash or btree file by its magic number
// (at offset 12, in either byte order).
func isBerkeleyDB(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 16 {
		return false
	}
	m := b[12:16]
	for _, magic := range []uint32{0x061561, 0x053162} {
		le := []byte{byte(magic), byte(magic >> 8), byte(magic >> 16), 0}
		be := []byte{0, byte(magic >> 16), byte(magic >> 8), byte(magic)}
		if bytes.Equal(m, le) || bytes.Equal(m, be) {
			return true
		}
	}
	return false
}

// state is the owner, mode and content digest (size and bytes) of every
// path below dirs: what uninstall must give back.
func state(dirs ...string) map[string]string {
	m := map[string]string{}
	for _, dir := range dirs {
		filepath.Walk(dir, func(p string, fi fs.FileInfo, err error) error {
			if err != nil {
				return nil
			}
			st := fi.Sys().(*syscall.Stat_t)
			v := fmt.Sprintf("%v %d:%d", fi.Mode(), st.Uid, st.Gid)
			switch {
			case fi.Mode()&fs.ModeSymlink != 0:
				l, _ := os.Readlink(p)
				v += " -> " + l
			case fi.Mode().IsRegular():
				b, _ := os.ReadFile(p)
				v += fmt.Sprintf(" %d %x", len(b), crc(b))
			}
			m[p] = v
			return nil
		})
	}
	return m
}

func crc(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

// --- the steps ---

// stepPackage makes sure Debian's postfix package is installed, answered
// as the issue says, and not running; an earlier run's leftovers go first.
func (d *debian) stepPackage(t *testing.T) {
	if _, err := os.Stat(policyRCD); err != nil {
		// invoke-rc.d asks policy-rc.d; 101 = action forbidden, so
		// installing the package never starts Postfix.
		if err := os.WriteFile(policyRCD, []byte("#!/bin/sh\n# TestDebian: never start services\nexit 101\n"), 0755); err != nil {
			t.Fatal(err)
		}
		d.ownPolicy = true
	} else if out, err := d.try(policyRCD, "postfix", "start"); err == nil || !strings.Contains(err.Error(), "101") {
		t.Logf("note: the existing %s does not answer 101 (%v %s)", policyRCD, err, out)
	}
	// An earlier run that was killed: Postern may still be installed.
	d.stopped(t)
	if _, err := os.Stat("/var/lib/postern/manifest"); err == nil {
		t.Logf("Postern is installed (an earlier run?): make uninstall first")
		d.run(t, "make", "-s", "-C", d.root, "uninstall")
	}
	d.putBack(t)
	d.removeUsers()

	if out, _ := d.try("dpkg-query", "-W", "-f=${Status}", "postfix"); out != "install ok installed" {
		d.sh(t, `printf '%s\n' 'postfix postfix/main_mailer_type select Internet Site' 'postfix postfix/mailname string `+mailname+`' | debconf-set-selections`)
		d.run(t, "apt-get", "install", "-y", "-q", "postfix")
	}
	var missing []string
	for prog, pkg := range map[string]string{"swaks": "swaks", "mail": "bsd-mailx", "curl": "curl", "python3": "python3"} {
		if _, err := exec.LookPath(prog); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) > 0 {
		d.run(t, "apt-get", append([]string{"install", "-y", "-q"}, missing...)...)
	}
	if b, _ := os.ReadFile("/etc/mailname"); strings.TrimSpace(string(b)) != mailname {
		t.Errorf("/etc/mailname is %q, want %s (debconf postfix/mailname)", b, mailname)
	}
	if out := d.run(t, "dpkg", "--verify", "postfix"); out != "" {
		t.Fatalf("Debian's postfix files are not as the package made them:\n%s", out)
	}
	if !isBerkeleyDB("/etc/aliases.db") {
		t.Errorf("/etc/aliases.db is not Berkeley DB: Debian's postinst did not run newaliases?")
	}
	d.stopped(t)

	// Keep the files the test edits, to put them back at the end.
	os.MkdirAll(pristine, 0700)
	for _, f := range editedFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fi, _ := os.Stat(f)
		dst := filepath.Join(pristine, f)
		os.MkdirAll(filepath.Dir(dst), 0700)
		if err := os.WriteFile(dst, b, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	os.WriteFile(filepath.Join(pristine, "saved"), nil, 0600)

	for _, u := range testUsers {
		pw := "pw-" + u + "-9"
		d.run(t, "useradd", "-m", "-s", "/bin/bash", u)
		d.users[u] = pw
		d.sh(t, "echo '"+u+":"+pw+"' | chpasswd")
	}
}

// putBack restores the edited files from pristine (an earlier run's copy
// first); a file that was absent is removed.
func (d *debian) putBack(t *testing.T) {
	if _, err := os.Stat(filepath.Join(pristine, "saved")); err != nil {
		return
	}
	for _, f := range editedFiles {
		src := filepath.Join(pristine, f)
		b, err := os.ReadFile(src)
		if err != nil {
			os.Remove(f)
			continue
		}
		fi, _ := os.Stat(src)
		os.WriteFile(f+".debian-test", b, fi.Mode().Perm())
		os.Chtimes(f+".debian-test", fi.ModTime(), fi.ModTime())
		os.Rename(f+".debian-test", f)
	}
	os.RemoveAll(pristine)
}

func (d *debian) removeUsers() {
	for _, u := range testUsers {
		if _, err := d.try("id", u); err == nil {
			d.try("userdel", "-r", u)
		}
		os.Remove("/var/mail/" + u)
	}
}

// restore puts the machine back however the test ended: no mail system
// running, Postern uninstalled, the edited files and users gone.
func (d *debian) restore() {
	t := d.t
	d.stopped(t)
	if _, err := os.Stat("/var/lib/postern/manifest"); err == nil {
		if out, err := d.try("make", "-s", "-C", d.root, "uninstall"); err != nil {
			t.Errorf("cleanup: make uninstall: %v\n%s", err, out)
		}
	}
	d.putBack(t)
	d.removeUsers()
	os.Remove(maillog)
	if d.ownPolicy {
		os.Remove(policyRCD)
	}
}

// before is the state of Postfix's files just before make install.
var beforeInstall map[string]string

// Postfix's files: what make install replaces and uninstall gives back.
var postfixPaths = []string{
	"/etc/postfix", "/usr/sbin", "/usr/bin/mailq", "/usr/bin/newaliases", "/usr/lib/sendmail",
	"/usr/lib/postfix", "/etc/init.d/postfix", "/var/lib/postfix", "/etc/aliases.db",
	"/var/spool/postfix",
}

var mainAfterInstall, masterAfterInstall []byte

// stepInstall configures Debian's Postfix as the howto's admin would (with
// Postfix's own postconf and postmap: virtual.db is Berkeley DB), then
// make install over it, and postfix start.
func (d *debian) stepInstall(t *testing.T) {
	d.run(t, "postconf", "-e",
		"virtual_alias_domains = fossedu.org linuxelabs.com",
		"virtual_alias_maps = hash:/etc/postfix/virtual",
		// Loopback only: this may be any CI machine.
		"inet_interfaces = loopback-only",
		// No syslog daemon in a container: both systems log to a file.
		"maillog_file = "+maillog)
	if err := os.WriteFile("/etc/postfix/virtual", []byte("info@fossedu.org       sigiri\ninfo@linuxelabs.com    kala\n"), 0644); err != nil {
		t.Fatal(err)
	}
	d.run(t, "postmap", "/etc/postfix/virtual")
	if !isBerkeleyDB("/etc/postfix/virtual.db") {
		t.Fatalf("Postfix's postmap did not make a Berkeley DB virtual.db")
	}
	// Kept to put back if make uninstall cannot (see stepVirtual).
	if b, err := os.ReadFile("/etc/postfix/virtual.db"); err == nil {
		os.WriteFile(filepath.Join(pristine, "virtual.db.postfix"), b, 0644)
	}
	d.host = strings.TrimSpace(d.run(t, "postconf", "-h", "myhostname"))
	mainBefore, _ := os.ReadFile("/etc/postfix/main.cf")
	masterBefore, _ := os.ReadFile("/etc/postfix/master.cf")
	beforeInstall = state(postfixPaths...)

	out := d.run(t, "make", "-s", "-C", d.root, "install")
	t.Logf("make install:\n%s", out)

	mainAfterInstall, _ = os.ReadFile("/etc/postfix/main.cf")
	masterAfterInstall, _ = os.ReadFile("/etc/postfix/master.cf")
	if !bytes.Equal(mainAfterInstall, mainBefore) {
		t.Errorf("make install changed Debian's main.cf")
	}
	// master.cf: Debian's lines untouched, and only the lines install
	// documents appended after them (kept in master.cf.added).
	added, _ := os.ReadFile("/var/lib/postern/master.cf.added")
	if !bytes.Equal(masterAfterInstall, append(append([]byte{}, masterBefore...), added...)) {
		t.Errorf("make install changed Debian's master.cf other than appending /var/lib/postern/master.cf.added:\n%s", masterAfterInstall)
	}
	for _, svc := range []string{"pop3", "imap"} {
		if !regexp.MustCompile(`(?m)^` + svc + ` +inet `).Match(masterAfterInstall) {
			t.Errorf("master.cf has no %s service after make install", svc)
		}
	}

	// postfix check must not fail; its warnings are shown (unimplemented
	// parameters of Debian's main.cf are expected to be named).
	t.Logf("postfix check:\n%s", d.run(t, "/usr/sbin/postfix", "check"))
	banner := d.start(t)
	if want := "220 " + d.host + " ESMTP Postfix (Debian/GNU)"; banner != want {
		t.Errorf("banner %q, want %q (Debian's smtpd_banner)", banner, want)
	}
}

// stepServices: master runs every service of Debian's master.cf (postlog
// included) and none dies at start.
func (d *debian) stepServices(t *testing.T) {
	time.Sleep(time.Second)
	b, _ := os.ReadFile(maillog)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "not supported -- skipped") || strings.Contains(l, "fatal:") {
			t.Errorf("Debian's master.cf is not run in full: %s", l)
		}
	}
}

// stepTelnet types the howto's first session on port 25, byte for byte,
// and checks the stored message and what mail(1) shows fmaster.
func (d *debian) stepTelnet(t *testing.T) {
	d.howtoSession(t)
	m := d.waitMessage(t, "fmaster", "Are you there?")
	msgs := d.messages("fmaster")
	if len(msgs) != 1 {
		t.Fatalf("fmaster has %d messages, want 1", len(msgs))
	}
	// The mbox as Postfix's local writes it: From_ line, the header block
	// with what local, smtpd and cleanup add, the empty line cleanup puts
	// before the first line that is not a header, the body, an empty line.
	d.checkHowtoMessage(t, m, true)

	out := d.as(t, "fmaster", "printf 'p 1\\nx\\n' | mail")
	for _, want := range []string{`"/var/mail/fmaster": 1 message 1 new`, "Subjet: My first mail on Postfix", "From: root@localhost\n\nAre you there?\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("mail (bsd-mailx) as fmaster does not show %q:\n%s", want, out)
		}
	}
}

// howtoSession sends the howto's lines (with the DATA it forgets).
func (d *debian) howtoSession(t *testing.T) {
	g := dial(t, "25")
	g.smtp("220")
	g.cmd("ehlo localhost", "250")
	g.cmd("mail from: root@localhost", "250")
	g.cmd("rcpt to: fmaster@localhost", "250")
	g.cmd("data", "354")
	g.send("Subjet: My first mail on Postfix")
	g.send("Are you there?")
	g.cmd(".", "250")
	g.cmd("quit", "221")
}

func (d *debian) checkHowtoMessage(t *testing.T, m string, mbox bool) {
	t.Helper()
	date := `[A-Z][a-z]{2}, [ \d]\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \([A-Za-z0-9+-]+\)`
	host := regexp.QuoteMeta(d.host)
	re := `Return-Path: <root@localhost>\n` +
		`X-Original-To: fmaster@localhost\n` +
		`Delivered-To: fmaster@localhost\n` +
		`Received: from localhost \(localhost \[127\.0\.0\.1\]\)\n` +
		`\tby ` + host + ` \(Postfix\) with ESMTP id ([0-9A-Za-z]+)\n` +
		`\tfor <fmaster@localhost>; ` + date + `\n` +
		`Subjet: My first mail on Postfix\n` +
		`Message-Id: <\d{14}\.([0-9A-Za-z]+)@` + host + `>\n` +
		`Date: ` + date + `\n` +
		`From: root@localhost\n` +
		`\n` +
		`Are you there\?\n`
	if mbox {
		re = `From root@localhost  [A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\n` + re + `\n`
	}
	if !regexp.MustCompile(`\A` + re + `\z`).MatchString(m) {
		t.Errorf("the howto's message is not stored as Postfix stores it (headers, empty line, body); got:\n%s\nwant (regexp):\n%s", m, re)
	}
	body := m
	if mbox {
		body = m[strings.IndexByte(m, '\n')+1:]
	}
	checkStructure(t, body)
}

// stepVirtual: the Berkeley DB virtual.db Postfix's postmap made before
// make install is served by Postern; then a new entry with Postern's
// postmap is used at once.
func (d *debian) stepVirtual(t *testing.T) {
	s1, s2 := d.token("virtual fossedu"), d.token("virtual linuxelabs")
	// Every recipient is looked up in virtual_alias_maps: if Postern
	// cannot read the table, no mail gets in, and the admin would do what
	// the log says. So the steps after this one still run.
	g := dial(t, "25")
	g.smtp("220")
	g.cmd("EHLO localhost", "250")
	g.cmd("MAIL FROM:<root@localhost>", "250")
	g.send("RCPT TO:<info@fossedu.org>")
	r := g.smtp("")
	g.c.Close()
	if !strings.HasPrefix(r, "250") {
		d.run(t, "postmap", "/etc/postfix/virtual")
		d.reload(t)
		t.Fatalf("make install left Postfix's Berkeley DB virtual.db unreadable: RCPT TO:<info@fossedu.org> got %q (ran postmap /etc/postfix/virtual and postfix reload for the steps after this one)", r)
	}
	d.submit(t, "root@localhost", []string{"info@fossedu.org"}, s1, "for sigiri")
	d.submit(t, "root@localhost", []string{"info@linuxelabs.com"}, s2, "for kala")
	d.waitMessage(t, "sigiri", s1)
	d.waitMessage(t, "kala", s2)
	d.noMessage(t, "kala", s1)

	f, err := os.OpenFile("/etc/postfix/virtual", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(f, "sales@fossedu.org      sysadmin")
	f.Close()
	d.run(t, "postmap", "/etc/postfix/virtual")
	s3 := d.token("virtual sales")
	d.submit(t, "root@localhost", []string{"sales@fossedu.org"}, s3, "for sysadmin")
	d.waitMessage(t, "sysadmin", s3)
}

// stepAliases: /etc/aliases + newaliases, used by the very next SMTP
// session, 50 times in a row.
func (d *debian) stepAliases(t *testing.T) {
	orig, err := os.ReadFile("/etc/aliases")
	if err != nil {
		t.Fatal(err)
	}
	var lines string
	for i := 1; i <= 50; i++ {
		lines += fmt.Sprintf("team%d: sigiri, kala\n", i)
		if err := os.WriteFile("/etc/aliases", append(append([]byte{}, orig...), lines...), 0644); err != nil {
			t.Fatal(err)
		}
		d.run(t, "newaliases")
		g := dial(t, "25")
		g.smtp("220")
		g.cmd("EHLO localhost", "250")
		g.cmd("MAIL FROM:<root@localhost>", "250")
		g.send(fmt.Sprintf("RCPT TO:<team%d@localhost>", i))
		if r := g.smtp(""); !strings.HasPrefix(r, "250") {
			t.Fatalf("round %d: newaliases added team%d, the next session's RCPT got %q", i, i, r)
		}
		g.cmd("QUIT", "221")
		g.c.Close()
	}
	s := d.token("alias team50")
	d.submit(t, "root@localhost", []string{"team50@localhost"}, s, "to the team")
	d.waitMessage(t, "sigiri", s)
	d.waitMessage(t, "kala", s)
}

// stepForward: sysadmin's ~/.forward sends his mail to sigiri.
func (d *debian) stepForward(t *testing.T) {
	d.as(t, "sysadmin", "echo sigiri@localhost > ~/.forward")
	s := d.token("forward")
	d.submit(t, "root@localhost", []string{"sysadmin@localhost"}, s, "forwarded")
	m := d.waitMessage(t, "sigiri", s)
	d.noMessage(t, "sysadmin", s)
	if !strings.Contains(m, "X-Original-To: sysadmin@localhost\n") {
		t.Errorf("the forwarded message has no X-Original-To: sysadmin@localhost:\n%s", m)
	}
}

// stepSendmailT: an ordinary user sends with sendmail -t.
func (d *debian) stepSendmailT(t *testing.T) {
	s := d.token("sendmail -t")
	d.as(t, "fmaster", "printf 'To: kala@localhost\\nSubject: "+s+"\\n\\nfrom fmaster\\n' | /usr/sbin/sendmail -t")
	m := d.waitMessage(t, "kala", s)
	h, body := checkStructure(t, m[strings.IndexByte(m, '\n')+1:])
	want := map[string]bool{"Return-Path: <fmaster@" + mailname + ">": false, "To: kala@localhost": false}
	for _, l := range h {
		if _, ok := want[l]; ok {
			want[l] = true
		}
		if strings.HasPrefix(l, "From: ") && !strings.Contains(l, "fmaster@"+mailname) {
			t.Errorf("From: header %q is not fmaster@%s (myorigin = /etc/mailname)", l, mailname)
		}
	}
	for l, seen := range want {
		if !seen {
			t.Errorf("no header %q in:\n%s", l, m)
		}
	}
	if body != "from fmaster\n\n" {
		t.Errorf("body %q", body)
	}
}

// stepMaildir: home_mailbox = Maildir/ and postfix reload, as the howto;
// the howto's session again, now into fmaster's Maildir.
func (d *debian) stepMaildir(t *testing.T) {
	d.run(t, "postconf", "-e", "home_mailbox = Maildir/")
	d.reload(t)
	d.howtoSession(t)
	var m string
	deadline := time.Now().Add(30 * time.Second)
	for {
		files, _ := filepath.Glob("/home/fmaster/Maildir/new/*")
		if len(files) == 1 {
			b, _ := os.ReadFile(files[0])
			m = string(b)
			fi, _ := os.Stat(files[0])
			if st := fi.Sys().(*syscall.Stat_t); fmt.Sprint(st.Uid) != d.uid(t, "fmaster") {
				t.Errorf("%s belongs to uid %d, not fmaster", files[0], st.Uid)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message in /home/fmaster/Maildir/new after 30s (%v)", files)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.checkHowtoMessage(t, m, false)
}

func (d *debian) uid(t *testing.T, user string) string {
	return strings.TrimSpace(d.run(t, "id", "-u", user))
}

// python runs a Python 3 script with arguments.
func (d *debian) python(t *testing.T, script string, args ...string) string {
	t.Helper()
	return d.run(t, "python3", append([]string{"-c", script}, args...)...)
}

// snakeoilName is the host name in Debian's snakeoil certificate, for
// clients that check it.
func snakeoilName(t *testing.T) string {
	b, err := os.ReadFile(snakeoil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := pem.Decode(b)
	if p == nil {
		t.Fatalf("%s: no PEM", snakeoil)
	}
	c, err := x509.ParseCertificate(p.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return c.Subject.CommonName
}

// The fmaster Maildir message of stepMaildir is the one to read back.
func (d *debian) maildirMessage(t *testing.T) string {
	files, _ := filepath.Glob("/home/fmaster/Maildir/new/*")
	if len(files) != 1 {
		t.Fatalf("want one message in fmaster's Maildir/new, have %v", files)
	}
	b, _ := os.ReadFile(files[0])
	return string(b)
}

const pyPOP = `
import poplib, ssl, sys
user, pw, cafile = sys.argv[1:4]
p = poplib.POP3("127.0.0.1", 110, timeout=30)
ctx = ssl.create_default_context(cafile=cafile)
ctx.check_hostname = False  # the snakeoil name need not be 127.0.0.1; the certificate is checked
p.stls(ctx)
p.user(user)
p.pass_(pw)
n, size = p.stat()
resp, lines, octets = p.retr(1)
sys.stdout.write("count %d\n" % n)
sys.stdout.write("\n".join(l.decode() for l in lines) + "\n")
p.quit()
`

// stepPOP3: the howto's POP3 session on port 110, then STARTTLS with the
// snakeoil certificate (Python's poplib, curl --ssl-reqd).
func (d *debian) stepPOP3(t *testing.T) {
	want := d.maildirMessage(t)
	pw := d.users["fmaster"]
	g := dial(t, "110")
	if l := g.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3 greeting %q", l)
	}
	for _, c := range []string{"user fmaster", "pass " + pw, "stat"} {
		g.send(c)
		if l := g.line(); !strings.HasPrefix(l, "+OK") {
			t.Fatalf("POP3 %q: %q", strings.Fields(c)[0], l)
		}
	}
	g.send("retr 1")
	if l := g.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("POP3 retr: %q", l)
	}
	var got []string
	for {
		l := g.line()
		if l == "." {
			break
		}
		got = append(got, strings.TrimPrefix(l, "."))
	}
	if strings.Join(got, "\n")+"\n" != want {
		t.Errorf("POP3 RETR 1 gave:\n%s\nthe Maildir file is:\n%s", strings.Join(got, "\n"), want)
	}
	g.send("quit")
	if l := g.line(); !strings.HasPrefix(l, "+OK") {
		t.Errorf("POP3 quit: %q", l)
	}

	out := d.python(t, pyPOP, "fmaster", pw, snakeoil)
	if !strings.HasPrefix(out, "count 1\n") || !strings.Contains(out, "\nFrom: root@localhost\n\nAre you there?\n") {
		t.Errorf("poplib over STARTTLS:\n%s", out)
	}
	name := snakeoilName(t)
	out = d.run(t, "curl", "-sS", "--ssl-reqd", "--cacert", snakeoil, "--resolve", name+":110:127.0.0.1",
		"-u", "fmaster:"+pw, "pop3://"+name+":110/1")
	if strings.ReplaceAll(out, "\r\n", "\n") != want {
		t.Errorf("curl --ssl-reqd pop3 message 1:\n%s", out)
	}
}

const pyIMAP = `
import imaplib, ssl, sys
user, pw, cafile, tls = sys.argv[1:5]
m = imaplib.IMAP4("127.0.0.1", 143, timeout=30)
if tls == "tls":
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    m.starttls(ctx)
m.login(user, pw)
typ, data = m.select("INBOX")
print("exists", data[0].decode())
typ, data = m.fetch("1", "(ENVELOPE BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
for part in data:
    if isinstance(part, tuple):
        sys.stdout.write("== " + part[0].decode() + "\n")
        sys.stdout.write(part[1].decode())
    else:
        sys.stdout.write("== " + part.decode() + "\n")
m.logout()
`

// stepIMAP: the howto's IMAP login on port 143, then imaplib in clear and
// over STARTTLS reading the howto's message (envelope, header, text), and
// curl --ssl-reqd.
func (d *debian) stepIMAP(t *testing.T) {
	pw := d.users["fmaster"]
	g := dial(t, "143")
	if l := g.line(); !strings.HasPrefix(l, "* OK") {
		t.Fatalf("IMAP greeting %q", l)
	}
	g.send("a login fmaster " + pw)
	for {
		l := g.line()
		if strings.HasPrefix(l, "a ") {
			if !strings.HasPrefix(l, "a OK") {
				t.Fatalf("IMAP login: %q", l)
			}
			break
		}
	}
	g.send("a logout")
	if l := g.line(); !strings.HasPrefix(l, "* BYE") {
		t.Errorf("IMAP logout: %q", l)
	}
	if l := g.line(); !strings.HasPrefix(l, "a OK") {
		t.Errorf("IMAP logout: %q", l)
	}

	for _, mode := range []string{"plain", "tls"} {
		out := d.python(t, pyIMAP, "fmaster", pw, snakeoil, mode)
		out = strings.ReplaceAll(out, "\r\n", "\n")
		var lacks []string
		for _, want := range []string{
			"exists 1\n",
			`ENVELOPE ("`,                        // a date
			`((NIL NIL "root" "localhost"))`,     // from
			"Subjet: My first mail on Postfix\n", // the header block
			"From: root@localhost\n\n== ",        // ends with the empty line
			"BODY[TEXT] {16}\nAre you there?\n",  // and the body is the body (CRLF)
		} {
			if !strings.Contains(out, want) {
				lacks = append(lacks, fmt.Sprintf("%q", want))
			}
		}
		if lacks != nil {
			t.Errorf("imaplib (%s) FETCH 1 (ENVELOPE BODY[HEADER] BODY[TEXT]) of the howto's message lacks %s:\n%s", mode, strings.Join(lacks, ", "), out)
		}
	}
	name := snakeoilName(t)
	out := d.run(t, "curl", "-sS", "--ssl-reqd", "--cacert", snakeoil, "--resolve", name+":143:127.0.0.1",
		"-u", "fmaster:"+pw, "imap://"+name+":143/INBOX/;MAILINDEX=1/;SECTION=TEXT")
	if out != "Are you there?\r\n" {
		t.Errorf("curl --ssl-reqd imap TEXT of message 1: %q", out)
	}
}

// stepSMTPTLS: swaks with STARTTLS on port 25 (smtpd reads Debian's
// snakeoil key, root:ssl-cert 0640).
func (d *debian) stepSMTPTLS(t *testing.T) {
	s := d.token("starttls 25")
	out := d.run(t, "swaks", "--server", "127.0.0.1", "--port", "25", "-tls",
		"--from", "root@localhost", "--to", "kala@localhost", "--header", "Subject: "+s, "--body", "over TLS")
	if !strings.Contains(out, "TLS started") {
		t.Errorf("swaks -tls: no TLS:\n%s", out)
	}
	m := d.waitMessage(t, "kala", s)
	if !strings.Contains(m, "with ESMTPS id") {
		t.Errorf("Received: does not say ESMTPS:\n%s", m)
	}
}

// stepSubmission: Debian's commented-out submission service, uncommented
// as an admin does, then swaks with STARTTLS and AUTH on port 587.
func (d *debian) stepSubmission(t *testing.T) {
	d.sh(t, `sed -i -e '/^#submission inet/,/^#  -o milter_macro_daemon_name/{/^#submission inet/s/^#//;/^#  -o /s/^#//}' /etc/postfix/master.cf`)
	b, _ := os.ReadFile("/etc/postfix/master.cf")
	if !regexp.MustCompile(`(?m)^submission inet .*smtpd\n  -o syslog_name=postfix/submission\n  -o smtpd_tls_security_level=encrypt\n`).Match(b) {
		t.Fatalf("could not enable submission in master.cf:\n%s", b)
	}
	d.reload(t)
	s := d.token("submission")
	out := d.run(t, "swaks", "--server", "127.0.0.1", "--port", "587", "-tls",
		"--auth", "PLAIN", "--auth-user", "fmaster", "--auth-password", d.users["fmaster"],
		"--from", "fmaster@"+mailname, "--to", "kala@localhost", "--header", "Subject: "+s, "--body", "submitted")
	if !strings.Contains(out, "TLS started") || !strings.Contains(out, "235 ") {
		t.Errorf("swaks on 587: no TLS or no AUTH:\n%s", out)
	}
	d.waitMessage(t, "kala", s)
}

// stepDeferMailq: defer_transports = local keeps local mail in the queue,
// which an ordinary user sees with mailq, until postqueue -f.
func (d *debian) stepDeferMailq(t *testing.T) {
	d.run(t, "postconf", "-e", "defer_transports = local")
	d.reload(t)
	s := d.token("deferred")
	id := d.submit(t, "root@localhost", []string{"kala@localhost"}, s, "wait")
	if id == "" {
		t.Fatal("no queue ID in the reply to the end of data")
	}
	var q string
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := d.try("su", "-", "sigiri", "-c", "mailq")
		q = out
		if err == nil && strings.Contains(q, id) && strings.Contains(q, "kala@localhost") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailq as sigiri does not list %s after 30s: %v\n%s", id, err, q)
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	d.noMessage(t, "kala", s)

	// defer_transports still holds: a flush is what delivers (postconf(5)).
	d.run(t, "postqueue", "-f")
	d.waitMessage(t, "kala", s)
	d.run(t, "postconf", "-X", "defer_transports")
	d.reload(t)
	deadline = time.Now().Add(30 * time.Second)
	for {
		out, _ := d.try("su", "-", "sigiri", "-c", "mailq")
		if strings.Contains(out, "Mail queue is empty") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue is not empty after postqueue -f:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// stepWarnings: a parameter Postern does not implement is named by
// postfix check instead of silently ignored.
func (d *debian) stepWarnings(t *testing.T) {
	d.run(t, "postconf", "-e", "smtpd_milters = inet:127.0.0.1:8891")
	out := d.run(t, "/usr/sbin/postfix", "check")
	d.run(t, "postconf", "-X", "smtpd_milters")
	if !regexp.MustCompile(`warning: .*smtpd_milters`).MatchString(out) {
		t.Errorf("postfix check says nothing of smtpd_milters, which Postern does not implement:\n%s", out)
	}
}

var hashDir = regexp.MustCompile(`^/var/spool/postfix/(defer|deferred)/[0-9A-F]$`)

// stepUninstall: postfix stop, make uninstall, and Postfix's files are
// back as they were (Berkeley DB tables, master.lock's owner).
func (d *debian) stepUninstall(t *testing.T) {
	d.run(t, "/usr/sbin/postfix", "stop")
	d.stopped(t)
	// The admin's edits since make install go (they are not install's
	// business); the comparison below is then exact.
	os.WriteFile("/etc/postfix/main.cf", mainAfterInstall, 0644)
	os.WriteFile("/etc/postfix/master.cf", masterAfterInstall, 0644)
	t.Logf("make uninstall:\n%s", d.run(t, "make", "-s", "-C", d.root, "uninstall"))

	after := state(postfixPaths...)
	var diffs []string
	for p, v := range after {
		w, ok := beforeInstall[p]
		switch {
		case ok && w == v:
		case strings.HasPrefix(p, "/var/spool/postfix/public/") || strings.HasPrefix(p, "/var/spool/postfix/private/"):
			// Sockets master made; Postfix's master makes its own.
			if fi, err := os.Lstat(p); err != nil || fi.Mode()&(fs.ModeSocket|fs.ModeNamedPipe) == 0 {
				diffs = append(diffs, "changed: "+p+" "+w+" -> "+v)
			}
		case p == "/var/spool/postfix/pid/master.pid":
		case !ok && hashDir.MatchString(p) && strings.HasPrefix(v, "drwx------ "+d.uid(t, "postfix")+":"):
			// An empty hash directory of defer/ or deferred/ (hash_queue_names),
			// made as Postfix's queue manager makes them.
		case p == "/etc/postfix/virtual" || p == "/etc/postfix/virtual.db" || p == "/etc/aliases.db":
			// Edited by the admin since (and rebuilt); checked below.
		case p == "/var/lib/postfix/master.lock":
			if !strings.Contains(v, fmt.Sprintf(" %s:", d.uid(t, "postfix"))) {
				diffs = append(diffs, "master.lock not owned by postfix: "+v)
			}
		case !ok:
			diffs = append(diffs, "left behind: "+p+" "+v)
		default:
			diffs = append(diffs, "changed: "+p+" "+w+" -> "+v)
		}
	}
	for p, v := range beforeInstall {
		// Runtime files a master left (sockets in public/ and private/, the
		// pid file) may go: the next master makes its own.
		runtime := p == "/var/spool/postfix/pid/master.pid" ||
			((strings.HasPrefix(p, "/var/spool/postfix/public/") || strings.HasPrefix(p, "/var/spool/postfix/private/")) &&
				(strings.HasPrefix(v, "S") || strings.HasPrefix(v, "p")))
		if _, ok := after[p]; !ok && !runtime {
			diffs = append(diffs, "gone: "+p+" "+v)
		}
	}
	sort.Strings(diffs)
	for _, x := range diffs {
		t.Error(x)
	}
	for _, f := range []string{"/etc/aliases.db", "/etc/postfix/virtual.db"} {
		if !isBerkeleyDB(f) {
			t.Errorf("%s is not Postfix's Berkeley DB after make uninstall", f)
		}
	}
	if !isBerkeleyDB("/etc/postfix/virtual.db") {
		// So that the last step can show Postfix delivering all the same.
		b, _ := os.ReadFile(filepath.Join(pristine, "virtual.db.postfix"))
		os.WriteFile("/etc/postfix/virtual.db", b, 0644)
	}
	if out := d.run(t, "dpkg", "--verify", "postfix"); out != "" {
		t.Errorf("dpkg --verify postfix after make uninstall:\n%s", out)
	}
}

// stepPostfix: Debian's own Postfix starts again and delivers one message
// on port 25 into /var/mail.
func (d *debian) stepPostfix(t *testing.T) {
	if _, err := os.Stat("/var/lib/postern/manifest"); err == nil {
		t.Fatal("Postern is still installed")
	}
	banner := d.start(t)
	if want := "220 " + d.host + " ESMTP Postfix (Debian/GNU)"; banner != want {
		t.Errorf("banner %q, want %q", banner, want)
	}
	s := d.token("real postfix")
	// Through the virtual.db uninstall gave back, untouched by Postfix's
	// postmap since.
	d.submit(t, "root@localhost", []string{"info@fossedu.org"}, s, "delivered by Postfix")
	m := d.waitMessage(t, "sigiri", s)
	if !strings.HasPrefix(m, "From root@localhost ") || !strings.Contains(m, "X-Original-To: info@fossedu.org\nDelivered-To: sigiri@") {
		t.Errorf("Postfix's delivery into /var/mail/sigiri:\n%s", m)
	}
	d.run(t, "/usr/sbin/postfix", "stop")
	d.stopped(t)
}
