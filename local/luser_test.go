package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLuserRelayLocal(t *testing.T) {
	e := newAliasEnv(t, "", "luser_relay = bob\n")
	code, text := e.send(t, "NoSuch@example.org")
	if code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("status %s %s", code, text)
	}
	m := e.mbox("bob")
	if !strings.Contains(m, "X-Original-To: NoSuch@example.org\nDelivered-To: NoSuch@example.org\nSubject: hi\n") {
		t.Fatalf("bob's mailbox:\n%s", m)
	}
	e.wantLog(t, `: to=<bob@example\.org>, orig_to=<NoSuch@example\.org>, relay=local, .*dsn=2\.0\.0, status=sent \(delivered to mailbox\)`)
	if strings.Contains(e.logText(), ": to=<NoSuch@example.org>,") {
		t.Fatalf("the unknown recipient was logged:\n%s", e.logText())
	}
	// Known users are not relayed.
	if code, _ := e.send(t, "alice@example.org"); code != "2.0.0" || strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatalf("alice: %s", code)
	}
	if strings.Count(e.mbox("bob"), "Subject: hi") != 1 {
		t.Fatal("alice's mail went to bob")
	}
}

func TestLuserRelayThroughAliasAndForward(t *testing.T) {
	// The relay target is delivered like any local recipient: its alias,
	// then the .forward of the alias's user.
	e := newAliasEnv(t, "catchall: alice\n", "luser_relay = catchall\n")
	writeForward(t, e.testEnv, "alice", "\\alice, elsewhere@remote.example\n", 0o644)
	if code, text := e.send(t, "nosuch@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatalf("alice:\n%s", e.mbox("alice"))
	}
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "elsewhere@remote.example" {
		t.Fatalf("posted %+v", e.posted)
	}
	e.wantLog(t, `to=<alice@example\.org>, orig_to=<nosuch@example\.org>, .*status=sent \(delivered to mailbox\)`)
}

func TestLuserRelayRemoteExpansion(t *testing.T) {
	e := newAliasEnv(t, "", "recipient_delimiter = +\n"+
		"luser_relay = $user.${extension?x$extension}-$local:$domain/$recipient_delimiter@relay.example\n")
	if code, text := e.send(t, "Who+Ext@Example.org"); code != "2.0.0" || text != "forwarded as FWD1" {
		t.Fatalf("status %s %s", code, text)
	}
	want := "who.xext-who+ext:example.org/+@relay.example"
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != want || e.posted[0].rcpts[0].st.orig != "Who+Ext@Example.org" {
		t.Fatalf("posted %+v, want %s", e.posted, want)
	}
	e.wantLog(t, `to=<`+strings.ReplaceAll(want, "+", `\+`)+`>, orig_to=<Who\+Ext@Example\.org>, relay=local, .*status=sent \(forwarded as FWD1\)`)

	// $recipient, and no extension: ${extension?...} is empty.
	e = newAliasEnv(t, "", "luser_relay = catch+$recipient\n")
	if code, _ := e.send(t, "zed@example.org"); code != "5.1.1" || len(e.posted) != 0 {
		t.Fatalf("catch+: %s, posted %+v", code, e.posted)
	}
	// catch is no user either: a relay target that is unknown bounces.
	e.wantLog(t, `to=<catch\+zed@example\.org>, orig_to=<zed@example\.org>, .*status=bounced \(unknown user: "catch\+zed"\)`)
}

func TestLuserRelayPostmaster(t *testing.T) {
	// Postfix tries luser_relay before discarding mail for a missing
	// postmaster alias.
	e := newAliasEnv(t, "", "luser_relay = bob\n")
	if code, text := e.send(t, "postmaster@example.org"); code != "2.0.0" || text != "delivered to mailbox" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("bob"), "Subject: hi") != 1 {
		t.Fatal("bob got nothing")
	}
	if strings.Contains(e.logText(), "required alias not found") {
		t.Fatalf("discarded:\n%s", e.logText())
	}
	// Without the relay: discarded, also with an extension.
	e = newAliasEnv(t, "", "recipient_delimiter = +\n")
	if code, text := e.send(t, "MAILER-DAEMON+x@example.org"); code != "2.0.0" || text != "discarded" {
		t.Fatalf("no relay: %s %s", code, text)
	}
	e.wantLog(t, `warning: required alias not found: mailer-daemon`)
}

func TestLuserRelayNoLoop(t *testing.T) {
	// A relay to an unknown user, and to an alias whose user is unknown,
	// bounce once instead of relaying forever.
	e := newAliasEnv(t, "", "luser_relay = $user\n")
	if code, text := e.send(t, "nosuch@example.org"); code != "5.1.1" || text != `unknown user: "nosuch"` {
		t.Fatalf("status %s %s", code, text)
	}
	e = newAliasEnv(t, "catchall: alice, typo\n", "luser_relay = catchall\n")
	if code, text := e.send(t, "nosuch@example.org"); code != "5.1.1" || text != `unknown user: "typo"` {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatal("alice got nothing")
	}
	// An alias to two unknown users: each is relayed, the relay target
	// gets one copy.
	e = newAliasEnv(t, "x: n1, n2\n", "luser_relay = bob\n")
	if code, text := e.send(t, "x@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if strings.Count(e.mbox("bob"), "Subject: hi") != 1 {
		t.Fatalf("bob:\n%s", e.mbox("bob"))
	}
}

func TestUnknownUserWithExtension(t *testing.T) {
	e := newEnv(t, "recipient_delimiter = +\n")
	if code, text := e.deliver(t, "nosuch+tag@example.org", sample...); code != "5.1.1" || text != `unknown user: "nosuch"` {
		t.Fatalf("status %s %s", code, text)
	}
}

