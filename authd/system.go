package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"postern/pkg/auth"
	"postern/pkg/passwd"
	"postern/pkg/shadow"
)

// systemBackend: accounts from /etc/passwd, passwords from /etc/shadow (or
// the passwd field itself when it holds a hash, as on systems without
// shadow).
type systemBackend struct {
	homeMailbox string
	spool       string // mail_spool_directory: ending in "/" means a Maildir per user there
}

func (b *systemBackend) name() string { return "system" }

func (b *systemBackend) find(username string) (*account, error) {
	u, err := passwd.Lookup(username)
	if errors.Is(err, passwd.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a := &account{user: auth.User{Username: u.Name, UID: u.UID, GID: u.GID, Home: u.Home,
		Maildir: maildirOf(u.Home, b.homeMailbox)}}
	if b.homeMailbox == "" && strings.HasSuffix(b.spool, "/") {
		// local delivers to the spool's per-user Maildir in that case; serve the same one.
		a.user.Maildir = filepath.Join(b.spool, u.Name) + "/"
	}
	hash, err := passwdField(u.Name)
	if err != nil {
		return nil, err
	}
	if hash == "x" {
		e, err := shadow.Lookup(u.Name)
		switch {
		case errors.Is(err, shadow.ErrNotFound):
			a.refusal = "no shadow entry"
			return a, nil
		case err != nil:
			return nil, err
		}
		a.refusal = e.Refusal(time.Now())
		hash = e.Hash
	} else if r := (&shadow.Entry{Hash: hash, LastChg: -1, Max: -1, Expire: -1}).Refusal(time.Now()); r != "" {
		a.refusal = r
	}
	if a.refusal == "" {
		a.check = func(pw string) bool { return shadow.Check(pw, hash) }
	}
	return a, nil
}

// passwdField returns the second field of name's line in passwd.File ("x"
// when the hash lives in /etc/shadow). pkg/passwd leaves it out on purpose:
// only authd looks at credentials.
func passwdField(name string) (string, error) {
	data, err := os.ReadFile(passwd.File)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			f, _, _ := strings.Cut(rest, ":")
			return f, nil
		}
	}
	return "", passwd.ErrNotFound
}
