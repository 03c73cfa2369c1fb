package testenv

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"slices"
	"testing"
)

func TestSelfSignedCert(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := SelfSignedCert(t, dir, "mail.test", "localhost")
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "mail.test" || !slices.Equal(c.DNSNames, []string{"mail.test", "localhost"}) {
		t.Errorf("certificate for %q %q", c.Subject.CommonName, c.DNSNames)
	}
	if err := c.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0600 {
		t.Errorf("key file: %v %v", fi.Mode(), err)
	}
	if len(SelfSigned(t, "mx.test").Certificate) != 1 {
		t.Error("SelfSigned: no certificate")
	}
}
