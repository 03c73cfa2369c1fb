package main

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"postern/pkg/dsn"
	"postern/pkg/passwd"
	"postern/pkg/printable"
	"postern/pkg/runas"
)

// include is deliver_include(): more destinations from a file. It is
// opened with the rights in effect (the alias owner's, or the user's for a
// .forward); under a root-owned alias the rights become those of the
// file's owner, so that owner cannot act as default_privs. Local addresses
// found in it are always resubmitted, and commands and files are refused
// unless allow_mail_to_commands/allow_mail_to_files name "include".
func (x *expansion) include(rc *rcpt, path string, st state) {
	uid, gid := 0, 0
	if st.priv != nil {
		uid, gid = st.priv.UID, st.priv.GID
	}
	if x.been(fmt.Sprintf("include %d %s", uid, path)) {
		return
	}
	st.expFrom = rc.Local
	config := func(format string, a ...any) {
		x.s.log.Warn(format, a...)
		x.record(rc.Addr, st, dsn.Bounce("5.3.5", "mail system configuration error"))
	}
	if path == "" || path[0] != '/' {
		config(":include:%s uses a relative path", printable.Except(path, '_', "\t"))
		return
	}
	fi, err := runas.Stat(path, runas.Identity{UID: uid, GID: gid}, false)
	switch {
	case err != nil:
		config("unable to lookup :include: file %s: %s", printable.Except(path, '_', "\t"), printable.Strerror(err))
		return
	case fi.Mode&unix.S_IFMT != unix.S_IFREG:
		config(":include: file %s is not a regular file", printable.Except(path, '_', "\t"))
		return
	case fi.Mode&0o002 != 0:
		config(":include: file %s is world writable", printable.Except(path, '_', "\t"))
		return
	}
	st.expType = expInclude
	if uid == 0 && fi.Uid != 0 {
		u, err := passwd.LookupUID(int(fi.Uid))
		if err != nil {
			x.s.log.Warn("%s: cannot find :include: file owner username", printable.Except(path, '_', "\t"))
			x.record(rc.Addr, st, dsn.Defer("4.3.5", "mail system configuration error"))
			return
		}
		st.priv = u
		uid, gid = u.UID, u.GID
	}
	if st.owner == "" {
		st.owner = rc.Addr
	}
	f, err := runas.Open(path, runas.Identity{UID: uid, GID: gid}, false)
	if err != nil {
		config("cannot open include file %s: %s", printable.Except(path, '_', "\t"), printable.Strerror(errors.Unwrap(err)))
		return
	}
	items, err := readList(f, nil)
	f.Close()
	if err != nil {
		x.s.log.Warn(":include: file %s: %v", printable.Except(path, '_', "\t"), err)
	}
	if len(items) > 0 {
		x.list(rc, items, st, ":include:"+path)
	}
}
