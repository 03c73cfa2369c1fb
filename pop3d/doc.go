// Pop3d is Postern's POP3 server, a drop-in for Courier's courierpop3d.
//
// # Description
//
// master(8) runs pop3d from master.cf:
//
//	pop3      inet  n       -       n       -       -       pop3d
//	pop3s     inet  n       -       n       -       -       pop3d
//	  -o pop3d_tls_wrappermode=yes
//
// (unpriv = n: pop3d must start as root to serve each user as that user).
// It speaks RFC 1939 with CAPA (RFC 2449), STLS (RFC 2595) and AUTH PLAIN
// and LOGIN (RFC 5034), with Courier's replies: "+OK Hello there.",
// "+OK Password required.", "+OK logged in.", "-ERR Login failed." ...
// Passwords are checked by authd(8) (private/$authd_service_name), which
// also says where the user's Maildir is.
//
// At login, as Courier: tmp/ files older than 36 hours are removed, new/ is
// moved to cur/ (adding ":2,"), and courierpop3dsizelist is read and
// updated, so UIDLs ("UID<n>-<uidv>") and sizes are those Courier gave and
// stay stable across sessions; messages are ordered by their file name's
// time prefix. Sizes count CRLF line ends; RETR and TOP send CRLF lines with
// dot-stuffing; RETR marks the message seen (flag S), TOP does not. TOP's
// header ends where cleanup's does (package postern/pkg/header: at the
// empty line or before the first line that is not a header), and a header
// stored without its empty line gets one in TOP's answer. DELE
// only marks: files are removed at QUIT (UPDATE state), never when the
// connection drops. One POP3 session at a time per Maildir (an OFD lock on
// postern-pop3d.lock in the Maildir); a second gets
// "-ERR [IN-USE] ...".
//
// # Security
//
// Go cannot change the credentials of one goroutine, so a pop3d running as
// root never reads a mailbox: after a successful login it starts itself
// again ("pop3d -session") with the user's uid, gid and no supplementary
// groups, and hands it the connection (a plain TCP connection is passed as
// is; over TLS the parent keeps the TLS state and relays plaintext through
// a socketpair). The child refuses to run as root. A pop3d that does not
// run as root serves in-process only users whose uid is its own (e.g. the
// passwd-file demo user of make run) and refuses others. The certificate and
// key are read at start, before pkg/service would drop privileges, and kept
// in memory.
//
// Commands before login other than CAPA, USER, PASS, AUTH, STLS, NOOP and
// QUIT get "-ERR Invalid command."; command lines are limited to 4096
// bytes; after 10 failed logins the connection is closed. Failure delays
// are authd's. The Maildir path comes from authd only; no client input
// names a file.
//
// # Diagnostics
//
// Log lines, Dovecot-shaped so that fail2ban and log summarisers find them:
//
//	Login: user=<fmaster>, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2[, TLS]
//	Login failed: user=<fmaster>, method=PLAIN, rip=..., lip=...
//	Logged out: user=<fmaster>, rip=..., lip=..., top=0/0, retr=1/346, del=1/2, size=695
//	Disconnected[ for inactivity]: user=<...>, ... (nothing deleted)
//
// # Configuration parameters
//
//	pop3d_timeout (300s)                 idle time before the connection is closed
//	pop3d_tls_cert_file (empty)          certificate (PEM, may hold the key); empty: smtpd_tls_cert_file
//	pop3d_tls_key_file (empty)           key; empty: smtpd_tls_key_file, or the certificate file
//	pop3d_tls_wrappermode (no)           TLS from the first byte (port 995)
//	pop3d_tls_auth_only (no)             refuse USER/PASS/AUTH before STLS
//	authd_service_name (auth)            authd's socket, private/$authd_service_name
//	syslog_name, maillog_file            logging, as every Postern program
//
// # See also
//
// authd(8), master(8), RFC 1939, RFC 2449, RFC 2595, RFC 5034.
package main
