package main

import (
	"fmt"
	"strings"
	"testing"

	"postern/pkg/resolve"
	"postern/pkg/resolve/resolvetest"
)

// TestResolveTable is local's part of "one table, four callers": over pkg/resolve's shared
// table, an alias pointing at each row's address is delivered to the mailbox in this
// attempt exactly when the table's class is local, and resubmitted through cleanup
// otherwise. (Rows with a comma are skipped: in an alias value it separates addresses.)
func TestResolveTable(t *testing.T) {
	_, rows := resolvetest.Load(t)
	var aliases strings.Builder
	for i, row := range rows {
		fmt.Fprintf(&aliases, "row%d: %s\n", i, row.Address)
	}
	e := newAliasEnv(t, aliases.String(), resolvetest.Conf(t))
	e.addUser(t, "user")
	for i, row := range rows {
		if strings.Contains(row.Address, ",") {
			continue
		}
		posted, mbox := len(e.posted), len(e.mbox("user"))
		code, text := e.send(t, fmt.Sprintf("row%d@example.org", i))
		delivered := len(e.mbox("user")) > mbox
		forwarded := len(e.posted) > posted
		if want := row.Class == resolve.Local; delivered != want || forwarded == want {
			t.Errorf("%s (%v): delivered here %v, forwarded %v (%s %s)", row.Address, row.Class, delivered, forwarded, code, text)
		}
	}
}
