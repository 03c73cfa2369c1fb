package addr

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCanonicalAndSplit(t *testing.T) {
	for in, want := range map[string]string{"root": "root@vm.example", "a@b.c.": "a@b.c", "": "", `"x@y"@z`: `"x@y"@z`} {
		if got := Canonical(in, "vm.example"); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
	if l, d := Split(`"x@y"@z`); l != `"x@y"` || d != "z" {
		t.Fatal(l, d)
	}
	if u, e := Extension("bob+lists", "+-"); u != "bob" || e != "lists" {
		t.Fatal(u, e)
	}
	if u, e := Extension("+x", "+"); u != "+x" || e != "" {
		t.Fatal(u, e)
	}
}

func TestDomainIn(t *testing.T) {
	f := filepath.Join(t.TempDir(), "doms")
	os.WriteFile(f, []byte("# local\nfile.example, other.example\n"), 0644)
	list := []string{"vm.example", "localhost", f, "hash:/etc/x", "!bad.example"}
	for d, want := range map[string]bool{"VM.example.": true, "localhost": true, "other.example": true, "nope": false, "": false, "bad.example": false} {
		if got := DomainIn(d, list); got != want {
			t.Errorf("DomainIn(%q) = %v", d, got)
		}
	}
}
