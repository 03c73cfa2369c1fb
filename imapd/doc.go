// Command imapd is Postern's IMAP4rev1 server, in place of Courier-IMAP,
// serving Maildir++ mail stores as Courier lays them out.
//
// # Description
//
// master(8) starts imapd for the "imap" service (master.cf:
// "imap inet n - n - - imapd"; port 993 with
// "imaps inet n - n - - imapd -o imapd_tls_wrappermode=yes"). One imapd
// process serves many connections.
//
// Before login imapd speaks a small IMAP subset itself: CAPABILITY, NOOP,
// ID, LOGOUT, STARTTLS, LOGIN and AUTHENTICATE PLAIN (with SASL-IR).
// Passwords go to authd(8) (service "imap"); imapd never reads credentials.
// Once logged in, the connection is served with go-imap's imapserver:
// LIST/LSUB (LIST-STATUS), NAMESPACE, STATUS, SELECT/EXAMINE, FETCH
// (BODY[], BODY.PEEK[HEADER.FIELDS (...)], BODYSTRUCTURE, ENVELOPE,
// RFC822.SIZE, INTERNALDATE, BINARY), SEARCH, STORE, COPY, MOVE, APPEND,
// EXPUNGE and their UID forms, CREATE/DELETE/RENAME, SUBSCRIBE, IDLE,
// UNSELECT, ENABLE, UIDPLUS.
//
// A message's header ends at its empty line or before its first line that
// is neither a header field nor a continuation (package postern/pkg/header,
// the rule cleanup stores mail by). Mail stored without that empty line
// (older Postern versions did so with the howto's first message) is read
// the same way: BODY[HEADER] and RFC822.HEADER are the header lines and a
// CRLF (RFC 3501's header section ends with its blank line), BODY[TEXT]
// starts at the first body line, and ENVELOPE, BODYSTRUCTURE and SEARCH
// follow that split; BODY[] and RFC822.SIZE are the file as it is.
//
// The mail store is the user's Maildir (authd's answer, normally
// ~/Maildir) as INBOX, and its ".Name" sub-directories as "INBOX.Name",
// with '.' as the hierarchy delimiter and the namespace "INBOX." as
// Courier has it. Names without the prefix are taken as folders below
// INBOX. Folder names are stored in UTF-8; folders that an older Courier
// or Dovecot created under modified UTF-7 names are found and shown under
// their decoded names.
//
// Message flags live only in file names (":2," + DFRST; 'P' and Dovecot's
// keyword letters are kept); names, flags and the unique names of
// APPENDed and copied messages follow pkg/maildir, the rule local and
// pop3d use too. UIDs, UIDVALIDITY and UIDNEXT live in each folder's
// courierimapuiddb, read and written in Courier's format (through a
// temporary file in tmp/ and a rename); a folder that has only Dovecot's
// dovecot-uidlist keeps its UIDVALIDITY and UIDs, which are then written
// to courierimapuiddb. Subscriptions are courierimapsubscribed (Dovecot's
// subscriptions file is read when that is all there is). SELECT moves
// new/ to cur/ as Courier does; EXAMINE leaves new/ alone. Message sizes
// as sent (CRLF), dates and headers are cached per folder in
// postern-imapcache, so that FETCH of sizes and dates, ENVELOPE and SEARCH
// HEADER do not reread messages; sizes come from ",W=" in file names when
// present. The cache also holds the folder's listing: a session whose
// new/, cur/ and courierimapuiddb are unchanged since the last scan opens
// the folder without reading them. Changes to new/ and cur/ by other
// programs are seen through inotify (pushed to IDLE clients within a
// fraction of a second), by a cheap check before every command reply, and
// by a rescan every 30 seconds.
//
// # Security
//
// imapd holds root only to start sessions: after a successful login a
// root imapd hands the connection to the session server of the user's
// uid and gid (itself, with -session, started with those credentials and
// no supplementary groups at the user's first login), so every file
// operation of a session is done as the user. The connection's descriptor
// goes over a SOCK_SEQPACKET socket pair (SCM_RIGHTS); a TLS connection
// stays with the parent, which relays plaintext to the server. A session
// server serves all concurrent sessions of its user and keeps their
// folders (listing, UIDs, cached headers) in memory, so that the next
// login of the user does not start a process nor reload the folder; it
// exits when it has had no session for imapd_session_idle, and when
// imapd_session_servers users have one, the least recently used idle one
// is closed first (with all busy, a new user gets a server of its own that
// exits with its last session). A server refuses to run as root, makes
// itself non-dumpable, and can only tell the parent that a session ended.
// uid 0 is never served. Running unprivileged, imapd serves only users
// with its own uid, in-process. The certificate and key are read at start,
// before pkg/service would drop privileges, and kept in memory.
//
// Mailbox names from clients can never reach outside the Maildir: every
// level must be non-empty and free of '/', control characters and invalid
// UTF-8, so "..", "/etc" and "a/../b" are refused. Pre-login command
// lines are limited to 8 KiB and literals to 4 KiB; after three failed
// logins or ten bad commands the connection is closed. authd delays failed
// logins.
//
// # Diagnostics
//
// Log lines (syslog_name/imapd[PID]):
//
//	Login: user=<fmaster>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2[, TLS]
//	Login failed: user=<x>, method=PLAIN, rip=..., lip=...
//	Disconnected: user=<fmaster>, rip=...
//
// # Configuration parameters
//
// imapd_tls_cert_file (default: empty, then smtpd_tls_cert_file),
// imapd_tls_key_file (default: empty, then smtpd_tls_key_file):
// certificate and key for STARTTLS and port 993.
//
// imapd_tls_wrappermode (default: no): TLS from the first byte (imaps).
//
// imapd_tls_auth_only (default: no): refuse LOGIN/AUTHENTICATE without TLS
// (LOGINDISABLED).
//
// imapd_timeout (default: 60s): time allowed for each command before
// login. After login go-imap's own limits apply (35 minutes idle).
//
// imapd_session_idle (default: 120s): a session server without sessions
// for this long exits. A folder no session has selected is kept in memory
// for 10 minutes at most.
//
// imapd_session_servers (default: 100): session servers (users) at once.
//
// message_size_limit (default: 10240000): the APPEND limit.
//
// authd_service_name (default: auth): where authd listens, in
// $queue_directory/private.
//
// # See also
//
// authd(8), pop3d(8), local(8), master(5), Courier-IMAP's imapd(8),
// pkg/handoff, pkg/runas.
package main
