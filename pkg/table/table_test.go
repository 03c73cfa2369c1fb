package table

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/passwd"
)

func mustLookup(t *testing.T, tb Table, key, want string, wantFound bool) {
	t.Helper()
	v, ok, err := tb.Lookup(key)
	if err != nil || ok != wantFound || v != want {
		t.Fatalf("Lookup(%q) = %q, %v, %v; want %q, %v", key, v, ok, err, want, wantFound)
	}
}

func TestReadLogicalAndSource(t *testing.T) {
	src := "# comment\nmulti  a,\n   b\n\n  # indented comment\nsimple value  \n\"quoted key\" v w\nnovalue\nx\ty\n"
	var got []string
	var warns []string
	err := ParseSource(strings.NewReader(src), "FILE", func(e Entry) error {
		got = append(got, fmt.Sprintf("%d:%s=%s", e.Line, e.Key, e.Value))
		return nil
	}, func(s string) { warns = append(warns, s) })
	want := "2:multi=a,   b|6:simple=value|7:quoted key=v w|9:x=y"
	if err != nil || strings.Join(got, "|") != want {
		t.Fatalf("%q %v", got, err)
	}
	if len(warns) != 1 || warns[0] != "FILE, line 8: expected format: key whitespace value" {
		t.Fatal(warns)
	}
}

func TestBuilderDuplicates(t *testing.T) {
	b := NewBuilder(true, DupWarn)
	if b.Put("A", "1") || !b.Put("a", "2") {
		t.Fatal("duplicate not reported")
	}
	if v, _ := b.Get("a"); v != "1" {
		t.Fatal("first value not kept", v)
	}
	b = NewBuilder(true, DupReplace)
	b.Put("a", "1")
	if b.Put("a", "2") {
		t.Fatal("warned under -r")
	}
	if v, _ := b.Get("A"); v != "2" {
		t.Fatal(v)
	}
}

func TestTexthash(t *testing.T) {
	p := filepath.Join(t.TempDir(), "th")
	os.WriteFile(p, []byte("Key1 v1\nkey2 v2\n"), 0644)
	tb, err := Open("texthash:"+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustLookup(t, tb, "KEY1", "v1", true)
	mustLookup(t, tb, "key3", "", false)
	// Edits are picked up without reopening.
	os.WriteFile(p, []byte("key3 v3\n"), 0644)
	mustLookup(t, tb, "key3", "v3", true)
	if _, err := Open("texthash:/nonexistent/x", nil); err == nil || err.Error() != "open /nonexistent/x: No such file or directory" {
		t.Fatal(err)
	}
}

func TestInlineStatic(t *testing.T) {
	tb, err := Open("inline:{ Key=value, { key2 = text with spaces }, k3=v3 }", nil)
	if err != nil {
		t.Fatal(err)
	}
	mustLookup(t, tb, "key", "value", true)
	mustLookup(t, tb, "KEY2", "text with spaces", true)
	mustLookup(t, tb, "k3", "v3", true)
	mustLookup(t, tb, "k4", "", false)
	if _, err := Open("inline:{ novalue }", nil); err == nil {
		t.Fatal("accepted item without =")
	}
	if _, err := Open("inline:a=b", nil); err == nil {
		t.Fatal("accepted inline without braces")
	}
	s, _ := Open("static:OK", nil)
	mustLookup(t, s, "anything", "OK", true)
	s, _ = Open("static:{ text with spaces }", nil)
	mustLookup(t, s, "x", "text with spaces", true)
}

func TestRegexp(t *testing.T) {
	src := `# comment
/^(.*)@example\.com$/    $1@example.org
/^postmaster@/           root
if /^list-/
/^list-(\w+)-request$/    ${1}-owner
/^list-(.*)$/             list:$(1)
endif
/^price \$5$/             cheap $$5
/a{2}b/                   double-a
/\<word\>/                bounded
!/@/                      local-only
`
	var warns []string
	tb, err := ParseRegexp(strings.NewReader(src), "re", false, false, func(s string) { warns = append(warns, s) })
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	mustLookup(t, tb, "Joe@Example.COM", "Joe@example.org", true)
	mustLookup(t, tb, "postmaster@x", "root", true)
	mustLookup(t, tb, "bob", "local-only", true)
	mustLookup(t, tb, "list-users-request", "users-owner", true)
	mustLookup(t, tb, "list-users", "list:users", true)
	mustLookup(t, tb, "price $5", "cheap $5", true)
	mustLookup(t, tb, "xaab@y", "double-a", true)
	mustLookup(t, tb, "a word here@y", "bounded", true)
	mustLookup(t, tb, "other@y", "", false)

	// Flags: i toggles case-insensitivity (on by default).
	tb, _ = ParseRegexp(strings.NewReader("/^ABC$/i exact\n"), "re", false, false, nil)
	mustLookup(t, tb, "abc", "", false)
	mustLookup(t, tb, "ABC", "exact", true)

	// Unsupported constructs are reported and the rule skipped, not a crash.
	warns = nil
	tb, _ = ParseRegexp(strings.NewReader("/(a)\\1/ backref\n/x/ $2\n/y/\nif /z/\n/q/ ok\nendif\nendif\n/[/ bad\n/a/ $1\n"), "re", false, false,
		func(s string) { warns = append(warns, s) })
	for _, w := range []string{"line 1: back-reference", "line 2: out of range replacement index", "line 3: no replacement text", "line 7: ignoring ENDIF", "line 8: unsupported or invalid", "line 9: out of range"} {
		if !strings.Contains(strings.Join(warns, "\n"), w) {
			t.Errorf("missing warning %q in %q", w, warns)
		}
	}
	mustLookup(t, tb, "zq", "ok", true)

	// local(8)'s alias_maps refuse $N.
	warns = nil
	tb, _ = ParseRegexp(strings.NewReader("/(.*)/ $1\n/.*/ fixed\n"), "re", false, true, func(s string) { warns = append(warns, s) })
	mustLookup(t, tb, "x", "fixed", true)
	if len(warns) != 1 || !strings.Contains(warns[0], "substitution is not allowed") {
		t.Fatal(warns)
	}

	// pcre: Perl classes, look-around refused.
	warns = nil
	tb, _ = ParseRegexp(strings.NewReader("/^(\\d+)$/ num:$1\n/a(?=b)/ look\n"), "pcre", true, false, func(s string) { warns = append(warns, s) })
	mustLookup(t, tb, "123", "num:123", true)
	if len(warns) != 1 || !strings.Contains(warns[0], "look-around") {
		t.Fatal(warns)
	}

	// Through Open, from a file and inline.
	p := filepath.Join(t.TempDir(), "re")
	os.WriteFile(p, []byte(src), 0644)
	ft, err := Open("regexp:"+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustLookup(t, ft, "a@example.com", "a@example.org", true)
	it, err := Open("regexp:{ {/^a/ A}, {/^b(.)/ B$1} }", nil)
	if err != nil {
		t.Fatal(err)
	}
	mustLookup(t, it, "bx", "Bx", true)
}

func TestCIDR(t *testing.T) {
	src := "192.168.1.0/24 lan\n10.0.0.1 host\n[2001:db8::]/32 v6\n!127.0.0.0/8 notlocal\n192.168.1.5/24 badbits\n"
	var warns []string
	tb, err := ParseCIDR(strings.NewReader(src), "c", func(s string) { warns = append(warns, s) })
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0], "non-null host address bits") {
		t.Fatal(err, warns)
	}
	mustLookup(t, tb, "192.168.1.77", "lan", true)
	mustLookup(t, tb, "10.0.0.1", "host", true)
	mustLookup(t, tb, "2001:db8::1", "v6", true)
	mustLookup(t, tb, "[2001:db8::2]", "v6", true)
	mustLookup(t, tb, "8.8.8.8", "notlocal", true)
	mustLookup(t, tb, "127.0.0.1", "", false)
	mustLookup(t, tb, "not-an-ip", "", false)
	tb2, _ := ParseCIDR(strings.NewReader("if 10.0.0.0/8\n10.1.0.0/16 ten-one\nendif\n0.0.0.0/0 any\n"), "c", nil)
	mustLookup(t, tb2, "10.1.2.3", "ten-one", true)
	mustLookup(t, tb2, "10.2.2.3", "any", true)
}

