// Package e2e boots the real Postern programs under master (package
// postern/pkg/testenv) and walks through what a user of the howto does:
// an SMTP session by hand, delivery to mbox and Maildir, relay control,
// crash safety, hostile input, logging and postfix(1).
package e2e

import (
	"regexp"
	"testing"

	"postern/pkg/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// need skips the test while a program it depends on has not been written.
func need(t *testing.T, programs ...string) {
	t.Helper()
	if p := missing(t, programs...); p != "" {
		t.Skipf("program %s is not there yet", p)
	}
}

// missing returns the first of programs that has not been written, or "".
func missing(t *testing.T, programs ...string) string {
	t.Helper()
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range testenv.Present(root) {
		have[p] = true
	}
	for _, p := range programs {
		if !have[p] {
			return p
		}
	}
	return ""
}

// core are the programs every delivery test needs.
var core = []string{"master", "smtpd", "cleanup", "qmgr", "local"}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }
