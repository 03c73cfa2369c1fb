package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}},
		{"a, b ,c", []string{"a", "b", "c"}},
		{"user@example.com", []string{"user@example.com"}},
		{`"Joe Q. Public" <john.q.public@example.com>`, []string{"john.q.public@example.com"}},
		{"Joe Public <joe@x>, jane", []string{"joe@x", "jane"}},
		{"joe@x (Joe, the boss), b@y", []string{"joe@x", "b@y"}},
		{"(comment (nested)) a@b", []string{"a@b"}},
		{"undisclosed-recipients:;", nil},
		{"friends: a@x, b@y; c@z", []string{"a@x", "b@y", "c@z"}},
		{"<@relay1,@relay2:user@host>", []string{"user@host"}},
		{`"a b"@example.com`, []string{"a b@example.com"}},
		{"<>", nil},
		{"Name <unterminated@x", []string{"unterminated@x"}},
		{`"unterminated quote`, []string{"unterminated quote"}},
		{"user@[192.0.2.1]", []string{"user@[192.0.2.1]"}},
		{"", nil},
		{" , ,", nil},
		{"a@b,\n\tc@d", []string{"a@b", "c@d"}},
	} {
		if got := parseAddressList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAddressList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func headerOf(text string) *header {
	h := &header{limit: 102400}
	for _, l := range strings.Split(text, "\n") {
		if !h.line(l) {
			break
		}
	}
	return h
}

func TestHeaderRecipients(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"to cc bcc", "To: a\nCc: b\nBcc: c\nSubject: x\n\nTo: body", []string{"a", "b", "c"}},
		{"case and spacing", "TO : a\ncC:b\nbcc:c", []string{"a", "b", "c"}},
		{"folded", "To: a,\n b,\n\t\"C D\" <c@d>\nSubject: x", []string{"a", "b", "c@d"}},
		{"resent only", "To: old\nResent-To: new1\nResent-Cc: new2\nResent-Bcc: new3\nCc: old2", []string{"new1", "new2", "new3"}},
		{"resent-from alone", "To: old\nResent-From: me", nil},
		{"group", "To: list: a@x, b@y;\nCc: undisclosed-recipients:;", []string{"a@x", "b@y"}},
		{"comments", "To: a@x (Alice), (Bob) b@y", []string{"a@x", "b@y"}},
		{"header ends at non-header", "To: a\nthis is body\nCc: b", []string{"a"}},
		{"no recipients", "Subject: x\nFrom: me\n\n", nil},
		{"multiple To", "To: a\nTo: b", []string{"a", "b"}},
		{"from not a recipient", "From: f@x\nReply-To: r@x\nTo: t@x", []string{"t@x"}},
	} {
		if got := headerOf(tc.in).recipients(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestHeaderLimit(t *testing.T) {
	h := &header{limit: 20}
	h.line("To: a")
	h.line("Cc: " + strings.Repeat("x", 30))
	h.line("Bcc: b")
	if got := h.recipients(); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("past header_size_limit: got %q", got)
	}
}

func FuzzExtract(f *testing.F) {
	for _, s := range []string{"To: a, b\nCc: \"x y\" <z@w>\n\nbody", "Resent-To: a\nTo: b",
		"To: g: a, (c) b;\n", "To: <@a,@b:c@d>, <>", "To: \"\\\"(\n x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := &header{limit: 1 << 16}
		for _, l := range strings.Split(s, "\n") {
			if !h.line(l) {
				break
			}
		}
		for _, a := range h.recipients() {
			if a == "" || strings.ContainsAny(a, "\r\n") {
				t.Fatalf("bad address %q from %q", a, s)
			}
		}
		for _, a := range parseAddressList(s) {
			if a == "" || strings.ContainsAny(a, "\r\n") {
				t.Fatalf("bad address %q from %q", a, s)
			}
		}
	})
}
