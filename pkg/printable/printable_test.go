package printable

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestString(t *testing.T) {
	for _, c := range []struct{ in, str, ascii, tab string }{
		{"plain text", "plain text", "plain text", "plain text"},
		{"a\r\nb\tc\x00d\x7f", "a??b?c?d?", "a??b?c?d?", "a__b\tc_d_"},
		{"Grüße 日本", "Grüße 日本", "Gr????e ??????", "Grüße 日本"},
		{"bad \xff\xc3 utf8 \xe6\x97", "bad ?? utf8 ??", "bad ?? utf8 ??", "bad __ utf8 __"},
		{"", "", "", ""},
	} {
		if got := String(c.in, '?'); got != c.str {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.str)
		}
		if got := ASCII(c.in, '?'); got != c.ascii {
			t.Errorf("ASCII(%q) = %q, want %q", c.in, got, c.ascii)
		}
		if got := Except(c.in, '_', "\t"); got != c.tab {
			t.Errorf("Except(%q) = %q, want %q", c.in, got, c.tab)
		}
	}
	s := "unchanged"
	if got := String(s, '?'); got != s {
		t.Errorf("String(%q) = %q", s, got)
	}
}

func TestTrunc(t *testing.T) {
	if got := Trunc("abcdef", 3); got != "abc..." {
		t.Errorf("Trunc = %q", got)
	}
	if got := Trunc("abc", 3); got != "abc" {
		t.Errorf("Trunc = %q", got)
	}
	if got := Head("abcdef", 3) + Head("ab", 3); got != "abcab" {
		t.Errorf("Head = %q", got)
	}
}

func TestStrerror(t *testing.T) {
	_, openErr := os.Open("/nonexistent/file")
	for _, c := range []struct {
		err  error
		want string
	}{
		{openErr, "No such file or directory"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "Connection refused"},
		{&os.PathError{Op: "read", Path: "/x", Err: errors.New("bad record")}, "Bad record"},
		{errors.New("unexpected EOF"), "Unexpected EOF"},
		{errors.New("Already capital"), "Already capital"},
		{nil, ""},
	} {
		if got := Strerror(c.err); got != c.want {
			t.Errorf("Strerror(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
