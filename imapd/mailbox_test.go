package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMailboxDialogue(t *testing.T) {
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	when := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		writeMsg(t, md, "new", "17000000"+string(rune('0'+i))+".Vfe00I1M1.host", msgText(i), when)
	}
	tc := login(t, addr)

	u := tc.ok("b", `list "" "*"`)
	if len(u) != 1 || u[0] != `* LIST (\HasNoChildren) "." INBOX` {
		t.Errorf("list: %q", u)
	}
	u = tc.ok("c", "select INBOX")
	joined := strings.Join(u, "\n")
	for _, want := range []string{"* 3 EXISTS", "* 3 RECENT", "UIDVALIDITY", "UIDNEXT 4", `\Seen`} {
		if !strings.Contains(joined, want) {
			t.Errorf("select lacks %q:\n%s", want, joined)
		}
	}
	// new/ moved to cur/ with ":2,", uid db written.
	if n := names(t, filepath.Join(md, "new")); len(n) != 0 {
		t.Errorf("new/ not emptied: %v", n)
	}
	cur := names(t, filepath.Join(md, "cur"))
	if len(cur) != 3 || !strings.HasSuffix(cur[0], ":2,") {
		t.Errorf("cur/: %v", cur)
	}
	db, _ := os.ReadFile(filepath.Join(md, "courierimapuiddb"))
	if !regexp.MustCompile(`^1 \d+ 4\n1 170000001\.Vfe00I1M1\.host\n2 170000002`).Match(db) {
		t.Errorf("uiddb:\n%s", db)
	}

	u = tc.ok("d", "search subject \"message 2\"")
	if len(u) != 1 || u[0] != "* SEARCH 2" {
		t.Errorf("search: %q", u)
	}
	u = tc.ok("d2", "uid search unseen")
	if len(u) != 1 || u[0] != "* SEARCH 1 2 3" {
		t.Errorf("uid search: %q", u)
	}
	u = tc.ok("d3", "search body \"number 3\"")
	if len(u) != 1 || u[0] != "* SEARCH 3" {
		t.Errorf("search body: %q", u)
	}

	// BODY.PEEK[] byte-exact (LF -> CRLF on the wire) and RFC822.SIZE agrees.
	want := strings.ReplaceAll(msgText(2), "\n", "\r\n")
	u = tc.ok("e", "fetch 2 (RFC822.SIZE INTERNALDATE BODY.PEEK[])")
	if len(u) != 1 {
		t.Fatalf("fetch: %q", u)
	}
	if !strings.Contains(u[0], "RFC822.SIZE "+itoa(len(want))) || !strings.Contains(u[0], `INTERNALDATE " 2-Nov-2026 10:00:00 +0000"`) {
		t.Errorf("fetch items: %q", u[0])
	}
	if !strings.HasSuffix(u[0], "{"+itoa(len(want))+"}"+want+")") {
		t.Errorf("body not byte-exact: %q", u[0])
	}
	u = tc.ok("f", "fetch 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)] ENVELOPE BODYSTRUCTURE FLAGS)")
	if !strings.Contains(u[0], "Subject: test message 1\r\n\r\n") || !strings.Contains(u[0], `"test message 1"`) ||
		!strings.Contains(u[0], `BODYSTRUCTURE ("text" "plain"`) {
		t.Errorf("fetch parts: %q", u[0])
	}
	if strings.Contains(u[0], `\Seen`) {
		t.Errorf("peek set \\Seen: %q", u[0])
	}
	u = tc.ok("g", "uid fetch 1:* (UID FLAGS RFC822.SIZE)")
	if len(u) != 3 {
		t.Errorf("uid fetch 1:*: %q", u)
	}

	// STORE \Seen: in the file name and in a new session.
	u = tc.ok("h", `store 1 +flags (\Seen \Flagged)`)
	if len(u) != 1 || !strings.Contains(u[0], `\Seen`) {
		t.Errorf("store: %q", u)
	}
	cur = names(t, filepath.Join(md, "cur"))
	if !strings.HasSuffix(cur[0], ":2,FS") {
		t.Errorf("flags not in file name: %v", cur)
	}
	tc2 := login(t, addr)
	tc2.ok("a", "examine INBOX")
	u = tc2.ok("b", "fetch 1:* (FLAGS)")
	if !strings.Contains(u[0], `\Seen`) || !strings.Contains(u[0], `\Flagged`) || strings.Contains(u[1], `\Seen`) {
		t.Errorf("second session flags: %q", u)
	}
	if _, done := tc2.cmd("c", `store 1 +flags (\Deleted)`); !strings.HasPrefix(done, "c NO") {
		t.Errorf("store in EXAMINE: %q", done)
	}
	// BODY[] (not peek) sets \Seen.
	u = tc.ok("i", "fetch 2 (BODY[TEXT])")
	if !strings.Contains(u[0], `\Seen`) || !strings.Contains(u[0], "Hello number 2.\r\n") {
		t.Errorf("fetch body[text]: %q", u)
	}

	// CREATE / LIST / COPY / MOVE / EXPUNGE / APPEND / STATUS.
	tc.ok("j", "create INBOX.Archive")
	if fi, err := os.Stat(filepath.Join(md, ".Archive", "maildirfolder")); err != nil || fi.Size() != 0 {
		t.Errorf("maildirfolder: %v", err)
	}
	tc.ok("j2", "create INBOX.Archive.2026")
	u = tc.ok("k", `list "" "*"`)
	if strings.Join(u, "|") != `* LIST (\HasChildren) "." INBOX|* LIST (\HasChildren) "." "INBOX.Archive"|* LIST (\HasNoChildren) "." "INBOX.Archive.2026"` {
		t.Errorf("list: %q", u)
	}
	u = tc.ok("l", "copy 1 INBOX.Archive")
	if _, done := tc.cmd("l0", "noop"); done == "" {
		t.Fatal()
	}
	_ = u
	_, done := tc.cmd("l2", "uid copy 1 INBOX.Archive")
	if !regexp.MustCompile(`\[COPYUID \d+ 1 2\]`).MatchString(done) {
		t.Errorf("copyuid: %q", done)
	}
	u = tc.ok("m", "move 3 INBOX.Archive.2026")
	if !strings.Contains(strings.Join(u, "|"), "* 3 EXPUNGE") {
		t.Errorf("move: %q", u)
	}
	if n := names(t, filepath.Join(md, ".Archive.2026", "cur")); len(n) != 1 {
		t.Errorf("moved file: %v", n)
	}
	tc.ok("n", `store 2 +flags.silent (\Deleted)`)
	u = tc.ok("o", "expunge")
	if len(u) != 1 || u[0] != "* 2 EXPUNGE" {
		t.Errorf("expunge: %q", u)
	}
	if n := names(t, filepath.Join(md, "cur")); len(n) != 1 {
		t.Errorf("after expunge cur/: %v", n)
	}
	tc.send("p append INBOX.Archive (\\Seen) {12}")
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("append continuation: %q", l)
	}
	tc.send("Subject: x\r\n")
	l := tc.line()
	if !regexp.MustCompile(`^p OK \[APPENDUID \d+ 3\]`).MatchString(l) {
		t.Errorf("append: %q", l)
	}
	u = tc.ok("q", "status INBOX.Archive (MESSAGES UIDNEXT UNSEEN)")
	if len(u) != 1 || !strings.Contains(u[0], "MESSAGES 3") || !strings.Contains(u[0], "UIDNEXT 4") || !strings.Contains(u[0], "UNSEEN 0") {
		t.Errorf("status: %q", u)
	}
	arch := names(t, filepath.Join(md, ".Archive", "cur"))
	found := false
	for _, n := range arch {
		if strings.Contains(n, ",S=11,W=12:2,S") {
			found = true
			b, _ := os.ReadFile(filepath.Join(md, ".Archive", "cur", n))
			if string(b) != "Subject: x\n" {
				t.Errorf("appended content %q", b)
			}
		}
	}
	if !found {
		t.Errorf("appended file: %v", arch)
	}

	// Subscriptions, RENAME, DELETE.
	tc.ok("r", "subscribe INBOX.Archive")
	u = tc.ok("s", `lsub "" "*"`)
	if len(u) != 1 || !strings.Contains(u[0], "INBOX.Archive") {
		t.Errorf("lsub: %q", u)
	}
	if b, _ := os.ReadFile(filepath.Join(md, "courierimapsubscribed")); string(b) != "INBOX.Archive\n" {
		t.Errorf("courierimapsubscribed %q", b)
	}
	tc.ok("t", "rename INBOX.Archive INBOX.Old")
	if !isDir(filepath.Join(md, ".Old.2026")) || isDir(filepath.Join(md, ".Archive")) {
		t.Errorf("rename: %v", names(t, md))
	}
	if b, _ := os.ReadFile(filepath.Join(md, "courierimapsubscribed")); string(b) != "INBOX.Old\n" {
		t.Errorf("subscriptions after rename %q", b)
	}
	tc.ok("u", "delete INBOX.Old.2026")
	if isDir(filepath.Join(md, ".Old.2026")) {
		t.Error("delete")
	}
	tc.ok("z", "logout")
}

