// Package printable owns the text Postern copies from untrusted or system sources into log
// lines, replies, reports and diagnostics: String masks what is not printable, as Postfix's
// util/printable.c does, so a client, a message or a queue file cannot forge or break a line;
// Trunc and Head bound a hostile value quoted in a warning or a reply; Strerror words an error as Postfix's %m
// (strerror(3): "No such file or directory"). Every program and library uses these instead of
// a copy of its own.
package printable

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
	"unicode/utf8"
)

// String returns s with every byte that is neither printable ASCII nor part of a valid UTF-8
// character replaced by repl: Postfix's printable() with UTF-8 enabled (smtputf8_enable).
// Controls, tab included, and DEL are replaced.
func String(s string, repl byte) string { return mask(s, repl, "", true) }

// Except is String that also keeps the bytes in except (Postfix's printable_except()).
func Except(s string, repl byte, except string) string { return mask(s, repl, except, true) }

// ASCII is String for text that must stay ASCII (a terminal listing, a 7-bit report): every
// non-ASCII byte is replaced too, as Postfix's printable() with UTF-8 disabled.
func ASCII(s string, repl byte) string { return mask(s, repl, "", false) }

func mask(s string, repl byte, except string, utf bool) string {
	var b []byte // allocated at the first byte replaced
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c < 0x80 && strings.IndexByte(except, c) >= 0 {
			i++
			continue
		}
		if c >= 0x80 && utf {
			if r, n := utf8.DecodeRuneInString(s[i:]); r != utf8.RuneError || n > 1 {
				i += n
				continue
			}
		}
		if b == nil {
			b = []byte(s)
		}
		b[i] = repl
		i++
	}
	if b == nil {
		return s
	}
	return string(b)
}

// Trunc shortens s to max bytes followed by "...", for quoting a hostile value in a warning.
func Trunc(s string, max int) string {
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// Head returns the first max bytes of s (all of s when it is shorter), for a value that is
// cut silently, as smtpd bounds what it echoes in a reply.
func Head(s string, max int) string { return s[:min(len(s), max)] }

// Strerror renders err as Postfix's %m does: the C library text of the errno inside it,
// capitalised ("Permission denied"); an error without an errno gives its own text without Go's
// "op path:" prefix, capitalised the same way.
func Strerror(err error) string {
	if err == nil {
		return ""
	}
	var en syscall.Errno
	var pe *fs.PathError
	s := err.Error()
	if errors.As(err, &en) {
		s = en.Error()
	} else if errors.As(err, &pe) {
		s = pe.Err.Error()
	}
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
