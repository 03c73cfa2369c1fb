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
