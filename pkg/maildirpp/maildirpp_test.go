package maildirpp

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDirName(t *testing.T) {
	good := map[string]string{
		"INBOX":           "",
		"inbox":           "",
		"INBOX.Sent":      ".Sent",
		"inbox.Sent.2002": ".Sent.2002",
		"Sent":            ".Sent",
		"INBOX.Résumé":    ".Résumé",
		"INBOX.a b&c":     ".a b&c",
	}
	for in, want := range good {
		got, err := DirName(in)
		if err != nil || got != want {
			t.Errorf("DirName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{"", "INBOX.", "INBOX..", "..", "../../etc", "INBOX.../x", "/etc", "INBOX./etc",
		"a/b", "INBOX.a..b", "INBOX.a.", ".a", "INBOX.a\x00", "INBOX.a\nb", "INBOX.\x7f",
		"INBOX." + strings.Repeat("x", 300), "INBOX.\xff"}
	for _, in := range bad {
		if got, err := DirName(in); err == nil {
			t.Errorf("DirName(%q) = %q, want error", in, got)
		}
	}
}

func TestIMAPName(t *testing.T) {
	good := map[string]string{
		".Sent":           "INBOX.Sent",
		".Sent.2002":      "INBOX.Sent.2002",
		".R&AOk-sum&AOk-": "INBOX.Résumé",
		".Résumé":         "INBOX.Résumé",
		".a&-b":           "INBOX.a&b",
		".bad&utf7":       "INBOX.bad&utf7",
		".&AC4-":          "INBOX.&AC4-", // would decode to '.': kept raw
	}
	for in, want := range good {
		got, ok := IMAPName(in)
		if !ok || got != want {
			t.Errorf("IMAPName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"cur", ".", "..", "...", ".a..b", ".a.", "courierimapuiddb"} {
		if got, ok := IMAPName(in); ok {
			t.Errorf("IMAPName(%q) = %q, want not a folder", in, got)
		}
	}
	if d, _ := LegacyDirName("INBOX.Résumé"); d != ".R&AOk-sum&AOk-" {
		t.Errorf("LegacyDirName = %q", d)
	}
}

func TestUTF7RoundTrip(t *testing.T) {
	for _, s := range []string{"", "abc", "&", "Résumé", "日本語", "a&b", "😀 x", "~peter/mail/台北/日本語"} {
		e := EncodeUTF7(s)
		d, err := DecodeUTF7(e)
		if err != nil || d != s {
			t.Errorf("%q -> %q -> %q, %v", s, e, d, err)
		}
	}
	if e := EncodeUTF7("~peter/mail/台北/日本語"); e != "~peter/mail/&U,BTFw-/&ZeVnLIqe-" {
		t.Errorf("RFC 3501 example: %q", e)
	}
}

const courierDB = `1 795597835 6
1 1795597617.Vfe00Ibe007M536118.vm
2 1795597786.Vfe00Ibe00bM599008.vm
5 1795597800.M1P2.vm,S=100
garbage
`

func TestCourierUIDDB(t *testing.T) {
	db, err := ParseCourier([]byte(courierDB))
	if err != nil {
		t.Fatal(err)
	}
	if db.Validity != 795597835 || db.Next != 6 || len(db.UIDs) != 3 || db.UIDs["1795597800.M1P2.vm,S=100"] != 5 {
		t.Fatalf("%+v", db)
	}
	want := "1 795597835 6\n1 1795597617.Vfe00Ibe007M536118.vm\n2 1795597786.Vfe00Ibe00bM599008.vm\n5 1795597800.M1P2.vm,S=100\n"
	if got := string(db.Marshal()); got != want {
		t.Errorf("Marshal:\n%s", got)
	}
	for _, bad := range []string{"", "2 1 1\n", "1 x 3\n", "1 0 3\n", "1 5\n"} {
		if _, err := ParseCourier([]byte(bad)); err == nil {
			t.Errorf("ParseCourier(%q) accepted", bad)
		}
	}
}

func TestDovecotUIDList(t *testing.T) {
	data := "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n" +
		"25006 :1276528487.M364837P9451.kurkku,S=1355,W=1394:2,\n" +
		"25017 W2481 :1276533073.M242911P3632.kurkku:2,F\n"
	db, err := ParseDovecot([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint32{"1276528487.M364837P9451.kurkku,S=1355,W=1394": 25006, "1276533073.M242911P3632.kurkku": 25017}
	if db.Validity != 1275660208 || db.Next != 25022 || !reflect.DeepEqual(db.UIDs, want) {
		t.Fatalf("%+v", db)
	}
}

func TestLoadSave(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0700)
	if _, err := LoadUIDDB(dir); !os.IsNotExist(err) {
		t.Fatalf("empty folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, DovecotUIDDB), []byte("3 V77 N3\n1 :a:2,S\n2 :b\n"), 0600)
	db, err := LoadUIDDB(dir)
	if err != nil || db.Validity != 77 || db.UIDs["a"] != 1 {
		t.Fatalf("dovecot: %+v %v", db, err)
	}
	if err := db.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, CourierUIDDB))
	if string(got) != "1 77 3\n1 a\n2 b\n" {
		t.Errorf("saved %q", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp left over: %v", ents)
	}
	n := NewUIDDB(time.Unix(1795597835, 0))
	if n.Validity != 795597835 || n.Next != 1 {
		t.Errorf("NewUIDDB %+v", n)
	}
}

func TestSubscriptions(t *testing.T) {
	dir := t.TempDir()
	if s, err := ReadSubscriptions(dir); err != nil || s != nil {
		t.Fatal(s, err)
	}
	os.WriteFile(filepath.Join(dir, DovecotSubscribed), []byte("V\t2\n\nSent\nArchive\t2020\n../x\n"), 0600)
	s, _ := ReadSubscriptions(dir)
	if !reflect.DeepEqual(s, []string{"INBOX.Sent", "INBOX.Archive.2020"}) {
		t.Errorf("dovecot: %q", s)
	}
	if err := WriteSubscriptions(dir, []string{"INBOX.Sent", "INBOX.Trash"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, CourierSubscribed))
	if string(got) != "INBOX.Sent\nINBOX.Trash\n" {
		t.Errorf("written %q", got)
	}
	s, _ = ReadSubscriptions(dir)
	if !reflect.DeepEqual(s, []string{"INBOX.Sent", "INBOX.Trash"}) {
		t.Errorf("courier: %q", s)
	}
}

func TestSyncUIDs(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "tmp"), 0700)
	unlock, err := LockFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	id := func(s string) string { return s }
	// Dovecot's map only: its UIDs and UIDVALIDITY are kept, ours written.
	os.WriteFile(filepath.Join(dir, DovecotUIDDB), []byte("3 V77 N3\n1 :a:2,S\n2 :b\n"), 0600)
	files := map[string]string{"a": "a:2,S", "b": "b:2,", "1000.c": "1000.c:2,", "999.d": "999.d:2,T", "999.b0": "999.b0"}
	db, wrote, err := SyncUIDs(dir, nil, files, id)
	if err != nil || !wrote {
		t.Fatal(err, wrote)
	}
	// New files by delivery time, then base: 999.b0, 999.d, 1000.c.
	want := map[string]uint32{"a": 1, "b": 2, "999.b0": 3, "999.d": 4, "1000.c": 5}
	if db.Validity != 77 || db.Next != 6 || !reflect.DeepEqual(db.UIDs, want) {
		t.Fatalf("%+v", db)
	}
	got, _ := os.ReadFile(filepath.Join(dir, CourierUIDDB))
	if string(got) != "1 77 6\n1 a\n2 b\n3 999.b0\n4 999.d\n5 1000.c\n" {
		t.Fatalf("saved %q", got)
	}
	// Nothing changed: not written again.
	st1, _ := os.Stat(filepath.Join(dir, CourierUIDDB))
	if _, wrote, err := SyncUIDs(dir, nil, files, id); err != nil || wrote {
		t.Fatal(err, wrote)
	}
	st2, _ := os.Stat(filepath.Join(dir, CourierUIDDB))
	if !os.SameFile(st1, st2) {
		t.Fatal("rewritten")
	}
	// A vanished file loses its UID; UIDs are never reused.
	delete(files, "b")
	files["2000.e"] = "2000.e:2,"
	db, wrote, _ = SyncUIDs(dir, db, files, id)
	if _, ok := db.UIDs["b"]; ok || !wrote || db.UIDs["2000.e"] != 6 || db.Next != 7 {
		t.Fatalf("%+v", db)
	}
	// A map that does not parse starts afresh.
	os.WriteFile(filepath.Join(dir, CourierUIDDB), []byte("garbage\n"), 0600)
	db, _, err = SyncUIDs(dir, nil, files, id)
	if err != nil || db.Validity == 77 || len(db.UIDs) != len(files) || db.Next != uint32(len(files))+1 {
		t.Fatalf("%+v %v", db, err)
	}
}
