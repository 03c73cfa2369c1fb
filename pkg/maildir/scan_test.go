package maildir

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern/pkg/header"
)

func TestNames(t *testing.T) {
	n := "1795597617.Vfe00Ibe007M536118.vm:2,S"
	if Base(n) != "1795597617.Vfe00Ibe007M536118.vm" || Flags(n) != "S" || !HasFlag(n, 'S') || HasFlag(n, 'T') || !HasInfo(n) {
		t.Fatal("basic split")
	}
	if got := AddFlags(n, "TFS"); got != "1795597617.Vfe00Ibe007M536118.vm:2,FST" {
		t.Fatal(got)
	}
	if got := RemoveFlags("x:2,DFST", "SD"); got != "x:2,FT" {
		t.Fatal(got)
	}
	if got := AddFlags("x", "S"); got != "x:2,S" {
		t.Fatal(got)
	}
	if got := WithFlags("x:2,a", "bSa/:"); got != "x:2,Sab" {
		t.Fatal(got)
	}
	if Flags("x:1,S") != "" || HasInfo("x:1,S") || Flags("x") != "" {
		t.Fatal("non-2 info")
	}
	if s, ok := SizeFromName("123.M1P2.host,S=4567,W=4600:2,S"); !ok || s != 4567 {
		t.Fatal(s, ok)
	}
	if s, ok := VSizeFromName("123.M1P2.host,S=4567,W=4600:2,S"); !ok || s != 4600 {
		t.Fatal(s, ok)
	}
	if _, ok := SizeFromName("123.host:2,S=1"); ok {
		t.Fatal("size from info")
	}
	if !Less("999.b", "1000.a") || Less("1000.a", "999.b") || !Less("5.a:2,T", "5.b:2,") || Less("5.a:2,T", "5.a:2,") {
		t.Fatal("order")
	}
	for _, bad := range []string{"", ".hidden", "a/b", "a\x00"} {
		if ValidName(bad) {
			t.Errorf("ValidName(%q)", bad)
		}
	}
}

func FuzzNames(f *testing.F) {
	for _, s := range []string{"1795597617.Vfe00Ibe007M536118.vm:2,S", "x", ":2,", "1,S=12:2,ab", "123456789012345678901234"} {
		f.Add(s, "DS")
	}
	f.Fuzz(func(t *testing.T, name, flags string) {
		b := Base(name)
		if strings.Contains(b, ":") || !strings.HasPrefix(name, b) {
			t.Fatalf("Base(%q) = %q", name, b)
		}
		w := WithFlags(name, flags)
		if Base(w) != b || !HasInfo(w) {
			t.Fatalf("WithFlags(%q, %q) = %q", name, flags, w)
		}
		if strings.ContainsAny(w[len(b):], "/") {
			t.Fatalf("flags added a slash: %q", w)
		}
		if WithFlags(w, Flags(w)) != w {
			t.Fatalf("not idempotent: %q", w)
		}
		SizeFromName(name)
		TimePrefix(name)
		Less(name, flags)
	})
}

func TestSplitJoinName(t *testing.T) {
	b, l, tail := SplitName("1234.M1P2.host,S=10,W=12:2,FSa,XY")
	if b != "1234.M1P2.host,S=10,W=12" || l != "FSa" || tail != ",XY" {
		t.Errorf("SplitName: %q %q %q", b, l, tail)
	}
	if n := JoinName("x", "TSDSF/:", ""); n != "x:2,DFST" {
		t.Errorf("JoinName = %q", n)
	}
	if b, l, _ := SplitName("x:1,foo"); b != "x" || l != "" {
		t.Errorf("non-2 info: %q %q", b, l)
	}
	if FlagLetter(`\seen`) != 'S' || LetterFlag('T') != `\Deleted` || FlagLetter("$Junk") != 0 {
		t.Error("flag letters")
	}
}

// FuzzSplitName: JoinName(SplitName(x)) keeps the base and yields a name
// whose info parses back to the same letters.
func FuzzSplitName(f *testing.F) {
	f.Add("1.M2.h,S=3:2,FS")
	f.Add("x:2,a,b")
	f.Fuzz(func(t *testing.T, name string) {
		b, l, tail := SplitName(name)
		n := JoinName(b, l, tail)
		b2, l2, _ := SplitName(n)
		if b2 != b || strings.ContainsAny(l2, ":,/") {
			t.Fatalf("%q -> %q (%q %q)", name, n, b2, l2)
		}
	})
}

