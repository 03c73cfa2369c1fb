package main

import (
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"postern/pkg/config"
	"postern/pkg/service"
)

// settings are the main.cf parameters smtp uses, read once at start.
type settings struct {
	queueDir    string
	heloName    string // smtp_helo_name
	relayhost   string // relayhost, used when a request names no nexthop
	port        string // smtp_tcp_port
	tlsLevel    string // none, may, encrypt (smtp_tls_security_level and its legacy forms)
	tlsLogLevel int64  // smtp_tls_loglevel
	dnsAddr     string // smtp_dns_resolver_address (Postern): ip:port of the DNS server to ask
	noMX        bool   // smtp_dns_support_level = disabled
	ip4, ip6    bool   // inet_protocols
	neverEHLO   bool   // smtp_never_send_ehlo
	addrLimit   int    // smtp_mx_address_limit (0 = none)
	sessLimit   int    // smtp_mx_session_limit (0 = none)

	clientCerts []tls.Certificate // smtp_tls_cert_file ..., read as root at start (main.go)

	connectTimeout, heloTimeout, starttlsTimeout time.Duration
	mailTimeout, rcptTimeout                     time.Duration
	dataInitTimeout, dataXferTimeout             time.Duration
	dataDoneTimeout, rsetTimeout, quitTimeout    time.Duration

	cacheTime  time.Duration // smtp_connection_cache_time_limit: idle time of a cached connection
	reuseTime  time.Duration // smtp_connection_reuse_time_limit: age after which a connection is not reused
	reuseCount int           // smtp_connection_reuse_count_limit (0 = none)
	ipcTimeout time.Duration
	softBounce bool // soft_bounce: permanent failures are deferred
}

func loadSettings(c *config.Config) (settings, error) {
	dur := func(name string, def time.Duration) time.Duration {
		if d := c.Duration(name); d > 0 {
			return d
		}
		return def
	}
	s := settings{
		queueDir:        c.Get("queue_directory"),
		heloName:        strings.TrimSpace(c.Get("smtp_helo_name")),
		relayhost:       strings.TrimSpace(c.Get("relayhost")),
		port:            strings.TrimSpace(c.Get("smtp_tcp_port")),
		tlsLogLevel:     c.Int("smtp_tls_loglevel"),
		dnsAddr:         strings.TrimSpace(c.Get("smtp_dns_resolver_address")),
		noMX:            strings.EqualFold(strings.TrimSpace(c.Get("smtp_dns_support_level")), "disabled") || c.Bool("disable_dns_lookups"),
		neverEHLO:       c.Bool("smtp_never_send_ehlo"),
		addrLimit:       int(c.Int("smtp_mx_address_limit")),
		sessLimit:       int(c.Int("smtp_mx_session_limit")),
		connectTimeout:  dur("smtp_connect_timeout", 30*time.Second),
		heloTimeout:     dur("smtp_helo_timeout", 300*time.Second),
		starttlsTimeout: dur("smtp_starttls_timeout", 300*time.Second),
		mailTimeout:     dur("smtp_mail_timeout", 300*time.Second),
		rcptTimeout:     dur("smtp_rcpt_timeout", 300*time.Second),
		dataInitTimeout: dur("smtp_data_init_timeout", 120*time.Second),
		dataXferTimeout: dur("smtp_data_xfer_timeout", 180*time.Second),
		dataDoneTimeout: dur("smtp_data_done_timeout", 600*time.Second),
		rsetTimeout:     dur("smtp_rset_timeout", 20*time.Second),
		quitTimeout:     dur("smtp_quit_timeout", 300*time.Second),
		cacheTime:       dur("smtp_connection_cache_time_limit", 2*time.Second),
		reuseTime:       dur("smtp_connection_reuse_time_limit", 300*time.Second),
		reuseCount:      int(c.Int("smtp_connection_reuse_count_limit")),
		ipcTimeout:      dur("ipc_timeout", time.Hour),
		softBounce:      c.Bool("soft_bounce"),
	}
	if s.heloName == "" {
		s.heloName = c.Get("myhostname")
	}
	if s.port == "" {
		s.port = "smtp"
	}
	protos := strings.ToLower(c.Get("inet_protocols"))
	s.ip4 = protos == "" || strings.Contains(protos, "all") || strings.Contains(protos, "ipv4")
	s.ip6 = protos == "" || strings.Contains(protos, "all") || strings.Contains(protos, "ipv6")

	// Postfix's default level is empty: the legacy smtp_enforce_tls and
	// smtp_use_tls decide, and with neither there is no TLS at all.
	level := strings.ToLower(strings.TrimSpace(c.Get("smtp_tls_security_level")))
	switch level {
	case "":
		switch {
		case c.Bool("smtp_enforce_tls"):
			level = "encrypt"
		case c.Bool("smtp_use_tls"):
			level = "may"
		default:
			level = "none"
		}
	case "none", "may", "encrypt":
	case "dane", "dane-only", "fingerprint", "verify", "secure":
		// Not implemented: the nearest level that still insists on TLS.
		level = "encrypt"
	default:
		return s, fmt.Errorf("invalid smtp_tls_security_level value %q", level)
	}
	s.tlsLevel = level
	if level != "none" {
		var err error
		if s.clientCerts, err = service.Certificates(c, "smtp"); err != nil {
			return s, err
		}
	}
	return s, nil
}
