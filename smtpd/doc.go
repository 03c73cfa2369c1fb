// Smtpd is Postern's SMTP server, Postfix's smtpd(8).
//
// # Description
//
// master(8) starts smtpd for an inet service of master.cf (normally "smtp inet n - y - -
// smtpd") and hands it the listening socket. smtpd serves every connection in a goroutine,
// at most the service's maxproc at once, and exits after max_idle without a client.
//
// Each connection gets the banner "220 $smtpd_banner", then ordinary ESMTP: EHLO/HELO
// (not required), MAIL FROM with SIZE, BODY, SMTPUTF8, RET and ENVID, RCPT TO with NOTIFY
// and ORCPT, DATA or BDAT, RSET, NOOP, VRFY, QUIT. Recipients are checked when RCPT arrives
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
// virtual_alias_domains (default $virtual_alias_maps) is a domain list whose type:table
// items match a domain that is a bare key of the table; its domains are authorized
// destinations. Supported
// restrictions: permit, reject, defer, dunno, defer_if_permit, permit_mynetworks,
// permit_sasl_authenticated (never true: no SASL yet), permit_auth_destination,
// reject_unauth_destination, defer_unauth_destination, reject_unlisted_recipient. Any other
// name is logged and answered "451 4.3.5 Server configuration error".
//
// When cleanup refuses a message, the reply is "CODE DSN Error: REASON" ("451 4.3.0 Error:
// queue file write error"), or "CODE DSN REASON" when cleanup marks the reason as the whole
// reply (reason_verbatim=1: "451 4.6.0 Alias expansion error").
//
// At the first accepted recipient smtpd connects to the cleanup service
// (public/cleanup) and streams the envelope to it; at DATA it sends its Received: header and
// the content line by line as it arrives (lines longer than line_length_limit become L
// records), and answers "250 2.0.0 Ok: queued as ID" only after cleanup has answered that
// the queue file is safely on disk. RSET, QUIT or a lost connection in mid-transaction close
// the cleanup stream before its end record, and cleanup discards the file. smtpd never
// writes the queue itself.
//
// # Protocol front
//
// The SMTP state machine is github.com/emersion/go-smtp. It speaks with texts of its own,
// requires HELO and a domain in every address, and allows only three syntax errors, so a thin
// layer between the socket and go-smtp (wire.go) presents Postfix's dialogue instead:
// the banner line is replaced by "220 $smtpd_banner" (go-smtp's greeting is fixed to
// "220 DOMAIN ESMTP Service Ready"); the EHLO keywords are put in Postfix's order;
// success and syntax replies get Postfix's texts (250 2.1.0 Ok, 250 2.1.5 Ok, 354 End data
// with <CR><LF>.<CR><LF>, 503 5.5.1 Error: need MAIL command, ...); NOOP, VRFY, AUTH,
// unknown and non-SMTP commands are answered by the layer itself; a client that sends MAIL
// without HELO gets a HELO said for it (its reply is not shown, and the Received: header
// and queue attributes show no HELO name); a domain-less address (RCPT TO:<postmaster>) is
// accepted and qualified with $myorigin; command lines are cut at line_length_limit;
// smtpd_timeout applies to each read, also inside DATA; all replies that are ready go out
// in one write once the client's pipelined input is consumed.
//
// Known deviations from Postfix:
//   - No STARTTLS, AUTH, ETRN, XCLIENT or XFORWARD. The front would see TLS records;
//     adding STARTTLS means doing the handshake in the front, below go-smtp, and telling
//     go-smtp about it (it detects TLS only with a *tls.Conn type assertion).
//   - Some of go-smtp's error texts remain, e.g. for malformed ESMTP parameters
//     ("500 5.5.4 Unknown MAIL FROM argument" where Postfix says "555 5.5.4 Unsupported
//     option: X"), for a message that reaches message_size_limit exactly, and BDAT's
//     interim "250 2.0.0 Continue".
//   - DSN parameters (RET, ENVID, NOTIFY, ORCPT) are accepted but not yet passed to cleanup.
//   - The junk command limit, smtpd_forbid_bare_newline, reject footers and the pipelining
//     checks are not implemented; VRFY does not look the address up.
//   - Table lookups (type:table) in restrictions (check_*_access), in mynetworks,
//     mydestination and relay_domains are not supported yet; virtual_mailbox_domains and
//     relay_recipient_maps are not checked.
//
// # Security
//
// smtpd is network-facing and runs unprivileged: master starts it as mail_owner. It never
// opens queue files; all it can do is talk to cleanup. Client input reaches logs only with
// control characters replaced.
//
// # Diagnostics
//
// Log lines as Postfix: "connect from NAME[ADDR]", "ID: client=NAME[ADDR]",
// "NOQUEUE: reject: RCPT from NAME[ADDR]: REPLY; from=<s> to=<r> proto=ESMTP helo=<h>",
// "lost connection after CMD from NAME[ADDR]", "timeout after CMD from NAME[ADDR]",
// "too many errors after CMD from NAME[ADDR]", "warning: non-SMTP command from ...", and
// "disconnect from NAME[ADDR] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5". NAME is
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
//
// # See also
//
// cleanup(8), master(8), postconf(5), Postfix's smtpd(8); docs/DESIGN.md for the cleanup
// protocol.
package main
