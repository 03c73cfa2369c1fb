package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"postern/pkg/dsn"
	"postern/pkg/printable"
)

// Kinds of final delivery, in local(8)'s precedence order (§6.2 step 6).
const (
	kindCommand = "command" // mailbox_command
	kindMaildir = "maildir" // home_mailbox ending in "/"
	kindMbox    = "mbox"    // home_mailbox, or mail_spool_directory/USER
)

// mailbox delivers to the user's mailbox: mailbox_command, then
// home_mailbox (Maildir or mbox), then mail_spool_directory.
func (s *server) mailbox(rc *rcpt, u *account, qf *os.File) dsn.Status {
	r := rc.req
	j := &job{
		User:    u.Name,
		Home:    u.Home,
		Sender:  printable.Except(r.Sender, '_', "\t"),
		Offset:  r.Offset,
		UID:     u.UID,
		ChownTo: -1,
	}
	returnPath := "Return-Path: <" + printable.Except(r.Sender, '_', "\t") + ">"
	j.Prepend = []string{returnPath}
	if s.cfg.origRecipient && r.Orig != "" {
		j.Prepend = append(j.Prepend, "X-Original-To: "+printable.Except(r.Orig, '_', "\t"))
	}
	dt := rc.Addr
	if rc.Delivered != "" {
		dt = rc.Delivered
	}
	delivered := "Delivered-To: " + printable.Except(dt, '_', "\t")
	uid, gid := u.UID, u.GID

	switch hm := s.cfg.homeMailbox; {
	case s.cfg.mailboxCommand != "":
		j.Kind = kindCommand
		j.Command = s.cfg.mailboxCommand
		j.Shell = s.cfg.commandShell
		j.TimeLimit = s.cfg.commandTimeLimit
		j.Env = s.commandEnv(rc, u)
		j.Dir = u.Home
		if s.cfg.commandDir != "" {
			j.Dir = s.cfg.commandDir
		}
		j.CheckHome = true
		if s.cfg.deliveredCommand {
			j.Prepend = append(j.Prepend, delivered)
		}
		// Postfix never runs a command as root: root's mailbox_command
		// runs as default_privs.
		if uid == 0 || gid == 0 {
			dp, err := lookupUser(s.cfg.defaultPrivs)
			if err != nil || dp.UID == 0 || dp.GID == 0 {
				s.log.Warn("default_privs %q: unknown or privileged user", s.cfg.defaultPrivs)
				return dsn.Defer("4.3.5", "mail system configuration error")
			}
			if uid == 0 {
				uid = dp.UID
			}
			if gid == 0 {
				gid = dp.GID
			}
		}
	case strings.HasSuffix(hm, "/"):
		j.Kind = kindMaildir
		j.Path = filepath.Join(u.Home, hm) + "/"
		j.CheckHome = true
		if s.cfg.deliveredFile {
			j.Prepend = append(j.Prepend, delivered)
		}
	case hm == "" && strings.HasSuffix(s.cfg.spoolDir, "/"):
		// mail_spool_directory ending in "/": a Maildir per user in the spool, as Postfix.
		j.Kind = kindMaildir
		j.Path = filepath.Join(s.cfg.spoolDir, u.Name) + "/"
		uid, gid, _ = s.spoolIdentity(u)
		if uid == 0 {
			uid, gid = u.UID, u.GID
		}
		if s.cfg.deliveredFile {
			j.Prepend = append(j.Prepend, delivered)
		}
	default:
		j.Kind = kindMbox
		j.DotLock, j.Fcntl = s.cfg.dotLock, s.cfg.fcntl
		j.LockAttempts, j.LockDelay, j.StaleLock = s.cfg.lockAttempts, s.cfg.lockDelay, s.cfg.staleLock
		j.SizeLimit = s.cfg.sizeLimit
		j.StrictOwner = s.cfg.strictOwner
		if s.cfg.deliveredFile {
			j.Prepend = append(j.Prepend, delivered)
		}
		if hm != "" {
			j.Path = filepath.Join(u.Home, hm)
			j.CheckHome = true
			// Outside the spool directory the user may not be able to
			// create a dot lock; Postfix then relies on the fcntl lock.
			j.DotLockMayFail = true
		} else {
			j.Path = filepath.Join(s.cfg.spoolDir, u.Name)
			uid, gid, j.ChownTo = s.spoolIdentity(u)
			j.ChownGID = u.GID
		}
	}
	if s.cfg.requireHome {
		j.CheckHome = true
	}
	res := s.run(j, qf, uid, gid)
	for _, w := range res.Warnings {
		s.log.Warn("%s", printable.Except(w, '_', "\t"))
	}
	return dsn.Status{Code: res.Code, Text: res.Text}
}

