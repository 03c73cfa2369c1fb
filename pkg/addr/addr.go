// Package addr holds the address rules shared by smtpd, cleanup, qmgr and local: splitting
// user@domain, trivial-rewrite's canonical form (a bare `user` becomes `user@$myorigin`),
// recipient_delimiter extensions, and matching domains against lists such as mydestination.
package addr

import (
	"bufio"
	"os"
	"strings"
)

// Split returns the local part and domain of an address; domain is "" when there is no '@'.
// The last '@' separates them, as a quoted local part may contain one.
func Split(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], a[i+1:]
}

// Canonical appends @myorigin to a bare address and strips a trailing dot from the domain.
// The null sender stays empty.
func Canonical(a, myorigin string) string {
	if a == "" {
		return ""
	}
	local, domain := Split(a)
	if domain == "" {
		if myorigin == "" {
			return a
		}
		return local + "@" + myorigin
	}
	return local + "@" + strings.TrimSuffix(domain, ".")
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

// DomainIn tells whether domain matches a list such as mydestination: entries compare
// case-insensitively, `/path` entries are replaced by the file's words, and `!entry` excludes.
// Table entries (`type:name`) are not handled here and never match.
func DomainIn(domain string, list []string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if domain == "" {
		return false
	}
	for _, e := range expandFiles(list, 0) {
		neg := strings.HasPrefix(e, "!")
		e = strings.TrimPrefix(e, "!")
		if strings.Contains(e, ":") && !strings.HasPrefix(e, "[") {
			continue
		}
		if strings.EqualFold(strings.TrimSuffix(e, "."), domain) {
			return !neg
		}
	}
	return false
}

func expandFiles(list []string, depth int) []string {
	var out []string
	for _, e := range list {
		if strings.HasPrefix(e, "/") && depth < 5 {
			out = append(out, expandFiles(readWords(e), depth+1)...)
			continue
		}
		out = append(out, e)
	}
	return out
}

func readWords(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		out = append(out, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })...)
	}
	return out
}