func mkMaildir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"tmp", "new", "cur"} {
		os.MkdirAll(filepath.Join(dir, d), 0700)
	}
	return dir
}

func TestScan(t *testing.T) {
	dir := mkMaildir(t)
	os.WriteFile(filepath.Join(dir, "new", "200.a.host"), []byte("a\n"), 0600)
	os.WriteFile(filepath.Join(dir, "new", "100.b.host:2,S"), []byte("bb\n"), 0600)
	os.WriteFile(filepath.Join(dir, "new", "150.c.host:1,xyz"), []byte("ccc\n"), 0600)
	os.WriteFile(filepath.Join(dir, "new", ".hidden"), nil, 0600)
	os.WriteFile(filepath.Join(dir, "cur", "50.d.host:2,RS"), []byte("dddd\n"), 0600)
	os.Mkdir(filepath.Join(dir, "cur", "99.dir"), 0700)
	old := filepath.Join(dir, "tmp", "1.old")
	os.WriteFile(old, nil, 0600)
	os.Chtimes(old, time.Now().Add(-40*time.Hour), time.Now().Add(-40*time.Hour))
	os.WriteFile(filepath.Join(dir, "tmp", "2.fresh"), nil, 0600)
	PurgeTmp(dir, time.Now())
	if _, err := os.Stat(old); err == nil {
		t.Error("old tmp file kept")
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "2.fresh")); err != nil {
		t.Error("fresh tmp file purged")
	}
	moved, err := MoveNew(dir)
	if err != nil || len(moved) != 3 {
		t.Fatalf("MoveNew: %v %v", moved, err)
	}
	msgs, err := ListCur(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range msgs {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, " "); got != "50.d.host:2,RS 100.b.host:2,S 150.c.host:2, 200.a.host:2," {
		t.Fatal(got)
	}
	n, err := SetFlags(dir, msgs[2].Name, "TS")
	if err != nil || n != "150.c.host:2,ST" {
		t.Fatal(n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cur", n)); err != nil {
		t.Fatal(err)
	}
	if _, err := ListCur(filepath.Join(dir, "nope")); err != ErrNoCur {
		t.Fatal(err)
	}
}

func TestCopyCRLF(t *testing.T) {
	cases := []struct {
		in, out string
		dot     bool
		top     int
	}{
		{"a\nb\n", "a\r\nb\r\n", false, -1},
		{"a\r\nb\n", "a\r\nb\r\n", false, -1},
		{"a\nb", "a\r\nb\r\n", false, -1},
		{"a\nb\r", "a\r\nb\r\n", false, -1},
		{"a\r\rb\n", "a\r\rb\r\n", false, -1},
		{"", "", false, -1},
		{".x\n..y\n.\n", "..x\r\n...y\r\n..\r\n", true, -1},
		{"S: 1\nT: 2\n\nl1\nl2\nl3\n", "S: 1\r\nT: 2\r\n\r\nl1\r\n", false, 1},
		{"S: 1\r\n\r\nl1\r\n", "S: 1\r\n\r\n", false, 0},
		{"S: 1\n\n.l1\nl2\n", "S: 1\r\n\r\n..l1\r\nl2\r\n", true, 5},
		// A header that ends at a line that is not a header, or at the end
		// of the file: TOP puts the missing empty line in, RETR sends the file.
		{"S: 1\nno body", "S: 1\r\n\r\n", false, 0},
		{"S: 1\nAre you there?\nT: 2\n", "S: 1\r\n\r\nAre you there?\r\n", false, 1},
		{"S: 1\nAre you there?\nT: 2\n", "S: 1\r\nAre you there?\r\nT: 2\r\n", false, -1},
		{"S: 1\n f\n", "S: 1\r\n f\r\n\r\n", false, 3},
		{"S: 1\n f\n", "S: 1\r\n f\r\n", false, -1},
		{" x\ny\n", "\r\n x\r\n", false, 1},
		{"From a@b date\nS: 1\n\nb\n", "\r\nFrom a@b date\r\nS: 1\r\n", false, 2},
		{"", "\r\n", false, 0},
	}
	for _, c := range cases {
		var b bytes.Buffer
		st, err := CopyCRLF(&b, strings.NewReader(c.in), c.dot, c.top)
		if err != nil || b.String() != c.out || st.Bytes != int64(len(c.out)) {
			t.Errorf("%q dot=%v top=%d: %q (%d) %v, want %q", c.in, c.dot, c.top, b.String(), st.Bytes, err, c.out)
		}
		if c.top < 0 {
			for _, piece := range []int{1, 2, 1 << 20} {
				if got := netForm(c.in, c.dot, piece); got != c.out {
					t.Errorf("NetForm %q dot=%v in pieces of %d: %q, want %q", c.in, c.dot, piece, got, c.out)
				}
			}
		}
	}
	// Lines longer than the read buffer, with a CRLF split across reads.
	long := strings.Repeat("x", 32<<10-1) + "\r\n." + strings.Repeat("y", 70000) + "\n"
	var b bytes.Buffer
	CopyCRLF(&b, strings.NewReader(long), true, -1)
	if want := strings.Repeat("x", 32<<10-1) + "\r\n.." + strings.Repeat("y", 70000) + "\r\n"; b.String() != want {
		t.Errorf("long lines: got %d bytes, want %d", b.Len(), len(want))
	}
	st, _ := CopyCRLF(&bytes.Buffer{}, strings.NewReader("Subject: caf\xc3\xa9\n\nx\n"), false, -1)
	if !st.Header8bit {
		t.Error("8-bit header not seen")
	}
	st, _ = CopyCRLF(&bytes.Buffer{}, strings.NewReader("Subject: x\n\ncaf\xc3\xa9\n"), false, -1)
	if st.Header8bit {
		t.Error("8-bit body taken for header")
	}
	st, _ = CopyCRLF(&bytes.Buffer{}, strings.NewReader("Subject: x\nno header: caf\xc3\xa9\n"), false, -1)
	if st.Header8bit {
		t.Error("8-bit body after a header without its empty line taken for header")
	}
}

// netForm converts in with NetForm, given in pieces of at most piece bytes.
func netForm(in string, dot bool, piece int) string {
	c := NetForm{DotStuff: dot}
	var out []byte
	for p := []byte(in); len(p) > 0; {
		n := min(piece, len(p))
		out = c.Append(out, p[:n])
		p = p[n:]
	}
	return string(c.End(out))
}

func FuzzCopyCRLF(f *testing.F) {
	f.Add("a\nb\r\n.c\r\r\n\n.", true, 1)
	f.Fuzz(func(t *testing.T, in string, dot bool, top int) {
		var b bytes.Buffer
		top %= 4
		st, err := CopyCRLF(&b, strings.NewReader(in), dot, top)
		if err != nil || st.Bytes != int64(b.Len()) {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
			t.Fatalf("bare LF in %q", out)
		}
		if out != "" && !strings.HasSuffix(out, "\r\n") {
			t.Fatalf("no final CRLF: %q", out)
		}
		if dot && strings.Contains("\r\n"+out, "\r\n.\r\n") {
			t.Fatalf("unstuffed terminator in %q", out)
		}
		if top >= 0 && !dot && in != "" {
			// TOP agrees with the header split imapd makes of the same file.
			var full bytes.Buffer
			CopyCRLF(&full, strings.NewReader(in), false, -1)
			ws := header.WithSeparator(full.Bytes())
			_, body, _ := header.End(ws, true)
			if !bytes.HasPrefix(ws, b.Bytes()) || b.Len() < body {
				t.Fatalf("TOP %d of %q: %q; message with its separator: %q", top, in, out, ws)
			}
		}
		if top < 0 {
			if got := netForm(in, dot, 1+len(in)%7); got != out {
				t.Fatalf("NetForm of %q: %q, CopyCRLF: %q", in, got, out)
			}
			size, _ := CopyCRLF(&bytes.Buffer{}, strings.NewReader(in), false, -1)
			unstuffed := strings.ReplaceAll("\r\n"+out, "\r\n..", "\r\n.")[2:]
			if !dot {
				unstuffed = out
			}
			if size.Bytes != int64(len(unstuffed)) {
				t.Fatalf("size %d != %d", size.Bytes, len(unstuffed))
			}
		}
	})
}

func TestPOP3List(t *testing.T) {
	dir := mkMaildir(t)
	courier := "/3 6 1795597622\n" +
		"1795597617.Vfe00Ibe007M536118.vm:2,S 346 1:1795597622:0\n" +
		"1795597786.Vfe00Ibe00bM599008.vm:2, 349 2:1795597622:0\n" +
		"1795597700.gone.vm:2, 10 3:1795597622:0\n" +
		"garbage\n"
	os.WriteFile(filepath.Join(dir, POP3ListFile), []byte(courier), 0600)
	// The first message has been flagged since; a new one arrived.
	os.WriteFile(filepath.Join(dir, "cur", "1795597617.Vfe00Ibe007M536118.vm:2,RS"), []byte("x\n"), 0600)
	os.WriteFile(filepath.Join(dir, "cur", "1795597786.Vfe00Ibe00bM599008.vm:2,"), []byte("y\n"), 0600)
	os.WriteFile(filepath.Join(dir, "cur", "1795598000.new.vm:2,"), []byte("new\nmsg"), 0600)
	msgs, _ := ListCur(dir)
	size := func(m Message) (int64, bool, error) { return POP3Size(m.Path(dir)) }
	ents, err := SyncPOP3(dir, msgs, time.Unix(1800000000, 0), size)
	if err != nil {
		t.Fatal(err)
	}
	var uidls []string
	for _, e := range ents {
		uidls = append(uidls, e.UIDL()+"/"+itoa(e.Size))
	}
	want := "UID1-1795597622/346 UID2-1795597622/349 UID6-1795597622/10"
	if got := strings.Join(uidls, " "); got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	data, _ := os.ReadFile(filepath.Join(dir, POP3ListFile))
	wantFile := "/3 7 1795597622\n" +
		"1795597617.Vfe00Ibe007M536118.vm:2,RS 346 1:1795597622:0\n" +
		"1795597786.Vfe00Ibe00bM599008.vm:2, 349 2:1795597622:0\n" +
		"1795598000.new.vm:2, 10 6:1795597622:0\n"
	if string(data) != wantFile {
		t.Fatalf("list file:\n%s\nwant:\n%s", data, wantFile)
	}
	// A second sync changes nothing and gives the same UIDLs.
	st1, _ := os.Stat(filepath.Join(dir, POP3ListFile))
	ents2, _ := SyncPOP3(dir, msgs, time.Now(), size)
	st2, _ := os.Stat(filepath.Join(dir, POP3ListFile))
	if len(ents2) != 3 || ents2[2].UIDL() != "UID6-1795597622" || !os.SameFile(st1, st2) {
		t.Fatal("second sync changed things")
	}
	// Temp files are gone.
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Fatal("tmp not clean")
	}
}

