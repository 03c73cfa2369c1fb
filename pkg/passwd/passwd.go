// Package passwd reads the system account database (/etc/passwd format) without cgo, so that
// smtpd's local recipient check and local's delivery see the same users the way Postfix's
// getpwnam() does.
package passwd

import (
	"errors"
	"strconv"
	"strings"
)

// File is the database read by Lookup; tests may point it elsewhere.
var File = "/etc/passwd"

// ErrNotFound reports an unknown user.
var ErrNotFound = errors.New("passwd: no such user")

// User is one passwd entry.
type User struct {
	Name  string
	UID   int
	GID   int
	Gecos string
	Home  string
	Shell string
}

// FullName is the GECOS field up to the first comma, as mail programs use it.
func (u *User) FullName() string {
	n, _, _ := strings.Cut(u.Gecos, ",")
	return n
}

// Lookup finds a user by exact name: the first entry of that name in File as it is now.
func Lookup(name string) (*User, error) {
	ix, err := load()
	if err != nil {
		return nil, err
	}
	return found(ix.byName[name])
}

// LookupUID finds the first user with uid.
func LookupUID(uid int) (*User, error) {
	ix, err := load()
	if err != nil {
		return nil, err
	}
	return found(ix.byUID[uid])
}

// found returns a copy of the index's entry: the index is shared, the caller's copy is its own.
func found(u *User) (*User, error) {
	if u == nil {
		return nil, ErrNotFound
	}
	c := *u
	return &c, nil
}

// parse reads one passwd(5) line's fields; NIS "+"/"-" lines are not accounts.
func parse(f []string) (*User, bool) {
	if len(f) != 7 || f[0] == "" || f[0][0] == '+' || f[0][0] == '-' {
		return nil, false
	}
	uid, err1 := strconv.Atoi(f[2])
	gid, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return nil, false
	}
	return &User{Name: f[0], UID: uid, GID: gid, Gecos: f[4], Home: f[5], Shell: f[6]}, true
}
