package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// Layout describes one self-contained Postern instance: its directories,
// its listening addresses and its extra configuration. Write turns it into
// main.cf and master.cf; the test harness, make run and the load generator
// all use it, so they run the same configuration.
type Layout struct {
	Dir        string // root of the instance
	BinDir     string // daemon_directory
	MyHostname string // default postern.test
	MyDomain   string // default: myhostname without its first label, or localdomain
	MailOwner  string // default: postfix when root, else the current user

	SMTPAddr       string // 127.0.0.1:PORT of the smtp service (required)
	SubmissionAddr string // optional, when smtpd exists
	POP3Addr       string // optional, when pop3d exists
	IMAPAddr       string // optional, when imapd exists

	MainCF   string // extra main.cf lines, appended
	MasterCF string // extra master.cf lines, appended
}

// Paths of the instance below Dir.
func (l *Layout) ConfigDir() string { return filepath.Join(l.Dir, "etc") }
func (l *Layout) QueueDir() string  { return filepath.Join(l.Dir, "spool") }
func (l *Layout) DataDir() string   { return filepath.Join(l.Dir, "data") }
func (l *Layout) MailDir() string   { return filepath.Join(l.Dir, "mail") }
func (l *Layout) LogFile() string   { return filepath.Join(l.Dir, "maillog") }