func TestPOP3ListVersions(t *testing.T) {
	l, ok := ParsePOP3List(strings.NewReader("/1 5\na b:2,S 12 4\n"))
	if !ok || l.Entries[0].UIDL() != "UID4" || l.Entries[0].Name != "a b:2,S" {
		t.Fatalf("v1: %+v", l)
	}
	l, ok = ParsePOP3List(strings.NewReader("/2 5 77\nx 12 4:77\n"))
	if !ok || l.Entries[0].UIDL() != "UID4-77" {
		t.Fatalf("v2: %+v", l)
	}
	l, ok = ParsePOP3List(strings.NewReader("12345.M1+P'\"\x01.host:2,S 12\n"))
	if !ok || l.Entries[0].UIDL() != "12345.M1+2BP+27+22+01.host" {
		t.Fatalf("v0: %+v %s", l, l.Entries[0].UIDL())
	}
	for _, bad := range []string{"/9 1 1\n", "/3 x 1\n", "/3 0 1\n", "/2 4\n"} {
		if _, ok := ParsePOP3List(strings.NewReader(bad)); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	// A new mailbox gets a list with UIDV = now.
	dir := mkMaildir(t)
	os.WriteFile(filepath.Join(dir, "cur", "1.a:2,"), []byte("a\n"), 0600)
	msgs, _ := ListCur(dir)
	ents, err := SyncPOP3(dir, msgs, time.Unix(1700000000, 0), func(m Message) (int64, bool, error) { return POP3Size(m.Path(dir)) })
	if err != nil || ents[0].UIDL() != "UID1-1700000000" || ents[0].Size != 3 {
		t.Fatalf("%+v %v", ents, err)
	}
}

func FuzzPOP3List(f *testing.F) {
	f.Add("/3 6 1795597622\n1795597617.Vfe00Ibe007M536118.vm:2,S 346 1:1795597622:0\n")
	f.Add("/1 5\na b 12 4\n")
	f.Add("x 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		l, ok := ParsePOP3List(strings.NewReader(s))
		if !ok {
			return
		}
		for _, e := range l.Entries {
			if strings.ContainsAny(e.Name, "/\n\x00") || e.Size < 0 {
				t.Fatalf("bad entry %+v", e)
			}
			e.UIDL()
		}
		l2, ok := ParsePOP3List(bytes.NewReader(l.Encode()))
		if !ok || len(l2.Entries) != len(l.Entries) {
			t.Fatalf("round trip: %q -> %q", s, l.Encode())
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
