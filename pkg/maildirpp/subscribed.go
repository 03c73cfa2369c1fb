package maildirpp

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"

	"postern/pkg/maildir"
)

// Subscription files at the Maildir root.
const (
	CourierSubscribed = "courierimapsubscribed"
	DovecotSubscribed = "subscriptions"
)

// ReadSubscriptions returns the subscribed IMAP names: courierimapsubscribed
// (full names, one a line), else Dovecot's subscriptions (names without the
// "INBOX." prefix; a "V\t2" header means tab-separated hierarchy levels).
func ReadSubscriptions(root string) ([]string, error) {
	data, err := readSmall(filepath.Join(root, CourierSubscribed))
	dovecot := false
	if errors.Is(err, fs.ErrNotExist) {
		data, err = readSmall(filepath.Join(root, DovecotSubscribed))
		dovecot = true
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	lines := strings.Split(string(data), "\n")
	tabbed := false
	if dovecot && len(lines) > 0 && strings.HasPrefix(lines[0], "V\t") {
		tabbed = true
		lines = lines[1:]
	}
	for _, l := range lines {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		if tabbed {
			l = strings.ReplaceAll(l, "\t", string(Delim))
		}
		if _, err := DirName(l); err != nil {
			continue
		}
		n := Canonical(l)
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// WriteSubscriptions replaces courierimapsubscribed with names.
func WriteSubscriptions(root string, names []string) error {
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return maildir.WriteFile(root, CourierSubscribed, []byte(b.String()))
}
