package service

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"postern/pkg/config"
)

// TLS certificates and keys are read while the daemon is still root, as
// Postfix does, so that mail_owner never needs to read a private key (Debian's
// snakeoil key is root:ssl-cert 0640, a certbot key root:root 0600). Main
// reads the files named by the daemon's Options.TLS parameters before it drops
// privileges and keeps their contents for the life of the process;
// Certificates builds the certificates from those contents. A reload
// starts new daemons, which read the files again as root.

var (
	tlsMu    sync.Mutex
	tlsFiles = map[string]tlsFile{} // path -> contents read before the drop
)

type tlsFile struct {
	data []byte
	err  error
}

// tlsParams are the per-prefix parameters that name certificate and key
// files (postconf(5): smtpd_tls_cert_file, smtp_tls_chain_files ...).
var tlsParams = []string{"_tls_cert_file", "_tls_key_file", "_tls_eccert_file", "_tls_eckey_file",
	"_tls_dcert_file", "_tls_dkey_file", "_tls_chain_files"}

// PreloadTLS reads every certificate and key file that the TLS parameters of
// the given prefixes (smtpd, smtp, pop3d ...) name, and keeps the contents
// (or the error) for Certificates. Main calls it before dropping privileges.
func PreloadTLS(c *config.Config, prefixes ...string) {
	tlsMu.Lock()
	defer tlsMu.Unlock()
	for _, p := range prefixes {
		for _, param := range tlsParams {
			for _, path := range fileList(c.Get(p + param)) {
				if _, ok := tlsFiles[path]; !ok {
					data, err := os.ReadFile(path)
					tlsFiles[path] = tlsFile{data, err}
				}
			}
		}
	}
}

// readTLSFile is the preloaded contents of path, or the file read now (tests,
// daemons that never dropped privileges).
func readTLSFile(path string) ([]byte, error) {
	tlsMu.Lock()
	f, ok := tlsFiles[path]
	tlsMu.Unlock()
	if ok {
		return f.data, f.err
	}
	return os.ReadFile(path)
}

// fileList splits a list of file names (commas and white space).
func fileList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// Certificates are the server or client certificates of prefix (smtpd,
// smtp, ...), as postconf(5) describes them: prefix_tls_chain_files when set
// (each file holds private keys, each followed by its certificate chain), else
// the pairs cert_file/key_file, dcert_file/dkey_file and eccert_file/eckey_file
// (a key file left empty is the certificate file). None configured: no
// certificates and no error. Files are read through PreloadTLS's copies.
func Certificates(c *config.Config, prefix string) ([]tls.Certificate, error) {
	if chains := fileList(c.Get(prefix + "_tls_chain_files")); len(chains) > 0 {
		var out []tls.Certificate
		for _, path := range chains {
			certs, err := loadChainFile(path)
			if err != nil {
				return nil, fmt.Errorf("cannot load TLS chain file %s: %v", path, err)
			}
			out = append(out, certs...)
		}
		return out, nil
	}
	var out []tls.Certificate
	for _, kind := range []string{"", "d", "ec"} {
		cert := strings.TrimSpace(c.Get(prefix + "_tls_" + kind + "cert_file"))
		if cert == "" {
			continue
		}
		key := strings.TrimSpace(c.Get(prefix + "_tls_" + kind + "key_file"))
		if key == "" {
			key = cert
		}
		kp, err := loadKeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("cannot load TLS certificate %s / key %s: %v", cert, key, err)
		}
		out = append(out, kp)
	}
	return out, nil
}

func loadKeyPair(cert, key string) (tls.Certificate, error) {
	cb, err := readTLSFile(cert)
	if err != nil {
		return tls.Certificate{}, err
	}
	kb, err := readTLSFile(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(cb, kb)
}

// loadChainFile reads one chain file: each private key starts a chain, the
// certificates after it (leaf first) belong to it.
func loadChainFile(path string) ([]tls.Certificate, error) {
	data, err := readTLSFile(path)
	if err != nil {
		return nil, err
	}
	type chain struct{ key, certs []byte }
	var chains []*chain
	orphan := false // a certificate before any key
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		switch {
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			chains = append(chains, &chain{key: pem.EncodeToMemory(b)})
		case b.Type == "CERTIFICATE":
			if len(chains) == 0 {
				orphan = true
				continue
			}
			cur := chains[len(chains)-1]
			cur.certs = append(cur.certs, pem.EncodeToMemory(b)...)
		}
	}
	switch {
	case len(chains) == 0:
		return nil, errors.New("no private key")
	case orphan:
		return nil, errors.New("certificate before its private key")
	}
	var out []tls.Certificate
	for _, ch := range chains {
		kp, err := tls.X509KeyPair(ch.certs, ch.key)
		if err != nil {
			return nil, err
		}
		out = append(out, kp)
	}
	return out, nil
}
