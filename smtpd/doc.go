// Smtpd is Postern's SMTP server, Postfix's smtpd(8).
//
// # Description
//
// master(8) starts smtpd for an inet service of master.cf (normally "smtp inet n - y - -
// smtpd") and hands it the listening socket. smtpd serves every connection in a goroutine,
// at most the service's maxproc at once, and exits after max_idle without a client.
//
// Each connection gets the banner "220 $smtpd_banner", then ordinary ESMTP: EHLO/HELO
// (not required), MAIL FROM with SIZE, BODY, SMTPUTF8, AUTH, RET and ENVID, RCPT TO with
// NOTIFY and ORCPT, DATA or BDAT, RSET, NOOP, VRFY, QUIT. Recipients are checked when RCPT arrives
// (smtpd_delay_reject = yes): smtpd_client_restrictions, smtpd_helo_restrictions,
// smtpd_sender_restrictions, smtpd_relay_restrictions and smtpd_recipient_restrictions are
// evaluated in that order, a permit ending only its own list; then the unlisted-recipient
// check (smtpd_reject_unlisted_recipient, as Postfix's check_rcpt_maps): an address that
// recipient_canonical_maps, canonical_maps or virtual_alias_maps knows is accepted; a
// recipient in a local domain ($mydestination, address literals of $inet_interfaces) must be
// in local_recipient_maps (postmaster, MAILER-DAEMON and $double_bounce_sender always are),
// and a recipient in a virtual alias domain that virtual_alias_maps does not know is
// rejected with "550 5.1.1 <r>: Recipient address rejected: User unknown in virtual alias
// table". Lookups use cleanup's key order (package postern/pkg/rewrite: user+ext@domain,
// user@domain, user+ext and user for local domains, @domain), so user+ext falls back to
// user and a wildcard @domain entry makes the whole domain known. A table that cannot
// answer gives "451 4.3.0 <r>: Temporary lookup failure", never a 5xx. Tables are opened
// once; a table rebuilt with postmap is picked up within a second, without a restart.
// What an address means is package postern/pkg/resolve's (trivial-rewrite): the canonical
// form (swap_bangpath, allow_percent_hack, append_at_myorigin, append_dot_mydomain) and the
// address class. An authorized destination (permit_auth_destination,
// reject_unauth_destination) resolves to the local class (mydestination, address literals
// of inet_interfaces/proxy_interfaces), virtual_alias_domains, virtual_mailbox_domains or
// relay_domains, and its local part does not route elsewhere (user%dom@here is user@dom).
// Every list (mynetworks, mydestination, relay_domains, virtual_*_domains,
// smtpd_client_event_limit_exceptions) takes names, /file, type:table, !negation and, for
// client lists, addresses and CIDR blocks; parent_domain_matches_subdomains decides whether
// "example.com" also matches its subdomains (".example.com" always does). Supported
// restrictions: permit, reject, defer, dunno, defer_if_permit, permit_mynetworks,
// permit_sasl_authenticated, permit_auth_destination, reject_unauth_destination,
// defer_unauth_destination, reject_unlisted_recipient, reject_non_fqdn_recipient and
// reject_non_fqdn_sender ("504 5.5.2 <x>: Recipient address rejected: need fully-qualified
// address"), reject_unknown_recipient_domain and reject_unknown_sender_domain (an MX or
// address record is needed unless the domain is local: "450 4.1.2 <x>: Recipient address
// rejected: Domain not found", a null MX "556 5.1.10 ... (nullMX)", a DNS failure
// defer_if_permit), check_client_access, check_helo_access, check_sender_access and
// check_recipient_access type:table (access(5): OK, REJECT [text], DEFER [text],
// DEFER_IF_PERMIT, DUNNO, NNN [x.y.z] text, or a restriction name; fixed-string tables are
// also asked the domain, parent domains, user@ and address prefixes, regexp: and cidr:
// only the whole string), and reject_sender_login_mismatch,
// reject_authenticated_sender_login_mismatch, reject_unauthenticated_sender_login_mismatch
// with smtpd_sender_login_maps ("553 5.7.1 <s>: Sender address rejected: not owned by
// user U" / "... not logged in"). Any other name is answered "451 4.3.5 Server
// configuration error", as Postfix answers a name it does not know, and logged: "warning:
// restriction NAME is not implemented by Postern" for a Postfix restriction, Postfix's
// "warning: unknown smtpd restriction: "NAME"" otherwise. postfix check warns about both
// beforehand (the list is config.SMTPDRestrictions).
//
// # TLS and authentication
//
// With smtpd_tls_security_level = may (or encrypt) and a certificate, EHLO offers STARTTLS
// until TLS is active; STARTTLS answers "220 2.0.0 Ready to start TLS", "454 4.7.0 TLS not
// available due to local problem" (certificate unreadable), "554 5.5.1 Error: TLS already
// active", "501 5.5.4 Syntax: STARTTLS", or "502 5.5.1 Error: command not implemented" when
// TLS is off. Input pipelined behind STARTTLS is discarded; after the handshake HELO and
// authentication are forgotten. At level encrypt every command but HELO, EHLO, STARTTLS,
// NOOP and QUIT gets "530 5.7.0 Must issue a STARTTLS command first" before TLS.
// smtpd_tls_wrappermode = yes (the submissions service, port 465) does the handshake
// before the banner.
//
// With smtpd_sasl_auth_enable = yes EHLO offers "AUTH PLAIN LOGIN" (and "AUTH=PLAIN
// LOGIN" with broken_sasl_auth_clients), but not before TLS when smtpd_tls_auth_only =
// yes or the level is encrypt. Passwords are checked by authd(8) (service
// $smtpd_sasl_service, "smtp"), whatever smtpd_sasl_type says. Replies: "235 2.7.0
// Authentication successful", "535 5.7.8 Error: authentication failed: authentication
// failure", "454 4.7.0 Temporary authentication failure: ...", "501 5.7.0 Authentication
// aborted", "503 5.5.1 Error: already authenticated", "503 5.5.1 Error: MAIL transaction
// in progress", "503 5.5.1 Error: authentication not enabled", "504 5.5.4 Unsupported
// authentication mechanism", "501 5.5.4 Syntax: AUTH mechanism", "500 5.5.6 SASL response
// limit exceeded". An authenticated session satisfies permit_sasl_authenticated; cleanup
// gets sasl_method and sasl_username; the Received: header says ESMTPS, ESMTPA or ESMTPSA
// (RFC 3848) while logs keep ESMTP, as Postfix's.
//
// # Abuse limits
//
// Connections are counted per client address in the process (smtpd serves a whole
// service; Postfix's anvil counts across services): beyond
// smtpd_client_connection_count_limit at once, or smtpd_client_connection_rate_limit per
// anvil_rate_time_unit, the client gets "421 4.7.0 $myhostname Error: too many connections
// from ADDR" instead of the banner, except smtpd_client_event_limit_exceptions (default
// $mynetworks). The service's maxproc bounds all sessions together. Each failed AUTH in a
// session is answered after N × smtpd_error_sleep_time (at most 10s), on top of authd's
// per-address delay, and counts toward smtpd_hard_error_limit. A command line must arrive
// whole within smtpd_timeout; message content within smtpd_timeout plus the time
// smtpd_min_data_rate allows for the bytes received (Postfix's smtpd_per_request_deadline,
// always on here); past smtpd_junk_command_limit each NOOP, RSET or VRFY counts as an
// error. So a client trickling bytes cannot hold a session for ever, and many of them
// cannot take more than the count limit of one address or maxproc of the service.
//
// When cleanup refuses a message, the reply is "CODE DSN Error: REASON" ("451 4.3.0 Error:
// queue file write error"), or "CODE DSN REASON" when cleanup marks the reason as the whole
// reply (reason_verbatim=1: "451 4.6.0 Alias expansion error").
//
// At the first accepted recipient smtpd connects to the cleanup service (public/cleanup,
// through pkg/cleanup) and streams the envelope to it, with each recipient's DSN NOTIFY and
// ORCPT and the transaction's RET and ENVID; at DATA it sends its Received: header and the
// content line by line as it arrives (lines longer than line_length_limit become L
// records), and answers "250 2.0.0 Ok: queued as ID" only after cleanup has answered that
// the queue file is safely on disk. RSET, QUIT or a lost connection in mid-transaction close
// the cleanup stream before its end record, and cleanup discards the file. smtpd never
// writes the queue itself.
//
// # Protocol loop
//
// smtpd reads and answers the SMTP dialogue itself, as Postfix's smtpd_proto: one loop over
// a command table (HELO, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, BDAT, RSET, NOOP, VRFY,
// QUIT; each marked whether it is allowed before STARTTLS at level encrypt and whether it
// counts toward smtpd_junk_command_limit). Command lines are cut at line_length_limit and
// must arrive whole within smtpd_timeout; LF alone ends a command line too. The address and
// ESMTP parameters of MAIL FROM and RCPT TO are parsed by package postern/pkg/smtpcmd
// (shared with sendmail -bs), which answers a bad one with Postfix's reply ("501 5.5.4
// Syntax: MAIL FROM:<address>", "501 5.1.7 Bad sender address syntax", "501 5.1.3 Bad
// recipient address syntax", "555 5.5.4 Unsupported option: X", "501 5.5.4 Bad message size
// syntax", "501 5.5.4 Bad RET parameter syntax", "501 5.5.4 Error: Bad NOTIFY parameter
// syntax", ...). HELO is not required; an address without a domain (RCPT TO:<postmaster>)
// is qualified with $myorigin. Replies that are ready go out in one write once the client's
// pipelined input is used up. DATA content is dot-unstuffed and ends only at
// <CR><LF>.<CR><LF> (a "." line after a bare LF does not end it, closing the SMTP smuggling
// hole, as Postfix's smtpd_forbid_bare_newline = normalize and go-smtp do). BDAT chunks are
// answered "250 2.0.0 Ok: N bytes", the last "250 2.0.0 Ok: N bytes queued as ID"; a
// malformed BDAT gets "521 5.5.4 Syntax: BDAT count [LAST]" and the connection is closed,
// since its chunk cannot be skipped; "551 5.7.1 Null BDAT request", "552 5.3.4 Chunk exceeds
// message size limit".
//
// Why not go-smtp (which served here until issue 10, behind a layer that parsed every line
// a second time and rewrote its replies): its replies are fixed texts ("250 2.0.0 Roger,
// accepting mail from <a>", "502 5.5.1 Missing MAIL FROM command.", "500 5.5.4 Unknown MAIL
// FROM argument", its greeting and EHLO order), and only errors returned from the session
// can be chosen; it requires HELO and a domain in every address, disconnects after three
// syntax errors, and bounds DATA by one deadline. Postfix's exact replies therefore needed
// a copy of its state machine in front of it. The loop is less code than that layer was,
// and go-smtp remains in Postern's tests as the client.
//
// Known deviations from Postfix:
//   - No ETRN, XCLIENT or XFORWARD; no TLS client certificates, session cache,
//     smtpd_tls_received_header or cipher/protocol settings (Go's defaults, TLS 1.0 and
//     up); SASL only through authd, PLAIN and LOGIN.
//   - smtpd_forbid_bare_newline, reject footers and the pipelining checks are not
//     implemented; VRFY does not look the address up.
//   - relay_recipient_maps and virtual_mailbox_maps are not checked.
//     Access map actions other than accept/reject/defer (HOLD, DISCARD, FILTER, REDIRECT,
//     PREPEND, WARN) are logged and ignored.
//
// # Security
//
// smtpd is network-facing and runs unprivileged: master starts it as mail_owner. It never
// opens queue files; all it can do is talk to cleanup, and to authd to check a password.
// Client input reaches logs only with control characters replaced.
//
// As Postfix's smtpd, it reads its certificates and keys (smtpd_tls_cert_file/key_file,
// eccert/eckey, dcert/dkey, or smtpd_tls_chain_files) while still root, keeps them in
// memory, and only then drops to mail_owner with no supplementary groups (pkg/service), so
// a key that only root can read (Debian's snakeoil key, root:ssl-cert 0640 in a 0710
// directory; a certbot key, root:root 0600) works. A key that cannot be loaded is reported
// at start ("cannot load TLS certificate ... / key ...: ...: TLS not available");
// STARTTLS then answers 454, and a wrapper mode service does not start.
//
// # Diagnostics
//
// Log lines as Postfix: "connect from NAME[ADDR]", "ID: client=NAME[ADDR]",
// "NOQUEUE: reject: RCPT from NAME[ADDR]: REPLY; from=<s> to=<r> proto=ESMTP helo=<h>",
// "lost connection after CMD from NAME[ADDR]", "timeout after CMD from NAME[ADDR]",
// "too many errors after CMD from NAME[ADDR]", "warning: non-SMTP command from ...", and
// "disconnect from NAME[ADDR] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
// "warning: NAME[ADDR]: SASL PLAIN authentication failed: authentication failure,
// sasl_username=U" (what fail2ban watches), "ID: client=NAME[ADDR], sasl_method=PLAIN,
// sasl_username=U", "warning: Connection concurrency limit exceeded: N from NAME[ADDR] for
// service S" (or "rate"), and with smtpd_tls_loglevel >= 1 "Anonymous TLS connection
// established from NAME[ADDR]: TLSv1.3 with cipher C" (Go's cipher names). NAME is
// "unknown" unless the client's address has a forward-confirmed reverse name.
//
// A configuration whose relay and recipient restrictions hold no working reject is fatal at
// start: "in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, specify at
// least one working instance of: ...".
//
// # Configuration parameters
//
//	smtpd_banner ($myhostname ESMTP $mail_name)
//	myhostname, mail_name (Postfix), myorigin ($myhostname)
//	message_size_limit (10240000): SIZE, and "552 5.3.4 Error: message file too big"
//	smtpd_recipient_limit (1000): "452 4.5.3 Error: too many recipients"
//	queue_minfree (0): MAIL FROM gets "452 4.3.1 Insufficient system storage" while the queue
//	  file system has less free than this, or than 1.5 message_size_limit, or SIZE + this
//	smtpd_timeout (300s)
//	smtpd_soft_error_limit (10), smtpd_error_sleep_time (1s), smtpd_hard_error_limit (20)
//	line_length_limit (2048)
//	soft_bounce (no): yes sends, and logs, every 5XX reply as 4XX with its 5.X.Y detail code
//	  as 4.X.Y ("450 4.1.1 ... User unknown in local recipient table"), as Postfix
//	smtputf8_enable (yes at compatibility_level >= 1), disable_vrfy_command (no)
//	smtpd_discard_ehlo_keywords (empty)
//	smtpd_client_restrictions, smtpd_helo_restrictions, smtpd_sender_restrictions (empty)
//	smtpd_relay_restrictions (permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination)
//	smtpd_recipient_restrictions (empty)
//	mynetworks (from mynetworks_style), mydestination, inet_interfaces, proxy_interfaces,
//	relay_domains
//	virtual_alias_domains ($virtual_alias_maps), virtual_alias_maps ($virtual_maps, empty)
//	canonical_maps, recipient_canonical_maps (empty)
//	unknown_virtual_alias_reject_code (550)
//	mydomain, append_dot_mydomain (yes below compatibility_level 1): canonical form
//	relay_domains_reject_code (554), reject_code (554), defer_code (450)
//	smtpd_reject_unlisted_recipient (yes), unknown_local_recipient_reject_code (550)
//	local_recipient_maps (proxy:unix:passwd.byname $alias_maps; empty: no check)
//	recipient_delimiter (empty), double_bounce_sender (double-bounce)
//	local_header_rewrite_clients (permit_inet_interfaces): rewrite_context=local for these
//	queue_directory: where public/cleanup is
//	smtpd_tls_security_level (empty: smtpd_use_tls/smtpd_enforce_tls, else none): none, may, encrypt
//	smtpd_tls_cert_file (empty), smtpd_tls_key_file ($smtpd_tls_cert_file), smtpd_tls_wrappermode (no)
//	smtpd_tls_auth_only (no), smtpd_tls_loglevel (0)
//	smtpd_sasl_auth_enable (no), smtpd_sasl_service (smtp), broken_sasl_auth_clients (no)
//	smtpd_sasl_response_limit (12288), authd_service_name (auth): the socket private/auth
//	smtpd_sender_login_maps (empty)
//	smtpd_client_connection_count_limit (50), smtpd_client_connection_rate_limit (0)
//	anvil_rate_time_unit (60s), smtpd_client_event_limit_exceptions ($mynetworks)
//	smtpd_min_data_rate (500), smtpd_junk_command_limit (100)
//	access_map_reject_code (554), access_map_defer_code (450), non_fqdn_reject_code (504)
//	unknown_address_reject_code (450), smtpd_null_access_lookup_key (<>)
//	smtpd_dns_resolver_address ($smtp_dns_resolver_address; Postern): ip:port of the DNS
//	  server for reject_unknown_*_domain, instead of the system's
//
// # See also
//
// cleanup(8), master(8), authd(8), postconf(5), access(5), Postfix's smtpd(8);
// docs/DESIGN.md for the cleanup protocol.
package main
