package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// SelfSigned makes a throw-away ECDSA certificate for name, for a server in the test
// process.
func SelfSigned(t testing.TB, name string) tls.Certificate {
	t.Helper()
	der, key := selfSigned(t, name)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// SelfSignedCert writes a throw-away self-signed ECDSA certificate for hosts (the first
// is also the common name) to dir/cert.pem (0644) and its key to dir/key.pem (0600), for
// a daemon that loads them from files.
func SelfSignedCert(t testing.TB, dir string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	der, key := selfSigned(t, hosts...)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// selfSigned returns the DER certificate for hosts and its key.
func selfSigned(t testing.TB, hosts ...string) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	if len(hosts) == 0 {
		t.Fatal("testenv: a self-signed certificate needs a host name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: hosts[0]},
		DNSNames: hosts, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}
