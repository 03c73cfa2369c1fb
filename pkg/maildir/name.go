package maildir

import (
	"sort"
	"strconv"
	"strings"
)

// Maildir file names, the one rule for every reader and writer (local,
// pop3d, imapd, pkg/maildirpp). A name is an opaque unique base (everything
// before the first ':', as Courier, Dovecot and Postfix agree), then
// optionally ":2," and flag letters in ASCII order. Dovecot may add
// ",<fields>" after the letters; that tail is kept as it is.

// InfoSep separates the unique base from the flag letters.
const InfoSep = ":2,"

// The flag letters of the Maildir spec and their IMAP system flags. 'P'
// (passed) has no IMAP flag; it and any other letter (Dovecot's keyword
// letters a-z) are kept.
var letterFlag = map[byte]string{
	'D': `\Draft`,
	'F': `\Flagged`,
	'R': `\Answered`,
	'S': `\Seen`,
	'T': `\Deleted`,
}

// LetterFlag is the IMAP system flag of a letter ("" for none).
func LetterFlag(c byte) string { return letterFlag[c] }

// FlagLetter is the letter of an IMAP system flag (case-insensitive), or 0.
func FlagLetter(flag string) byte {
	for c, f := range letterFlag {
		if strings.EqualFold(f, flag) {
			return c
		}
	}
	return 0
}

// SplitName splits a file name into its base, its flag letters and
// Dovecot's ",..." tail after them. An info other than ":2," has no
// letters and no tail.
func SplitName(name string) (base, letters, tail string) {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		return name, "", ""
	}
	base = name[:i]
	info := name[i:]
	if !strings.HasPrefix(info, InfoSep) {
		return base, "", ""
	}
	letters = info[len(InfoSep):]
	if j := strings.IndexByte(letters, ','); j >= 0 {
		letters, tail = letters[:j], letters[j:]
	}
	return base, letters, tail
}

// JoinName builds base + ":2," + letters (sorted, deduplicated, only
// printable ASCII other than ':', ',' and '/') + tail (dropped if it holds
// '/' or ':').
func JoinName(base, letters, tail string) string {
	b := []byte(letters)
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	out := b[:0]
	for i, c := range b {
		if c > ' ' && c < 0x7f && c != ':' && c != ',' && c != '/' && (i == 0 || c != b[i-1]) {
			out = append(out, c)
		}
	}
	if strings.ContainsAny(tail, "/:") {
		tail = ""
	}
	return base + InfoSep + string(out) + tail
}

// Base is the unique part of a file name: everything before the first ':'.
func Base(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i]
	}
	return name
}

// Flags returns the flag letters after ":2," ("" when there is no info).
func Flags(name string) string {
	_, letters, _ := SplitName(name)
	return letters
}

// HasInfo tells whether the name carries a ":2," info part.
func HasInfo(name string) bool { return strings.HasPrefix(name[len(Base(name)):], InfoSep) }

// HasFlag tells whether the name carries flag letter f.
func HasFlag(name string, f byte) bool {
	return strings.IndexByte(Flags(name), f) >= 0
}

// WithFlags returns the name carrying exactly the letters in flags, sorted
// and deduplicated (ASCII order: D F P R S T, then Dovecot's lower-case
// keyword letters); a Dovecot tail stays.
func WithFlags(name, flags string) string {
	base, _, tail := SplitName(name)
	return JoinName(base, flags, tail)
}

// CurName is the name a file in new/ takes in cur/: a ":2,..." info is
// kept (letters in order), any other suffix replaced by ":2,", as Courier
// does.
func CurName(name string) string { return JoinName(SplitName(name)) }

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

// Less orders names as Courier does (POP3 message numbers, new IMAP UIDs):
// by the numeric time prefix, then by base name bytewise.
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
