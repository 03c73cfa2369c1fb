package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A folder no session has selected stays open in the process; the next
// SELECT sees what other programs changed meanwhile, and a folder
// recreated meanwhile is read afresh.
func TestRetainedMailbox(t *testing.T) {
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	writeMsg(t, md, "new", "1700000000.1.host", msgText(1), time.Time{})
	tc := login(t, addr)
	if u := tc.ok("b", "select INBOX"); !contains(u, "* 1 EXISTS") {
		t.Fatalf("select: %q", u)
	}
	tc.ok("c", "logout")
	st := getStore(filepath.Clean(md))
	st.mu.Lock()
	mb := st.boxes[filepath.Clean(md)]
	st.mu.Unlock()
	if mb == nil {
		t.Fatal("INBOX not kept after the session")
	}
	// Another program delivers one and removes the first.
	writeMsg(t, md, "new", "1700000001.2.host", msgText(2), time.Time{})
	cur, _ := filepath.Glob(filepath.Join(md, "cur", "1700000000.1.host*"))
	for _, p := range cur {
		os.Remove(p)
	}
	tc = login(t, addr)
	u := tc.ok("b", "select INBOX")
	if !contains(u, "* 1 EXISTS") {
		t.Fatalf("select after changes: %q", u)
	}
	if f := tc.ok("c", "uid fetch 1:* (uid)"); len(f) != 1 || f[0] != "* 1 FETCH (UID 2)" {
		t.Fatalf("fetch after changes: %q", f)
	}
	tc.ok("d", "logout")

	// Recreated (new UIDVALIDITY): the kept state is dropped.
	os.Remove(filepath.Join(md, "courierimapuiddb"))
	os.Remove(filepath.Join(md, "postern-imapcache"))
	time.Sleep(10 * time.Millisecond)
	tc = login(t, addr)
	if u := tc.ok("b", "select INBOX"); !contains(u, "* 1 EXISTS") {
		t.Fatalf("select after a new UID map: %q", u)
	}
	tc.ok("c", "logout")
}
