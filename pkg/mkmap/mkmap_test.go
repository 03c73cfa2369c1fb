package mkmap

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"postern/pkg/table"
)

func TestBuildDumpDelete(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "aliases")
	os.WriteFile(src, []byte("root: admin\nTeam: a,\n  b\n"), 0644)
	var warns []string
	o := table.BuildOptions{Warnf: func(f string, a ...any) { warns = append(warns, f) }}
	if err := Build(src, Postalias, o, nil); err != nil || warns != nil {
		t.Fatal(err, warns)
	}
	tb, err := table.Open("hash:"+src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Dump(&out, Postalias, src, tb); err != nil || out.String() != "@:\t@\nroot:\tadmin\nteam:\ta, b\n" {
		t.Fatalf("%v %q", err, out.String())
	}
	tb.(interface{ Close() error }).Close()
	if found, err := Delete(src, true, []string{"ROOT", "nobody"}); !found || err != nil {
		t.Fatal(found, err)
	}
	if found, err := Delete(src, true, []string{"root"}); found || err != nil {
		t.Fatal(found, err)
	}
	if _, err := Delete(filepath.Join(dir, "none"), true, []string{"x"}); err == nil || !strings.Contains(err.Error(), "No such file or directory") {
		t.Fatal(err)
	}
	if err := Build(filepath.Join(dir, "none"), Postmap, o, nil); err == nil || err.Error() != "open "+dir+"/none: No such file or directory" {
		t.Fatal(err)
	}
}

func TestWritable(t *testing.T) {
	for spec, want := range map[string]string{
		"hash:/x":   "",
		"/x":        "",
		"regexp:/x": "regexp:/x map requires O_RDONLY access mode",
		"nis:x":     "unsupported dictionary type: nis",
	} {
		name, err := Writable(spec, "hash")
		if want == "" && (err != nil || name != "/x") || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("%s: %q %v", spec, name, err)
		}
	}
}

func TestKeys(t *testing.T) {
	msg := "Subject: a\n b\nFrom: x\n\nbody 1\nbody 2\n"
	var got []string
	collect := func(k string) error { got = append(got, k); return nil }
	Keys(strings.NewReader(msg), true, false, collect)
	if !reflect.DeepEqual(got, []string{"Subject: a\n b", "From: x"}) {
		t.Fatalf("%q", got)
	}
	got = nil
	Keys(strings.NewReader(msg), false, true, collect)
	if !reflect.DeepEqual(got, []string{"body 1", "body 2"}) {
		t.Fatalf("%q", got)
	}
	got = nil
	Keys(strings.NewReader("  a \n\nb\n"), false, false, collect)
	if !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("%q", got)
	}
	stop := errors.New("stop")
	if err := Keys(strings.NewReader("a\nb\n"), false, false, func(string) error { return stop }); err != stop {
		t.Fatal(err)
	}
}
