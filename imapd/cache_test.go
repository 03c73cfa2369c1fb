package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"postern/pkg/maildir"
)

func TestReadInfoAndHeader(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m")
	msg := "Subject: hello\n world\nFrom: a@b\n\nbody\r\nline\n"
	os.WriteFile(p, []byte(msg), 0600)
	f, _ := os.Open(p)
	defer f.Close()
	in, err := readInfo(f, "m")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len(maildir.ToCRLF([]byte(msg)))); in.vsize != want {
		t.Errorf("vsize %d, want %d", in.vsize, want)
	}
	if string(in.hdr) != "Subject: hello\n world\nFrom: a@b\n\n" {
		t.Errorf("hdr %q", in.hdr)
	}
	for _, c := range []struct {
		key, pat string
		want     bool
	}{
		{"subject", "HELLO WORLD", true}, {"Subject", "x", false}, {"from", "", true},
		{"cc", "", false}, {"From", "A@B", true},
	} {
		if got := matchRaw(in.hdr, c.key, c.pat); got != c.want {
			t.Errorf("matchRaw(%s, %q) = %v", c.key, c.pat, got)
		}
	}
	enc := []byte("Subject: =?utf-8?q?caf=C3=A9?=\n\n")
	if !matchRaw(enc, "subject", "CAFÉ") {
		t.Error("encoded word not decoded")
	}
}

// The cache keeps sizes, headers and the listing across sessions; a
// trusted listing is taken without reading the directories.
func TestCacheRoundTrip(t *testing.T) {
	root := t.TempDir()
	for _, s := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(root, s), 0700)
	}
	os.WriteFile(filepath.Join(root, "new", "1700000000.V1I1M1.h"), []byte("Subject: a\n\nx\n"), 0600)
	os.WriteFile(filepath.Join(root, "cur", "1700000001.V1I2M1.h:2,S"), []byte("Subject: b\n\ny\n"), 0600)
	mb := &mailbox{folder: root, rw: 1}
	if err := mb.load(); err != nil {
		t.Fatal(err)
	}
	for _, m := range mb.msgs {
		mb.headerOf(m)
	}
	mb.listed += int64(10 * stampSlack) // as if listed long after the last change
	mb.fresh = false
	mb.saveCache()
	c := loadInfoCache(root)
	if c.snap == nil || len(c.snap.msgs) != 2 || !c.snap.trusted() {
		t.Fatalf("snapshot %+v", c.snap)
	}
	if string(c.m[mb.msgs[1].base].hdr) != "Subject: b\n\n" || c.snap.msgs[1].letters != "S" {
		t.Errorf("record %+v %+v", c.m[mb.msgs[1].base], c.snap.msgs[1])
	}
	mb2 := &mailbox{folder: root, rw: 1, byBase: map[string]*message{}}
	mb2.cache = c
	mb2.tracker = mb.tracker
	if !mb2.fromSnapshot() || len(mb2.msgs) != 2 || mb2.validity != mb.validity {
		t.Fatal("snapshot not taken")
	}
	time.Sleep(30 * time.Millisecond) // past the mtime clock's granularity
	os.WriteFile(filepath.Join(root, "new", "1700000002.V1I3M1.h"), []byte("Subject: c\n\nz\n"), 0600)
	mb3 := &mailbox{folder: root, rw: 1, byBase: map[string]*message{}, cache: loadInfoCache(root), tracker: mb.tracker}
	if mb3.fromSnapshot() {
		t.Fatal("stale snapshot taken after new/ changed")
	}
}

// A header that ends at a line that is not a header (no empty line) is
// cached without that line; a cache written before that rule existed,
// holding the whole message, is cut when read.
func TestReadInfoMalformedHeader(t *testing.T) {
	msg := "Subjet: My first mail on Postfix\nFrom: root@localhost\nAre you there?\nX-Body: not a header\n"
	p := filepath.Join(t.TempDir(), "m")
	os.WriteFile(p, []byte(msg), 0600)
	f, _ := os.Open(p)
	defer f.Close()
	in, err := readInfo(f, "m")
	if err != nil {
		t.Fatal(err)
	}
	want := "Subjet: My first mail on Postfix\nFrom: root@localhost\n"
	if string(in.hdr) != want {
		t.Errorf("readInfo hdr %q", in.hdr)
	}
	if got := infoOf([]byte(msg), 0, 0); string(got.hdr) != want {
		t.Errorf("infoOf hdr %q", got.hdr)
	}
	if all := infoOf([]byte("Subject: x\nTo: y\n"), 0, 0); string(all.hdr) != "Subject: x\nTo: y\n" {
		t.Errorf("all-header hdr %q", all.hdr)
	}
	mb := &mailbox{folder: t.TempDir(), cache: &infoCache{m: map[string]msgInfo{}}}
	m := &message{base: "m"}
	mb.cache.m["m"] = msgInfo{hdr: []byte(msg)}
	if h, err := mb.headerOf(m); err != nil || string(h) != want {
		t.Errorf("headerOf %q %v", h, err)
	}
	if matchRaw([]byte(msg), "x-body", "") {
		t.Error("matchRaw found a body line")
	}
}