func TestHostileNames(t *testing.T) {
	addr, home, logf := startServer(t)
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf)
			t.Logf("log:\n%s", b)
		}
	}()
	parent := filepath.Dir(home)
	before := names(t, parent)
	tc := login(t, addr)
	for _, n := range []string{"../../etc", "INBOX/../../x", "/etc", "INBOX..", "INBOX.a/b", "INBOX.", ".."} {
		q := n
		if !strings.HasPrefix(q, `"`) {
			q = `"` + n + `"`
		}
		for _, c := range []string{"create", "select", "delete", "status"} {
			arg := q
			if c == "status" {
				arg += " (MESSAGES)"
			}
			_, done := tc.cmd("h", c+" "+arg)
			if strings.HasPrefix(done, "h OK") {
				t.Errorf("%s %s accepted: %q", c, q, done)
			}
		}
		_, done := tc.cmd("h", "rename INBOX.x "+q)
		if strings.HasPrefix(done, "h OK") {
			t.Errorf("rename to %s accepted", q)
		}
	}
	// A control character can only come in a literal (go-imap may drop
	// the connection after refusing it).
	tcc := login(t, addr)
	tcc.send("h2 create {7+}")
	tcc.send("INBOX.\x01")
	if l := tcc.line(); strings.HasPrefix(l, "h2 OK") {
		t.Errorf("control character accepted: %q", l)
	}
	tc.ok("i", "select INBOX")
	u := tc.ok("j", "fetch 1:* (FLAGS)")
	if len(u) != 0 {
		t.Errorf("fetch on empty: %q", u)
	}
	tc.ok("k", "uid fetch 1:* (FLAGS)")
	// 10,000 nested parentheses: an error, no crash.
	tc.send("l search " + strings.Repeat("(", 10000) + "ALL" + strings.Repeat(")", 10000))
	l := tc.line()
	if !strings.HasPrefix(l, "l ") && !strings.HasPrefix(l, "* BYE") {
		t.Errorf("nested: %q", l)
	}
	after := names(t, parent)
	if strings.Join(before, ",") != strings.Join(after, ",") {
		t.Errorf("files appeared outside the Maildir: %v -> %v", before, after)
	}
	for _, n := range names(t, home) {
		if n != "Maildir" && n != "maillog" {
			t.Errorf("unexpected %s in home", n)
		}
	}
}

