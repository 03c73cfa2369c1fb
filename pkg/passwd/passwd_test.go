package passwd

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\n#c\nbroken\nfmaster:x:1001:1001:Fred Master,,,:/home/fmaster:/bin/sh\nbad:x:-1:0::/:/bin/sh\n"), 0644)
	old := File
	File = p
	defer func() { File = old }()
	u, err := Lookup("fmaster")
	if err != nil || u.UID != 1001 || u.Home != "/home/fmaster" || u.FullName() != "Fred Master" {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := Lookup("nobody"); err != ErrNotFound {
		t.Fatal(err)
	}
	if _, err := Lookup("bad"); err != ErrNotFound {
		t.Fatal("negative uid accepted")
	}
	if u, _ := LookupUID(0); u == nil || u.Name != "root" {
		t.Fatal(u)
	}
}
