package passwd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
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

// The parsed file is reused only while the file is unchanged: a user added, removed or
// renamed is seen by the next lookup, however the file was rewritten.
func TestLookupSeesChanges(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "passwd")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0644); err != nil {
			t.Fatal(err)
		}
	}
	old, oldRacy := File, racyWindow
	File, racyWindow = p, 50*time.Millisecond
	defer func() { File, racyWindow = old, oldRacy }()
	has := func(name string, want bool) {
		t.Helper()
		u, err := Lookup(name)
		if want && (err != nil || u.Name != name) || !want && err != ErrNotFound {
			t.Fatalf("Lookup(%q) = %+v, %v; want found=%v", name, u, err, want)
		}
	}

	write("root:x:0:0:root:/root:/bin/sh\n")
	has("root", true)
	has("alice", false) // a negative answer, from the index
	write("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
	has("alice", true) // no stale negative answer
	if u, err := LookupUID(1000); err != nil || u.Name != "alice" {
		t.Fatal(u, err)
	}

	// Once the file is older than racyWindow, the index is reused: a caller's copy is its own.
	time.Sleep(2 * racyWindow)
	u, _ := Lookup("alice")
	u.Home = "/changed"
	ix := current.Load()
	has("alice", true)
	if current.Load() != ix {
		t.Fatal("unchanged file parsed again")
	}
	if u2, _ := Lookup("alice"); u2.Home != "/home/alice" {
		t.Fatal("a caller's change reached the index:", u2.Home)
	}

	// Removed, in place with the same size within the same timestamp tick: the index of a
	// file this fresh is not trusted.
	write("root:x:0:0:root:/root:/bin/sh\nbobby:x:1000:1000::/home/alice:/bin/sh\n")
	has("alice", false)
	has("bobby", true)
	write("root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n")
	has("bobby", false)
	has("alice", true)

	// Replaced by rename, as vipw and useradd do, after the index has aged.
	time.Sleep(2 * racyWindow)
	has("alice", true)
	tmp := filepath.Join(dir, "passwd.new")
	os.WriteFile(tmp, []byte("root:x:0:0:root:/root:/bin/sh\ncarol:x:1000:1000::/home/alice:/bin/sh\n"), 0644)
	os.Chtimes(tmp, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	has("alice", false)
	has("carol", true)

	// A file that goes away is an error, not an answer from the old index.
	os.Remove(p)
	if _, err := Lookup("carol"); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	// Another File (tests point it elsewhere) is another index.
	write("dave:x:7:7::/:/bin/sh\n")
	has("dave", true)
	q := filepath.Join(dir, "other")
	os.WriteFile(q, []byte("erin:x:8:8::/:/bin/sh\n"), 0644)
	File = q
	has("dave", false)
	has("erin", true)
}

// Lookups from many goroutines while the file changes (run with -race).
func TestLookupConcurrent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/sh\n"), 0644)
	old := File
	File = p
	defer func() { File = old }()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				if u, err := Lookup("root"); err != nil || u.UID != 0 {
					t.Error(u, err)
					return
				}
			}
		}()
	}
	for j := 0; j < 20; j++ {
		// Replaced whole, as vipw does: an in-place rewrite shows readers a truncated file,
		// with or without the index.
		os.WriteFile(p+".new", []byte("root:x:0:0:root:/root:/bin/sh\nu"+strconv.Itoa(j)+":x:1:1::/:/bin/sh\n"), 0644)
		os.Rename(p+".new", p)
	}
	wg.Wait()
}