func TestIdleSeesDelivery(t *testing.T) {
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	writeMsg(t, md, "new", "1700000001.Vfe00I1M1.host", msgText(1), time.Time{})
	tc := login(t, addr)
	tc.ok("a", "select INBOX")
	tc.send("b idle")
	if l := tc.line(); !strings.HasPrefix(l, "+") {
		t.Fatalf("idle: %q", l)
	}
	start := time.Now()
	// As local(8) delivers: tmp/ then rename into new/.
	tmp := writeMsg(t, md, "tmp", "1700000002.Vfe00I2M1.host", msgText(2), time.Time{})
	os.Rename(tmp, filepath.Join(md, "new", "1700000002.Vfe00I2M1.host"))
	tc.c.SetReadDeadline(time.Now().Add(time.Second))
	got := ""
	for !strings.Contains(got, "* 2 EXISTS") {
		got += tc.line() + "\n"
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("EXISTS after %v", d)
	}
	tc.c.SetDeadline(time.Now().Add(10 * time.Second))
	tc.send("DONE")
	for {
		l := tc.line()
		if strings.HasPrefix(l, "b ") {
			if !strings.HasPrefix(l, "b OK") {
				t.Errorf("idle end: %q", l)
			}
			break
		}
	}
	u := tc.ok("c", "uid fetch 2 (UID)")
	if len(u) != 1 || !strings.Contains(u[0], "UID 2") {
		t.Errorf("new message uid: %q", u)
	}
}

