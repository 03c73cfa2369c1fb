// Smtp is Postern's smtp(8) delivery agent: it sends mail for other domains to their mail
// exchangers, or to relayhost, over SMTP.
//
// # Description
//
// smtp serves the private/smtp socket (and private/relay, the same program under another
// service name) inherited from master. qmgr sends delivery requests (docs/DESIGN.md,
// "delivery request") with one more attribute, nexthop: the destination qmgr routed the
// recipient to (relayhost, or the recipient's domain). A request may repeat recipient
// (with orig_recipient, paired by position); all go into one transaction. The reply has,
// per recipient in request order, status=0/4/5, dsn=X.Y.Z and reason=TEXT, followed by
// diag_type=smtp and diag_text=REPLY when a server answered (the remote reply, for the
// DSN's Diagnostic-Code) and mta_type=dns and mta_mname=HOST when a server was reached
// (Remote-MTA). With one recipient this is exactly the reply local gives.
//
// The destination is the request's nexthop, else relayhost, else the recipient's domain.
// It is a list of "[host]:port", "[host]", "host:port" or "host" separated by commas or
// spaces. Brackets suppress the MX lookup; the port defaults to smtp_tcp_port. Without
// brackets the domain's MX records are looked up (by preference, shuffled among equal
// preferences); a domain without MX records is its own mail exchanger (its A/AAAA
// records). A null MX bounces with 5.1.10; a name that does not exist bounces with 5.4.4
// "Host or domain name not found. Name service error for name=N type=T: Host not found";
// a DNS failure defers with 4.4.3 ("..., try again"). At most smtp_mx_address_limit
// addresses are tried, and at most smtp_mx_session_limit sessions (servers that answered).
//
// For each address: connect (smtp_connect_timeout), read the greeting, EHLO
// smtp_helo_name (HELO when EHLO is refused or smtp_never_send_ehlo is set), STARTTLS per
// smtp_tls_security_level, EHLO again, then MAIL FROM with SIZE= (when the server has SIZE;
// a message over the server's limit bounces with 5.3.4) and BODY=8BITMIME (when the
// message has 8-bit bytes and the server has 8BITMIME), SMTPUTF8 when an envelope address
// is not ASCII (bounce 5.6.7 when the server does not offer it), RCPT TO per recipient,
// DATA and the queued content with CR LF line ends and dot-stuffing. Commands are not
// pipelined. The message goes as queued: Received: and all other headers are kept.
//
// Outcomes, as Postfix words them:
//
//   - 2xx after the final dot: status=sent, the remote reply as the text ("250 2.0.0 Ok:
//     queued as X"), the reply's enhanced code.
//   - 4xx/5xx: deferred/bounced, "host H[A] said: REPLY (in reply to C command)" with C =
//     MAIL FROM, RCPT TO, DATA or end of DATA; the enhanced code from the reply, else
//     4.0.0/5.0.0. A multi-line reply is its lines joined with spaces.
//   - Greeting or HELO refused: "host H[A] refused to talk to me: REPLY".
//   - Connect failure: 4.4.1 "connect to H[A]:P: Connection refused" (or timed out, ...).
//   - Timeout or lost connection: 4.4.2 "conversation with H[A] timed out while STAGE" /
//     "lost connection with H[A] while STAGE", STAGE being "receiving the initial server
//     greeting", "performing the EHLO handshake", "sending MAIL FROM", "sending RCPT TO",
//     "sending DATA command", "sending message body", "sending end of data -- message may
//     be sent more than once".
//
// A connect failure, a refused greeting, a failure of the session, and a 4xx reply for a
// recipient move on to the next address, as long as there is one; a 5xx decides at once.
// Failures on addresses before the last are logged as info lines ("connect to
// mx1.example[192.0.2.1]:25: Connection refused"); the outcome of the last try is the
// recipient's status.
//
// TLS levels: none never starts TLS; may starts it when offered and does not check the
// certificate (when the handshake fails the same address is tried again in plaintext);
// encrypt requires it (4.7.4 "TLS is required, but was not offered by host H[A]") and
// does not check the certificate either. An empty smtp_tls_security_level means Postfix's
// legacy smtp_enforce_tls (encrypt) / smtp_use_tls (may), else none, as Postfix; Debian's
// stock main.cf sets may. dane, fingerprint, verify and secure are treated as encrypt (no
// certificate verification yet). smtp_tls_cert_file/smtp_tls_key_file give a client
// certificate.
//
// Connections are reused: after a transaction the session stays open, idle, for up to
// smtp_connection_cache_time_limit, keyed by destination; the next request for the same
// destination sends RSET and goes on that session (the log line then says conn_use=N).
// A session is not reused after smtp_connection_reuse_time_limit or
// smtp_connection_reuse_count_limit uses. TLS sessions are reused too (Postfix needs
// tlsproxy for that; a Go process does not).
//
// Each recipient gets one log line:
//
//	ID: to=<R>, [orig_to=<O>, ]relay=H[A]:P, [conn_use=N, ]delay=D, delays=a/b/c/d, dsn=X.Y.Z, status=S (TEXT)
//
// relay=none when no server answered; c is DNS, connect, greeting, EHLO and TLS, d the
// transaction. With smtp_tls_loglevel >= 1, "Untrusted TLS connection established to
// H[A]:P: TLSv1.3 with cipher C (B/B bits)" (Go's cipher names, not OpenSSL's); "Trusted"
// when the server's chain ends at a certificate of smtp_tls_CAfile or of the hash-named
// files of smtp_tls_CApath (as OpenSSL reads a CApath; delivery goes on either way).
//
// With smtp_tls_session_cache_database set (Debian's stock main.cf does), TLS sessions are
// resumed on later connections to the same server: the cache is kept in memory by the one
// smtp process that serves every delivery, not in the named database.
//
// Tests and DNS: the Postern parameter smtp_dns_resolver_address = ip:port makes every
// MX and address lookup go to that DNS server (Go's resolver, UDP then TCP) instead of
// the system's; the tests run a small DNS server on loopback with it.
//
// Not yet: transport_maps, smtp_fallback_relay, SASL client authentication, DSN ESMTP
// parameters (NOTIFY/ORCPT/RET/ENVID), 8-bit to 7-bit conversion for servers without
// 8BITMIME (8-bit content is sent as is), smtp_line_length_limit folding, loop detection
// for an MX that is this host, smtp_header_checks/smtp_generic_maps, the
// smtp_min_data_rate, LMTP.
//
// # Security
//
// smtp runs unprivileged (master.cf unpriv "-", as mail_owner); its client certificate
// (smtp_tls_cert_file/key_file, eccert, dcert or smtp_tls_chain_files) is read while it
// is still root, before it drops privileges (pkg/service). It opens queue files
// read-only, only in the active queue, by a validated queue ID, without following
// symbolic links. Recipient and sender addresses with control characters or angle
// brackets are refused as malformed requests, so nothing from the queue can inject SMTP
// commands. Server replies are read with bounded line length and line count and logged
// with control characters replaced. Every network stage has a deadline, and a whole
// request is bounded by ipc_timeout.
//
// # Diagnostics
//
// Problems are logged as "warning: ..." lines: malformed delivery requests, unreadable
// queue files, bad destinations (deferred 4.3.5 "mail system configuration error").
// "SSL_connect error to H[A]:P: ..." is logged at info level when a handshake fails.
//
// # Configuration parameters
//
//	relayhost (empty)                          destination when the request has none
//	smtp_tcp_port (smtp)                       port for destinations without one
//	smtp_helo_name ($myhostname)               EHLO/HELO name
//	smtp_tls_security_level (empty)            none, may, encrypt
//	smtp_tls_cert_file, smtp_tls_key_file      client certificate
//	smtp_tls_loglevel (0)                      1 logs the TLS connection line
//	smtp_connect_timeout (30s)                 TCP connect
//	smtp_helo_timeout (300s)                   greeting and EHLO/HELO replies
//	smtp_starttls_timeout (300s)               STARTTLS reply and handshake
//	smtp_mail_timeout (300s), smtp_rcpt_timeout (300s)
//	smtp_data_init_timeout (120s)              the reply to DATA
//	smtp_data_xfer_timeout (180s)              each write of the content
//	smtp_data_done_timeout (600s)              the reply after the final dot
//	smtp_rset_timeout (20s), smtp_quit_timeout (300s, capped at 5s here)
//	smtp_mx_address_limit (5), smtp_mx_session_limit (2)
//	smtp_connection_cache_time_limit (2s)      idle time of a cached session
//	smtp_connection_reuse_time_limit (300s), smtp_connection_reuse_count_limit (0)
//	smtp_never_send_ehlo (no)
//	smtp_dns_support_level (empty)             "disabled" skips MX lookups
//	inet_protocols                             which address families to look up
//	smtp_dns_resolver_address (empty)          Postern: ip:port of the DNS server to use
//	ipc_timeout (3600s)                        bound on reading a request and on one request
//	soft_bounce (no)                           yes: a 5XX outcome is returned as 4.X.Y and
//	                                           logged status=SOFTBOUNCE; the mail stays queued
//
// master.cf (Debian's stock lines, unchanged):
//
//	smtp      unix  -       -       y       -       -       smtp
//	relay     unix  -       -       y       -       -       smtp
//	        -o syslog_name=postfix/$service_name
//
// # See also
//
// qmgr (routing to default_transport = smtp with nexthop), local, bounce, Postfix's
// smtp(8).
package main
