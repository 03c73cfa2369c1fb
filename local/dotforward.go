package main

import (
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"postern/pkg/aliases"
	"postern/pkg/config"
	"postern/pkg/printable"
	"postern/pkg/runas"
)

// maxForwardFile bounds what is read of a .forward or :include: file.
const maxForwardFile = 1 << 20

// fwdPath is one expanded forward_path element.
type fwdPath struct {
	path   string
	extUse bool // $extension was used: the extension is matched by the name
}

// forwardPaths expands forward_path for rc: $user $home $shell $recipient
// $extension $domain $local $recipient_delimiter, each value filtered by
// forward_expansion_filter. A path that names an undefined value ($extension
// of an address without one) is skipped, as Postfix's MAC_PARSE_UNDEF.
func (x *expansion) forwardPaths(rc *rcpt, u *account) []fwdPath {
	vals := rc.expandValues(x.s.cfg.recipientDelim)
	vals["user"], vals["home"], vals["shell"] = u.Name, u.Home, u.Shell
	var out []fwdPath
	for _, p := range x.s.xc.forwardPath {
		undef, extUse := false, false
		v := config.Expand(p, func(name string) (string, bool) {
			v, ok := vals[name]
			if !ok || v == "" {
				undef = true
				return "", false
			}
			if name == "extension" {
				extUse = true
			}
			return filterValue(v, x.s.xc.forwardFilter), true
		})
		if !undef && v != "" {
			out = append(out, fwdPath{v, extUse})
		}
	}
	return out
}

// expandValues are local(8)'s $name values for rc (local_expand), less
// $home and $shell, which belong to an account.
func (rc *rcpt) expandValues(delims string) map[string]string {
	delim := ""
	if rc.Ext != "" {
		// The delimiter found in the address, not the whole set.
		if i := len(rc.User); i < len(rc.Local) && strings.ContainsRune(delims, rune(rc.Local[i])) {
			delim = rc.Local[i : i+1]
		}
	}
	return map[string]string{
		"user": rc.User, "recipient": rc.Addr, "extension": rc.Ext, "domain": rc.Domain,
		"local": rc.Local, "mailbox": rc.Local, "recipient_delimiter": delim,
	}
}

// dotforward is deliver_dotforward(): the first existing file of
// forward_path, read as the user, lists where the mail goes instead. It
// reports false when there is none, when it is not acceptable (logged),
// when it is empty, or when the user is already being forwarded (her own
// name in her .forward): then the mailbox gets it.
func (x *expansion) dotforward(rc *rcpt, u *account, st state) bool {
	if len(x.s.xc.forwardPath) == 0 {
		return false
	}
	if !x.s.xc.frozen {
		st.delivered = rc.Addr
	}
	st.priv, st.expType, st.owner = u, expForward, u.Name
	// An unprivileged local reads as itself; it can serve only itself.
	uid, gid := u.UID, u.GID
	var path string
	var fi unix.Stat_t
	found := false
	for _, p := range x.forwardPaths(rc, u) {
		var err error
		if fi, err = runas.Stat(p.path, runas.Identity{UID: uid, GID: gid}, true); err == nil {
			path, found = p.path, true
			// A file named with the extension has matched it; otherwise
			// the destinations get it when the class is listed.
			st.unmatched = ""
			if !p.extUse && x.s.xc.propForward {
				st.unmatched = rc.Ext
			}
			break
		}
	}
	if !found {
		return false
	}
	if x.been("forward " + path) {
		return x.dup["forward-done "+path]
	}
	st.expFrom = rc.Local
	warn := func(format string, a ...any) bool {
		x.s.log.Warn(format, a...)
		return false
	}
	switch {
	case fi.Mode&unix.S_IFMT != unix.S_IFREG:
		return warn("file %s is not a regular file", printable.Except(path, '_', "\t"))
	case fi.Uid != 0 && int(fi.Uid) != u.UID:
		return warn("file %s has bad owner uid %d", printable.Except(path, '_', "\t"), fi.Uid)
	case fi.Mode&0o002 != 0:
		return warn("file %s is world writable", printable.Except(path, '_', "\t"))
	}
	f, err := runas.Open(path, runas.Identity{UID: uid, GID: gid}, true)
	if err != nil {
		return warn("cannot open file %s: %s", printable.Except(path, '_', "\t"), printable.Strerror(errors.Unwrap(err)))
	}
	items, err := readList(f, &fi)
	f.Close()
	if err != nil {
		warn("%s: %v", printable.Except(path, '_', "\t"), err)
	}
	if len(items) == 0 {
		return false
	}
	x.list(rc, items, st, path)
	x.been("forward-done " + path)
	return true
}

// readList reads a .forward or :include: file that was checked with lstat
// as want; a file swapped in between is refused.
func readList(f *os.File, want *unix.Stat_t) ([]aliases.Item, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nil, err
	}
	if want != nil && (st.Dev != want.Dev || st.Ino != want.Ino) {
		return nil, errors.New("file changed while being opened")
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxForwardFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxForwardFile {
		return nil, errors.New("file too large")
	}
	return aliases.ParseList(strings.NewReader(string(b)))
}
