package shadow

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"postern/pkg/passwd"
)

// File is the shadow database read by Lookup; tests may point it elsewhere.
var File = "/etc/shadow"

// ErrNotFound reports a user without a shadow entry.
var ErrNotFound = errors.New("shadow: no such user")

// Entry is one /etc/shadow line. Day counts are days since 1970-01-01; -1
// stands for an empty field.
type Entry struct {
	Name     string
	Hash     string
	LastChg  int64 // sp_lstchg; 0 = must change at next login
	Min      int64
	Max      int64 // sp_max
	Warn     int64
	Inactive int64 // sp_inact
	Expire   int64 // sp_expire
}

// Lookup reads File for name.
func Lookup(name string) (*Entry, error) {
	var found *Entry
	err := passwd.ScanFile(File, -1, func(f []string) bool {
		if f[0] == name {
			found, _ = parseFields(f)
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

// Parse parses one shadow line.
func Parse(line string) (*Entry, bool) {
	return parseFields(strings.Split(line, ":"))
}

func parseFields(f []string) (*Entry, bool) {
	if len(f) < 2 || f[0] == "" {
		return nil, false
	}
	for len(f) < 9 {
		f = append(f, "")
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return &Entry{Name: f[0], Hash: f[1], LastChg: num(f[2]), Min: num(f[3]), Max: num(f[4]),
		Warn: num(f[5]), Inactive: num(f[6]), Expire: num(f[7])}, true
}

// Refusal says why an account may not log in ("" = it may).
func (e *Entry) Refusal(now time.Time) string {
	switch {
	case e.Hash == "":
		return "no password"
	case e.Hash[0] == '!' || e.Hash[0] == '*':
		return "account locked"
	}
	today := now.Unix() / 86400
	if e.Expire >= 0 && today >= e.Expire {
		return "account expired"
	}
	if e.LastChg == 0 {
		// passwd -e: the password must be changed first, which POP3 and
		// IMAP cannot do.
		return "password change required"
	}
	// Past sp_max PAM demands a new password (and past sp_inact too the
	// account is dead); either way a mail client cannot log in.
	if e.LastChg > 0 && e.Max >= 0 && today > e.LastChg+e.Max {
		return "password expired"
	}
	return ""
}
