package service

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern/pkg/config"
	"postern/pkg/testenv"
)

func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	c, _ := config.Parse(strings.NewReader(""))
	if cfg, wrapper, err := ServerTLS(c, "imapd"); cfg != nil || wrapper || err != nil {
		t.Fatalf("no certificate: %v %v %v", cfg, wrapper, err)
	}
	c.Override("pop3d_tls_wrappermode", "yes")
	if _, _, err := ServerTLS(c, "pop3d"); err == nil || err.Error() != "pop3d_tls_wrappermode = yes needs pop3d_tls_cert_file (or smtpd_tls_cert_file)" {
		t.Fatalf("wrapper without certificate: %v", err)
	}
	cert, key := testenv.SelfSignedCert(t, dir, "localhost")
	c.Override("smtpd_tls_cert_file", cert)
	c.Override("smtpd_tls_key_file", key)
	cfg, wrapper, err := ServerTLS(c, "pop3d")
	if err != nil || cfg == nil || !wrapper {
		t.Fatalf("smtpd's certificate: %v %v %v", cfg, wrapper, err)
	}
	c.Override("imapd_tls_cert_file", filepath.Join(dir, "missing.pem"))
	if _, _, err := ServerTLS(c, "imapd"); err == nil || !strings.Contains(err.Error(), "cannot load TLS certificate "+filepath.Join(dir, "missing.pem")) {
		t.Fatalf("own certificate: %v", err)
	}
	// The login servers' times are config getters with Postern's defaults
	// (they were handoff.Duration).
	c.Override("imapd_timeout", "2m")
	if d := c.Duration("imapd_timeout"); d != 2*time.Minute {
		t.Fatal(d)
	}
	c.Override("pop3d_timeout", "junk")
	if d := c.Duration("pop3d_timeout"); d != 300*time.Second {
		t.Fatal(d)
	}
}
