package maildirpp

import (
	"strings"
	"testing"
)

// FuzzDirName: no client name maps outside the Maildir root, and the
// mapping round-trips through IMAPName.
func FuzzDirName(f *testing.F) {
	for _, s := range []string{"INBOX", "INBOX.Sent", "../../etc", "Résumé", "a/b", "INBOX.&AOk-", "x..y", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		d, err := DirName(name)
		if err != nil {
			return
		}
		if d == "" {
			return
		}
		if d[0] != '.' || d == "." || d == ".." || strings.ContainsAny(d, "/\x00") || strings.Contains(d, "..") || len(d) > 255 {
			t.Fatalf("DirName(%q) = %q", name, d)
		}
		back, ok := IMAPName(d)
		if !ok {
			t.Fatalf("IMAPName(DirName(%q)=%q) not a folder", name, d)
		}
		if !strings.Contains(d, "&") && back != Canonical(name) {
			t.Fatalf("round trip %q -> %q -> %q", name, d, back)
		}
		if l, err := LegacyDirName(name); err == nil && (strings.ContainsAny(l, "/\x00") || strings.Contains(l, "..")) {
			t.Fatalf("LegacyDirName(%q) = %q", name, l)
		}
	})
}

// FuzzUIDDB: the parsers never panic, and what they accept survives a
// Marshal/ParseCourier round trip.
func FuzzUIDDB(f *testing.F) {
	f.Add([]byte(courierDB))
	f.Add([]byte("3 V1275660208 N25022 G30\n25006 :a,S=1:2,\n25017 W2481 :b:2,F\n"))
	f.Add([]byte("1 1 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) (*UIDDB, error){ParseCourier, ParseDovecot} {
			db, err := parse(data)
			if err != nil {
				continue
			}
			for name, uid := range db.UIDs {
				if uid == 0 || uid >= db.Next && db.Next != 0 || strings.ContainsAny(name, ":\n") {
					t.Fatalf("bad entry %q=%d next %d", name, uid, db.Next)
				}
			}
			if db.Validity == 0 {
				t.Fatal("zero validity")
			}
			db2, err := ParseCourier(db.Marshal())
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if len(db2.UIDs) > len(db.UIDs) {
				t.Fatalf("round trip grew")
			}
		}
	})
}
