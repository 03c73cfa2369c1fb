package rewrite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"postern/pkg/resolve"
	"postern/pkg/table"
)

// texthash writes a postmap source file and opens it with the others as a list.
func maps(t *testing.T, specs ...string) *table.List {
	t.Helper()
	l, err := table.OpenList(specs, &table.Options{Warnf: func(f string, a ...any) { t.Logf("warning: "+f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func texthash(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map")
	if err := os.WriteFile(p, []byte(text), 0644); err != nil {
		t.Fatal(err)
	}
	return "texthash:" + p
}

func finder(l *table.List) *Finder {
	return &Finder{
		Maps: l, Delimiter: "+", MyOrigin: "origin.test", DoubleBounce: "double-bounce",
		IsLocal: func(d string) bool { return strings.EqualFold(d, "local.test") },
	}
}

// recorder is a table that remembers the keys it was asked for.
type recorder struct {
	keys *[]string
	name string
}

func (r recorder) Lookup(k string) (string, bool, error) {
	*r.keys = append(*r.keys, r.name+":"+k)
	return "", false, nil
}

func TestKeyOrder(t *testing.T) {
	var keys []string
	l := &table.List{
		Tables: []table.Table{recorder{&keys, "a"}, recorder{&keys, "b"}, recorder{&keys, "re"}},
		Specs:  []string{"hash:/a", "texthash:/b", "regexp:/re"},
	}
	f := finder(l)
	for _, tc := range []struct {
		addr string
		want []string
	}{
		{"User+Ext@Local.test", []string{
			"a:user+ext@local.test", "b:user+ext@local.test", "re:User+Ext@Local.test",
			"a:user@local.test", "b:user@local.test",
			"a:user+ext", "b:user+ext", "a:user", "b:user",
			"a:@local.test", "b:@local.test"}},
		{"user@origin.test", []string{
			"a:user@origin.test", "b:user@origin.test", "re:user@origin.test",
			"a:user", "b:user", "a:@origin.test", "b:@origin.test"}},
		{"user+x@remote.test", []string{
			"a:user+x@remote.test", "b:user+x@remote.test", "re:user+x@remote.test",
			"a:user@remote.test", "b:user@remote.test",
			"a:@remote.test", "b:@remote.test"}},
		{"postmaster+x@remote.test", []string{
			"a:postmaster+x@remote.test", "b:postmaster+x@remote.test", "re:postmaster+x@remote.test",
			"a:postmaster@remote.test", "b:postmaster@remote.test",
			"a:@remote.test", "b:@remote.test"}},
		{"bare+x", []string{"a:bare+x", "b:bare+x", "re:bare+x", "a:bare", "b:bare"}},
	} {
		keys = nil
		if _, _, found, err := f.Find(tc.addr); found || err != nil {
			t.Errorf("%s: found=%v err=%v", tc.addr, found, err)
		}
		if !reflect.DeepEqual(keys, tc.want) {
			t.Errorf("%s: keys\n got %q\nwant %q", tc.addr, keys, tc.want)
		}
	}
}

func TestSplitExtension(t *testing.T) {
	for _, tc := range [][4]string{
		{"user+ext", "+", "user", "+ext"},
		{"user+a+b", "+", "user", "+a+b"},
		{"user-ext", "+-", "user", "-ext"},
		{"+ext", "+", "+ext", ""},
		{"user", "+", "user", ""},
		{"owner-list", "-", "owner-list", ""},
		{"list-request", "-", "list-request", ""},
		{"double-bounce", "-", "double-bounce", ""},
		{"user+ext", "", "user+ext", ""},
	} {
		u, x := SplitExtension(tc[0], tc[1], "double-bounce")
		if u != tc[2] || x != tc[3] {
			t.Errorf("SplitExtension(%q, %q) = %q, %q", tc[0], tc[1], u, x)
		}
	}
}

func TestFindFirstKeyWinsOverTableOrder(t *testing.T) {
	// The second table's exact key beats the first table's @domain.
	f := finder(maps(t, texthash(t, "@remote.test catchall\n"), texthash(t, "info@remote.test exact\n")))
	if v, _, _, _ := f.Find("info@remote.test"); v != "exact" {
		t.Errorf("got %q, want exact", v)
	}
	if v, _, _, _ := f.Find("other@remote.test"); v != "catchall" {
		t.Errorf("got %q, want catchall", v)
	}
	// user and user+ext keys only for local domains.
	f = finder(maps(t, texthash(t, "info localinfo\n")))
	if _, _, found, _ := f.Find("info@remote.test"); found {
		t.Error("bare key matched a remote domain")
	}
	for _, a := range []string{"info@local.test", "info@origin.test", "INFO@LOCAL.TEST"} {
		if v, _, _, _ := f.Find(a); v != "localinfo" {
			t.Errorf("%s: got %q", a, v)
		}
	}
}

func TestMap(t *testing.T) {
	f := finder(maps(t, texthash(t, strings.Join([]string{
		"info@fossedu.org sigiri",
		"list@x.test a@y.test, b@y.test  c",
		"user@x.test other@y.test",
		"@old.test @new.test",
		"one@old.test @moved.test",
		"quoted@x.test <q@y.test>",
	}, "\n"))))
	for _, tc := range []struct {
		addr      string
		propagate bool
		want      []string
	}{
		{"info@fossedu.org", true, []string{"sigiri@origin.test"}},
		{"list@x.test", true, []string{"a@y.test", "b@y.test", "c@origin.test"}},
		{"user+foo@x.test", true, []string{"other+foo@y.test"}},
		{"user+foo@x.test", false, []string{"other@y.test"}},
		{"someone@old.test", true, []string{"someone@new.test"}},
		{"someone+x@old.test", true, []string{"someone+x@new.test"}}, // @domain: no extension split
		{"one+x@old.test", true, []string{"one+x@moved.test"}},
		{"one+x@old.test", false, []string{"one@moved.test"}},
		{"quoted@x.test", true, []string{"q@y.test"}},
	} {
		got, found, err := f.Map(tc.addr, tc.propagate)
		if err != nil || !found || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Map(%s, %v) = %q, %v, %v; want %q", tc.addr, tc.propagate, got, found, err, tc.want)
		}
	}
	f.Canon = &resolve.Canon{MyOrigin: "origin.test", MyDomain: "dom.test", AppendAt: true, AppendDot: true}
	f.Maps = maps(t, "inline:{ a@x.test=b@host }")
	if got, _, _ := f.Map("a@x.test", false); !reflect.DeepEqual(got, []string{"b@host.dom.test"}) {
		t.Errorf("append_dot_mydomain: %q", got)
	}
}

func TestExpand(t *testing.T) {
	f := finder(maps(t, texthash(t, strings.Join([]string{
		"a@x.test a@x.test, b@y.test",
		"b@y.test c@y.test",
		"loop1@x.test loop2@x.test",
		"loop2@x.test loop1@x.test",
		"big@x.test " + list("m", 20),
		"deep1@x.test deep2@x.test",
		"deep2@x.test deep3@x.test",
		"deep3@x.test deep4@x.test",
		"long@x.test " + strings.Repeat("l", 60) + "@y.test",
		"@wild.test catch@y.test",
	}, "\n"))))
	lim := Limits{Recursion: 5, Expansion: 10, AddressLength: 50}
	for _, tc := range []struct {
		addr string
		want []string
		err  string
	}{
		{"a@x.test", []string{"a@x.test", "c@y.test"}, ""},
		{"b@y.test", []string{"c@y.test"}, ""},
		{"none@x.test", []string{"none@x.test"}, ""},
		{"deep1@x.test", []string{"deep4@x.test"}, ""},
		{"anything@wild.test", []string{"catch@y.test"}, ""},
		{"loop1@x.test", []string{"loop1@x.test"}, "unreasonable virtual_alias_maps map nesting for loop1@x.test"},
		{"big@x.test", []string{"big@x.test"}, "unreasonable virtual_alias_maps map expansion size for big@x.test"},
		{"long@x.test", []string{"long@x.test"}, "unreasonable virtual_alias_maps result " + strings.Repeat("l", 60) + "@y.test..."},
	} {
		got, err := f.Expand(tc.addr, "virtual_alias_maps", true, lim)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Expand(%s) = %q, want %q", tc.addr, got, tc.want)
		}
		msg := ""
		if err != nil {
			msg = err.Error()
			var le *LimitError
			if !errors.As(err, &le) {
				t.Errorf("%s: error %T, want *LimitError", tc.addr, err)
			}
		}
		if msg != tc.err {
			t.Errorf("Expand(%s) error %q, want %q", tc.addr, msg, tc.err)
		}
	}
	// Depth 3 passes with a recursion limit of 4, fails with 3.
	if _, err := f.Expand("deep1@x.test", "v", true, Limits{Recursion: 3}); err == nil {
		t.Error("recursion limit 3 did not stop a chain of 3")
	}
	if _, err := f.Expand("deep1@x.test", "v", true, Limits{Recursion: 4}); err != nil {
		t.Error(err)
	}
}

func list(prefix string, n int) string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("%s%d@y.test", prefix, i))
	}
	return strings.Join(s, ", ")
}

