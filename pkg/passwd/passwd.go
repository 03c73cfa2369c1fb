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

// Lookup finds a user by exact name.
func Lookup(name string) (*User, error) {
	return find(func(u *User) bool { return u.Name == name })
}

// LookupUID finds the first user with uid.
func LookupUID(uid int) (*User, error) {
	return find(func(u *User) bool { return u.UID == uid })
}

func find(match func(*User) bool) (*User, error) {
	var found *User
	err := ScanFile(File, -1, func(f []string) bool {
		if u, ok := parse(f); ok && match(u) {
			found = u
		}
		return found != nil
	})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, ErrNotFound
	}
	return found, nil
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
