// Cleanup turns a submitted message into a queue file and hands it to qmgr.
//
// # Description
//
// cleanup listens on public/cleanup (unix stream) and is started by master. smtpd, pickup,
// bounce and local (forwarding) connect to it through package postern/pkg/cleanup, one
// connection per message; that package also holds the status classes and their replies
// (Postfix's cleanup_strerror) that cleanup answers with. On connect cleanup creates
// incoming/ID (mode 0600) and sends the attribute list "queue_id=ID". The client then sends
// queue records in the queue-file encoding: A attributes, optional F (full name), exactly one
// S (sender), O+R per recipient, M, the content as N/L records, X, extracted R records (from
// sendmail -t), E.
//
// Envelope: the sender and every recipient get trivial-rewrite's canonical form (package
// postern/pkg/resolve: a source route "@a,@b:user@dom" is dropped; "dom!user" becomes
// user@dom with swap_bangpath and "user%dom" user@dom with allow_percent_hack; a bare
// "user" becomes user@$myorigin; "user@host" without a dot becomes user@host.$mydomain when
// append_dot_mydomain = yes, the default below compatibility_level 1; an empty recipient
// becomes $empty_address_recipient). The sender then goes through sender_canonical_maps and
// canonical_maps, each recipient through recipient_canonical_maps and canonical_maps (as
// their *_canonical_classes allow; one address in, one out, the result looked up again until
// it maps to itself, at most 10 times), then virtual_alias_maps expansion: each address is
// replaced by the addresses its entry lists, and those are looked up again, recursively; an
// address whose expansion holds itself is kept as it is. Lookups follow Postfix's key order
// (package postern/pkg/rewrite): user+ext@domain, user@domain, then user+ext and user only
// when domain is $myorigin or local as package postern/pkg/resolve says ($mydestination or
// an address literal of $inet_interfaces/$proxy_interfaces),
// then @domain; each key against every table before the next key. A result "@otherdomain"
// keeps the local part; results without a domain get @$myorigin; with
// propagate_unmatched_extensions the unmatched +ext is put back into each result. Each
// recipient is stored as O (as received, also for every address of an expansion) + R (the
// result); repeats with the same original and final address (and DSN attributes), compared
// case-insensitively, are stored once, up to duplicate_filter_limit remembered addresses.
// Only known A attributes are kept. cleanup writes its own T (arrival; the client's T when
// it sent one) and A create_time.
//
// Tables are opened once at start; a table rebuilt with postmap is picked up by pkg/table
// within a second, without a restart. A table type Postern lacks is skipped with a warning;
// a hash: table whose .db is missing fails its lookups, so mail is deferred until it exists.
//
// Headers (the primary header block, which ends at the first empty line or at the first line
// that is neither a header nor a continuation, the rule of package postern/pkg/header that
// imapd and pop3d read mail with): when the block ends at such a line, the missing empty line
// is written before it, after any added headers, so that the line starts the body (as
// Postfix's cleanup does; telnet users often type "Subject: x" and then the text at once).
// The obsolete "Name : value" form is stored as "Name: value". Headers named in message_drop_headers are removed from all mail;
// more than hopcount_limit - 1 Received: headers reject the message; a header longer than
// header_size_limit is truncated; a stray CR or LF in any line becomes a space. In local rewrite
// context (the client sent rewrite_context=local) or with always_add_missing_headers = yes,
// missing Message-Id:, Date: and From: headers are appended after the existing ones (the
// Resent- forms when any Resent- header is present). In local context only, address headers
// whose value is a plain list of simple addresses are rewritten like the envelope: canonical
// form, then the canonical tables of their class (header_sender: From, Sender, Resent-From,
// ...; header_recipient: To, Cc, Bcc, Reply-To, ...) but never virtual aliasing; any value
// with display names, comments, quotes, groups or routes is left as it is.
//
// The file gets C (sizes, patched at the end) first and E last; it is flushed, made 0700,
// fsync'ed and closed, and only then does cleanup answer "status=0" and "queue_id=ID" and
// wake qmgr by writing W to public/qmgr. On failure the file is removed and the answer is
// "status=CODE", "dsn=X.Y.Z", "reason=TEXT" (see Diagnostics). A client that disconnects
// before E leaves nothing behind.
//
// # Security
//
// cleanup runs as mail_owner (unpriv). It trusts its clients no more than the queue file
// format allows: records and the envelope are bounded, unknown attributes are dropped, and
// text taken from the envelope is kept on one line when it goes into a header.
//
// # Diagnostics
//
// "ID: message-id=<...>" is logged for every queued message (the header's value, the one
// added, or "<>"), plus "ID: resent-message-id=<...>" when there is one. Replies on failure:
//
//	451 4.6.0 Alias expansion error     a virtual alias expansion went past a limit (the
//	                                    reply carries reason_verbatim=1: smtpd shows it
//	                                    without "Error: ")
//	451 4.3.0 internal protocol error   broken record stream or envelope
//	550 5.1.0 no recipients specified
//	554 5.4.0 too many hops             hopcount_limit reached
//	552 5.3.4 message file too big      message_size_limit exceeded
//	451 4.3.0 queue file write error    the disk refused, or a table lookup failed (logged
//	                                    as a warning)
//
// Rewriting warnings, as Postfix's:
//
//	ID: unreasonable virtual_alias_maps map expansion size for ADDR -- message not accepted, try again later
//	ID: unreasonable virtual_alias_maps map nesting for ADDR -- message not accepted, try again later
//	ID: unreasonable virtual_alias_maps result ADDR... -- message not accepted, try again later
//	ID: virtual_alias_maps map lookup problem for ADDR -- message not accepted, try again later
//	ID: multi-valued canonical_maps entry for ADDR
//
// # Configuration parameters
//
//	queue_directory (/var/spool/postfix)
//	myorigin ($myhostname; a /path names a file such as /etc/mailname)
//	myhostname (the system's fully qualified name), used in added Message-Id: headers
//	empty_address_recipient (MAILER-DAEMON)
//	message_size_limit (10240000; 0 = no limit), the content of a message in bytes
//	header_size_limit (102400)
//	hopcount_limit (50)
//	line_length_limit (2048)
//	duplicate_filter_limit (1000)
//	queue_file_attribute_count_limit (100)
//	message_drop_headers (bcc, content-length, resent-bcc, return-path)
//	always_add_missing_headers (no)
//	cleanup_replace_stray_cr_lf (yes)
//	ipc_timeout (3600s), how long a silent client is waited for
//	trigger_timeout (10s)
//	mydomain, append_dot_mydomain (yes below compatibility_level 1, else no)
//	canonical_maps, sender_canonical_maps, recipient_canonical_maps (empty)
//	canonical_classes (envelope_sender, envelope_recipient, header_sender, header_recipient)
//	sender_canonical_classes (envelope_sender, header_sender)
//	recipient_canonical_classes (envelope_recipient, header_recipient)
//	virtual_alias_maps ($virtual_maps, empty)
//	virtual_alias_recursion_limit (1000), virtual_alias_expansion_limit (1000),
//	virtual_alias_address_length_limit (1000)
//	propagate_unmatched_extensions (canonical, virtual)
//	recipient_delimiter (empty), mydestination, inet_interfaces, proxy_interfaces,
//	double_bounce_sender: for the lookup key order
//
// Not implemented yet: masquerade_domains, header_checks and body_checks, milters,
// remote_header_rewrite_domain, receive_override_options (no_address_mappings),
// canonical rewriting of headers in remote context and of headers with display names.
//
// # See also
//
// smtpd(8), pickup(8), qmgr(8), docs/DESIGN.md (the cleanup protocol), Postfix cleanup(8).
package main
