package main

import (
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"postern/pkg/aliases"
	"postern/pkg/config"
	"postern/pkg/deliver"
)

// maxForwardFile bounds what is read of a .forward or :include: file.
const maxForwardFile = 1 << 20

// forwardPaths expands forward_path for rc: $user $home $shell $recipient
// $extension $domain $local $recipient_delimiter, each value filtered by
// forward_expansion_filter. A path that names an undefined value ($extension
// of an address without one) is skipped, as Postfix's MAC_PARSE_UNDEF.
func (x *expansion) forwardPaths(rc *rcpt, u *account) []string {
	delim := ""
	if rc.Ext != "" {
		// The delimiter found in the address, not the whole set.
		if i := strings.IndexAny(rc.Local, x.s.cfg.recipientDelim); i > 0 {
			delim = rc.Local[i : i+1]
		}
	}
	vals := map[string]string{
		"user": u.Name, "home": u.Home, "shell": u.Shell, "recipient": rc.Addr,
		"extension": rc.Ext, "domain": rc.Domain, "local": rc.Local, "recipient_delimiter": delim,
	}
	var out []string
	for _, p := range x.s.xc.forwardPath {
		undef := false
		v := config.Expand(p, func(name string) (string, bool) {
			v, ok := vals[name]
			if !ok || v == "" {
				undef = true
				return "", false
			}
			return filterValue(v, x.s.xc.forwardFilter), true
		})
		if !undef && v != "" {
			out = append(out, v)
		}
	}
	return out
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
		if fi, err = statAs(p, uid, gid, true); err == nil {
			path, found = p, true
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
		return warn("file %s is not a regular file", deliver.Printable(path))
	case fi.Uid != 0 && int(fi.Uid) != u.UID:
		return warn("file %s has bad owner uid %d", deliver.Printable(path), fi.Uid)
	case fi.Mode&0o002 != 0:
		return warn("file %s is world writable", deliver.Printable(path))
	}
	f, err := openAs(path, uid, gid, true)
	if err != nil {
		return warn("cannot open file %s: %s", deliver.Printable(path), errText(errors.Unwrap(err)))
	}
	items, err := readList(f, &fi)
	f.Close()
	if err != nil {
		warn("%s: %v", deliver.Printable(path), err)
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
