package main

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"postern/pkg/queue"
)

// mapFile writes a postmap source file for a texthash: table.
func mapFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0644); err != nil {
		t.Fatal(err)
	}
	return p
}

func rcptPairs(m *queue.Message) []string {
	var out []string
	for _, r := range m.Recipients {
		out = append(out, r.Orig+" -> "+r.Addr)
	}
	return out
}

func TestVirtualAliasExpansion(t *testing.T) {
	virt := mapFile(t, "virtual", strings.Join([]string{
		"info@fossedu.org sigiri",
		"info@linuxelabs.com kala",
		"team@fossedu.org a@x.test, b@x.test,c@x.test",
		"self@fossedu.org self@fossedu.org, copy@x.test",
		"user@x.test person@y.test",
		"@catch.test catchall@y.test",
		"a@x.test a2@x.test",
	}, "\n"))
	e := newTestEnv(t, "virtual_alias_maps = texthash:"+virt+"\nrecipient_delimiter = +\n")
	id, reply := e.submit(t, message("remote", "s@x.test", []string{
		"info@fossedu.org", "INFO@linuxelabs.com", "team@fossedu.org", "self@fossedu.org",
		"user+tag@x.test", "anyone@catch.test", "nomatch@x.test", "a@x.test",
	}, "Subject: x\n\nb\n"), false)
	wantOK(t, reply, id)
	m, _ := e.read(t, id)
	want := []string{
		"info@fossedu.org -> sigiri@example.org",
		"INFO@linuxelabs.com -> kala@example.org",
		"team@fossedu.org -> a2@x.test", // a@x.test expands again
		"team@fossedu.org -> b@x.test",
		"team@fossedu.org -> c@x.test",
		"self@fossedu.org -> self@fossedu.org",
		"self@fossedu.org -> copy@x.test",
		"user+tag@x.test -> person+tag@y.test",
		"anyone@catch.test -> catchall@y.test",
		"nomatch@x.test -> nomatch@x.test",
		"a@x.test -> a2@x.test",
	}
	if got := rcptPairs(m); !reflect.DeepEqual(got, want) {
		t.Errorf("recipients\n got %q\nwant %q", got, want)
	}
	if m.Nrcpt != int64(len(want)) {
		t.Errorf("C record recipient count %d", m.Nrcpt)
	}
}

