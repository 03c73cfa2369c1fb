package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"postern/pkg/config"
)

// tlsState is what smtp keeps across TLS sessions: the session cache and the trust anchors.
type tlsState struct {
	// sessions resumes TLS sessions with the servers smtp talks to again, when
	// smtp_tls_session_cache_database is set: in memory, for the life of this one smtp
	// process (which serves every delivery), instead of in the named database.
	sessions tls.ClientSessionCache

	caFile, caPath string // smtp_tls_CAfile, smtp_tls_CApath
	once           sync.Once
	roots          *x509.CertPool // nil: nothing to trust
}

func newTLSState(c *config.Config) *tlsState {
	t := &tlsState{caFile: strings.TrimSpace(c.Get("smtp_tls_CAfile")), caPath: strings.TrimSpace(c.Get("smtp_tls_CApath"))}
	if strings.TrimSpace(c.Get("smtp_tls_session_cache_database")) != "" {
		t.sessions = tls.NewLRUClientSessionCache(1000)
	}
	return t
}

// hashName is OpenSSL's name for a certificate in a CApath directory (c_rehash).
var hashName = regexp.MustCompile(`^[0-9a-f]{8}\.[0-9]+$`)

// loadRoots reads smtp_tls_CAfile and the hash-named files of smtp_tls_CApath, as OpenSSL
// does (the system's other certificates are not added: tls_append_default_CA = no).
func (t *tlsState) loadRoots() {
	pool, n := x509.NewCertPool(), 0
	add := func(file string) {
		if b, err := os.ReadFile(file); err == nil && pool.AppendCertsFromPEM(b) {
			n++
		}
	}
	if t.caFile != "" {
		add(t.caFile)
	}
	if t.caPath != "" {
		entries, _ := os.ReadDir(t.caPath)
		for _, e := range entries {
			if hashName.MatchString(e.Name()) {
				add(filepath.Join(t.caPath, e.Name()))
			}
		}
	}
	if n > 0 {
		t.roots = pool
	}
}

// trust is the word of Postfix's "... TLS connection established" line at the may and
// encrypt levels: "Trusted" when the server's chain ends at a certificate of
// smtp_tls_CAfile or smtp_tls_CApath, else "Untrusted". Delivery goes on either way.
func (t *tlsState) trust(st tls.ConnectionState) string {
	t.once.Do(t.loadRoots)
	if t.roots == nil || len(st.PeerCertificates) == 0 {
		return "Untrusted"
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: t.roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return "Untrusted"
	}
	return "Trusted"
}