// A Maildir as Courier left it keeps its UIDs, flags, folders and
// subscriptions.
func TestCourierLayout(t *testing.T) {
	addr, home, _ := startServer(t)
	md := filepath.Join(home, "Maildir")
	writeMsg(t, md, "cur", "1795597617.Vfe00Ibe007M536118.vm:2,S", msgText(1), time.Time{})
	writeMsg(t, md, "cur", "1795597786.Vfe00Ibe00bM599008.vm:2,", msgText(2), time.Time{})
	writeMsg(t, md, "cur", "1795597800.Vfe00Ibe00cM1.vm:2,FRS", msgText(3), time.Time{})
	os.WriteFile(filepath.Join(md, "courierimapuiddb"), []byte("1 795597835 9\n4 1795597617.Vfe00Ibe007M536118.vm\n7 1795597786.Vfe00Ibe00bM599008.vm\n8 1795597800.Vfe00Ibe00cM1.vm\n"), 0600)
	sent := filepath.Join(md, ".Sent")
	writeMsg(t, sent, "cur", "1795590000.M1P1.vm,S=10:2,S", msgText(4), time.Time{})
	os.WriteFile(filepath.Join(sent, "maildirfolder"), nil, 0600)
	os.WriteFile(filepath.Join(sent, "courierimapuiddb"), []byte("1 795597629 3\n2 1795590000.M1P1.vm,S=10\n"), 0600)
	// A Dovecot folder with a modified-UTF-7 name and only dovecot-uidlist.
	dv := filepath.Join(md, ".R&AOk-sum&AOk-")
	writeMsg(t, dv, "cur", "1276528487.M364837P9451.kurkku,S=1355,W=1394:2,S", msgText(5), time.Time{})
	os.WriteFile(filepath.Join(dv, "dovecot-uidlist"), []byte("3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n"), 0600)
	os.WriteFile(filepath.Join(md, "courierimapsubscribed"), []byte("INBOX.Sent\n"), 0600)

	tc := login(t, addr)
	u := tc.ok("a", "select INBOX")
	j := strings.Join(u, "\n")
	if !strings.Contains(j, "[UIDVALIDITY 795597835]") || !strings.Contains(j, "[UIDNEXT 9]") {
		t.Errorf("select:\n%s", j)
	}
	u = tc.ok("b", "fetch 1:* (UID FLAGS)")
	want := []string{`* 1 FETCH (UID 4 FLAGS (\Seen))`, `* 2 FETCH (UID 7 FLAGS ())`, `* 3 FETCH (UID 8 FLAGS (\Flagged \Answered \Seen))`}
	if strings.Join(u, "\n") != strings.Join(want, "\n") {
		t.Errorf("fetch:\n%s", strings.Join(u, "\n"))
	}
	u = tc.ok("c", `lsub "" "*"`)
	if len(u) != 1 || !strings.Contains(u[0], "INBOX.Sent") {
		t.Errorf("lsub %q", u)
	}
	u = tc.ok("d", "status INBOX.Sent (UIDVALIDITY UIDNEXT MESSAGES)")
	if !strings.Contains(u[0], "UIDVALIDITY 795597629") || !strings.Contains(u[0], "UIDNEXT 3") {
		t.Errorf("status sent %q", u)
	}
	tc.ok("e0", "enable UTF8=ACCEPT")
	u = tc.ok("e", `list "" "*"`)
	if !strings.Contains(strings.Join(u, "|"), `"INBOX.Résumé"`) {
		t.Errorf("list: %q", u)
	}
	u = tc.ok("f", `examine "INBOX.Résumé"`)
	if !strings.Contains(strings.Join(u, "\n"), "[UIDVALIDITY 1275660208]") {
		t.Errorf("dovecot folder: %q", u)
	}
	u = tc.ok("g", "uid fetch 1:* (UID)")
	if len(u) != 1 || !strings.Contains(u[0], "UID 25006") {
		t.Errorf("dovecot uids: %q", u)
	}
	db, _ := os.ReadFile(filepath.Join(dv, "courierimapuiddb"))
	if string(db) != "1 1275660208 25022\n25006 1276528487.M364837P9451.kurkku,S=1355,W=1394\n" {
		t.Errorf("imported uiddb %q", db)
	}
	// INBOX's uiddb untouched (nothing changed).
	db, _ = os.ReadFile(filepath.Join(md, "courierimapuiddb"))
	if !strings.HasPrefix(string(db), "1 795597835 9\n4 ") {
		t.Errorf("inbox uiddb %q", db)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
