package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"

	"postern/pkg/testenv"
)

// demoUser is the mailbox owner of make run's instance when it runs as root
// (authd never serves uid 0, and Postfix never writes root's mail as root).
const demoUser = "postern-demo"

// setup writes the configuration of make run: ./run/etc, a queue under
// ./run/spool, mail in per-user Maildirs under ./run/mail/ (so POP3 and
// IMAP serve what local delivered), the log in ./run/maillog, and a demo
// POP3/IMAP account in ./run/etc/users with a fresh password.
func setup(o *options) error {
	dir, err := filepath.Abs(o.setup)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if err := testenv.EnsureSystemAccounts(); err != nil {
		return err
	}
	u, err := demoAccount()
	if err != nil {
		return err
	}
	mailDir := filepath.Join(dir, "mail") + "/"
	users := filepath.Join(dir, "etc", "users")
	l := &testenv.Layout{
		Dir:            dir,
		BinDir:         filepath.Dir(exe),
		MyHostname:     "localhost",
		MyDomain:       "localdomain",
		SMTPAddr:       fmt.Sprintf("127.0.0.1:%d", o.smtpPort),
		SubmissionAddr: fmt.Sprintf("127.0.0.1:%d", o.submissionPort),
		POP3Addr:       fmt.Sprintf("127.0.0.1:%d", o.pop3Port),
		IMAPAddr:       fmt.Sprintf("127.0.0.1:%d", o.imapPort),
		MainCF: "mail_spool_directory = " + mailDir + "\n" +
			"postern_passwd_file = " + users + "\n" +
			"authd_system_users = no\n" +
			"authd_failure_delay = 1s\n",
	}
	if err := l.Write(); err != nil {
		return err
	}
	pw := password()
	line := fmt.Sprintf("%s:{PLAIN}%s:%s:%s::%s::userdb_mail=maildir:%s%s/\n",
		u.Username, pw, u.Uid, u.Gid, dir, mailDir, u.Username)
	if err := os.WriteFile(users, []byte(line), 0600); err != nil {
		return err
	}
	// The spool Maildir must exist and belong to the user before local writes there,
	// as Postfix requires for a Maildir-style mail_spool_directory.
	box := filepath.Join(mailDir, u.Username)
	if err := os.MkdirAll(box, 0700); err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Chown(box, uid, gid)
	return os.WriteFile(filepath.Join(dir, "demo"), []byte(fmt.Sprintf("%s %s\n", u.Username, pw)), 0600)
}

// demoAccount is the invoking user, or a system account made for the demo when root.
func demoAccount() (*user.User, error) {
	if os.Geteuid() != 0 {
		return user.Current()
	}
	if u, err := user.Lookup(demoUser); err == nil {
		return u, nil
	}
	if out, err := exec.Command("useradd", "-r", "-U", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
		"-c", "Postern make run demo", demoUser).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("useradd %s: %v: %s", demoUser, err, out)
	}
	return user.Lookup(demoUser)
}

func password() string {
	const letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}
