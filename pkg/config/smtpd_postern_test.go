package config

import (
	"strings"
	"testing"
)

func TestSmtpdDNSResolverAddress(t *testing.T) {
	c, err := Parse(strings.NewReader("smtp_dns_resolver_address = 127.0.0.1:5353\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Get("smtpd_dns_resolver_address"); v != "127.0.0.1:5353" {
		t.Fatalf("got %q", v)
	}
}
