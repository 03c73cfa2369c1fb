package config

// posternDefaults are parameters Postern adds to Postfix's set. They are known names (so
// postconf does not call them unused) with the default that keeps Postfix's behaviour.
var posternDefaults = map[string]string{
	// smtp_dns_resolver_address: ip:port of the DNS server the smtp client asks for MX and
	// address records instead of the system resolver (tests point it at a loopback server).
	"smtp_dns_resolver_address": "",
}

func init() {
	for k, v := range posternDefaults {
		if _, ok := builtinDefaults[k]; !ok {
			builtinDefaults[k] = v
		}
	}
}
