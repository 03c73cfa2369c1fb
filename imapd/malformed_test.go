package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// literal returns the literal that follows item ("BODY[HEADER] {N}") in an
// untagged FETCH line as tclient inlines it.
func literal(t *testing.T, line, item string) string {
	t.Helper()
	m := regexp.MustCompile(regexp.QuoteMeta(item) + ` \{(\d+)\}`).FindStringSubmatchIndex(line)
	if m == nil {
		t.Fatalf("no %s in %q", item, line)
	}
	n, _ := strconv.Atoi(line[m[2]:m[3]])
	return line[m[1] : m[1]+n]
}

// Mail whose header ends at a line that is not a header, without the empty
// line (as Postern stored the howto's first message before cleanup wrote
// that line), is read with the header ending there: BODY[HEADER] is the
// header lines and CRLF, BODY[TEXT] the rest, ENVELOPE has the fields,
// and BODY[] and RFC822.SIZE stay the file as it is.
func TestMalformedHeader(t *testing.T) {
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	hdr := "Received: from localhost (localhost [127.0.0.1])\n\tby mail.example.com (Postfix) with SMTP id 4F2A1\n" +
		"Subjet: My first mail on Postfix\n" +
		"Message-Id: <20261207193349.4F2A1@mail.example.com>\n" +
		"Date: Mon,  7 Dec 2026 19:33:49 +0000 (UTC)\n" +
		"From: root@localhost\n"
	body := "Are you there?\nTo: body@example.org\n"
	when := time.Date(2026, 12, 7, 19, 33, 49, 0, time.UTC)
	writeMsg(t, md, "new", "1765136029.V1I1M1.host", hdr+body, when)
	writeMsg(t, md, "new", "1765136030.V1I2M1.host", "Subject: header only\nFrom: a@example.org", when)
	writeMsg(t, md, "new", "1765136031.V1I3M1.host", "just text, no header\n", when)
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tc := login(t, addr)
	tc.ok("a", "select INBOX")

	// ENVELOPE first, from the header cache; then from the file in hand.
	for _, items := range []string{"ENVELOPE", "ENVELOPE BODY.PEEK[]"} {
		u := tc.ok("b", "fetch 1 ("+items+")")
		want := `ENVELOPE ("Mon, 07 Dec 2026 19:33:49 +0000" NIL ((NIL NIL "root" "localhost")) ((NIL NIL "root" "localhost")) ((NIL NIL "root" "localhost")) NIL NIL NIL NIL "<20261207193349.4F2A1@mail.example.com>")`
		if len(u) != 1 || !strings.Contains(u[0], want) {
			t.Errorf("fetch %s: %q\nwant %s", items, u, want)
		}
	}
	u := tc.ok("c", "fetch 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (FROM SUBJET)] BODY.PEEK[1] BODY.PEEK[]<0.8> BODYSTRUCTURE)")
	if len(u) != 1 {
		t.Fatalf("fetch: %q", u)
	}
	checks := []struct{ item, want string }{
		{"BODY[]", crlf(hdr + body)},
		{"BODY[HEADER]", crlf(hdr) + "\r\n"},
		{"BODY[TEXT]", crlf(body)},
		{`BODY[HEADER.FIELDS ("FROM" "SUBJET")]`, "Subjet: My first mail on Postfix\r\nFrom: root@localhost\r\n\r\n"},
		{"BODY[1]", crlf(body)},
		{"BODY[]<0>", "Received"},
	}
	for _, c := range checks {
		if got := literal(t, u[0], c.item); got != c.want {
			t.Errorf("%s = %q, want %q", c.item, got, c.want)
		}
	}
	if !strings.Contains(u[0], "RFC822.SIZE "+strconv.Itoa(len(crlf(hdr+body)))+" ") {
		t.Errorf("RFC822.SIZE in %q", u[0])
	}
	if !strings.Contains(u[0], `BODYSTRUCTURE ("text" "plain" NIL NIL NIL "7bit" `+strconv.Itoa(len(crlf(body)))+` 2 `) {
		t.Errorf("BODYSTRUCTURE in %q", u[0])
	}
	u = tc.ok("d", "fetch 1 (RFC822.HEADER RFC822.TEXT)")
	if got := literal(t, u[0], "RFC822.HEADER"); got != crlf(hdr)+"\r\n" {
		t.Errorf("RFC822.HEADER %q", got)
	}
	if got := literal(t, u[0], "RFC822.TEXT"); got != crlf(body) {
		t.Errorf("RFC822.TEXT %q", got)
	}

	// A message that is all header, and one that has none.
	u = tc.ok("e", "fetch 2:3 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] ENVELOPE)")
	if len(u) != 2 {
		t.Fatalf("fetch 2:3: %q", u)
	}
	if got := literal(t, u[0], "BODY[HEADER]"); got != "Subject: header only\r\nFrom: a@example.org\r\n\r\n" {
		t.Errorf("all-header BODY[HEADER] %q", got)
	}
	if got := literal(t, u[0], "BODY[TEXT]"); got != "" {
		t.Errorf("all-header BODY[TEXT] %q", got)
	}
	if !strings.Contains(u[0], `"header only" ((NIL NIL "a" "example.org"))`) {
		t.Errorf("all-header ENVELOPE %q", u[0])
	}
	if got := literal(t, u[1], "BODY[HEADER]"); got != "\r\n" {
		t.Errorf("no-header BODY[HEADER] %q", got)
	}
	if got := literal(t, u[1], "BODY[TEXT]"); got != "just text, no header\r\n" {
		t.Errorf("no-header BODY[TEXT] %q", got)
	}

	// SEARCH agrees with the split.
	for _, c := range []struct{ q, want string }{
		{`search body "there?"`, "* SEARCH 1"},
		{`search body "body@example.org"`, "* SEARCH 1"},
		{`search body "first mail"`, "* SEARCH"},
		{`search text "first mail"`, "* SEARCH 1"},
		{`search header subjet "first mail"`, "* SEARCH 1"},
		{`search header to "body@example.org"`, "* SEARCH"},
		{`search from "root@localhost"`, "* SEARCH 1"},
		{`search subject "header only"`, "* SEARCH 2"},
		{`search body "just text"`, "* SEARCH 3"},
	} {
		if u := tc.ok("f", c.q); len(u) != 1 || u[0] != c.want {
			t.Errorf("%s: %q, want %q", c.q, u, c.want)
		}
	}
}
