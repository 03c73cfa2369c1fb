package config

// cacheMaps are the parameters whose hash:/btree: files Postfix's daemons
// write themselves as caches (TLS sessions, address verification,
// postscreen, SASL authentication): they have no source file to rebuild
// from and are not lookup tables an admin builds with postmap. On a Debian
// machine where Postfix once sent mail over TLS, smtp_scache.db is one.
// scripts/install.sh skips the same names when it migrates tables.
var cacheMaps = map[string]bool{
	"smtp_tls_session_cache_database":  true,
	"smtpd_tls_session_cache_database": true,
	"lmtp_tls_session_cache_database":  true,
	"address_verify_map":               true,
	"postscreen_cache_map":             true,
	"smtp_sasl_auth_cache_name":        true,
	"lmtp_sasl_auth_cache_name":        true,
}

// IsCacheMap reports whether the parameter names a cache database written
// by the mail system itself rather than a lookup table built by postmap.
func IsCacheMap(name string) bool { return cacheMaps[name] }
