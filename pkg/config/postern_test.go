package config

import (
	"strings"
	"testing"
)

func TestPosternParametersKnown(t *testing.T) {
	for name := range posternDefaults {
		if !Known(name) {
			t.Errorf("%s is not a known parameter", name)
		}
	}
	c, err := Parse(strings.NewReader("smtp_dns_resolver_address = 127.0.0.1:5353\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Get("smtp_dns_resolver_address"); got != "127.0.0.1:5353" {
		t.Errorf("got %q", got)
	}
}
func TestImapdSessionDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("imapd_session_servers") != 100 || c.Get("imapd_session_idle") != "120s" || !Known("imapd_session_idle") {
		t.Fatalf("%d %q", c.Int("imapd_session_servers"), c.Get("imapd_session_idle"))
	}
}

func TestSmtpdDNSResolverAddress(t *testing.T) {
	c, err := Parse(strings.NewReader("smtp_dns_resolver_address = 127.0.0.1:5353\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Get("smtpd_dns_resolver_address"); v != "127.0.0.1:5353" {
		t.Fatalf("got %q", v)
	}
}

// Every Postern parameter is in the one table, with its default as postconf -d prints it.
func TestPosternDefaultsTable(t *testing.T) {
	for name, want := range map[string]string{
		"smtpd_dns_resolver_address": "$smtp_dns_resolver_address",
		"imapd_session_servers":      "100",
		"imapd_session_idle":         "120s",
		"pop3d_timeout":              "300s",
		"authd_service_name":         "auth",
	} {
		if posternDefaults[name] != want {
			t.Errorf("posternDefaults[%s] = %q, want %q", name, posternDefaults[name], want)
		}
		if got, ok := DefaultValue(name); !ok || got != want {
			t.Errorf("DefaultValue(%s) = %q %v, want %q", name, got, ok, want)
		}
	}
}