type failing struct{}

func (failing) Lookup(string) (string, bool, error) { return "", false, errors.New("disk on fire") }

func TestLookupErrors(t *testing.T) {
	l := &table.List{Tables: []table.Table{failing{}}, Specs: []string{"hash:/etc/postfix/virtual"}}
	f := finder(l)
	got, err := f.Expand("a@x.test", "virtual_alias_maps", true, Limits{})
	var le *LookupError
	if !errors.As(err, &le) || !reflect.DeepEqual(got, []string{"a@x.test"}) {
		t.Fatalf("got %q, %v", got, err)
	}
	if err.Error() != "virtual_alias_maps map lookup problem for a@x.test" || !strings.Contains(le.Err.Error(), "disk on fire") {
		t.Errorf("error %q / %q", err, le.Err)
	}
	// A missing hash table fails its lookups (deferred), never "not found".
	l = maps(t, "hash:"+filepath.Join(t.TempDir(), "virtual"))
	if _, _, _, err := finder(l).Find("a@x.test"); err == nil {
		t.Error("missing .db answered without error")
	}
}

func TestMap11(t *testing.T) {
	f := finder(maps(t, texthash(t, strings.Join([]string{
		"old@x.test new@x.test",
		"new@x.test newest@x.test",
		"self@x.test SELF@x.test",
		"multi@x.test m1@x.test m2@x.test",
		"r1@x.test r2@x.test",
		"r2@x.test r1@x.test",
		"user@x.test person@y.test",
	}, "\n"))))
	for _, tc := range []struct {
		in, want      string
		multi, nested bool
	}{
		{"old@x.test", "newest@x.test", false, false},
		{"self@x.test", "SELF@x.test", false, false},
		{"multi@x.test", "m1@x.test", true, false},
		{"r1@x.test", "r1@x.test", false, true},
		{"user+tag@x.test", "person+tag@y.test", false, false},
		{"none@x.test", "none@x.test", false, false},
	} {
		got, multi, nested, err := f.Map11(tc.in, true)
		if got != tc.want || multi != tc.multi || nested != tc.nested || err != nil {
			t.Errorf("Map11(%s) = %q %v %v %v, want %q %v %v", tc.in, got, multi, nested, err, tc.want, tc.multi, tc.nested)
		}
	}
}
