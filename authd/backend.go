package main

import (
	"path/filepath"
	"strings"

	"postern/pkg/auth"
)

// account is what a backend knows about a user.
type account struct {
	user auth.User
	// check verifies a password; nil when the backend has no password for
	// the user (then it never matches).
	check func(password string) bool
	// refusal says why the account may not log in at all ("" = it may).
	refusal string
}

// backend finds accounts; (nil, nil) means "not mine, ask the next one".
type backend interface {
	name() string
	find(username string) (*account, error)
}

// maildirOf is home + home_mailbox when that names a Maildir (ends in "/"),
// else home/Maildir/ — the mailbox pop3d and imapd serve, as Courier's
// MAILDIRPATH=Maildir.
func maildirOf(home, homeMailbox string) string {
	if strings.HasSuffix(homeMailbox, "/") && !filepath.IsAbs(homeMailbox) {
		return filepath.Join(home, homeMailbox) + "/"
	}
	return filepath.Join(home, "Maildir") + "/"
}

// validUsername refuses names that cannot be accounts and might confuse a
// file format or a log line. Such names fail like a wrong password.
func validUsername(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == ':' || c == '/' || c == 0x7f {
			return false
		}
	}
	return s != "." && s != ".."
}