func TestPropagateUnmatchedAlias(t *testing.T) {
	aliases := "list: alice, someone@remote.example\nexact+foo: other@remote.example\n"
	// Postfix's default (canonical, virtual): nothing changes in local.
	e := newAliasEnv(t, aliases, "recipient_delimiter = +\n")
	if code, text := e.send(t, "list+foo@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "someone@remote.example" {
		t.Fatalf("default: posted %+v", e.posted)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatal("default: alice got nothing")
	}
	e.wantLog(t, `to=<alice@example\.org>, orig_to=<list\+foo@example\.org>, .*delivered to mailbox`)

	e = newAliasEnv(t, aliases, "recipient_delimiter = +-\npropagate_unmatched_extensions = canonical, virtual, alias\n")
	if code, text := e.send(t, "list+foo@example.org"); code != "2.0.0" {
		t.Fatalf("status %s %s", code, text)
	}
	// The local target too: alice+foo is delivered to alice's mailbox.
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "someone+foo@remote.example" {
		t.Fatalf("alias: posted %+v", e.posted)
	}
	if strings.Count(e.mbox("alice"), "Subject: hi") != 1 {
		t.Fatal("alias: alice got nothing")
	}
	e.wantLog(t, `to=<alice\+foo@example\.org>, orig_to=<list\+foo@example\.org>, .*delivered to mailbox`)
	// The first delimiter of the set is spliced in, as Postfix.
	e.send(t, "list-bar@example.org")
	if len(e.posted) != 2 || e.posted[1].rcpts[0].addr != "someone+bar@remote.example" {
		t.Fatalf("list-bar: posted %+v", e.posted)
	}
	// An alias matched with its extension has nothing unmatched.
	e.send(t, "exact+foo@example.org")
	if len(e.posted) != 3 || e.posted[2].rcpts[0].addr != "other@remote.example" {
		t.Fatalf("exact: posted %+v", e.posted)
	}
}

func TestPropagateUnmatchedForward(t *testing.T) {
	for _, prop := range []string{"", "propagate_unmatched_extensions = forward\n"} {
		e := newAliasEnv(t, "", "recipient_delimiter = +\n"+prop)
		writeForward(t, e.testEnv, "alice", "a@remote.example\n", 0o644)
		os.WriteFile(filepath.Join(e.home["alice"], ".forward+lists"), []byte("l@remote.example\n"), 0o644)
		e.send(t, "alice+foo@example.org")
		e.send(t, "alice+lists@example.org")
		want := "a@remote.example"
		if prop != "" {
			want = "a+foo@remote.example"
		}
		// .forward+lists matched the extension: it is not propagated.
		if len(e.posted) != 2 || e.posted[0].rcpts[0].addr != want || e.posted[1].rcpts[0].addr != "l@remote.example" {
			t.Fatalf("%q: posted %+v", prop, e.posted)
		}
	}
}

func TestLuserRelayNoPropagation(t *testing.T) {
	e := newAliasEnv(t, "", "recipient_delimiter = +\npropagate_unmatched_extensions = alias, forward\nluser_relay = x@relay.example\n")
	e.send(t, "nosuch+foo@example.org")
	if len(e.posted) != 1 || e.posted[0].rcpts[0].addr != "x@relay.example" {
		t.Fatalf("posted %+v", e.posted)
	}
}

func TestOwnerRequestSpecial(t *testing.T) {
	aliases := "owner-list: alice\nlist-request: bob\nowner: carol@remote.example\nlist: someone@remote.example\n"
	e := newAliasEnv(t, aliases, "recipient_delimiter = -\n")
	for _, c := range []struct{ rcpt, user, ext string }{
		{"owner-list@example.org", "owner-list", ""},
		{"list-request@example.org", "list-request", ""},
		{"List-Request@example.org", "list-request", ""},
		{"list-other@example.org", "list", "other"},
		{"-request@example.org", "", ""},
		{"postmaster@example.org", "postmaster", ""},
	} {
		rc := e.srv.resolve(&request{Recipient: c.rcpt})
		if rc.User != c.user || rc.Ext != c.ext {
			t.Errorf("%s: user %q ext %q", c.rcpt, rc.User, rc.Ext)
		}
	}
	if code, text := e.send(t, "owner-list@example.org"); code != "2.0.0" || text != "delivered to mailbox" ||
		strings.Count(e.mbox("alice"), "Subject: hi") != 1 || len(e.posted) != 0 {
		t.Fatalf("owner-list: %s %s, posted %+v", code, text, e.posted)
	}
	if code, text := e.send(t, "list-request@example.org"); code != "2.0.0" || strings.Count(e.mbox("bob"), "Subject: hi") != 1 {
		t.Fatalf("list-request: %s %s", code, text)
	}

	// owner_request_special = no: split like any other address.
	e = newAliasEnv(t, aliases, "recipient_delimiter = -\nowner_request_special = no\n")
	if rc := e.srv.resolve(&request{Recipient: "owner-list@example.org"}); rc.User != "owner" || rc.Ext != "list" {
		t.Fatalf("no: user %q ext %q", rc.User, rc.Ext)
	}
	// A delimiter set without "-" is not concerned.
	e = newAliasEnv(t, aliases, "recipient_delimiter = +\n")
	if rc := e.srv.resolve(&request{Recipient: "owner-list+x@example.org"}); rc.User != "owner-list" || rc.Ext != "x" {
		t.Fatalf("+: user %q ext %q", rc.User, rc.Ext)
	}
}
