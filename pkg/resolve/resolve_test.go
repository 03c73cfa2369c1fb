package resolve_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern/pkg/config"
	"postern/pkg/resolve"
	"postern/pkg/resolve/resolvetest"
	"postern/pkg/table"
)

// TestTable pins the resolver's answers: canonical form, then class, resolved recipient,
// transport and next hop.
func TestTable(t *testing.T) {
	cfg, rows := resolvetest.Load(t)
	r, err := resolve.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		got := r.Resolve(r.Canon().Address(row.Address))
		want := resolve.Result{Class: row.Class, Recipient: row.Recipient, Transport: row.Transport, Nexthop: row.Nexthop}
		if got != want {
			t.Errorf("Resolve(%q) = %+v, want %+v", row.Address, got, want)
		}
		// Without canonicalisation first (qmgr's case) the class is the same.
		if got := r.Resolve(row.Address); got.Class != row.Class {
			t.Errorf("Resolve(%q) without Canon: class %v, want %v", row.Address, got.Class, row.Class)
		}
	}
}

func TestCanon(t *testing.T) {
	c := &resolve.Canon{MyOrigin: "example.org", MyDomain: "example.org", AppendAt: true,
		AppendDot: true, SwapBangpath: true, PercentHack: true}
	off := &resolve.Canon{MyOrigin: "example.org", AppendAt: true}
	for _, tc := range []struct {
		c       *resolve.Canon
		in, out string
	}{
		{c, "", ""},
		{c, "@", ""},
		{c, "user", "user@example.org"},
		{c, "user@host", "user@host.example.org"},
		{c, "user@[127.0.0.1]", "user@[127.0.0.1]"},
		{c, "user@example.com.", "user@example.com"},
		{c, "user@example.com..", "user@example.com.."},
		{c, "user@.", "user@."},
		{c, "a.example!b.example!user", "b.example!user@a.example"},
		{c, "user%a.example%b.example", "user%a.example@b.example"},
		{c, "user%dom@example.com", "user%dom@example.com"}, // the percent hack of "@local" is resolve's
		{c, "@a.example,@b.example:user@example.com", "user@example.com"},
		{c, "@a.example:", "@a.example:"},
		{c, "user@localhost", "user@localhost.example.org"}, // append_dot_mydomain = yes
		{off, "dom!user", "dom!user@example.org"},
		{off, "user%dom", "user%dom@example.org"},
		{off, "user@host", "user@host"},
		{&resolve.Canon{MyOrigin: "example.org"}, "user", "user"}, // append_at_myorigin = no
	} {
		if got := tc.c.Address(tc.in); got != tc.out {
			t.Errorf("Address(%q) = %q, want %q", tc.in, got, tc.out)
		}
	}
}

