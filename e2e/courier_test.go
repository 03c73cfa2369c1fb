package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern/pkg/testenv"
)

// TestCourierReplacement is the howto's Courier chapter under master: a system account made
// with useradd + chpasswd (Debian's default hash), mail delivered by Postern's local into
// ~/Maildir, read back over POP3 (the seed's `user`/`pass` dialogue, RETR byte-exact against
// the file) and IMAP (`a login`, SELECT, FETCH), and IMAP IDLE told of a new delivery.
func TestCourierReplacement(t *testing.T) {
	need(t, append(core, "authd", "pop3d", "imapd")...)
	if _, err := exec.LookPath("chpasswd"); err != nil {
		t.Skip("no chpasswd")
	}
	name, home, _ := testenv.User(t) // skips unless root
	const password = "Sekr1t-pass"
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v %s", err, out)
	}
	popAddr, _ := testenv.FreeAddr()
	imapAddr, _ := testenv.FreeAddr()
	e := testenv.Start(t, testenv.Options{
		MainCF: "home_mailbox = Maildir/\nauthd_failure_delay = 1s\n",
		MasterCF: fmt.Sprintf("%-14s inet  n       n       n       -       -       pop3d\n"+
			"%-14s inet  n       n       n       -       -       imapd\n", popAddr, imapAddr),
	})
	rcpt := name + "@postern.test"
	e.SendMail(t, "sender@example.org", []string{rcpt}, "Subject: over pop3\r\n\r\nfirst line\r\n.dot line\r\n")
	var file string
	e.WaitFor(t, 30*time.Second, func() bool {
		n := e.MaildirNew(home)
		if len(n) == 1 {
			file = n[0]
			if !filepath.IsAbs(file) {
				file = filepath.Join(home, "Maildir", "new", file)
			}
		}
		return len(n) == 1
	})
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wire := strings.ReplaceAll(string(raw), "\n", "\r\n")
	wire = strings.ReplaceAll(wire, "\r\n.", "\r\n..")

	// POP3, as the seed: user, pass, then the transaction commands.
	pop := dialText(t, popAddr)
	pop.expect("+OK")
	pop.cmd("user "+name, "+OK")
	pop.cmd("pass "+password, "+OK")
	pop.cmd("STAT", "+OK 1 "+strconv.Itoa(len(strings.ReplaceAll(string(raw), "\n", "\r\n"))))
	pop.cmd("RETR 1", "+OK")
	if got := pop.multi(); got != wire {
		t.Fatalf("RETR:\n%q\nwant\n%q", got, wire)
	}
	pop.cmd("QUIT", "+OK")

	// A wrong password is refused.
	bad := dialText(t, popAddr)
	bad.expect("+OK")
	bad.cmd("user "+name, "+OK")
	bad.cmd("pass wrong", "-ERR")

	// IMAP: the seed's login, then SELECT, FETCH, and IDLE across a new delivery.
	im := dialText(t, imapAddr)
	im.expect("* OK")
	im.cmd("a login "+name+" "+password, "a OK")
	im.cmd("b select INBOX", "b OK")
	im.send("c fetch 1 (FLAGS RFC822.SIZE)")
	if line := im.until("c OK"); !strings.Contains(line, "RFC822.SIZE "+strconv.Itoa(len(strings.ReplaceAll(string(raw), "\n", "\r\n")))) {
		t.Errorf("FETCH: %q", line)
	}
	im.cmd("d idle", "+")
	start := time.Now()
	e.SendMail(t, "sender@example.org", []string{rcpt}, "Subject: while idling\r\n\r\nnew\r\n")
	im.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := im.r.ReadString('\n')
		if err != nil {
			t.Fatalf("IDLE: no EXISTS: %v", err)
		}
		if strings.Contains(line, "EXISTS") {
			break
		}
	}
	// Delivery itself (SMTP, queue, local) is part of the measured time.
	took := time.Since(start)
	t.Logf("IDLE saw the delivery %v after the SMTP submission began", took)
	if took > 3*time.Second { // issue 5 asks for a second; slack for a loaded CI machine
		t.Errorf("IDLE took %v to report a new message", took)
	}
	im.send("DONE")
	im.until("d OK")
	im.cmd("e logout", "* BYE")
	e.WaitLog(t, regexpMust(`postfix/imapd\[\d+\]: Login: user=<`+name+`>, method=PLAIN`))
	e.WaitLog(t, regexpMust(`postfix/pop3d\[\d+\]: Login: user=<`+name+`>`))
}

type textConn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialText(t *testing.T, addr string) *textConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &textConn{t: t, c: c, r: bufio.NewReader(c)}
}

func (p *textConn) send(line string) {
	p.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(p.c, "%s\r\n", line)
}

func (p *textConn) expect(prefix string) string {
	p.t.Helper()
	p.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	line, err := p.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, prefix) {
		p.t.Fatalf("want %q, got %q (%v)", prefix, line, err)
	}
	return line
}

func (p *textConn) cmd(line, prefix string) string {
	p.t.Helper()
	p.send(line)
	if strings.HasPrefix(prefix, "a ") || strings.HasPrefix(prefix, "b ") {
		return p.until(prefix)
	}
	return p.expect(prefix)
}

// until reads lines up to the one starting with prefix and returns everything read.
func (p *textConn) until(prefix string) string {
	p.t.Helper()
	var all strings.Builder
	p.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		line, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("want a line %q, got %q (%v)", prefix, all.String(), err)
		}
		all.WriteString(line)
		if strings.HasPrefix(line, prefix) {
			return all.String()
		}
		if strings.HasPrefix(line, strings.Fields(prefix)[0]+" NO") || strings.HasPrefix(line, strings.Fields(prefix)[0]+" BAD") {
			p.t.Fatalf("want %q, got %q", prefix, line)
		}
	}
}

// multi reads a POP3 multi-line answer up to the lone dot, returned with CRLF line ends as sent.
func (p *textConn) multi() string {
	p.t.Helper()
	var b strings.Builder
	p.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		line, err := p.r.ReadString('\n')
		if err != nil {
			p.t.Fatalf("multi-line: %v after %q", err, b.String())
		}
		if line == ".\r\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}
