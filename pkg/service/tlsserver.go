package service

import (
	"crypto/tls"
	"errors"

	"postern/pkg/config"
)

// ServerTLS is the TLS setting of a login server (imapd, pop3d): its
// certificates from <prog>_tls_cert_file and <prog>_tls_key_file (smtpd's
// when prog names none; a missing key is taken from the certificate file),
// and <prog>_tls_wrappermode. A nil config means no STARTTLS/STLS. The
// files come through Certificates: a daemon that names prog and smtpd in
// Options.TLS has read them as root at start.
func ServerTLS(c *config.Config, prog string) (cfg *tls.Config, wrapper bool, err error) {
	prefix := prog
	if c.Get(prog+"_tls_cert_file") == "" {
		prefix = "smtpd"
	}
	certs, err := Certificates(c, prefix)
	if err != nil {
		return nil, false, err
	}
	if len(certs) > 0 {
		cfg = &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12}
	}
	wrapper = c.Bool(prog + "_tls_wrappermode")
	if wrapper && cfg == nil {
		return nil, false, errors.New(prog + "_tls_wrappermode = yes needs " + prog + "_tls_cert_file (or smtpd_tls_cert_file)")
	}
	return cfg, wrapper, nil
}
