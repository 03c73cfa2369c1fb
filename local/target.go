package main

import (
	"fmt"
	"strings"

	"postern/pkg/dsn"
	"postern/pkg/printable"
	"postern/pkg/runas"
)

// identity is who a command or file destination runs as: the rights in
// effect (alias table owner, .forward user, :include: file owner), but
// never root: default_privs instead.
func (x *expansion) identity(st state) (*account, error) {
	if st.priv != nil && st.priv.UID != 0 && st.priv.GID != 0 {
		return st.priv, nil
	}
	dp, err := lookupUser(x.s.cfg.defaultPrivs)
	if err != nil || dp.UID == 0 || dp.GID == 0 {
		x.s.log.Warn("default_privs %q: unknown or privileged user", x.s.cfg.defaultPrivs)
		return nil, fmt.Errorf("bad default_privs")
	}
	if st.priv != nil && st.priv.UID != 0 {
		a := *st.priv
		a.GID = dp.GID
		return &a, nil
	}
	return dp, nil
}

// prepend is the Return-Path, X-Original-To and Delivered-To block of a
// file or command destination.
func (x *expansion) prepend(st state, delivered bool) []string {
	p := []string{"Return-Path: <" + printable.Except(st.sender, '_', "\t") + ">"}
	if x.s.cfg.origRecipient && x.r.Orig != "" && !st.list {
		p = append(p, "X-Original-To: "+printable.Except(x.r.Orig, '_', "\t"))
	}
	if delivered {
		p = append(p, "Delivered-To: "+printable.Except(st.delivered, '_', "\t"))
	}
	return p
}

// file appends to /path/name in mbox format (a name ending in "/" is a
// Maildir), as deliver_file().
func (x *expansion) file(rc *rcpt, path string, st state) {
	acct, err := x.identity(st)
	if err != nil {
		x.record(rc.Addr, st, dsn.Defer("4.3.5", "mail system configuration error"))
		return
	}
	if x.been(fmt.Sprintf("file %d %s", acct.UID, path)) {
		return
	}
	if path == "/dev/null" {
		x.record(rc.Addr, st, dsn.Sent("2.0.0", "delivered to file: %s", path))
		return
	}
	if fi, err := runas.Stat(path, runas.Identity{UID: acct.UID, GID: acct.GID}, false); err == nil && fi.Mode&0o100 != 0 {
		x.s.log.Warn("executable destination file %s for %s", printable.Except(path, '_', "\t"), printable.Except(rc.Addr, '_', "\t"))
		x.record(rc.Addr, st, dsn.Bounce("5.7.1", "file is executable"))
		return
	}
	c := x.s.cfg
	j := &job{User: acct.Name, Home: acct.Home, Sender: printable.Except(st.sender, '_', "\t"), Offset: x.r.Offset,
		UID: acct.UID, ChownTo: -1, Path: path, Prepend: x.prepend(st, c.deliveredFile)}
	if strings.HasSuffix(path, "/") {
		j.Kind = kindMaildir
	} else {
		j.Kind = kindMbox
		j.DotLock, j.Fcntl, j.DotLockMayFail = c.dotLock, c.fcntl, true
		j.LockAttempts, j.LockDelay, j.StaleLock = c.lockAttempts, c.lockDelay, c.staleLock
		j.SizeLimit = c.sizeLimit
	}
	res := x.s.run(j, x.qf, acct.UID, acct.GID)
	for _, w := range res.Warnings {
		x.s.log.Warn("%s", printable.Except(w, '_', "\t"))
	}
	text := res.Text
	switch {
	case res.Code != "" && res.Code[0] == '2' && j.Kind == kindMbox:
		text = "delivered to file: " + path
	case j.Kind == kindMbox:
		prefix := "cannot update mailbox " + path + " for user " + acct.Name + ". "
		text = "cannot append message to file " + path + ": " + strings.TrimPrefix(text, prefix)
	}
	x.record(rc.Addr, st, dsn.Status{Code: res.Code, Text: text})
}

// command pipes the message to a command, as deliver_command().
func (x *expansion) command(rc *rcpt, cmd string, st state) {
	acct, err := x.identity(st)
	if err != nil {
		x.record(rc.Addr, st, dsn.Defer("4.3.5", "mail system configuration error"))
		return
	}
	if x.been(fmt.Sprintf("command %d %s", acct.UID, cmd)) {
		return
	}
	c := x.s.cfg
	j := &job{Kind: kindCommand, User: acct.Name, Home: acct.Home, Sender: printable.Except(st.sender, '_', "\t"),
		Offset: x.r.Offset, UID: acct.UID, ChownTo: -1, Prepend: x.prepend(st, c.deliveredCommand),
		Command: cmd, Shell: c.commandShell, TimeLimit: c.commandTimeLimit,
		Env: x.s.commandEnv(rc, acct), Dir: "/"}
	if c.commandDir != "" {
		j.Dir = c.commandDir
	}
	res := x.s.run(j, x.qf, acct.UID, acct.GID)
	for _, w := range res.Warnings {
		x.s.log.Warn("%s", printable.Except(w, '_', "\t"))
	}
	x.record(rc.Addr, st, dsn.Status{Code: res.Code, Text: res.Text})
}