func TestUnixPasswd(t *testing.T) {
	p := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(p, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0644)
	old := passwd.File
	passwd.File = p
	defer func() { passwd.File = old }()
	tb, err := Open("unix:passwd.byname", nil)
	if err != nil {
		t.Fatal(err)
	}
	mustLookup(t, tb, "root", "root:x:0:0:root:/root:/bin/bash", true)
	mustLookup(t, tb, "nobody", "", false)
	if _, err := Open("unix:hosts.byname", nil); err == nil {
		t.Fatal("unknown unix table accepted")
	}
}

func TestOpenListOrderAndSpecs(t *testing.T) {
	var warns []string
	l, err := OpenList([]string{"inline:{a=first}", "proxy:nis:mail.aliases", "ldap:/etc/x.cf", "inline:{a=second, b=2}"},
		&Options{Warnf: func(f string, a ...any) { warns = append(warns, fmt.Sprintf(f, a...)) }})
	if err != nil || l.Len() != 2 || len(warns) != 2 {
		t.Fatal(err, warns)
	}
	v, idx, ok, err := l.Find("a")
	if v != "first" || idx != 0 || !ok || err != nil {
		t.Fatal(v, idx, ok, err)
	}
	mustLookup(t, l, "b", "2", true)
	if _, _, err := SplitSpec("/etc/aliases", ""); err == nil {
		t.Fatal("missing type accepted")
	}
	if typ, name, _ := SplitSpec("/etc/aliases", "hash"); typ != "hash" || name != "/etc/aliases" {
		t.Fatal(typ, name)
	}
}

// TestSupported: Open refuses with ErrUnsupported exactly the Postfix types Supported says it
// lacks, so that postfix check's warnings about table types tell the truth.
func TestSupported(t *testing.T) {
	for _, typ := range []string{"btree", "cdb", "cidr", "dbm", "environ", "fail", "hash", "inline", "internal", "ldap",
		"lmdb", "memcache", "mysql", "nis", "nisplus", "netinfo", "pcre", "pgsql", "pipemap", "randmap", "regexp",
		"sdbm", "socketmap", "sqlite", "static", "tcp", "texthash", "unionmap", "unix"} {
		if !PostfixType(typ) {
			t.Errorf("PostfixType(%q) = false", typ)
		}
		name := "/nonexistent/x"
		if typ == "unix" {
			name = "passwd.byname"
		}
		_, err := Open(typ+":"+name, &Options{})
		if unsupported := errors.Is(err, ErrUnsupported); unsupported == Supported(typ) {
			t.Errorf("%s: Open error %v, Supported %v", typ, err, Supported(typ))
		}
	}
	if PostfixType("smtp") || Supported("smtp") {
		t.Error("smtp is no table type")
	}
}
