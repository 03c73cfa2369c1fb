package maildirpp

import (
	"sort"
	"strings"
)

// Message file names are an opaque unique base, then optionally ":2,"
// and flag letters in ASCII order. Dovecot may add ",<fields>" after the
// letters; that tail is kept as it is.

// InfoSep starts the flags part of a file name.
const InfoSep = ":2,"

// System flags and their letters. 'P' (passed) has no IMAP flag; it and
// any other letter (Dovecot's keyword letters a-z) are preserved.
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

// SplitName splits a file name into its base (everything before the first
// ':'), its flag letters and Dovecot's ",..." tail after them.
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

// Base is the unique part of a file name.
func Base(name string) string {
	b, _, _ := SplitName(name)
	return b
}

// JoinName builds base + ":2," + letters (sorted, deduplicated, only
// printable ASCII other than ':', ',' and '/') + tail.
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
