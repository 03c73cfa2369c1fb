package bdb

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestIsAndProblem(t *testing.T) {
	for _, c := range []struct {
		head []byte
		want bool
	}{
		{append(make([]byte, 12), 0x61, 0x15, 0x06, 0x00), true}, // hash, little-endian
		{append(make([]byte, 12), 0x00, 0x06, 0x15, 0x61), true}, // hash, big-endian
		{append(make([]byte, 12), 0x62, 0x31, 0x05, 0x00), true}, // btree
		{[]byte{0x00, 0x05, 0x31, 0x62}, true},                   // DB 1.85 btree
		{make([]byte, 16), false},
		{[]byte("postmaster: root"), false},
		{nil, false},
	} {
		if got := Is(c.head); got != c.want {
			t.Errorf("Is(%x) = %v", c.head, got)
		}
	}

	dir := t.TempDir()
	src := filepath.Join(dir, "virtual")
	db := src + ".db"
	os.WriteFile(db, append(make([]byte, 12), 0x61, 0x15, 0x06, 0x00), 0644)
	if !File(db) || File(src) {
		t.Fatal("File")
	}
	err := Problem(db, "postmap")
	want := "table " + db + " was made by Postfix (Berkeley DB), which Postern cannot read, and its source file " + src +
		" is missing: write " + src + " again (db_dump -p " + db + ", from Debian's db-util, lists the entries) and run \"postmap " + src + "\""
	if !errors.Is(err, ErrNoSource) || !errors.Is(err, ErrBerkeleyDB) || err.Error() != want {
		t.Errorf("no source: %v", err)
	}
	os.WriteFile(src, []byte("a b\n"), 0644)
	err = Problem(db, "postalias")
	want = "table " + db + " was made by Postfix (Berkeley DB); run \"postalias " + src + "\" to rebuild it"
	if errors.Is(err, ErrNoSource) || !errors.Is(err, ErrBerkeleyDB) || err.Error() != want {
		t.Errorf("with source: %v\nwant %s", err, want)
	}
}
