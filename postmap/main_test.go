package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/mkmap"
)

// run is postmap with its standard streams given.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return mkmap.Main(mkmap.Postmap, args, stdin, stdout, stderr)
}

func pm(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(append([]string{"-c", t.TempDir()}, args...), strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), st
}

// TestHowtoVirtual is the howto's virtual chapter: postmap /etc/postfix/virtual, then
// postmap -q.
func TestHowtoVirtual(t *testing.T) {
	virtual := filepath.Join(t.TempDir(), "virtual")
	os.WriteFile(virtual, []byte("info@fossedu.org sigiri\ninfo@linuxelabs.com kala\n"), 0644)
	if out, errs, st := pm(t, "", virtual); st != 0 || out != "" || errs != "" {
		t.Fatalf("build: %d %q %q", st, out, errs)
	}
	if fi, err := os.Stat(virtual + ".db"); err != nil || fi.Mode().Perm() != 0644 {
		t.Fatal(fi, err)
	}
	if out, _, st := pm(t, "", "-q", "info@fossedu.org", "hash:"+virtual); st != 0 || out != "sigiri\n" {
		t.Fatalf("%d %q", st, out)
	}
	if out, _, st := pm(t, "", "-q", "INFO@linuxelabs.com", virtual); st != 0 || out != "kala\n" {
		t.Fatalf("%d %q", st, out)
	}
	if out, errs, st := pm(t, "", "-q", "nobody@fossedu.org", "hash:"+virtual); st != 1 || out != "" || errs != "" {
		t.Fatalf("%d %q %q", st, out, errs)
	}
	out, _, st := pm(t, "info@linuxelabs.com\nunknown\ninfo@fossedu.org\n", "-q", "-", virtual)
	if st != 0 || out != "info@linuxelabs.com\tkala\ninfo@fossedu.org\tsigiri\n" {
		t.Fatalf("%d %q", st, out)
	}
	if out, _, st := pm(t, "", "-s", virtual); st != 0 || out != "info@fossedu.org\tsigiri\ninfo@linuxelabs.com\tkala\n" {
		t.Fatalf("%d %q", st, out)
	}
	// -d, -i
	if _, _, st := pm(t, "", "-d", "info@fossedu.org", virtual); st != 0 {
		t.Fatal(st)
	}
	if _, _, st := pm(t, "", "-d", "info@fossedu.org", virtual); st != 1 {
		t.Fatal("second delete found the key")
	}
	if _, _, st := pm(t, "new@fossedu.org newuser\n", "-i", virtual); st != 0 {
		t.Fatal(st)
	}
	if out, _, _ := pm(t, "", "-s", virtual); out != "info@linuxelabs.com\tkala\nnew@fossedu.org\tnewuser\n" {
		t.Fatalf("%q", out)
	}
}

func TestErrorsAndDuplicates(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing")
	if _, errs, st := pm(t, "", missing); st != 1 || errs != "postmap: fatal: open "+missing+": No such file or directory\n" {
		t.Fatalf("%d %q", st, errs)
	}
	if _, errs, st := pm(t, "", "-q", "x", missing); st != 1 || errs != "postmap: fatal: open database "+missing+".db: No such file or directory\n" {
		t.Fatalf("%d %q", st, errs)
	}
	src := filepath.Join(dir, "map")
	os.WriteFile(src, []byte("Key first\nkey second\nnovalue\nmulti a,\n  b\n"), 0640)
	_, errs, st := pm(t, "", src)
	want := "postmap: warning: " + src + ".db: duplicate entry: \"key\"\npostmap: warning: " + src + ", line 3: expected format: key whitespace value\n"
	if st != 0 || errs != want {
		t.Fatalf("%d %q", st, errs)
	}
	if fi, _ := os.Stat(src + ".db"); fi.Mode().Perm() != 0640 {
		t.Fatal("mode not inherited", fi.Mode())
	}
	if out, _, _ := pm(t, "", "-q", "KEY", src); out != "first\n" {
		t.Fatalf("%q", out)
	}
	if out, _, _ := pm(t, "", "-q", "multi", src); out != "a,  b\n" {
		t.Fatalf("%q", out)
	}
	// -r: last wins; -f: no folding.
	pm(t, "", "-r", "-f", src)
	if out, _, st := pm(t, "", "-f", "-q", "key", src); out != "second\n" || st != 0 {
		t.Fatalf("%q", out)
	}
	if out, _, st := pm(t, "", "-f", "-q", "Key", src); st != 0 || out != "first\n" {
		t.Fatal("-f lost the upper-case key")
	}
	if _, _, st := pm(t, "", "-f", "-q", "KEY", src); st != 1 {
		t.Fatal("-f folded the query")
	}
	// Berkeley DB file left by Postfix.
	head := make([]byte, 4096)
	copy(head[12:], []byte{0x61, 0x15, 0x06, 0x00})
	os.WriteFile(src+".db", head, 0644)
	if _, errs, st := pm(t, "", "-q", "key", src); st != 1 || !strings.Contains(errs, "was made by Postfix (Berkeley DB); run \"postmap "+src+"\"") {
		t.Fatalf("%d %q", st, errs)
	}
	// Rebuilding fixes it.
	if _, _, st := pm(t, "", src); st != 0 {
		t.Fatal(st)
	}
	if out, _, _ := pm(t, "", "-q", "key", src); out != "first\n" {
		t.Fatalf("%q", out)
	}
	// Non-indexed types are queried, not built.
	if out, _, st := pm(t, "", "-q", "a", "inline:{a=b}"); out != "b\n" || st != 0 {
		t.Fatal(out, st)
	}
	if _, errs, st := pm(t, "", "regexp:"+src); st != 1 || !strings.Contains(errs, "requires O_RDONLY") {
		t.Fatal(errs, st)
	}
	if _, errs, st := pm(t, ""); st != 1 || !strings.HasPrefix(errs, "postmap: fatal: usage:") {
		t.Fatal(errs)
	}
}

func TestHeaderQuery(t *testing.T) {
	re := filepath.Join(t.TempDir(), "header_checks")
	os.WriteFile(re, []byte("/^Subject: .*viagra/ REJECT spam\n/^body line$/ BODY\n"), 0644)
	msg := "From: a\nSubject: buy\n viagra now\n\nbody line\n"
	if out, _, st := pm(t, msg, "-h", "-q", "-", "regexp:"+re); st != 0 || out != "Subject: buy\n viagra now\tREJECT spam\n" {
		t.Fatalf("%d %q", st, out)
	}
	if out, _, st := pm(t, msg, "-b", "-q", "-", "regexp:"+re); st != 0 || out != "body line\tBODY\n" {
		t.Fatalf("%d %q", st, out)
	}
}
