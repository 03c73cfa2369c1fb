// Package maildirpp holds the on-disk conventions of Maildir++ as
// Courier-IMAP and Dovecot keep them, for imapd: folder names (".Sent",
// ".Sent.2002" below ~/Maildir, IMAP names "INBOX.Sent" with '.' as the
// hierarchy delimiter, modified UTF-7 levels), the per-folder UID database
// in courierimapuiddb format (reading Dovecot's dovecot-uidlist when that
// is what a folder has), its lock and the assignment of UIDs to new files
// (SyncUIDs), and the subscription list (courierimapsubscribed).
// Everything about one Maildir (file names, flag letters, unique names,
// scanning, writing the state files) is package postern/pkg/maildir's.
//
// Nothing here switches privileges or touches a path a caller did not
// derive from a Maildir root through DirName.
package maildirpp

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// Delim is the hierarchy delimiter; Prefix is the personal namespace
// (Courier's "INBOX.").
const (
	Delim  = '.'
	Inbox  = "INBOX"
	Prefix = Inbox + "."
)

// ErrBadName is a mailbox name that cannot map to a folder directory.
var ErrBadName = errors.New("invalid mailbox name")

// maxDirName keeps ".a.b.c" within one file-name component (NAME_MAX).
const maxDirName = 255

// Canonical returns the IMAP name in Courier's namespace: "INBOX" in any
// case becomes "INBOX", "inbox.x" becomes "INBOX.x", and a name without the
// prefix ("Sent") is taken as a folder below INBOX ("INBOX.Sent"), the
// alias Dovecot users' clients send.
func Canonical(name string) string {
	if strings.EqualFold(name, Inbox) {
		return Inbox
	}
	if len(name) > len(Prefix) && strings.EqualFold(name[:len(Prefix)], Prefix) {
		return Prefix + name[len(Prefix):]
	}
	return Prefix + name
}

// DirName maps a client's mailbox name (UTF-8, as go-imap hands it over)
// to the folder's directory name below the Maildir root: "" for INBOX,
// ".Sent.2002" for "INBOX.Sent.2002". Every level must be non-empty and
// free of '/', control characters and invalid UTF-8, so no name can leave
// the Maildir ("..", "/etc", "a/../../b" are all refused).
func DirName(name string) (string, error) {
	c := Canonical(name)
	if c == Inbox {
		return "", nil
	}
	rest := c[len(Prefix):]
	if err := checkLevels(rest); err != nil {
		return "", err
	}
	d := "." + rest
	if len(d) > maxDirName {
		return "", ErrBadName
	}
	return d, nil
}

func checkLevels(rest string) error {
	if rest == "" || !utf8.ValidString(rest) {
		return ErrBadName
	}
	for _, level := range strings.Split(rest, string(Delim)) {
		if level == "" {
			return ErrBadName
		}
		for _, r := range level {
			if r < 0x20 || r == 0x7f || r == '/' || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
				return ErrBadName
			}
		}
	}
	return nil
}

// LegacyDirName is DirName with each level in IMAP modified UTF-7, the
// on-disk form of pre-5.0 Courier and of Dovecot. It equals DirName for
// ASCII names without '&'.
func LegacyDirName(name string) (string, error) {
	d, err := DirName(name)
	if err != nil || d == "" {
		return d, err
	}
	levels := strings.Split(d[1:], string(Delim))
	for i, l := range levels {
		levels[i] = EncodeUTF7(l)
	}
	d = "." + strings.Join(levels, string(Delim))
	if len(d) > maxDirName {
		return "", ErrBadName
	}
	return d, nil
}

// IMAPName maps a directory entry of the Maildir root back to the IMAP
// name: ".Sent" -> "INBOX.Sent". Levels that are valid modified UTF-7 with
// an '&' shift (and nothing but ASCII) are decoded, so folders made by
// older Courier or Dovecot show under their real names. ok is false for
// entries that are not folders (no leading '.', "..", empty levels,
// unsafe bytes).
func IMAPName(dir string) (string, bool) {
	if len(dir) < 2 || dir[0] != '.' || dir == ".." {
		return "", false
	}
	rest := dir[1:]
	if checkLevels(rest) != nil {
		return "", false
	}
	levels := strings.Split(rest, string(Delim))
	for i, l := range levels {
		if strings.IndexByte(l, '&') >= 0 {
			if s, err := DecodeUTF7(l); err == nil && s != "" && checkLevels(s) == nil && !strings.ContainsRune(s, Delim) {
				levels[i] = s
			}
		}
	}
	return Prefix + strings.Join(levels, string(Delim)), true
}
