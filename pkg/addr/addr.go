// Package addr owns the syntax of an address in internal form: splitting user@domain at
// the last '@' and splitting recipient_delimiter extensions. What an address means (its
// canonical form, whether its domain is local) is pkg/resolve's. Used by smtpd, qmgr,
// local, smtp, pkg/rewrite and pkg/resolve.
package addr

import "strings"

// Split returns the local part and domain of an address; domain is "" when there is no '@'.
// The last '@' separates them, as a quoted local part may contain one.
func Split(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], a[i+1:]
}

// Extension splits `user+ext` at the first delimiter character (recipient_delimiter may be a
// set of characters). ext is "" when there is none.
func Extension(local, delimiters string) (user, ext string) {
	if delimiters == "" {
		return local, ""
	}
	i := strings.IndexAny(local, delimiters)
	if i <= 0 {
		return local, ""
	}
	return local[:i], local[i+1:]
}
