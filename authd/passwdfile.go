package main

import (
	"path/filepath"
	"strconv"
	"strings"

	"postern/pkg/auth"
	"postern/pkg/passwd"
	"postern/pkg/shadow"
)

// fileBackend reads virtual users from a Dovecot-style passwd-file
// (postern_passwd_file):
//
//	user:{SCHEME}hash:uid:gid:gecos:home:shell:extra fields
//
// with schemes as shadow.CheckScheme ({SHA512-CRYPT}, {BLF-CRYPT},
// {ARGON2ID}, {PLAIN}, bare crypt(3) ...). Extra fields (space separated)
// may set the mailbox: "userdb_mail=maildir:~/Maildir" or "mail=maildir:PATH";
// "nologin" or "allow_nets=" style fields are not interpreted. The file is
// read on every request, so edits take effect at once.
type fileBackend struct {
	path        string
	homeMailbox string
}

func (b *fileBackend) name() string { return "passwd-file " + b.path }

func (b *fileBackend) find(username string) (*account, error) {
	var a *account
	err := passwd.ScanFile(b.path, 8, func(f []string) bool {
		if f[0] == username {
			a = passwdFileAccount(f, b.homeMailbox)
		}
		return a != nil
	})
	return a, err
}

// parsePasswdFileLine turns one line into an account; a line it cannot use
// yields an account that is refused (so a typo never falls through to the
// next backend with the same name).
func parsePasswdFileLine(line, homeMailbox string) *account {
	return passwdFileAccount(strings.SplitN(line, ":", 8), homeMailbox)
}

func passwdFileAccount(f []string, homeMailbox string) *account {
	for len(f) < 8 {
		f = append(f, "")
	}
	a := &account{user: auth.User{Username: f[0]}}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	home := f[5]
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 || !filepath.IsAbs(home) {
		a.refusal = "malformed passwd-file entry (needs uid, gid and an absolute home)"
		return a
	}
	a.user.UID, a.user.GID, a.user.Home = uid, gid, filepath.Clean(home)
	a.user.Maildir = maildirOf(a.user.Home, homeMailbox)
	for _, x := range strings.Fields(f[7]) {
		k, v, _ := strings.Cut(x, "=")
		if k != "userdb_mail" && k != "mail" {
			continue
		}
		v = strings.TrimPrefix(v, "maildir:")
		v, _, _ = strings.Cut(v, ":") // drop Dovecot's ":INDEX=..." options
		if rest, ok := strings.CutPrefix(v, "~"); ok {
			v = filepath.Join(a.user.Home, rest)
		}
		if filepath.IsAbs(v) {
			a.user.Maildir = filepath.Clean(v) + "/"
		}
	}
	stored := f[1]
	switch {
	case stored == "":
		a.refusal = "no password"
	case stored[0] == '!' || stored[0] == '*':
		a.refusal = "account locked"
	default:
		a.check = func(pw string) bool { return shadow.CheckScheme(pw, stored) }
	}
	return a
}
