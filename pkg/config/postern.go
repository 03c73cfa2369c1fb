package config

// posternDefaults are the parameters Postern adds to Postfix's set, all in this one table:
// known names (so postconf lists them with -d and does not call them unused) with the default
// that keeps Postfix's behaviour. defaults_table.go holds Postfix's own; a name is never in both.
var posternDefaults = map[string]string{
	// smtp_dns_resolver_address: ip:port of the DNS server the smtp client asks for MX and
	// address records instead of the system resolver (tests point it at a loopback server).
	"smtp_dns_resolver_address": "",
	// smtpd_dns_resolver_address: the DNS server smtpd asks for reject_unknown_*_domain, by
	// default the smtp client's, so that one setting keeps a test instance's lookups on loopback.
	"smtpd_dns_resolver_address": "$smtp_dns_resolver_address",

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
	// imapd's per-user session servers (imapd/doc.go).
	"imapd_session_servers": "100",  // session servers (users) at once
	"imapd_session_idle":    "120s", // a session server without sessions this long exits
}

// The one place Postern's defaults join Postfix's: builtinDefaults is then the whole set
// that Known, Default and postconf -d read.
func init() {
	for k, v := range posternDefaults {
		if _, ok := builtinDefaults[k]; ok {
			panic("config: " + k + " is both a Postfix and a Postern parameter")
		}
		builtinDefaults[k] = v
	}
}
