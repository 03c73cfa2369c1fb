package config

// smtpd_dns_resolver_address (Postern): ip:port of the DNS server smtpd asks for
// reject_unknown_*_domain, by default the smtp client's smtp_dns_resolver_address, so that
// one setting keeps a test instance's lookups on loopback.
func init() {
	if _, ok := builtinDefaults["smtpd_dns_resolver_address"]; !ok {
		builtinDefaults["smtpd_dns_resolver_address"] = "$smtp_dns_resolver_address"
	}
}
