package maildir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var uniqueRE = regexp.MustCompile(`^(\d+)\.M(\d+)P(\d+)Q(\d+)\.([^,:/]+)(,S=(\d+),W=(\d+))?$`)

func TestUniqueName(t *testing.T) {
	now := time.Unix(1795597617, 536118000)
	n := uniqueName(now, `h\057o`, 12, 14)
	m := uniqueRE.FindStringSubmatch(n)
	if m == nil || m[1] != "1795597617" || m[2] != "536118" || m[3] != pid || m[5] != `h\057o` || m[7] != "12" || m[8] != "14" {
		t.Fatalf("bad name %q (%q)", n, m)
	}
	if s, ok := SizeFromName(n + ":2,S"); !ok || s != 12 {
		t.Fatal("S= not readable")
	}
	if v, ok := VSizeFromName(n + ":2,S"); !ok || v != 14 {
		t.Fatal("W= not readable")
	}
	if n := UniqueName(now, -1, 0); strings.Contains(n, ",") || !uniqueRE.MatchString(n) {
		t.Fatalf("no size: %q", n)
	}
	// The same microsecond in many goroutines: still all different.
	const k = 2000
	names := make([]string, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() { defer wg.Done(); names[i] = UniqueName(now, -1, 0) }()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("duplicate %q", n)
		}
		seen[n] = true
	}
}

// A Dovecot tail after the letters survives flag changes, so pop3d's
// RETR and imapd's STORE agree on the name (pkg/maildir's WithFlags once
// folded the tail into the letters).
func TestFlagsKeepDovecotTail(t *testing.T) {
	n := "1.M2P3Q4.h,S=10,W=12:2,S,XY"
	if got := AddFlags(n, "R"); got != "1.M2P3Q4.h,S=10,W=12:2,RS,XY" {
		t.Fatal(got)
	}
	if Flags(n) != "S" || !HasFlag(n, 'S') || HasFlag(n, 'X') {
		t.Fatal("letters")
	}
	if got := RemoveFlags(n, "S"); got != "1.M2P3Q4.h,S=10,W=12:2,,XY" {
		t.Fatal(got)
	}
	if got := CurName("1.a:2,TS"); got != "1.a:2,ST" {
		t.Fatal(got)
	}
	if got := CurName("1.a:1,xyz"); got != "1.a:2," {
		t.Fatal(got)
	}
	if got := CurName("1.a"); got != "1.a:2," {
		t.Fatal(got)
	}
}

func TestStoreAndPlace(t *testing.T) {
	a, b := mkMaildir(t), filepath.Join(t.TempDir(), "other")
	if err := Make(b); err != nil {
		t.Fatal(err)
	}
	date := time.Unix(1700000000, 0)
	name, err := Store(a, strings.NewReader("S: x\r\n\r\nbody\n"), "ST", date)
	if err != nil {
		t.Fatal(err)
	}
	base, letters, _ := SplitName(name)
	if letters != "ST" || !uniqueRE.MatchString(base) || !strings.HasSuffix(base, ",S=11,W=14") {
		t.Fatalf("stored as %q", name)
	}
	src := filepath.Join(a, "cur", name)
	if st, err := os.Stat(src); err != nil || !st.ModTime().Equal(date) || st.Mode().Perm() != 0600 {
		t.Fatalf("%v %v", st, err)
	}
	// COPY: a hard link under a fresh name with the sizes carried over.
	cp, err := Place(b, src, "F", false)
	if err != nil {
		t.Fatal(err)
	}
	cb, cl, _ := SplitName(cp)
	if cl != "F" || cb == base || !strings.HasSuffix(cb, ",S=11,W=14") {
		t.Fatalf("copied as %q", cp)
	}
	s1, _ := os.Stat(src)
	s2, _ := os.Stat(filepath.Join(b, "cur", cp))
	if !os.SameFile(s1, s2) {
		t.Fatal("copy is not a link")
	}
	// MOVE: a rename.
	mv, err := Place(b, src, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("source kept after move")
	}
	if got, inNew, ok := FindBase(b, Base(mv)); !ok || inNew || got != mv {
		t.Fatalf("FindBase: %q %v %v", got, inNew, ok)
	}
	if _, err := Place(b, src, "", false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("gone source: %v", err)
	}
	for _, d := range []string{a, b} {
		if ents, _ := os.ReadDir(filepath.Join(d, "tmp")); len(ents) != 0 {
			t.Fatalf("%s/tmp not clean: %v", d, ents)
		}
	}
	names, err := ReadNames(filepath.Join(b, "cur"))
	if err != nil || len(names) != 2 {
		t.Fatalf("%v %v", names, err)
	}
	// copyFile, as across file systems: the content and the date.
	dst := filepath.Join(b, "tmp", "x")
	if err := copyFile(filepath.Join(b, "cur", cp), dst); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(dst); string(data) != "S: x\n\nbody\n" {
		t.Fatalf("%q", data)
	}
	if st, _ := os.Stat(dst); !st.ModTime().Equal(date) {
		t.Fatal("date not kept")
	}
}

func TestWriteFile(t *testing.T) {
	dir := mkMaildir(t)
	os.WriteFile(filepath.Join(dir, "courierimapsubscribed"), []byte("old\n"), 0644)
	if err := WriteFile(dir, "courierimapsubscribed", []byte("INBOX.a\n")); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "courierimapsubscribed"))
	data, _ := os.ReadFile(filepath.Join(dir, "courierimapsubscribed"))
	if string(data) != "INBOX.a\n" || st.Mode().Perm() != 0600 {
		t.Fatalf("%q %v", data, st.Mode())
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatalf("tmp not clean: %v", ents)
	}
	// A folder without tmp/: the temporary file goes beside the target.
	bare := t.TempDir()
	if err := WriteFile(bare, "f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(bare); len(ents) != 1 {
		t.Fatalf("%v", ents)
	}
}

func TestIMAPForm(t *testing.T) {
	long := strings.Repeat("x", 32<<10-1) + "\r\n" + strings.Repeat("y\n", 40000)
	for _, in := range []string{"", "a", "a\n", "a\r\nb\n", "\n\n", "a\r\rb\n\r", long} {
		c := ToCRLF([]byte(in))
		if strings.Contains(strings.ReplaceAll(string(c), "\r\n", ""), "\n") {
			t.Errorf("%q: bare LF left in %q", in, c)
		}
		if n, err := CRLFSize(strings.NewReader(in)); err != nil || n != int64(len(c)) {
			t.Errorf("%.20q: CRLFSize %d, want %d", in, n, len(c))
		}
		if string(fromCRLF(c)) != strings.ReplaceAll(in, "\r\n", "\n") {
			t.Errorf("%.20q: stored form %.20q", in, fromCRLF(c))
		}
	}
}
