package aliases

import (
	"fmt"
	"strings"
	"testing"

	"postern/pkg/table"
)

func TestParseFile(t *testing.T) {
	src := `# /etc/aliases
postmaster: root
FMaster: sysadmin
team: a, b,
  c
"quoted name": x
list: "|/usr/bin/procmail -a list", /var/log/list.mbox, :include:/etc/mail/list.inc
x:y
broken line
empty:
`
	var got, warns []string
	err := ParseFile(strings.NewReader(src), "aliases", func(e Entry) error {
		got = append(got, fmt.Sprintf("%d %s=%s", e.Line, e.Name, e.Value))
		return nil
	}, func(s string) { warns = append(warns, s) })
	want := []string{
		"2 postmaster=root",
		"3 fmaster=sysadmin",
		"4 team=a, b, c",
		"6 quoted name=x",
		`7 list="|/usr/bin/procmail -a list", /var/log/list.mbox, :include:/etc/mail/list.inc`,
		"8 x=y",
	}
	if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%v\n%s", err, strings.Join(got, "\n"))
	}
	if strings.Join(warns, "|") != "aliases, line 9: need name:value pair|aliases, line 10: need name:value pair" {
		t.Fatal(warns)
	}
}

func TestParseItems(t *testing.T) {
	items, err := ParseItems(`user, \sysadmin, "|/bin/cmd arg, with comma", /var/mail/file, :include:/etc/inc, Joe (comment) <joe@example.com>, "john doe"@example.org, |simple, /tmp/maildir/`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, fmt.Sprintf("%s:%s:%v", it.Kind, it.Value, it.NoAlias))
	}
	want := "address:user:false|address:sysadmin:true|command:/bin/cmd arg, with comma:false|file:/var/mail/file:false|include:/etc/inc:false|address:joe@example.com:false|address:john doe@example.org:false|command:simple:false|file:/tmp/maildir/:false"
	if strings.Join(got, "|") != want {
		t.Fatalf("%s", strings.Join(got, "|"))
	}
	if _, err := ParseItems(`"unterminated`); err == nil {
		t.Fatal("unterminated quote accepted")
	}
}

func TestParseList(t *testing.T) {
	items, err := ParseList(strings.NewReader("# my forward\nother@example.com\n\\me, |\"/usr/bin/vacation me\"\n"))
	if err != nil || len(items) != 3 || items[0].Value != "other@example.com" || !items[1].NoAlias || items[2].Kind != Command || items[2].Value != "/usr/bin/vacation me" {
		t.Fatalf("%+v %v", items, err)
	}
}

func TestLookup(t *testing.T) {
	l, err := table.OpenList([]string{"inline:{ user=u, user+ext=ue, owner-list=boss, list=a }"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for lp, want := range map[string]string{"User+Ext": "ue:user+ext", "user+other": "u:user", "user": "u:user"} {
		v, k, ok, err := Lookup(l, lp, "+")
		if !ok || err != nil || v+":"+k != want {
			t.Fatalf("%s: %q %q %v %v", lp, v, k, ok, err)
		}
	}
	if _, _, ok, _ := Lookup(l, "nobody+x", "+"); ok {
		t.Fatal("unexpected hit")
	}
	if v, ok, _ := Owner(l, "LIST"); !ok || v != "boss" {
		t.Fatal(v, ok)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add("a: b, c\n  d\n\"q\": \"|x y\"\n")
	f.Add("x:\n#c\n:include:/x: y\n")
	f.Fuzz(func(t *testing.T, s string) {
		ParseFile(strings.NewReader(s), "f", func(e Entry) error {
			if e.Name != strings.ToLower(e.Name) || e.Value == "" {
				t.Fatalf("bad entry %+v", e)
			}
			ParseItems(e.Value)
			return nil
		}, func(string) {})
	})
}

func FuzzParseItems(f *testing.F) {
	f.Add(`a, \b, "|c d", /e, :include:/f, G <g@h>, (x) y`)
	f.Fuzz(func(t *testing.T, s string) {
		items, _ := ParseItems(s)
		for _, it := range items {
			if it.Value == "" {
				t.Fatalf("empty item from %q", s)
			}
		}
		// Normalising is stable.
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q", s, n, Normalize(n))
		}
	})
}
