// Package resolvetest loads pkg/resolve's table of address classes (testdata/classes.txt)
// for the tests of the programs that must answer as pkg/resolve does: smtpd, cleanup,
// qmgr and local each run their own decision over the same rows ("one table, four
// callers"), so a program that stopped asking pkg/resolve would fail its test.
package resolvetest

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"postern/pkg/config"
	"postern/pkg/resolve"
)

// Row is one address and what it resolves to.
type Row struct {
	Address   string
	Class     resolve.Class
	Recipient string
	Transport string
	Nexthop   string
}

// Conf is the main.cf part of the table, for tests that build a program's configuration
// from text.
func Conf(t testing.TB) string {
	conf, _ := split(t)
	return conf
}

func split(t testing.TB) (conf, rows string) {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", "classes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	conf, rows, ok := strings.Cut(string(b), "\n---\n")
	if !ok {
		t.Fatal("classes.txt: no --- line")
	}
	return conf + "\n", rows
}

// Load parses the table: its main.cf part as a configuration, and its rows.
func Load(t testing.TB) (*config.Config, []Row) {
	conf, rows := split(t)
	cfg, err := config.Parse(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	var out []Row
	for _, line := range strings.Split(rows, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 5 {
			t.Fatalf("classes.txt: bad row %q", line)
		}
		r := Row{Address: f[0], Recipient: f[2], Transport: f[3], Nexthop: strings.ReplaceAll(f[4], "_", " ")}
		found := false
		for c := resolve.Default; c <= resolve.Relay; c++ {
			if c.String() == f[1] {
				r.Class, found = c, true
			}
		}
		if !found {
			t.Fatalf("classes.txt: bad class in %q", line)
		}
		out = append(out, r)
	}
	return cfg, out
}
