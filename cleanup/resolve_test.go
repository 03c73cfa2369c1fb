package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/addr"
	"postern/pkg/maillog"
	"postern/pkg/resolve"
	"postern/pkg/resolve/resolvetest"
)

// TestResolveTable is cleanup's part of "one table, four callers": over pkg/resolve's
// shared table, cleanup's own rewriter (as newRewriter builds it from main.cf) puts the
// address in canonical form and treats its domain as local exactly when the table says
// the class is local. The local decision is observed through virtual alias expansion: a
// bare "user" key is only tried for a local domain. Rows whose canonical local part still
// routes (user%dom@local) are resolve's business after cleanup, and are skipped.
func TestResolveTable(t *testing.T) {
	cfg, rows := resolvetest.Load(t)
	virt := filepath.Join(t.TempDir(), "virtual")
	os.WriteFile(virt, []byte("user found@elsewhere.example\n"), 0o644)
	cfg.Override("virtual_alias_maps", "texthash:"+virt)
	log := maillog.New("cleanup", maillog.Options{MaillogFile: filepath.Join(t.TempDir(), "log"), Hostname: "mail"})
	rw, err := newRewriter(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		a := rw.canon.Address(row.Address)
		if local, _ := addr.Split(a); strings.ContainsAny(local, "@!%") {
			continue
		}
		if !strings.EqualFold(a, row.Recipient) {
			t.Errorf("%s: canonical %q, want %q", row.Address, a, row.Recipient)
		}
		got, err := rw.virtual.Expand(a, "virtual_alias_maps", false, rw.limits)
		if err != nil {
			t.Fatal(err)
		}
		isLocal := len(got) == 1 && got[0] == "found@elsewhere.example"
		if want := row.Class == resolve.Local; isLocal != want {
			t.Errorf("%s (%v): cleanup treats %q as local: %v", row.Address, row.Class, a, isLocal)
		}
	}
}
