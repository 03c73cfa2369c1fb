package main

import "testing"

// TestNexthopAttribute checks that a delivery request names the next hop the recipient was
// routed to: the domain for default_transport, relayhost when one is set.
func TestNexthopAttribute(t *testing.T) {
	for _, tc := range []struct {
		relayhost, want string
	}{
		{"", "remote.example"},
		{"[192.0.2.25]:2525", "[192.0.2.25]:2525"},
	} {
		e := newEnv(t)
		a := e.agent("smtp", status("0", "2.0.0", "250 2.0.0 Ok"))
		e.start(map[string]string{"relayhost": tc.relayhost})
		id := e.submit("alice@localhost", []string{"bob@Remote.Example"}, nil)
		e.waitLog(id + ": removed")
		reqs := a.requests()
		if len(reqs) != 1 {
			t.Fatalf("relayhost %q: %d requests", tc.relayhost, len(reqs))
		}
		if got := reqs[0].Get("nexthop"); got != tc.want {
			t.Errorf("relayhost %q: nexthop = %q, want %q", tc.relayhost, got, tc.want)
		}
	}
}