// TestCanonConfig: the parameters reach Canon, including allow_percent_hack = no and
// swap_bangpath = no.
func TestCanonConfig(t *testing.T) {
	cfg, _ := config.Parse(strings.NewReader("myorigin = example.org\nallow_percent_hack = no\nswap_bangpath = no\n"))
	c := resolve.NewCanon(cfg)
	if got := c.Address("dom!user"); got != "dom!user@example.org" {
		t.Errorf("swap_bangpath = no: %q", got)
	}
	r, err := resolve.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Override("mydestination", "example.org")
	r, _ = resolve.New(cfg, nil)
	if got := r.Resolve("user%example.net@example.org"); got.Class != resolve.Local || !got.Routed {
		t.Errorf("allow_percent_hack = no: %+v", got)
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "domains")
	os.WriteFile(filepath.Join(dir, "more"), []byte("more.example\n"), 0o644)
	os.WriteFile(file, []byte("# comment\nfile.example, other.example\n"+filepath.Join(dir, "more")+"\n"), 0o644)
	virt := filepath.Join(dir, "virt")
	os.WriteFile(virt, []byte("tab.example x\n.sub.example x\n"), 0o644)
	items := []string{"!no.example.com", "example.com", ".dot.example", file, "texthash:" + virt, "Bücher.example"}
	for _, tc := range []struct {
		parent bool
		domain string
		want   bool
	}{
		{false, "example.com", true},
		{false, "EXAMPLE.COM.", true},
		{false, "no.example.com", false},
		{false, "x.example.com", false},
		{true, "x.example.com", true},
		{true, "no.example.com", false},
		{false, "a.dot.example", true},
		{false, "dot.example", false},
		{false, "file.example", true},
		{false, "other.example", true},
		{false, "more.example", true},
		{false, "tab.example", true},
		{false, "a.tab.example", false},
		{true, "a.tab.example", true},
		{false, "a.sub.example", true},
		{false, "xn--bcher-kva.example", true},
		{false, "bücher.example", true},
		{false, "BÜCHER.EXAMPLE", true},
		{false, "", false},
	} {
		l, err := resolve.NewList("test", items, tc.parent, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := l.MatchDomain(tc.domain); got != tc.want || err != nil {
			t.Errorf("parent=%v MatchDomain(%q) = %v, %v", tc.parent, tc.domain, got, err)
		}
	}
	if _, err := resolve.NewList("test", []string{"/nonexistent/file"}, false, nil); err == nil || !strings.HasPrefix(err.Error(), "test: ") {
		t.Errorf("missing file: %v", err)
	}
	var warns []string
	o := &table.Options{Warnf: func(f string, a ...any) { warns = append(warns, f) }}
	if l, err := resolve.NewList("test", []string{"nis:foo", "10.0.0.0/33"}, false, o); err != nil || l.Len() != 0 || len(warns) != 2 {
		t.Errorf("unsupported items: %v %d %q", err, l.Len(), warns)
	}
	if n := (*resolve.List)(nil).Len(); n != 0 {
		t.Error(n)
	}
}

func TestMatchHost(t *testing.T) {
	dir := t.TempDir()
	tab := filepath.Join(dir, "clients")
	os.WriteFile(tab, []byte("198.51.100.7 OK\n"), 0o644)
	l, err := resolve.NewList("mynetworks", []string{"127.0.0.0/8", "!192.0.2.66", "192.0.2.0/24",
		"[2001:db8::]/32", "[::1]", "::ffff:203.0.113.0/120", "good.example", "texthash:" + tab}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, ip string
		want     bool
	}{
		{"", "127.0.0.2", true},
		{"", "192.0.2.66", false},
		{"", "192.0.2.67", true},
		{"", "2001:db8::5", true},
		{"", "::1", true},
		{"", "::ffff:192.0.2.1", true},
		{"", "203.0.113.9", true},
		{"", "10.0.0.1", false},
		{"mx.good.example", "10.0.0.1", true},
		{"unknown", "10.0.0.1", false},
		{"", "198.51.100.7", true},
	} {
		if got, err := l.MatchHost(tc.name, netip.MustParseAddr(tc.ip)); got != tc.want || err != nil {
			t.Errorf("MatchHost(%q, %s) = %v, %v", tc.name, tc.ip, got, err)
		}
	}
}

// TestTransportMapFailure: a table that cannot answer defers the recipient.
func TestTransportMapFailure(t *testing.T) {
	cfg, _ := config.Parse(strings.NewReader("mydestination = example.org\ntransport_maps = hash:/nonexistent/transport\n"))
	r, err := resolve.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := r.Resolve("user@example.net")
	if got.Err == nil || got.Transport != resolve.ErrorTransport || got.Nexthop != "4.3.0 transport_maps lookup failure" {
		t.Errorf("%+v", got)
	}
}

func TestLiteral(t *testing.T) {
	for in, ok := range map[string]bool{"[127.0.0.1]": true, "[IPv6:::1]": true, "[ipv6:2001:db8::1]": true,
		"[::1]": false, "[IPv6:127.0.0.1]": false, "[1.2.3]": false, "example.com": false, "[]": false} {
		if _, got := resolve.ParseLiteral(in); got != ok {
			t.Errorf("ParseLiteral(%q) = %v", in, got)
		}
	}
}
