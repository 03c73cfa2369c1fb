package main

import (
	"testing"

	"postern/pkg/resolve/resolvetest"
)

// TestResolveTable is qmgr's part of "one table, four callers": over pkg/resolve's shared
// table, the route qmgr picks (transport and next hop, as logged in relay=/status) is the
// one the table gives. smtpd, cleanup and local run the same rows.
func TestResolveTable(t *testing.T) {
	cfg, rows := resolvetest.Load(t)
	r, err := newResolver(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if got, want := r.resolve(row.Address), (route{row.Transport, row.Nexthop}); got != want {
			t.Errorf("%s (%v): route %+v, want %+v", row.Address, row.Class, got, want)
		}
	}
}
