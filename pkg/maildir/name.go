package maildir

import (
	"sort"
	"strconv"
	"strings"
)

// Maildir file names (for readers: pop3d, imapd). A name is an opaque unique
// base, optionally followed by ":2," and flag letters. Courier, Dovecot and
// Postfix agree on the base being everything before the first ':'.

// InfoSep separates the unique base from the info part.
const InfoSep = ":2,"

// Base is the unique part of a file name: everything before the first ':'.
func Base(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// Flags returns the flag letters after ":2," ("" when there is no info).
func Flags(name string) string {
	info := name[len(Base(name)):]
	if !strings.HasPrefix(info, InfoSep) {
		return ""
	}
	return info[len(InfoSep):]
}

// HasInfo tells whether the name carries a ":2," info part.
func HasInfo(name string) bool { return strings.HasPrefix(name[len(Base(name)):], InfoSep) }

// HasFlag tells whether the name carries flag letter f.
func HasFlag(name string, f byte) bool {
	return strings.IndexByte(Flags(name), f) >= 0
}

// WithFlags returns base + ":2," + flags, flags sorted and deduplicated
// (ASCII order: D F P R S T, then Dovecot's lower-case keyword letters).
func WithFlags(name, flags string) string {
	b := []byte(flags)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, c := range b {
		if c > ' ' && c != ':' && c != '/' && c < 0x7f && (i == 0 || c != b[i-1]) {
			out = append(out, c)
		}
	}
	return Base(name) + InfoSep + string(out)
}

// AddFlags returns the name with the letters in add set.
func AddFlags(name, add string) string { return WithFlags(name, Flags(name)+add) }

// RemoveFlags returns the name with the letters in del cleared.
func RemoveFlags(name, del string) string {
	f := strings.Map(func(r rune) rune {
		if strings.ContainsRune(del, r) {
			return -1
		}
		return r
	}, Flags(name))
	return WithFlags(name, f)
}

// SizeFromName returns the ",S=NNN" size in the base name, if any.
func SizeFromName(name string) (int64, bool) { return nameField(name, ",S=") }

// VSizeFromName returns Dovecot's ",W=NNN" (size with CRLF line ends), if any.
func VSizeFromName(name string) (int64, bool) { return nameField(name, ",W=") }

func nameField(name, key string) (int64, bool) {
	b := Base(name)
	i := strings.Index(b, key)
	if i < 0 {
		return 0, false
	}
	s := b[i+len(key):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseInt(s[:j], 10, 64)
	if err != nil || j == 0 {
		return 0, false
	}
	return n, true
}

// TimePrefix is the leading decimal number of the name (the delivery time
// in seconds for every common MDA), as C's atol reads it; 0 when none.
func TimePrefix(name string) int64 {
	var n int64
	for i := 0; i < len(name) && i < 18; i++ {
		c := name[i]
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// Less orders names as Courier's POP3 server does: by the numeric time
// prefix, then by base name bytewise.
func Less(a, b string) bool {
	ta, tb := TimePrefix(a), TimePrefix(b)
	if ta != tb {
		return ta < tb
	}
	return Base(a) < Base(b)
}

// ValidName tells whether a directory entry may be a message: not a dot
// file, no '/', no NUL. Readers skip anything else.
func ValidName(name string) bool {
	return name != "" && name[0] != '.' && !strings.ContainsAny(name, "/\x00")
}
