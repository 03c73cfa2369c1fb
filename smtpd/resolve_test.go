package main

import (
	"testing"

	"postern/pkg/resolve"
	"postern/pkg/resolve/resolvetest"
)

// TestResolveTable is smtpd's part of "one table, four callers": over pkg/resolve's shared
// table, smtpd's own RCPT decisions (reject_unauth_destination for a client outside
// mynetworks, then smtpd_reject_unlisted_recipient) follow the class the table gives:
// local, relay and virtual mailbox recipients are accepted, a virtual alias domain's
// unknown user is "550 5.1.1 ... User unknown in virtual alias table", anything else is "554 5.7.1 ... Relay access denied".
func TestResolveTable(t *testing.T) {
	e := newTestServer(t, resolvetest.Conf(t)+"mynetworks = 192.0.2.0/24\nlocal_recipient_maps =\n")
	_, rows := resolvetest.Load(t)
	p := e.srv.policy
	for _, row := range rows {
		c := &rcptCheck{s: &session{srv: e.srv}, rcpt: row.Address, canonical: p.canon.Address(row.Address)}
		got := "accept"
		if _, r := c.eval("reject_unauth_destination", "smtpd_relay_restrictions", ""); r != nil {
			got = r.String()
		} else if r := c.unlisted(); r != nil {
			got = r.String()
		}
		want := "accept"
		switch {
		case row.Class == resolve.Alias:
			want = "550 5.1.1 <" + row.Address + ">: Recipient address rejected: User unknown in virtual alias table"
		case row.Class == resolve.Default:
			want = "554 5.7.1 <" + row.Address + ">: Relay access denied"
		}
		if got != want {
			t.Errorf("%s (%v): smtpd says %q, want %q", row.Address, row.Class, got, want)
		}
	}
}