// spoolIdentity is Postfix's rule for mail_spool_directory deliveries
// (§6.4): a world-writable spool is written as the user; a group-writable
// one (Debian's root:mail 2775) with the user's uid and the directory's
// group, so the dot lock can be created; otherwise as root, with a new
// mailbox handed to the user afterwards.
func (s *server) spoolIdentity(u *account) (uid, gid, chownTo int) {
	if s.euid != 0 {
		return u.UID, u.GID, -1 // an unprivileged local can only be itself
	}
	var st syscall.Stat_t
	switch err := syscall.Stat(s.cfg.spoolDir, &st); {
	case err != nil || st.Mode&0o002 != 0:
		return u.UID, u.GID, -1
	case st.Mode&0o020 != 0:
		return u.UID, int(st.Gid), -1
	}
	return 0, 0, u.UID
}

// commandEnv is the environment of mailbox_command, as Postfix's
// deliver_command(): values outside command_expansion_filter become "_".
func (s *server) commandEnv(rc *rcpt, u *account) []string {
	r := rc.req
	env := []string{"PATH=/usr/bin:/bin"}
	for _, name := range s.cfg.exportEnv {
		if v, ok := os.LookupEnv(name); ok && name != "PATH" {
			env = append(env, name+"="+v)
		}
	}
	add := func(name, value string, always bool) {
		if value == "" && !always {
			return
		}
		if len(value) > maxEnvValue {
			value = value[:maxEnvValue] // a hostile HELO must not make exec fail with E2BIG
		}
		env = append(env, name+"="+filterValue(value, s.cfg.expansionFilter))
	}
	add("HOME", u.Home, true)
	add("LOGNAME", u.Name, true)
	add("USER", u.Name, true)
	add("SENDER", r.Sender, true)
	add("RECIPIENT", rc.Addr, true)
	add("LOCAL", rc.Local, true)
	add("SHELL", u.Shell, false)
	add("DOMAIN", rc.Domain, false)
	add("EXTENSION", rc.Ext, false)
	add("ORIGINAL_RECIPIENT", r.Orig, false)
	add("CLIENT_HOSTNAME", r.ClientName, false)
	add("CLIENT_ADDRESS", r.ClientAddr, false)
	add("CLIENT_HELO", r.ClientHelo, false)
	add("CLIENT_PROTOCOL", r.ClientProto, false)
	add("SASL_METHOD", r.SASLMethod, false)
	add("SASL_SENDER", r.SASLSender, false)
	add("SASL_USERNAME", r.SASLUser, false)
	return env
}

// maxEnvValue bounds one exported value.
const maxEnvValue = 4096

func filterValue(v, allowed string) string {
	b := []byte(v)
	for i, c := range b {
		if strings.IndexByte(allowed, c) < 0 {
			b[i] = '_'
		}
	}
	return string(b)
}

// lockWait bounds how long an mbox delivery may wait for its locks.
func (j *job) lockWait() time.Duration {
	a, d := j.LockAttempts, j.LockDelay
	if a <= 0 {
		a = 20
	}
	if d <= 0 {
		d = time.Second
	}
	return 2 * time.Duration(a) * d
}
