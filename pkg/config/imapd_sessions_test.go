package config

import (
	"strings"
	"testing"
)

func TestImapdSessionDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	if c.Int("imapd_session_servers") != 100 || c.Get("imapd_session_idle") != "120s" || !Known("imapd_session_idle") {
		t.Fatalf("%d %q", c.Int("imapd_session_servers"), c.Get("imapd_session_idle"))
	}
}
