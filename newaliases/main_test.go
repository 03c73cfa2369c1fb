package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/mkmap"
	"postern/pkg/table"
)

func TestNewaliases(t *testing.T) {
	dir := t.TempDir()
	al := filepath.Join(dir, "aliases")
	os.WriteFile(al, []byte("# aliases\npostmaster: root\nfmaster: sysadmin\nteam: a, b,\n  c\nbroken\nfmaster: dup\n"), 0644)
	os.WriteFile(filepath.Join(dir, "main.cf"), []byte("alias_database = hash:"+al+", nis:mail.aliases\n"), 0644)
	var out, errb bytes.Buffer
	st := run([]string{"-c", dir}, &out, &errb)
	want := "postalias: warning: " + al + ", line 6: need name:value pair\n" +
		"postalias: warning: " + al + ".db: duplicate entry: \"fmaster\"\n" +
		"newaliases: warning: nis:mail.aliases: not rebuilt: only hash: and btree: tables are built\n"
	if st != 0 || out.String() != "" || errb.String() != want {
		t.Fatalf("%d %q %q", st, out.String(), errb.String())
	}
	tb, err := table.Open("hash:"+al, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"fmaster": "sysadmin", "team": "a, b, c", "@": "@", "Postmaster": "root"} {
		if got, ok, _ := tb.Lookup(k); !ok || got != v {
			t.Fatalf("%s: %q", k, got)
		}
	}
	// postalias output format.
	out.Reset()
	if st := mkmap.Main(mkmap.Postalias, []string{"-c", dir, "-s", al}, strings.NewReader(""), &out, &errb); st != 0 ||
		out.String() != "@:\t@\nfmaster:\tsysadmin\npostmaster:\troot\nteam:\ta, b, c\n" {
		t.Fatalf("%q", out.String())
	}
	// Missing source.
	os.Remove(al)
	errb.Reset()
	if st := run([]string{"-c", dir}, &out, &errb); st != 1 || !strings.Contains(errb.String(), "postalias: fatal: open "+al+": No such file or directory") {
		t.Fatalf("%d %q", st, errb.String())
	}
}