// DefaultMailOwner is the mail_owner the harness uses: postfix when running
// as root (so unprivileged children really drop privileges), else the
// invoking user.
func DefaultMailOwner() string {
	if os.Geteuid() == 0 {
		return "postfix"
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// EnsureSystemAccounts creates the postfix user and the postdrop group when
// running as root and they are missing, as a package install would.
func EnsureSystemAccounts() error {
	if os.Geteuid() != 0 {
		return nil
	}
	if _, err := user.LookupGroup("postdrop"); err != nil {
		if out, err := exec.Command("groupadd", "-r", "postdrop").CombinedOutput(); err != nil {
			if _, lerr := user.LookupGroup("postdrop"); lerr != nil {
				return fmt.Errorf("groupadd postdrop: %v: %s", err, out)
			}
		}
	}
	if _, err := user.Lookup("postfix"); err != nil {
		out, err := exec.Command("useradd", "-r", "-U", "-M", "-d", "/var/spool/postfix",
			"-s", "/usr/sbin/nologin", "-c", "Postfix MTA", "postfix").CombinedOutput()
		if err != nil {
			if _, lerr := user.Lookup("postfix"); lerr != nil {
				return fmt.Errorf("useradd postfix: %v: %s", err, out)
			}
		}
	}
	return nil
}

// FreeAddr returns 127.0.0.1:PORT for a port that was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// MainCFText is the main.cf the layout stands for.
func (l *Layout) MainCFText() string {
	host := l.MyHostname
	if host == "" {
		host = "postern.test"
	}
	domain := l.MyDomain
	if domain == "" {
		if _, rest, ok := strings.Cut(host, "."); ok && rest != "" {
			domain = rest
		} else {
			domain = "localdomain"
		}
	}
	owner := l.MailOwner
	if owner == "" {
		owner = DefaultMailOwner()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by postern/pkg/testenv for a self-contained instance.\n")
	fmt.Fprintf(&b, "queue_directory = %s\n", l.QueueDir())
	fmt.Fprintf(&b, "data_directory = %s\n", l.DataDir())
	fmt.Fprintf(&b, "daemon_directory = %s\n", l.BinDir)
	fmt.Fprintf(&b, "command_directory = %s\n", l.BinDir)
	fmt.Fprintf(&b, "mail_spool_directory = %s\n", l.MailDir())
	fmt.Fprintf(&b, "maillog_file = %s\n", l.LogFile())
	fmt.Fprintf(&b, "maillog_file_prefixes = /var, /dev/stdout, %s\n", l.Dir)
	fmt.Fprintf(&b, "myhostname = %s\n", host)
	fmt.Fprintf(&b, "mydomain = %s\n", domain)
	fmt.Fprintf(&b, "myorigin = $myhostname\n")
	fmt.Fprintf(&b, "mydestination = $myhostname, localhost.$mydomain, localhost\n")
	fmt.Fprintf(&b, "inet_interfaces = loopback-only\n")
	fmt.Fprintf(&b, "inet_protocols = ipv4\n")
	fmt.Fprintf(&b, "mynetworks = 127.0.0.0/8\n")
	fmt.Fprintf(&b, "mail_owner = %s\n", owner)
	fmt.Fprintf(&b, "alias_maps =\n")
	fmt.Fprintf(&b, "alias_database =\n")
	fmt.Fprintf(&b, "compatibility_level = 3.6\n")
	if l.MainCF != "" {
		b.WriteString(strings.TrimRight(l.MainCF, "\n") + "\n")
	}
	return b.String()
}

// MasterCFText is the master.cf the layout stands for: only services whose
// program exists in BinDir.
func (l *Layout) MasterCFText() string {
	has := func(p string) bool { return l.BinDir == "" || Has(l.BinDir, p) }
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("# service type  private unpriv  chroot  wakeup  maxproc command + args")
	line("%-14s inet  n       -       n       -       -       smtpd", l.SMTPAddr)
	if l.SubmissionAddr != "" && has("smtpd") {
		line("%-14s inet  n       -       n       -       -       smtpd", l.SubmissionAddr)
		line("  -o syslog_name=postfix/submission")
	}
	if has("pickup") {
		line("pickup         unix  n       -       n       60      1       pickup")
	}
	line("cleanup        unix  n       -       n       -       0       cleanup")
	line("qmgr           unix  n       -       n       300     1       qmgr")
	if has("bounce") {
		line("bounce         unix  -       -       n       -       0       bounce")
		line("defer          unix  -       -       n       -       0       bounce")
		line("trace          unix  -       -       n       -       0       bounce")
	}
	if has("smtp") {
		line("smtp           unix  -       -       n       -       -       smtp")
		line("relay          unix  -       -       n       -       -       smtp")
	}
	line("local          unix  -       n       n       -       -       local")
	if has("showq") {
		line("showq          unix  n       -       n       -       -       showq")
	}
	if has("postlogd") {
		line("postlog        unix-dgram n  -       n       -       1       postlogd")
	}
	if has("authd") {
		line("auth           unix  -       n       n       -       -       authd")
	}
	if l.POP3Addr != "" && has("pop3d") {
		// unpriv = n: pop3d and imapd must start as root to serve each user as that user.
		line("%-14s inet  n       n       n       -       -       pop3d", l.POP3Addr)
	}
	if l.IMAPAddr != "" && has("imapd") {
		line("%-14s inet  n       n       n       -       -       imapd", l.IMAPAddr)
	}
	if l.MasterCF != "" {
		b.WriteString(strings.TrimRight(l.MasterCF, "\n") + "\n")
	}
	return b.String()
}

// Write creates the instance's directories and writes main.cf and
// master.cf. Directories are mode 0755 (the mail spool 1777, as
// /var/mail's group-writable equivalent) so that mail_owner and the
// recipients can reach what they must.
func (l *Layout) Write() error {
	for _, d := range []string{l.Dir, l.ConfigDir(), l.MailDir()} {
		if err := os.MkdirAll(d, 0755); err != nil {
			return err
		}
	}
	if err := os.Chmod(l.Dir, 0755); err != nil {
		return err
	}
	if err := os.Chmod(l.MailDir(), 0777|os.ModeSticky); err != nil {
		return err
	}
	// Every process appends to maillog_file itself, whatever its uid.
	f, err := os.OpenFile(l.LogFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0666)
	if err != nil {
		return err
	}
	f.Close()
	os.Chmod(l.LogFile(), 0666)
	if err := os.WriteFile(filepath.Join(l.ConfigDir(), "main.cf"), []byte(l.MainCFText()), 0644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.ConfigDir(), "master.cf"), []byte(l.MasterCFText()), 0644)
}
