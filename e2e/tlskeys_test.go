package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/pkg/passwd"
	"postern/pkg/service"
	"postern/pkg/testenv"
)

// TestTLSKeysReadAsRoot is issue 9's first item: the certificate and key are root:root 0600
// in a root 0700 directory (a certbot key; Debian's snakeoil key is no easier), and
//   - smtpd of an unprivileged service (master.cf unpriv y, as Debian's smtp line) answers
//     STARTTLS with 220, completes the handshake and takes a message over it, and so does a
//     wrapper mode (smtps) smtpd, each running as mail_owner with no supplementary group;
//   - pop3d STLS, imapd STARTTLS and the 995/993 wrapper services log in over TLS and hand
//     the session to the user's process (the TLS relay of pkg/handoff);
//   - every child master started with -u runs as mail_owner, in every thread.
func TestTLSKeysReadAsRoot(t *testing.T) {
	need(t, append(core, "authd", "pop3d", "imapd")...)
	if _, err := exec.LookPath("chpasswd"); err != nil {
		t.Skip("no chpasswd")
	}
	name, home, _ := testenv.User(t) // skips unless root
	const password = "Tls-Sekr1t"
	cp := exec.Command("chpasswd")
	cp.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v %s", err, out)
	}
	owner, err := passwd.Lookup(testenv.DefaultMailOwner())
	if err != nil {
		t.Fatal(err)
	}

	dir := testenv.TempRoot(t, "pt-keys-")
	priv := filepath.Join(dir, "private")
	if err := os.Mkdir(priv, 0700); err != nil {
		t.Fatal(err)
	}
	cert, key := testenv.SelfSignedCert(t, priv, "postern.test")
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	cat := exec.Command("cat", key)
	cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(owner.UID), Gid: uint32(owner.GID)}}
	if err := cat.Run(); err == nil {
		t.Fatalf("mail_owner %s can read %s: the test proves nothing", owner.Name, key)
	}

	addr := func() string {
		a, err := testenv.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	smtpAddr, smtpsAddr, popAddr, popsAddr, imapAddr, imapsAddr := addr(), addr(), addr(), addr(), addr(), addr()
	e := testenv.Start(t, testenv.Options{
		MainCF: fmt.Sprintf("home_mailbox = Maildir/\nauthd_failure_delay = 1s\n"+
			"smtpd_tls_security_level = may\nsmtpd_tls_cert_file = %s\nsmtpd_tls_key_file = %s\n", cert, key),
		MasterCF: fmt.Sprintf("%s inet n - n - - smtpd\n"+
			"%s inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n"+
			"%s inet n n n - - pop3d\n"+
			"%s inet n n n - - pop3d\n  -o pop3d_tls_wrappermode=yes\n"+
			"%s inet n n n - - imapd\n"+
			"%s inet n n n - - imapd\n  -o imapd_tls_wrappermode=yes\n",
			smtpAddr, smtpsAddr, popAddr, popsAddr, imapAddr, imapsAddr),
	})
	tlsCfg := &tls.Config{InsecureSkipVerify: true}
	checkPeer := func(what string, st tls.ConnectionState) {
		t.Helper()
		if !st.HandshakeComplete || len(st.PeerCertificates) == 0 || st.PeerCertificates[0].Subject.CommonName != "postern.test" {
			t.Errorf("%s: TLS state %+v", what, st)
		}
	}
	// asOwner checks the process serving service svc (its -n name) while a connection is open.
	asOwner := func(what, svc string) {
		t.Helper()
		pid := servicePID(t, e, "smtpd", svc)
		threads, err := service.ProcCreds(pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range threads {
			if !c.Are(owner.UID, owner.GID) {
				t.Errorf("%s: smtpd pid %d has %+v, want uid %d gid %d and no groups", what, pid, c, owner.UID, owner.GID)
			}
		}
	}
	rcpt := name + "@postern.test"
	send := func(c *smtp.Client, subject string) {
		t.Helper()
		if err := c.Mail("sender@example.org"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(rcpt); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: %s\r\n\r\nover TLS\r\n", subject)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
	}

	// STARTTLS on the unprivileged smtpd: 220 (net/smtp insists), the handshake, then a
	// message.
	c, err := smtp.Dial(smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(tlsCfg); err != nil {
		t.Fatalf("STARTTLS: %v\n%s", err, e.Log())
	}
	st, _ := c.TLSConnectionState()
	checkPeer("STARTTLS", st)
	asOwner("STARTTLS", smtpAddr)
	send(c, "over STARTTLS")

	// smtps: TLS from the first byte.
	wc, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", smtpsAddr, tlsCfg)
	if err != nil {
		t.Fatalf("smtps: %v\n%s", err, e.Log())
	}
	wc.SetDeadline(time.Now().Add(60 * time.Second))
	checkPeer("smtps", wc.ConnectionState())
	asOwner("smtps", smtpsAddr)
	c, err = smtp.NewClient(wc, "postern.test")
	if err != nil {
		t.Fatal(err)
	}
	send(c, "over smtps")

	e.WaitFor(t, 30*time.Second, func() bool { return len(e.MaildirNew(home)) == 2 })

	// Every child master started with -u (the smtp and smtps smtpd above among them) is
	// mail_owner in every thread.
	if n := checkUnprivileged(t, e, owner); n < 2 {
		t.Errorf("%d unprivileged children found, want at least the two smtpd", n)
	}

	// pop3d STLS and pop3s, then imapd STARTTLS and imaps: login and the session over TLS.
	pop := func(what string, c net.Conn) {
		p := &textConn{t: t, c: c, r: bufio.NewReader(c)}
		p.cmd("user "+name, "+OK")
		p.cmd("pass "+password, "+OK")
		p.cmd("STAT", "+OK 2 ")
		p.cmd("QUIT", "+OK")
	}
	p := dialText(t, popAddr)
	p.expect("+OK")
	p.cmd("STLS", "+OK")
	ptc := tls.Client(p.c, tlsCfg)
	if err := ptc.Handshake(); err != nil {
		t.Fatalf("pop3 STLS handshake: %v", err)
	}
	checkPeer("pop3 STLS", ptc.ConnectionState())
	pop("STLS", ptc)
	pw, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", popsAddr, tlsCfg)
	if err != nil {
		t.Fatalf("pop3s: %v", err)
	}
	defer pw.Close()
	checkPeer("pop3s", pw.ConnectionState())
	pr := &textConn{t: t, c: pw, r: bufio.NewReader(pw)}
	pr.expect("+OK")
	pop("pop3s", pw)

	imap := func(c net.Conn) {
		m := &textConn{t: t, c: c, r: bufio.NewReader(c)}
		m.cmd("a login "+name+" "+password, "a OK")
		if got := m.cmd("b select INBOX", "b OK"); !strings.Contains(got, "* 2 EXISTS") {
			t.Errorf("SELECT over TLS: %q", got)
		}
		m.cmd("c logout", "* BYE")
	}
	m := dialText(t, imapAddr)
	m.expect("* OK")
	m.send("s STARTTLS")
	m.expect("s OK")
	mtc := tls.Client(m.c, tlsCfg)
	if err := mtc.Handshake(); err != nil {
		t.Fatalf("imap STARTTLS handshake: %v", err)
	}
	checkPeer("imap STARTTLS", mtc.ConnectionState())
	imap(mtc)
	mw, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", imapsAddr, tlsCfg)
	if err != nil {
		t.Fatalf("imaps: %v", err)
	}
	defer mw.Close()
	checkPeer("imaps", mw.ConnectionState())
	mr := &textConn{t: t, c: mw, r: bufio.NewReader(mw)}
	mr.expect("* OK")
	imap(mw)
	if strings.Contains(e.Log(), "cannot load TLS") {
		t.Errorf("a daemon could not load the key:\n%s", e.Log())
	}
}

// servicePID is the PID of master's child running program for the master.cf service
// named svc (its -n argument).
func servicePID(t *testing.T, e *testenv.Env, program, svc string) int {
	t.Helper()
	for _, pid := range e.PIDsOf(t, program) {
		if args := cmdline(pid); len(args) > 0 && argValue(args, "-n") == svc {
			return pid
		}
	}
	t.Fatalf("no %s process for service %s", program, svc)
	return 0
}

func cmdline(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

func argValue(args []string, flag string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == flag {
			return args[i+1]
		}
	}
	return ""
}

// checkUnprivileged checks that every child of master started with -u runs as owner in
// every thread, with no supplementary group; it returns how many it checked.
func checkUnprivileged(t *testing.T, e *testenv.Env, owner *passwd.User) int {
	t.Helper()
	n := 0
	for _, prog := range []string{"smtpd", "smtp", "cleanup", "qmgr", "pickup", "bounce", "local", "authd", "pop3d", "imapd", "showq"} {
		for _, pid := range e.PIDsOf(t, prog) {
			unpriv := false
			for _, a := range cmdline(pid) {
				unpriv = unpriv || a == "-u"
			}
			if !unpriv {
				continue
			}
			threads, err := service.ProcCreds(pid)
			if err != nil {
				continue // it exited meanwhile
			}
			n++
			for _, c := range threads {
				if !c.Are(owner.UID, owner.GID) {
					t.Errorf("%s pid %d (-u) has %+v, want uid %d gid %d and no groups", prog, pid, c, owner.UID, owner.GID)
				}
			}
		}
	}
	return n
}
