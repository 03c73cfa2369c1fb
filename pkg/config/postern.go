package config

// posternDefaults are parameters Postern adds to Postfix's set. They are known names (so
// postconf does not call them unused) with the default that keeps Postfix's behaviour.
var posternDefaults = map[string]string{
	// smtp_dns_resolver_address: ip:port of the DNS server the smtp client asks for MX and
	// address records instead of the system resolver (tests point it at a loopback server).
	"smtp_dns_resolver_address": "",

	// authd: the Courier authdaemon replacement (see authd/doc.go).
	"postern_passwd_file":       "", // passwd-file of virtual users, searched before the system accounts
	"authd_system_users":        "yes",
	"authd_service_name":        "auth",
	"authd_failure_delay":       "2s",
	"authd_failure_delay_limit": "15s",
	"authd_max_parallel":        "0", // 0: the number of CPUs

	// pop3d and imapd (pop3d/doc.go, imapd/doc.go).
	"pop3d_timeout":         "300s",
	"pop3d_tls_cert_file":   "$smtpd_tls_cert_file",
	"pop3d_tls_key_file":    "$smtpd_tls_key_file",
	"pop3d_tls_wrappermode": "no",
	"pop3d_tls_auth_only":   "no",
	"imapd_timeout":         "60s",
	"imapd_tls_cert_file":   "$smtpd_tls_cert_file",
	"imapd_tls_key_file":    "$smtpd_tls_key_file",
	"imapd_tls_wrappermode": "no",
	"imapd_tls_auth_only":   "no",
}

func init() {
	for k, v := range posternDefaults {
		if _, ok := builtinDefaults[k]; !ok {
			builtinDefaults[k] = v
		}
	}
}