func TestVirtualDuplicates(t *testing.T) {
	virt := mapFile(t, "virtual", "one@x.test same@y.test\ntwo@x.test same@y.test\nboth@x.test same@y.test, same@y.test\n")
	e := newTestEnv(t, "virtual_alias_maps = texthash:"+virt+"\n")
	id, reply := e.submit(t, message("remote", "s@x.test", []string{"one@x.test", "one@x.test", "two@x.test", "both@x.test"}, "b\n"), false)
	wantOK(t, reply, id)
	m, _ := e.read(t, id)
	// Different original recipients stay apart; identical ones collapse.
	want := []string{"one@x.test -> same@y.test", "two@x.test -> same@y.test", "both@x.test -> same@y.test"}
	if got := rcptPairs(m); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestVirtualLimits(t *testing.T) {
	var big []string
	for i := range 12 {
		big = append(big, fmt.Sprintf("m%d@y.test", i))
	}
	virt := mapFile(t, "virtual", "loop1@x.test loop2@x.test\nloop2@x.test loop1@x.test\nbig@x.test "+
		strings.Join(big, ", ")+"\nlong@x.test "+strings.Repeat("l", 40)+"@y.test\n")
	e := newTestEnv(t, "virtual_alias_maps = texthash:"+virt+"\nvirtual_alias_recursion_limit = 5\n"+
		"virtual_alias_expansion_limit = 10\nvirtual_alias_address_length_limit = 30\n")
	for _, tc := range []struct{ rcpt, warn string }{
		{"loop1@x.test", "unreasonable virtual_alias_maps map nesting for loop1@x.test -- message not accepted, try again later"},
		{"big@x.test", "unreasonable virtual_alias_maps map expansion size for big@x.test -- message not accepted, try again later"},
		{"long@x.test", "unreasonable virtual_alias_maps result " + strings.Repeat("l", 40) + "@y.test... -- message not accepted, try again later"},
	} {
		id, reply := e.submit(t, message("remote", "s@x.test", []string{"ok@x.test", tc.rcpt}, "b\n"), false)
		wantFail(t, reply, "451", "4.6.0", "Alias expansion error")
		if reply.Get("reason_verbatim") != "1" {
			t.Errorf("reply %v lacks reason_verbatim=1", reply)
		}
		if !strings.Contains(e.log(t), "warning: "+id+": "+tc.warn+"\n") {
			t.Errorf("log lacks %q:\n%s", tc.warn, e.log(t))
		}
	}
	if n := e.incoming(t); len(n) != 0 {
		t.Errorf("queue files left: %v", n)
	}
}

func TestVirtualLookupError(t *testing.T) {
	// hash: with no .db: the table exists in main.cf but cannot answer.
	missing := filepath.Join(t.TempDir(), "virtual")
	e := newTestEnv(t, "virtual_alias_maps = hash:"+missing+"\n")
	id, reply := e.submit(t, message("remote", "s@x.test", []string{"a@x.test"}, "b\n"), false)
	wantFail(t, reply, "451", "4.3.0", "queue file write error")
	if !strings.Contains(e.log(t), "warning: "+id+": virtual_alias_maps map lookup problem for a@x.test -- message not accepted, try again later\n") {
		t.Errorf("log:\n%s", e.log(t))
	}
}

func TestCanonicalMaps(t *testing.T) {
	canon := mapFile(t, "canonical", "joe@x.test Joe.Bloggs@x.test\n")
	scanon := mapFile(t, "sender", "@old.test @new.test\n")
	rcanon := mapFile(t, "recipient", "fred@x.test frederick@x.test\n")
	virt := mapFile(t, "virtual", "frederick@x.test fred-box@y.test\n")
	e := newTestEnv(t, "canonical_maps = texthash:"+canon+"\nsender_canonical_maps = texthash:"+scanon+
		"\nrecipient_canonical_maps = texthash:"+rcanon+"\nvirtual_alias_maps = texthash:"+virt+
		"\nrecipient_delimiter = +\n")
	id, reply := e.submit(t, message("local", "who@old.test", []string{"joe+x@x.test", "fred@x.test"},
		"From: joe\nTo: fred@x.test, joe@x.test\nCc: Fred <fred@x.test>\nSubject: x\n\nb\n"), false)
	wantOK(t, reply, id)
	m, content := e.read(t, id)
	if m.Sender != "who@new.test" {
		t.Errorf("sender %q", m.Sender)
	}
	want := []string{"joe+x@x.test -> Joe.Bloggs+x@x.test", "fred@x.test -> fred-box@y.test"}
	if got := rcptPairs(m); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	// Local context: simple address headers go through the canonical tables too (never
	// virtual); a header with display names is left alone.
	for _, h := range []string{"From: joe@example.org\n", "To: frederick@x.test, Joe.Bloggs@x.test\n", "Cc: Fred <fred@x.test>\n"} {
		if !strings.Contains(content, h) {
			t.Errorf("content lacks %q:\n%s", h, content)
		}
	}

	// Classes: envelope only, and propagate_unmatched_extensions without canonical.
	e = newTestEnv(t, "canonical_maps = texthash:"+canon+"\ncanonical_classes = envelope_recipient\n"+
		"recipient_delimiter = +\npropagate_unmatched_extensions = virtual\n")
	id, reply = e.submit(t, message("local", "joe@x.test", []string{"joe+x@x.test"}, "To: joe@x.test\n\nb\n"), false)
	wantOK(t, reply, id)
	m, content = e.read(t, id)
	if m.Sender != "joe@x.test" || m.Recipients[0].Addr != "Joe.Bloggs@x.test" || !strings.Contains(content, "To: joe@x.test\n") {
		t.Errorf("sender %q rcpt %q content %q", m.Sender, m.Recipients[0].Addr, content)
	}
}

func TestAppendDotMydomain(t *testing.T) {
	e := newTestEnv(t, "compatibility_level = 0\nmydomain = example.com\n")
	id, reply := e.submit(t, message("local", "root@localhost", []string{"bob@host", "carol", "dan@[127.0.0.1]"}, "b\n"), false)
	wantOK(t, reply, id)
	m, content := e.read(t, id)
	if m.Sender != "root@localhost.example.com" {
		t.Errorf("sender %q", m.Sender)
	}
	want := []string{"bob@host -> bob@host.example.com", "carol -> carol@example.org", "dan@[127.0.0.1] -> dan@[127.0.0.1]"}
	if got := rcptPairs(m); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if !strings.Contains(content, "From: root@localhost.example.com\n") {
		t.Errorf("content %q", content)
	}
}
