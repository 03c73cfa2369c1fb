package resolve_test

import (
	"os"
	"path/filepath"
	"testing"

	"postern/pkg/resolve"
)

func texthash(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return "texthash:" + p
}

// TestDomainList came from pkg/rewrite's DomainList, which List replaced.
func TestDomainList(t *testing.T) {
	virt := texthash(t, "example.com anything\ninfo@other.com x\n.sub.test y\n")
	dir := t.TempDir()
	file := filepath.Join(dir, "domains")
	os.WriteFile(file, []byte("# comment\nfromfile.test, also.test\n"), 0644)
	dl, err := resolve.NewList("virtual_alias_domains", []string{"fossedu.org", "!no.linuxelabs.com", ".linuxelabs.com", "linuxelabs.com", file, virt, "nis:foo"}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{
		"fossedu.org": true, "FOSSEDU.ORG.": true, "linuxelabs.com": true, "a.linuxelabs.com": true,
		"no.linuxelabs.com": false, "fromfile.test": true, "also.test": true,
		"example.com": true, "other.com": false, "a.sub.test": true, "sub.test": false, "x.test": false,
	} {
		if got, err := dl.MatchDomain(d); got != want || err != nil {
			t.Errorf("Match(%s) = %v, %v; want %v", d, got, err, want)
		}
	}
	if n := (*resolve.List)(nil).Len(); n != 0 {
		t.Error(n)
	}
}

// TestCanonLocal came from pkg/rewrite's Canon.
func TestCanonLocal(t *testing.T) {
	c := &resolve.Canon{MyOrigin: "origin.test", MyDomain: "dom.test", AppendAt: true, AppendDot: true}
	for in, want := range map[string]string{
		"user": "user@origin.test", "user@host": "user@host.dom.test", "user@a.b.": "user@a.b",
		"user@[1.2.3.4]": "user@[1.2.3.4]", "": "",
	} {
		if got := c.Address(in); got != want {
			t.Errorf("Address(%q) = %q, want %q", in, got, want)
		}
	}
	c.AppendDot = false
	if got := c.Address("user@host"); got != "user@host" {
		t.Error(got)
	}
}

// TestDomainIn and TestCanonicalAndSplit came from pkg/addr's DomainIn and Canonical, which
// List and Canon replaced.
func TestDomainIn(t *testing.T) {
	f := filepath.Join(t.TempDir(), "doms")
	os.WriteFile(f, []byte("# local\nfile.example, other.example\n"), 0644)
	list, err := resolve.NewList("mydestination", []string{"vm.example", "localhost", f, "hash:/etc/x", "!bad.example"}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for d, want := range map[string]bool{"VM.example.": true, "localhost": true, "other.example": true, "nope": false, "": false, "bad.example": false} {
		if got, _ := list.MatchDomain(d); got != want {
			t.Errorf("DomainIn(%q) = %v", d, got)
		}
	}
}

func TestCanonicalAndSplit(t *testing.T) {
	c := &resolve.Canon{MyOrigin: "vm.example", AppendAt: true}
	for in, want := range map[string]string{"root": "root@vm.example", "a@b.c.": "a@b.c", "": "", `"x@y"@z`: `"x@y"@z`} {
		if got := c.Address(in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
